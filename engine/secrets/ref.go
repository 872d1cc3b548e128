package secrets

import (
	"fmt"
	"sort"
	"strings"
)

// ParseRef reads a #Secret reference from JSON-like config data (as found in
// config.Connection.Params): a map with exactly one of
//
//	{vault: {path: "secret/data/kelompok", key: "url"}}
//	{env: "KELOMPOK_URL"}
//	{file: "secrets/kelompok-url"}
//
// A Ref or *Ref is accepted as is. The error names what was wrong with the
// reference; it never contains a value, since a reference holds none.
func ParseRef(v any) (Ref, error) {
	switch r := v.(type) {
	case Ref:
		return r, checkRef(r)
	case *Ref:
		if r == nil {
			return Ref{}, fmt.Errorf("secret reference is empty: set one of vault, env or file")
		}
		return *r, checkRef(*r)
	case map[string]any:
		var ref Ref
		for k, val := range r {
			switch k {
			case "env":
				s, ok := val.(string)
				if !ok || s == "" {
					return Ref{}, fmt.Errorf("secret reference: env must be the name of an environment variable")
				}
				ref.Env = s
			case "file":
				s, ok := val.(string)
				if !ok || s == "" {
					return Ref{}, fmt.Errorf("secret reference: file must be a path")
				}
				ref.File = s
			case "vault":
				m, ok := val.(map[string]any)
				if !ok {
					return Ref{}, fmt.Errorf("secret reference: vault must be {path: ..., key: ...}")
				}
				path, _ := m["path"].(string)
				key, _ := m["key"].(string)
				if path == "" || key == "" {
					return Ref{}, fmt.Errorf("secret reference: vault needs both path and key (got path %q, key %q)", path, key)
				}
				ref.Vault = &VaultRef{Path: path, Key: key}
			default:
				return Ref{}, fmt.Errorf("secret reference: unknown source %q (use vault, env or file)", k)
			}
		}
		return ref, checkRef(ref)
	case nil:
		return Ref{}, fmt.Errorf("secret reference is missing: set one of vault, env or file")
	default:
		return Ref{}, fmt.Errorf("secret reference must be an object with one of vault, env or file, not a %T", v)
	}
}

func checkRef(r Ref) error {
	var set []string
	if r.Vault != nil {
		set = append(set, "vault")
	}
	if r.Env != "" {
		set = append(set, "env")
	}
	if r.File != "" {
		set = append(set, "file")
	}
	switch len(set) {
	case 0:
		return fmt.Errorf("secret reference is empty: set one of vault, env or file")
	case 1:
		return nil
	}
	sort.Strings(set)
	return fmt.Errorf("secret reference sets %s: set exactly one source", strings.Join(set, " and "))
}

// IsRef reports whether v looks like a secret reference in config data (a
// map whose keys are among vault, env and file), as opposed to a plain value.
func IsRef(v any) bool {
	switch m := v.(type) {
	case Ref, *Ref:
		return true
	case map[string]any:
		if len(m) == 0 {
			return false
		}
		for k := range m {
			if k != "vault" && k != "env" && k != "file" {
				return false
			}
		}
		return true
	}
	return false
}
