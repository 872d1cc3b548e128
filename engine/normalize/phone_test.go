package normalize

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePhone(t *testing.T) {
	mobile := Phone{E164: "+6281234567890", Number: "81234567890", CountryCode: "ID", CallingCode: "+62"}
	jakarta := Phone{E164: "+62215551234", Number: "215551234", CountryCode: "ID", CallingCode: "+62"}
	tests := []struct {
		in     string
		region string
		want   Phone
		err    string // substring of the error; "" for none
	}{
		{in: "0812-3456-7890", want: mobile},
		{in: "081234567890", want: mobile},
		{in: "0812 3456 7890", want: mobile},
		{in: "0812.3456.7890", want: mobile},
		{in: "(0812) 3456-7890", want: mobile},
		{in: "+62 812 3456 7890", want: mobile},
		{in: "+62 812-3456-7890", want: mobile},
		{in: "+62-812-3456-7890", want: mobile},
		{in: "+6281234567890", want: mobile},
		{in: "6281234567890", want: mobile},
		{in: "62 812 3456 7890", want: mobile},
		{in: "81234567890", want: mobile},
		{in: "812-3456-7890", want: mobile},
		{in: "  0812 - 3456 - 7890  ", want: mobile},
		{in: "+62 (812) 3456 7890", want: mobile},
		{in: "Telp. 0812-3456-7890", want: mobile},
		{in: "HP: +62 812 3456 7890", want: mobile},
		{in: "+62 0812 3456 7890", want: mobile},
		{in: "0812-3456-7890 / 0813-1111-2222", want: mobile},
		{in: "0812-3456-7890, 021 555 1234", want: mobile},
		{in: "(021) 555-1234", want: jakarta},
		{in: "021-5551234", want: jakarta},
		{in: "+62 21 5551234", want: jakarta},
		{in: "0361 234567", want: Phone{E164: "+62361234567", Number: "361234567", CountryCode: "ID", CallingCode: "+62"}},
		{in: "0857 1234 5678", want: Phone{E164: "+6285712345678", Number: "85712345678", CountryCode: "ID", CallingCode: "+62"}},
		{in: "0812-3456-789", want: Phone{E164: "+628123456789", Number: "8123456789", CountryCode: "ID", CallingCode: "+62"}},
		{in: "+65 6123 4567", want: Phone{E164: "+6561234567", Number: "61234567", CountryCode: "SG", CallingCode: "+65"}},
		{in: "+60 12-345 6789", want: Phone{E164: "+60123456789", Number: "123456789", CountryCode: "MY", CallingCode: "+60"}},
		{in: "6123 4567", region: "SG", want: Phone{E164: "+6561234567", Number: "61234567", CountryCode: "SG", CallingCode: "+65"}},
		{in: "0812-3456-7890", region: "id", want: mobile},
		{in: "", want: Phone{}},
		{in: "   ", want: Phone{}},
		{in: "0812", err: "too short"},
		{in: "12", err: "too short"},
		{in: "tidak ada", err: "is not a phone number"},
		{in: "-", err: "is not a phone number"},
		{in: "0812345678901234567890", err: "too long"},
		{in: "+999 1234 5678", err: "unknown country code"},
	}
	for _, tc := range tests {
		got, err := ParsePhone(tc.in, tc.region)
		if tc.err != "" {
			var ne *Error
			if !errors.As(err, &ne) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePhone(%q, %q) error = %v, want *Error containing %q", tc.in, tc.region, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePhone(%q, %q) = %+v, %v; want %+v", tc.in, tc.region, got, err, tc.want)
		}
	}
}

func FuzzPhone(f *testing.F) {
	for _, s := range []string{"0812-3456-7890", "+62 812 3456 7890", "6281234567890", "812", "(021) 555-1234", "+65 6123 4567", "abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePhone(s, "ID")
		if err != nil {
			return
		}
		q, err := ParsePhone(p.E164, "ID")
		if p.E164 == "" {
			return
		}
		if err != nil || q != p {
			t.Fatalf("not idempotent: %q -> %+v -> %+v, %v", s, p, q, err)
		}
	})
}
