// Package secrets resolves #Secret references (Vault, environment, file) into
// values that cannot print themselves.
package secrets

import (
	"context"
	"fmt"
	"log/slog"
)

// Ref is where a secret lives, as written in CUE: exactly one of Vault, Env
// or File is set. A Ref is safe to print, log and show: it holds no value.
type Ref struct {
	Vault *VaultRef `json:"vault,omitempty"`
	Env   string    `json:"env,omitempty"`
	File  string    `json:"file,omitempty"`
}

// VaultRef names one key of a Vault KV secret.
type VaultRef struct {
	Path string `json:"path"`
	Key  string `json:"key"`
}

// String describes the reference, never the value.
func (r Ref) String() string {
	switch {
	case r.Vault != nil:
		return fmt.Sprintf("vault:%s#%s", r.Vault.Path, r.Vault.Key)
	case r.Env != "":
		return "env:" + r.Env
	case r.File != "":
		return "file:" + r.File
	}
	return "<empty secret reference>"
}

// IsZero reports whether no source is set.
func (r Ref) IsZero() bool { return r.Vault == nil && r.Env == "" && r.File == "" }

// Value is a resolved secret. Every way of printing it (fmt verbs, slog,
// encoding/json, encoding.TextMarshaler) yields "[REDACTED]"; only Reveal
// returns the value, and call sites of Reveal are the places to audit.
type Value struct {
	v string
}

// New wraps a secret value.
func New(v string) Value { return Value{v: v} }

// Reveal returns the secret value. Use it only to hand the value to the
// system that needs it (an Authorization header, a database driver).
func (s Value) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Value) IsZero() bool { return s.v == "" }

const redacted = "[REDACTED]"

// String implements fmt.Stringer.
func (Value) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (Value) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb (%s %v %q %x %d) redacts.
func (Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (Value) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Resolver turns references into values.
type Resolver interface {
	Resolve(ctx context.Context, ref Ref) (Value, error)
}
