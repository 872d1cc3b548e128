package config

import (
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// TestFunctionNamedLikeAField compiles calls of functions that share their
// name with a record field (email(email)), which expr alone rejects with
// "string is not callable".
func TestFunctionNamedLikeAField(t *testing.T) {
	ft := newFunctionTable([]expr.Option{
		expr.Function("email", func(args ...any) (any, error) {
			return strings.ToLower(strings.TrimSpace(args[0].(string))), nil
		}, new(func(string) string)),
	})
	env := map[string]any{"email": "", "name": ""}
	compile := func(src string) (*vm.Program, error) {
		return ft.compile(src, expr.Env(env))
	}
	prog, err := compile(`email(email) + "/" + name`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := expr.Run(prog, map[string]any{"email": "  Siti@Example.ORG ", "name": "Siti"})
	if err != nil || out != "siti@example.org/Siti" {
		t.Fatalf("got %v, %v", out, err)
	}
	// Arguments are still type-checked, and messages name the function.
	_, err = compile(`email(nope)`)
	if err == nil || !strings.Contains(err.Error(), "unknown name nope") {
		t.Errorf("email(nope): %v", err)
	}
	_, err = compile(`email(1)`)
	if err == nil || strings.Contains(cleanMessage(err.Error()), calleePrefix) || !strings.Contains(cleanMessage(err.Error()), "email") {
		t.Errorf("email(1): %v", err)
	}
}

// TestRegistryCalls compiles calls of the real registry's functions where
// fields share their names, and checks that errors in their arguments are
// reported (an expr patcher alone hides them).
func TestRegistryCalls(t *testing.T) {
	env := map[string]any{"email": "", "phone": "", "city": "", "full_name": ""}
	for src, wantErr := range map[string]string{
		`email(email)`:                 "",
		`phone(phone).e164`:            "",
		`city(city)`:                   "",
		`name_parts(full_name).first`:  "",
		`email(nope)`:                  "unknown name nope",
		`city(email, 1, 2)`:            "too many arguments to call city",
		`lower(email(email)) + phones`: "unknown name phones",
	} {
		_, err := CompileExpr(src, env, false)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", src, err)
		case wantErr != "" && (err == nil || !strings.Contains(cleanMessage(err.Error()), wantErr)):
			t.Errorf("%s: error %v, want %q", src, err, wantErr)
		}
	}
}
