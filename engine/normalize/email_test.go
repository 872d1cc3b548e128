package normalize

import (
	"errors"
	"strings"
	"testing"
)

func TestEmail(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "budi@mail.id", want: "budi@mail.id"},
		{in: "  Budi.Santoso@Gmail.COM ", want: "budi.santoso@gmail.com"},
		{in: "BUDI@KELOMPOK.ID", want: "budi@kelompok.id"},
		{in: "budi @ mail.id", want: "budi@mail.id"},
		{in: "mailto:budi@mail.id", want: "budi@mail.id"},
		{in: "Budi Santoso <Budi@Mail.id>", want: "budi@mail.id"},
		{in: "budi+kelompok@mail.id", want: "budi+kelompok@mail.id"},
		{in: "budi@mail.id.", want: "budi@mail.id"},
		{in: "budi@mail.co.id,", want: "budi@mail.co.id"},
		{in: "", want: ""},
		{in: "   ", want: ""},
		{in: "budi at mail", err: `email: "budi at mail" is not an email address (missing @)`},
		{in: "budi@@mail.id", err: "more than one @"},
		{in: "@mail.id", err: "nothing before @"},
		{in: "budi@", err: "nothing after @"},
		{in: "budi@mail", err: "domain has no dot"},
		{in: "budi santoso@mail.id", err: "contains a space"},
		{in: "budi..s@mail.id", err: "misplaced dot before @"},
		{in: "budi@mail..id", err: "misplaced dot or hyphen in domain"},
		{in: "budi@1.2.3.4", err: "domain does not end in a name"},
		{in: "bu(di)@mail.id", err: "not allowed"},
	}
	for _, tc := range tests {
		got, err := Email(tc.in)
		if tc.err != "" {
			if !errors.As(err, new(*Error)) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Email(%q) error = %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Email(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestErrorRedacted(t *testing.T) {
	_, err := Email("Budi at mail 0812")
	var ne *Error
	if !errors.As(err, &ne) {
		t.Fatalf("no *Error: %v", err)
	}
	r := ne.Redacted()
	if strings.Contains(r, "Budi") || strings.Contains(r, "0812") {
		t.Fatalf("redacted message shows the value: %s", r)
	}
	if want := `email: value of 17 characters shaped "Aaaa aa aaaa 9999" is not an email address (missing @)`; r != want {
		t.Fatalf("Redacted() = %s, want %s", r, want)
	}
}

func TestURLAndDomain(t *testing.T) {
	tests := []struct{ in, url, domain, err string }{
		{in: "kelompok.id", url: "https://kelompok.id", domain: "kelompok.id"},
		{in: "https://Kelompok.ID/", url: "https://kelompok.id", domain: "kelompok.id"},
		{in: "www.kelompok.id", url: "https://www.kelompok.id", domain: "kelompok.id"},
		{in: "HTTP://WWW.Kelompok.id/Tentang/", url: "http://www.kelompok.id/Tentang", domain: "kelompok.id"},
		{in: "https://kelompok.id:443/a?b=c", url: "https://kelompok.id/a?b=c", domain: "kelompok.id"},
		{in: "http://kelompok.id:8080", url: "http://kelompok.id:8080", domain: "kelompok.id"},
		{in: "//kelompok.id", url: "https://kelompok.id", domain: "kelompok.id"},
		{in: "  yayasan-maju.or.id  ", url: "https://yayasan-maju.or.id", domain: "yayasan-maju.or.id"},
		{in: "kelompok.id.", url: "https://kelompok.id", domain: "kelompok.id"},
		{in: "", url: "", domain: ""},
		{in: "-", err: "no dot"},
		{in: "not a site", err: "contains a space"},
		{in: "ftp://kelompok.id", err: "want http or https"},
		{in: "https://", err: "no host"},
	}
	for _, tc := range tests {
		u, uerr := URL(tc.in)
		d, derr := Domain(tc.in)
		if tc.err != "" {
			if uerr == nil || derr == nil || !strings.Contains(uerr.Error(), tc.err) {
				t.Errorf("URL/Domain(%q) errors = %v / %v, want %q", tc.in, uerr, derr, tc.err)
			}
			continue
		}
		if uerr != nil || derr != nil || u != tc.url || d != tc.domain {
			t.Errorf("URL/Domain(%q) = %q, %q (%v, %v); want %q, %q", tc.in, u, d, uerr, derr, tc.url, tc.domain)
		}
	}
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"Budi@Mail.id", "budi at mail", "A <b@c.d>", "mailto:x@y.z.", "x@y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Email(s)
		if err != nil {
			return
		}
		if again, err := Email(e); err != nil || again != e {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, e, again, err)
		}
	})
}

func FuzzURL(f *testing.F) {
	for _, s := range []string{"kelompok.id", "HTTP://WWW.Kelompok.id/Tentang/", "https://a.b:443/?", "http://[::1]:80/x#y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := URL(s); err == nil {
			if again, err := URL(u); err != nil || again != u {
				t.Fatalf("URL not idempotent: %q -> %q -> %q, %v", s, u, again, err)
			}
		}
		if d, err := Domain(s); err == nil && d != "" {
			if again, err := Domain(d); err != nil || again != d {
				t.Fatalf("Domain not idempotent: %q -> %q -> %q, %v", s, d, again, err)
			}
		}
	})
}

func TestTextHelpers(t *testing.T) {
	for _, tc := range []struct{ in, squish, title string }{
		{"  Jl.  Merdeka\t\nNo. 5 ", "Jl. Merdeka No. 5", "Jl. Merdeka No. 5"},
		{"JAWA BARAT", "JAWA BARAT", "Jawa Barat"},
		{"o'neil-smith", "o'neil-smith", "O'Neil-Smith"},
		{"\u00a0budi\u00a0", "budi", "Budi"},
		{"", "", ""},
	} {
		if got := Squish(tc.in); got != tc.squish {
			t.Errorf("Squish(%q) = %q, want %q", tc.in, got, tc.squish)
		}
		if got := Title(tc.in); got != tc.title {
			t.Errorf("Title(%q) = %q, want %q", tc.in, got, tc.title)
		}
	}
	if got := Shape("Budi 0812-ÄB"); got != "Aaaa 9999-AA" {
		t.Errorf("Shape = %q", got)
	}
}
