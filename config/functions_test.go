package config

import (
	"strings"
	"testing"
)

// TestRegistryCalls compiles calls of the registry's functions where fields
// share their names, and checks that errors in their arguments are reported
// with the functions' public names.
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
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr) || strings.Contains(err.Error(), "fn:")):
			t.Errorf("%s: error %v, want %q without internal names", src, err, wantErr)
		}
	}
}
