package normalize

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// referenceParsePhone is parsePhone as it was before it was made faster
// (the input handed to libphonenumber as typed; phonenumbers.Parse,
// IsValidNumber, Format and GetRegionCodeForNumber; the input's trimming
// and the error texts are shared): the differential tests below hold the
// current one to exactly its results.
func referenceParsePhone(in, region string) (Phone, error) {
	if region == "" {
		region = DefaultRegion
	}
	region = strings.ToUpper(region)
	s := phoneText(in)
	if s == "" {
		return Phone{}, nil
	}
	fail := func(problem string) (Phone, error) {
		return Phone{}, &Error{Func: "phone", Value: in, Problem: problem}
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return fail(parseProblem(err))
	}
	if !phonenumbers.IsValidNumber(n) {
		return fail(invalidProblem(n, region))
	}
	return Phone{
		E164:        phonenumbers.Format(n, phonenumbers.E164),
		Number:      phonenumbers.GetNationalSignificantNumber(n),
		CountryCode: phonenumbers.GetRegionCodeForNumber(n),
		CallingCode: "+" + strconv.Itoa(int(n.GetCountryCode())),
	}, nil
}

// messyPhones returns n phone numbers as people type them, valid and not:
// country codes or trunk prefixes or neither, digit groups of any length
// with spaces, dashes, dots and parentheses, words, extensions, several
// numbers, other scripts' digits, stray characters.
func messyPhones(n int) []string {
	r := rand.New(rand.NewPCG(6, 2026))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	prefixes := []string{"", "", "0", "0", "0", "+62", "+62 ", "62", "62 ", "+62 0", "(0", "(+62)", "+ 62", "0062", "00", "+", "++62", "+65 ", "+60", "+1 ", "+44 ", "+999 ", "+0", "-", "(", "+(62) "}
	seps := []string{"", " ", " ", "-", "-", ".", "  ", " - ", ") ", "(", ")", "\t", "/", ",", ";", "+", "x", " ext. ", "#", "*", "_", "\u00a0", "–"}
	lead := []string{"", "", "", "", "Telp. ", "HP: ", "tel:", "  ", "WA ", "nomor ", "+62 (0)"}
	tail := []string{"", "", "", "", " ", ".", "-", ")", " ext 12", " x123", "#", " (WA)", " / 0813 1111 2222", ", 021 555 1234", ";ext=5", "abc", " 99"}
	digits := func(k int) string {
		var b strings.Builder
		for range k {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		s := b.String()
		switch r.IntN(40) {
		case 0: // full-width digits
			s = strings.Map(func(c rune) rune { return c - '0' + '０' }, s)
		case 1: // Arabic-Indic digits
			s = strings.Map(func(c rune) rune { return c - '0' + '٠' }, s)
		}
		return s
	}
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		if r.IntN(2) == 0 { // mostly well-formed: an Indonesian number, grouped
			b.WriteString(pick([]string{"0", "0", "+62", "+62 ", "62", "", "+62 0", "(0", "+62-", "(+62) "}))
			num := pick([]string{"8", "8", "21", "22", "274", "361"}) + digits(r.IntN(6)+6)
			for len(num) > 0 {
				k := min(len(num), r.IntN(4)+2)
				b.WriteString(num[:k])
				num = num[k:]
				if len(num) > 0 {
					b.WriteString(pick([]string{" ", "-", ".", "", ") ", " - "}))
				}
			}
			if r.IntN(8) == 0 {
				b.WriteString(pick(tail))
			}
			out = append(out, b.String())
			continue
		}
		b.WriteString(pick(lead))
		b.WriteString(pick(prefixes))
		if r.IntN(3) > 0 { // an Indonesian mobile or area code
			b.WriteString(pick([]string{"8", "81", "812", "813", "857", "811", "21", "22", "361", "274", "9", "1"}))
		}
		groups := r.IntN(5) + 1
		for g := range groups {
			if g > 0 || r.IntN(2) == 0 {
				if r.IntN(4) == 0 {
					b.WriteString(pick(seps))
				} else {
					b.WriteString(pick([]string{" ", "-", ".", ""}))
				}
			}
			b.WriteString(digits(r.IntN(6) + 1))
		}
		b.WriteString(pick(tail))
		out = append(out, b.String())
	}
	return out
}

// TestParsePhoneMatchesReference checks that the faster parsePhone (digits
// compacted before libphonenumber sees them; IsValidNumberForRegion with
// the region looked up once; E.164 built from the national significant
// number) gives exactly what calling libphonenumber the plain way gives:
// the same fields, or an error of the same type and text.
func TestParsePhoneMatchesReference(t *testing.T) {
	inputs := append(messyPhones(6000),
		"0812-3456-7890", "+62 812 3456 7890", "6281234567890", "812-3456-7890", "(021) 555-1234",
		"12", "1-2", "1 2 3", "12-", "(12)", "+1-2", "+12", "1.2.3", "0-0-0", "000", "0 0", "+ 62 812 3456 7890",
		"+62 (0) 812 3456 7890", "0062 812 3456 7890", "+6 2 8 1 2 3 4 5 6 7 8 9 0", "..0812..3456..7890..",
		"08123456789012345678901234567890", strings.Repeat("1 ", 126), strings.Repeat("1 ", 124)+"1",
		strings.Repeat("0812 ", 60), "0812-3456-7890-", "-0812-3456-7890", "(0812)(3456)(7890)",
	)
	regions := []string{"ID", "ID", "ID", "SG", "US", "", "id", "ZZ"}
	mismatches := 0
	for i, in := range inputs {
		region := regions[i%len(regions)]
		want, wantErr := referenceParsePhone(in, region)
		got, gotErr := ParsePhone(in, region)
		if got != want || errText(gotErr) != errText(wantErr) || errors.As(gotErr, new(*Error)) != errors.As(wantErr, new(*Error)) {
			mismatches++
			if mismatches <= 20 {
				t.Errorf("ParsePhone(%q, %q) = %+v, %v; the plain libphonenumber calls give %+v, %v", in, region, got, gotErr, want, wantErr)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d inputs differ", mismatches, len(inputs))
	}
}

// FuzzParsePhoneMatchesReference is TestParsePhoneMatchesReference for
// any input.
func FuzzParsePhoneMatchesReference(f *testing.F) {
	for _, s := range messyPhones(50) {
		f.Add(s, "ID")
	}
	f.Add("1-2", "ID")
	f.Add("+65 6123 4567", "SG")
	f.Fuzz(func(t *testing.T, in, region string) {
		want, wantErr := referenceParsePhone(in, region)
		got, gotErr := ParsePhone(in, region)
		if got != want || errText(gotErr) != errText(wantErr) {
			t.Fatalf("ParsePhone(%q, %q) = %+v, %v; the plain libphonenumber calls give %+v, %v", in, region, got, gotErr, want, wantErr)
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
