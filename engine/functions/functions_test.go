package functions

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/kelompok/pipe/engine/normalize"
)

// TestExamples runs every documented example.
func TestExamples(t *testing.T) {
	for _, f := range Default.Functions() {
		if f.Doc == "" || f.Signature == "" || len(f.Examples) == 0 {
			t.Errorf("%s: needs a Doc, a Signature and at least one Example", f.Name)
		}
		for _, e := range f.Examples {
			var opts []expr.Option
			if e.Env != nil {
				opts = append(opts, expr.Env(e.Env))
			}
			prog, err := Default.Compile(e.Expr, opts...)
			if err != nil {
				t.Errorf("%s: compile %s: %v", f.Name, e.Expr, err)
				continue
			}
			got, err := expr.Run(prog, e.Env)
			if e.Err != "" {
				if err == nil || !strings.Contains(err.Error(), e.Err) {
					t.Errorf("%s: %s: error %v, want one containing %q", f.Name, e.Expr, err, e.Err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %s: %v", f.Name, e.Expr, err)
				continue
			}
			if !reflect.DeepEqual(got, e.Want) && !(isNil(got) && isNil(e.Want)) {
				t.Errorf("%s: %s = %#v, want %#v", f.Name, e.Expr, got, e.Want)
			}
		}
	}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Map && rv.IsNil()
}

// TestFieldsNamedLikeFunctions checks that `email(email)` calls the function
// with the field, although expr lets a variable hide a function.
func TestFieldsNamedLikeFunctions(t *testing.T) {
	env := map[string]any{"email": "", "phone": "", "position": "", "city": "", "name": map[string]any{"firstName": ""}}
	rec := map[string]any{"email": " Budi@Mail.ID", "phone": "0812-3456-7890", "position": "sekjen", "city": "kab. bandung", "name": map[string]any{"firstName": "Budi"}}
	tests := map[string]any{
		`email(email)`:                "budi@mail.id",
		`phone(phone).number`:         "81234567890",
		`position(position)`:          "Sekretaris Jenderal",
		`city(city)`:                  "Kabupaten Bandung",
		`name.firstName`:              "Budi",
		`name(name.firstName + " S")`: "Budi S",
	}
	for src, want := range tests {
		prog, err := Default.Compile(src, expr.Env(env))
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got, err := expr.Run(prog, rec); err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", src, got, err, want)
		}
	}
	// Type errors name the function by its public name.
	_, err := Default.Compile(`email(email, 2)`, expr.Env(env))
	if err == nil || strings.Contains(err.Error(), calleePrefix) || !strings.Contains(err.Error(), "email") {
		t.Errorf("email(email, 2): error %v, want one naming email", err)
	}
	// Errors inside the arguments of a call are reported (an expr patcher
	// doing the renaming would hide them).
	if _, err := Default.Compile(`email(nope)`, expr.Env(env)); err == nil || !strings.Contains(err.Error(), "unknown name nope") {
		t.Errorf("email(nope): error %v, want unknown name nope", err)
	}
	// With expr.Compile and Options(), the field hides the function: the
	// reason Compile exists.
	if _, err := expr.Compile(`email(email)`, append(Default.Options(), expr.Env(env))...); err == nil {
		t.Error("expr.Compile(email(email)) compiled; Compile's renaming would be unnecessary")
	}
}

func TestErrorsKeepTheirType(t *testing.T) {
	prog, err := Default.Compile(`email(x)`, expr.Env(map[string]any{"x": ""}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = expr.Run(prog, map[string]any{"x": "budi at mail"})
	var ne *normalize.Error
	if !errors.As(err, &ne) || ne.Func != "email" {
		t.Fatalf("error %v (%T), want a *normalize.Error", err, err)
	}
}

func TestRegistry(t *testing.T) {
	r := New()
	r.Register(Function{Name: "b", Func: func(...any) (any, error) { return nil, nil }})
	r.Register(Function{Name: "a", Func: func(...any) (any, error) { return nil, nil }, Normalize: func(s string) (string, error) { return s, nil }})
	if !r.Has("a") || r.Has("c") {
		t.Error("Has is wrong")
	}
	var names []string
	for _, f := range r.Functions() {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("Functions() = %v, want sorted [a b]", names)
	}
	if _, ok := r.Normalizer("a"); !ok {
		t.Error("Normalizer(a) missing")
	}
	if _, ok := r.Normalizer("b"); ok {
		t.Error("Normalizer(b) exists, but b has no Normalize")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("duplicate Register did not panic")
			}
		}()
		r.Register(Function{Name: "a", Func: func(...any) (any, error) { return nil, nil }})
	}()
}

func TestNormalizers(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"email", " Budi@Mail.ID ", "budi@mail.id"},
		{"phone", "0812-3456-7890", "+6281234567890"},
		{"phone", "+62 812 3456 7890", "+6281234567890"},
		{"domain", "https://www.Kelompok.id/", "kelompok.id"},
		{"url", "kelompok.id/", "https://kelompok.id"},
		{"name", "BAPAK BUDI SANTOSO", "Budi Santoso"},
		{"position", "ketum", "Ketua Umum"},
		{"province", "jabar", "Jawa Barat"},
		{"city", "kab. bandung", "Kabupaten Bandung"},
	}
	for _, tc := range tests {
		n, ok := Default.Normalizer(tc.name)
		if !ok {
			t.Errorf("no normalizer %q", tc.name)
			continue
		}
		if got, err := n(tc.in); err != nil || got != tc.want {
			t.Errorf("normalizer %s(%q) = %q, %v; want %q", tc.name, tc.in, got, err, tc.want)
		}
	}
}

// TestDocsUpToDate fails when docs/functions.md is not what the registry
// generates: run `go generate ./engine/functions` and commit the result.
func TestDocsUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/functions.md")
	if err != nil {
		t.Fatalf("%v: run `go generate ./engine/functions`", err)
	}
	if !bytes.Equal(got, Default.Markdown()) {
		t.Fatal("docs/functions.md is stale: run `go generate ./engine/functions` and commit it")
	}
}
