package secrets

import (
	"context"
	"fmt"
	"os"
)

// Env resolves {env: NAME} references from environment variables.
type Env struct {
	// Lookup reads a variable; nil means os.LookupEnv.
	Lookup func(name string) (string, bool)
}

// Resolve returns the variable's value. An unset or empty variable is an
// error that names the variable and how to set it.
func (e Env) Resolve(_ context.Context, ref Ref) (Value, error) {
	if ref.Env == "" {
		return Value{}, fmt.Errorf("secret %s is not an env reference", ref)
	}
	lookup := e.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(ref.Env)
	switch {
	case !ok:
		return Value{}, fmt.Errorf("secret %s: environment variable %s is not set (export %s=... before running pipe)", ref, ref.Env, ref.Env)
	case v == "":
		return Value{}, fmt.Errorf("secret %s: environment variable %s is set but empty (export %s=... with the value)", ref, ref.Env, ref.Env)
	}
	return New(v), nil
}
