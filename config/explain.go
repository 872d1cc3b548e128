package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
)

var (
	reDisjunction = regexp.MustCompile(`^\d+ errors in empty disjunction:?$`)
	reConflict    = regexp.MustCompile(`^conflicting values (.+?) and (.+?)(?: \(mismatched types (\w+) and (\w+)\))?$`)
	reIncomplete  = regexp.MustCompile(`^incomplete value (.+)$`)
	reMissing     = regexp.MustCompile(`^required field missing: (.+)$`)
	reOutOfBound  = regexp.MustCompile(`^invalid value (.+) \(out of bound (.+)\)$`)
)

// secretFields are the field names that hold a #Secret.
var secretFields = map[string]bool{"apiKey": true, "webhookSecret": true, "adminToken": true, "url": true}

// secretHint says how to write the secret at path (or at its parent):
// its variable name is derived from the path, e.g. TWENTY_API_KEY for
// connections.twenty.apiKey.
func secretHint(path []string) string {
	name := "TWENTY_API_KEY"
	switch {
	case len(path) >= 3 && path[0] == "connections":
		name = envName(path[1]) + "_" + envName(path[2])
	case len(path) >= 2 && path[0] == "state":
		name = "PIPE_STATE_DATABASE_URL"
	case len(path) >= 2 && path[0] == "server":
		name = "PIPE_" + envName(path[1])
	}
	lower := strings.ToLower(name)
	return fmt.Sprintf(`a secret must be a reference to where it is kept, not the value: write {env: %q}, {file: "/run/secrets/%s"} or {vault: {path: "secret/data/pipe", key: %q}}`, name, lower, lower)
}

