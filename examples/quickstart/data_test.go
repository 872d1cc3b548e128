package quickstart

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestGenerateIsDeterministicAndMessy(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a := Generate(DefaultSizes, base)
	b := Generate(DefaultSizes, base)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Generate is not deterministic")
	}
	if len(a.Organizations) < 50 || len(a.Members) < 500 {
		t.Fatalf("got %d organizations and %d members, want at least 50 and 500", len(a.Organizations), len(a.Members))
	}
	ids := map[string]bool{}
	emails := map[string]bool{}
	var spaced, mixed, dashed, plus62, ketum int
	for _, m := range a.Members {
		if ids[m.ID] {
			t.Fatalf("duplicate member id %s", m.ID)
		}
		ids[m.ID] = true
		if m.Email != nil {
			e := strings.ToLower(strings.TrimSpace(*m.Email))
			if emails[e] {
				t.Errorf("two members share the email %q", e)
			}
			emails[e] = true
			if strings.TrimSpace(*m.Email) != *m.Email {
				spaced++
			}
			if strings.ToLower(*m.Email) != *m.Email {
				mixed++
			}
		}
		if m.Phone != nil {
			if strings.Contains(*m.Phone, "-") {
				dashed++
			}
			if strings.HasPrefix(*m.Phone, "+62") {
				plus62++
			}
		}
		if m.Position != nil && *m.Position == "Ketum" {
			ketum++
		}
	}
	for name, n := range map[string]int{"spaced emails": spaced, "mixed-case emails": mixed, "dashed phones": dashed, "+62 phones": plus62, "Ketum": ketum} {
		if n == 0 {
			t.Errorf("no %s in the sample data", name)
		}
	}
	websites := map[string]bool{}
	for _, o := range a.Organizations {
		if o.Website == nil {
			continue
		}
		w := strings.ToLower(*o.Website)
		for _, p := range []string{"https://", "http://", "www."} {
			w = strings.TrimPrefix(w, p)
		}
		w = strings.TrimSuffix(w, "/")
		if websites[w] {
			t.Errorf("two organizations share the website %q", w)
		}
		websites[w] = true
	}
}
