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

// TestIndonesianDigitsMatchParse holds parseIndonesianDigits to the full
// libphonenumber parse over the input it is meant for: digits after every
// prefix it distinguishes ("+62", "0", "62", none) and the ones next to
// them ("+620", "620", "00", "008", "+6", "6", "+65", "0062"), every
// leading digit pair, every length up to 16, random digits after that.
// Each shortcut answer must equal the reference's; and the shortcut must
// answer for the usual notations, or it does nothing.
func TestIndonesianDigitsMatchParse(t *testing.T) {
	r := rand.New(rand.NewPCG(62, 8))
	prefixes := []string{"", "0", "+62", "62", "+620", "620", "00", "008", "009", "+6", "6", "+65", "0062", "+", "6262", "+6262", "062"}
	tried, answered := 0, 0
	for _, prefix := range prefixes {
		for lead := 10; lead < 100; lead++ {
			for length := 2; length <= 16; length++ {
				for range 3 {
					var b strings.Builder
					b.WriteString(prefix)
					b.WriteString(strconv.Itoa(lead))
					for b.Len() < len(prefix)+length {
						b.WriteByte(byte('0' + r.IntN(10)))
					}
					in := b.String()
					tried++
					got, ok := parseIndonesianDigits(in)
					want, err := referenceParsePhone(in, "ID")
					if !ok {
						// Its own shapes, when valid, are the shortcut's to answer.
						ownShape := prefix == "+62" || prefix == "0" || prefix == "62" || (prefix == "" && lead != 62)
						if ownShape && err == nil {
							t.Errorf("parseIndonesianDigits(%q) left a valid number (%s) to the full parse", in, want.E164)
						}
						continue
					}
					answered++
					if err != nil || got != want {
						t.Errorf("parseIndonesianDigits(%q) = %+v; the full parse gives %+v, %v", in, got, want, err)
					}
				}
			}
		}
	}
	t.Logf("%d of %d inputs answered by the shortcut", answered, tried)
	for _, in := range []string{"081234567890", "+6281234567890", "6285712345678", "81234567890", "0215551234", "62215551234"} {
		if _, ok := parseIndonesianDigits(in); !ok {
			t.Errorf("parseIndonesianDigits(%q) left a usual notation to the full parse", in)
		}
	}
}

// TestPhoneRegionValidMatchesLibrary holds phoneRegion.valid, which the
// Indonesian shortcut uses instead of phonenumbers.IsValidNumberForRegion,
// to the library's answer in every region of the metadata, not only ID, so
// that each of its rules (the general description, the possible lengths,
// the shared mobile and fixed-line pattern, every number type) meets
// metadata where it decides something: each type's example number, the
// example with a digit dropped, added or changed, and random digits after
// the example's first ones.
func TestPhoneRegionValidMatchesLibrary(t *testing.T) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 62))
	checked, valid, mismatches := 0, 0, 0
	for _, m := range coll.GetMetadata() {
		region := m.GetId()
		if region == "001" { // non-geographic entities: not a region
			continue
		}
		pr := newPhoneRegion(m)
		cc := m.GetCountryCode()
		var examples []string
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetGeneralDesc(), m.GetFixedLine(), m.GetMobile(),
			m.GetTollFree(), m.GetPremiumRate(), m.GetSharedCost(), m.GetPersonalNumber(), m.GetVoip(),
			m.GetPager(), m.GetUan(), m.GetVoicemail()} {
			if e := d.GetExampleNumber(); e != "" {
				examples = append(examples, e)
			}
		}
		var inputs []string
		for _, e := range examples {
			inputs = append(inputs, e, e[:len(e)-1], e+strconv.Itoa(r.IntN(10)))
			for range 6 {
				b := []byte(e)
				b[r.IntN(len(b))] = byte('0' + r.IntN(10))
				inputs = append(inputs, string(b))
				keep := 1 + r.IntN(min(len(e), 4))
				var s strings.Builder
				s.WriteString(e[:keep])
				for s.Len() < len(e)-1+r.IntN(3) {
					s.WriteByte(byte('0' + r.IntN(10)))
				}
				inputs = append(inputs, s.String())
			}
		}
		for _, in := range inputs {
			if in == "" || in[0] == '0' { // a leading zero is not part of NationalNumber
				continue
			}
			v, err := strconv.ParseUint(in, 10, 64)
			if err != nil {
				continue
			}
			n := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &v}
			want := phonenumbers.IsValidNumberForRegion(n, region)
			checked++
			if want {
				valid++
			}
			if got := pr.valid(in); got != want {
				mismatches++
				if mismatches <= 20 {
					t.Errorf("region %s, %s: phoneRegion.valid = %v, IsValidNumberForRegion = %v", region, in, got, want)
				}
			}
		}
	}
	t.Logf("%d numbers in all regions checked, %d of them valid", checked, valid)
	if valid < checked/10 || valid == checked {
		t.Errorf("%d of %d numbers valid: the inputs do not test both answers", valid, checked)
	}
}