// envName turns a camelCase or kebab-case name into UPPER_SNAKE_CASE.
func envName(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// explain turns the CUE messages of one path into messages that say what
// to do.
func (l *loader) explain(path []string, msgs []string) []string {
	user := l.userSource(path)
	if m := l.setTwice(path, msgs); m != "" {
		return []string{m}
	}
	if user == "" {
		user = commonSide(msgs)
	}
	var alternatives []string
	// literals are the string values a value of another type was
	// compared with: the choices of an enumeration ("push", "pull",
	// "both"), or the default of a field whose type is wanted instead.
	var literals []string
	var out []string
	secret := false
	// A value that conflicts with, or is out of the bounds of, an
	// alternative of a disjunction is a field that alternative has; the
	// "field not allowed" the other alternatives add for it is noise.
	conflict := false
	for _, m := range msgs {
		if reConflict.MatchString(m) || reOutOfBound.MatchString(m) {
			conflict = true
		}
	}
	for _, m := range msgs {
		if reDisjunction.MatchString(m) || conflict && m == "field not allowed" {
			continue
		}
		if c := reConflict.FindStringSubmatch(m); c != nil {
			a, b := c[1], c[2]
			other := b
			if user != "" && b == user {
				other = a
			}
			if c[3] != "" && !strings.HasPrefix(other, "{") && !strings.HasPrefix(other, "=~") {
				if strings.HasPrefix(other, `"`) {
					literals = append(literals, other)
					continue
				}
				// a type mismatch: name the wanted type
				other = c[4]
				if b == user {
					other = c[3]
				}
			}
			if strings.Contains(other, "env!:") || strings.Contains(other, "vault!:") || strings.Contains(other, "file!:") {
				secret = true
				continue
			}
			alternatives = append(alternatives, describe(other))
			continue
		}
		out = append(out, l.explainOne(path, m))
	}
	if secret {
		if user != "" && strings.HasPrefix(user, `"`) {
			return append([]string{"a secret cannot be a plain string; " + secretHint(path)}, out...)
		}
		return append([]string{"invalid secret reference; " + secretHint(path)}, out...)
	}
	if len(alternatives) == 0 {
		// only string choices were offered: they are what is wanted
		alternatives = literals
	}
	bounded := false
	for _, m := range out {
		if strings.HasPrefix(m, "unknown field") || strings.HasPrefix(m, "unknown secret source") {
			continue // what bounded would drop; its own hint says "must be"
		}
		if strings.Contains(m, "must be") || strings.Contains(m, "environment variable") || strings.Contains(m, "stream reference") {
			bounded = true
		}
	}
	if bounded {
		// the other alternatives are the field's default: noise
		alternatives = nil
		out = dropUnknownField(out)
	}
	if len(alternatives) > 0 {
		sort.Strings(alternatives)
		alternatives = dedupe(alternatives)
		got := "invalid value"
		if user != "" {
			got += " " + user
		}
		var msg string
		if len(alternatives) == 1 {
			msg = fmt.Sprintf("%s: want %s", got, alternatives[0])
		} else {
			msg = fmt.Sprintf("%s: want one of %s", got, strings.Join(alternatives, ", "))
		}
		out = append([]string{msg}, out...)
	}
	return out
}

func (l *loader) explainOne(path []string, m string) string {
	last := ""
	if len(path) > 0 {
		last = path[len(path)-1]
	}
	parent := ""
	if len(path) > 1 {
		parent = path[len(path)-2]
	}
	if b := reOutOfBound.FindStringSubmatch(m); b != nil {
		switch {
		case strings.Contains(b[2], "A-Za-z0-9_]*$"):
			return fmt.Sprintf("invalid value %s: not an environment variable name; use letters, digits and _, e.g. TWENTY_API_KEY", b[1])
		case strings.HasPrefix(b[2], `=~"^[A-Za-z_][A-Za-z0-9_-]*\\.`):
			return fmt.Sprintf(`invalid value %s: want a stream reference "connection.stream", e.g. "kelompok.members"`, b[1])
		case strings.HasPrefix(b[2], "=~"):
			return fmt.Sprintf("invalid value %s: must match %s", b[1], strings.TrimPrefix(b[2], "=~"))
		}
		return fmt.Sprintf("invalid value %s: must be %s", b[1], b[2])
	}
	switch {
	case m == "field not allowed" && secretFields[parent] && (last == "env" || last == "file" || last == "vault"):
		return fmt.Sprintf("%q cannot be combined with other fields: a secret takes exactly one of env, file and vault; %s", last, secretHint(path))
	case m == "field not allowed" && secretFields[parent]:
		return fmt.Sprintf("unknown secret source %q; %s", last, secretHint(path))
	case m == "field not allowed":
		return fmt.Sprintf("unknown field %q: remove it or correct its spelling (the fields are listed in docs/configuration.md)", last)
	case m == "field is required but not present":
		return fmt.Sprintf("required field %q is missing: add it", last)
	case reMissing.MatchString(m):
		f := reMissing.FindStringSubmatch(m)[1]
		return fmt.Sprintf("required field %q is missing: add it", f)
	case reIncomplete.MatchString(m):
		want := reIncomplete.FindStringSubmatch(m)[1]
		if strings.Contains(want, "env!:") {
			return "required secret is missing: add it; " + secretHint(path)
		}
		return fmt.Sprintf("no concrete value (want %s): give it a value", describe(want))
	}
	return m
}

// setTwice explains a conflict between two values the user wrote for the
// same field in different places, "" when there is none.
func (l *loader) setTwice(path []string, msgs []string) string {
	es := l.index.entries(path...)
	if len(es) < 2 {
		return ""
	}
	for _, m := range msgs {
		c := reConflict.FindStringSubmatch(m)
		if c == nil {
			continue
		}
		var at []string
		for _, v := range c[1:3] {
			for _, e := range es {
				if lit, ok := e.value.(*ast.BasicLit); ok && lit.Value == v {
					at = append(at, l.position(lit.Pos()).String())
					break
				}
			}
		}
		if len(at) == 2 {
			return fmt.Sprintf("conflicting values %s and %s: the field is given both, at %s and %s; keep one", c[1], c[2], at[0], at[1])
		}
	}
	return ""
}

// commonSide is the value every one of several conflicts names, on the
// same side: the user's value, compared in turn with each alternative of
// a disjunction, when it is not written literally at its path (it comes
// from a definition, say). It is "" when there is no such value.
func commonSide(msgs []string) string {
	var first, second []string
	for _, m := range msgs {
		if c := reConflict.FindStringSubmatch(m); c != nil {
			first = append(first, c[1])
			second = append(second, c[2])
		}
	}
	if len(first) < 2 {
		return ""
	}
	short := func(s string) string {
		if len(s) > 60 {
			return ""
		}
		return s
	}
	same := func(s []string) bool {
		for _, x := range s[1:] {
			if x != s[0] {
				return false
			}
		}
		return true
	}
	switch {
	case same(first) && !same(second):
		return short(first[0])
	case same(second) && !same(first):
		return short(second[0])
	}
	return ""
}

// describe renders a CUE constraint for a reader.
func describe(c string) string {
	switch {
	case c == "int":
		return "an integer"
	case c == "string":
		return "a string"
	case c == "bool":
		return "true or false"
	case c == "number" || c == "float":
		return "a number"
	case c == "list":
		return "a list"
	case c == "struct":
		return "a struct"
	case strings.Contains(c, "A-Za-z0-9_]*$"):
		return `an environment variable name such as "TWENTY_API_KEY"`
	case strings.HasPrefix(c, `=~"^[A-Za-z_][A-Za-z0-9_-]*\\.`):
		return `a stream reference "connection.stream"`
	case strings.HasPrefix(c, "{"):
		return "a struct"
	case strings.HasPrefix(c, "["):
		return "a list"
	}
	return c
}

// userSource is the user's literal value at path as written, "" when it is
// not a single literal.
func (l *loader) userSource(path []string) string {
	es := l.index.entries(path...)
	if len(es) != 1 {
		return ""
	}
	switch v := es[0].value.(type) {
	case *ast.BasicLit:
		return v.Value
	case *ast.StructLit, *ast.ListLit:
		b, err := format.Node(v)
		if err != nil || len(b) > 60 || strings.Contains(string(b), "\n") {
			return ""
		}
		return string(b)
	}
	return ""
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i > 0 && x == s[i-1] {
			continue
		}
		out = append(out, x)
	}
	return out
}

// dropUnknownField removes "unknown field" messages, which a failed
// disjunction adds for the alternatives the value did not choose.
func dropUnknownField(msgs []string) []string {
	out := msgs[:0]
	for _, m := range msgs {
		if !strings.HasPrefix(m, "unknown field") && !strings.HasPrefix(m, "unknown secret source") {
			out = append(out, m)
		}
	}
	return out
}
