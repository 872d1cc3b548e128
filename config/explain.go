package config

import (
	"cmp"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/token"
)

var (
	reDisjunction = regexp.MustCompile(`^\d+ errors in empty disjunction:?$`)
	reConflict    = regexp.MustCompile(`^conflicting values (.+?) and (.+?)(?: \(mismatched types (\w+) and (\w+)\))?$`)
	reIncomplete  = regexp.MustCompile(`^incomplete value (.+)$`)
	reMissing     = regexp.MustCompile(`^required field missing: (.+)$`)
	reOutOfBound  = regexp.MustCompile(`^invalid value (.+) \(out of bound (.+)\)$`)
	reNotFound    = regexp.MustCompile(`^reference "(.+)" not found$`)
	reCombine     = regexp.MustCompile(`^cannot combine regular field "(.+)" with (.+)$`)
)

// secretFields are the field names that hold a #Secret.
var secretFields = map[string]bool{"apiKey": true, "webhookSecret": true, "adminToken": true, "url": true}

// secretHint says how to write the secret at path (or at its parent):
// its variable name is derived from the path, e.g. TWENTY_API_KEY for
// connections.twenty.apiKey. An exec connection's env value may also be a
// plain string, and its secret is suggested to be kept in the variable of
// the same name.
func secretHint(path []string) string {
	name := secretEnvName(path)
	lower := strings.ToLower(name)
	if isEnvValuePath(path) {
		return fmt.Sprintf(`a secret reference takes exactly one of env, file and vault: write {env: %q}, {file: "/run/secrets/%s"} or {vault: {path: "secret/data/pipe", key: %q}}, or give a plain string`, name, lower, lower)
	}
	return fmt.Sprintf(`a secret must be a reference to where it is kept, not the value: write {env: %q}, {file: "/run/secrets/%s"} or {vault: {path: "secret/data/pipe", key: %q}}`, name, lower, lower)
}

// isEnvValuePath says whether path is, or is below, the value of an
// environment variable of an exec connection (connections.<name>.env.<NAME>):
// a plain string or a #Secret. Only an exec connection has env, so the
// path alone tells (isSecretPath also checks the connection's kind).
func isEnvValuePath(path []string) bool {
	return len(path) >= 4 && path[0] == "connections" && path[2] == "env"
}

// secretEnvName is the environment variable name a secret at path (or
// below it) is suggested to be kept in.
func secretEnvName(path []string) string {
	name := "TWENTY_API_KEY"
	switch {
	case isEnvValuePath(path):
		name = path[3]
	case len(path) >= 3 && path[0] == "connections":
		name = envName(path[1]) + "_" + envName(path[2])
	case len(path) >= 2 && path[0] == "state":
		name = "PIPE_STATE_DATABASE_URL"
	case len(path) >= 2 && path[0] == "server":
		name = "PIPE_" + envName(path[1])
	}
	return name
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
	if lit, ok := l.offendingLiteral(path, msgs); ok && user == "" {
		user = lit.Value
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
	// A secret's only source, whose own value is wrong, is "not allowed"
	// by the other sources' alternatives: it is combined with nothing, and
	// the error inside it is reported at its own path.
	lone := l.loneSecretSource(path)
	// An env value's one source beside unknown fields is right: the
	// unknown fields are the problem, and are reported.
	soleSource := l.soleSourceBesideUnknown(path)
	for _, m := range msgs {
		if reDisjunction.MatchString(m) || (conflict || lone || soleSource) && m == "field not allowed" {
			continue
		}
		if c := reConflict.FindStringSubmatch(m); c != nil {
			if len(path) == 4 && isEnvValuePath(path) && (c[3] == "struct" && c[4] == "string" || c[3] == "string" && c[4] == "struct") && l.errorsBelow(path) {
				// An env value written as a struct is a secret reference:
				// the errors inside it say what is wrong, not "want a
				// string".
				continue
			}
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
			if len(path) > 0 && path[len(path)-1] == "vault" && strings.Contains(other, "path!:") && strings.Contains(other, "key!:") {
				alternatives = append(alternatives, vaultHint(path, user))
				continue
			}
			alternatives = append(alternatives, describe(other))
			continue
		}
		out = append(out, l.explainOne(path, m))
	}
	if secret {
		if len(path) == 4 && isEnvValuePath(path) {
			got := "invalid value"
			if user != "" {
				got += " " + user
			}
			return append([]string{got + ": want a string or a secret reference; " + secretHint(path)}, out...)
		}
		if user != "" && strings.HasPrefix(user, `"`) {
			return append([]string{"a secret cannot be a plain string; " + secretHint(path)}, out...)
		}
		return append([]string{"invalid secret reference; " + secretHint(path)}, out...)
	}
	if len(alternatives) == 0 {
		// only string choices were offered: they are what is wanted
		alternatives = literals
	}
	// A bound the value breaks says what is wanted (batchSize: <=200); the
	// alternatives beside it are the field's default (*60): noise. (No
	// "unknown field" is left to drop here: a conflict or a bound drops
	// the "field not allowed" of the same path above.)
	for _, m := range out {
		if strings.Contains(m, "must be") || strings.Contains(m, "must match") || strings.Contains(m, "must start with") || strings.Contains(m, "environment variable") || strings.Contains(m, "stream reference") {
			alternatives = nil
			break
		}
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
			if u, err := strconv.Unquote(user); err == nil && strings.HasPrefix(user, `"`) {
				var choices []string
				for _, a := range alternatives {
					if c, err := strconv.Unquote(a); err == nil {
						choices = append(choices, c)
					}
				}
				msg += didYouMean(u, choices)
			}
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
	secretParent := len(path) > 1 && l.isSecretPath(path[:len(path)-1])
	if r := reNotFound.FindStringSubmatch(m); r != nil {
		if hint := l.unquotedExpr(path); hint != "" {
			return m + ": " + hint
		}
	}
	if c := reCombine.FindStringSubmatch(m); c != nil {
		return notAStruct(path, c[2])
	}
	if b := reOutOfBound.FindStringSubmatch(m); b != nil {
		switch {
		case b[2] == `=~"^https?://"`:
			example := `"https://crm.example.org"`
			if u, err := strconv.Unquote(b[1]); err == nil && !strings.Contains(u, "://") && u != "" {
				example = strconv.Quote("https://" + u)
			}
			return fmt.Sprintf("invalid value %s: a URL must start with http:// or https://, e.g. %s", b[1], example)
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
	case m == "field not allowed" && secretParent && (last == "env" || last == "file" || last == "vault"):
		if isEnvValuePath(path) { // the hint says a secret takes one source
			return fmt.Sprintf("%q cannot be combined with other fields; %s", last, secretHint(path))
		}
		return fmt.Sprintf("%q cannot be combined with other fields: a secret takes exactly one of env, file and vault; %s", last, secretHint(path))
	case m == "field not allowed" && secretParent:
		return fmt.Sprintf("unknown secret source %q; %s", last, secretHint(path))
	case m == "field not allowed":
		return fmt.Sprintf("unknown field %q: remove it or correct its spelling (the fields are listed in docs/configuration.md)", last)
	case m == "field is required but not present" && (last == "path" || last == "key") && len(path) > 2 && path[len(path)-2] == "vault" && l.isSecretPath(path[:len(path)-2]):
		return fmt.Sprintf("required field %q is missing: a vault source names a key of a Vault KV secret; write %s", last, l.vaultExample(path[:len(path)-1]))
	case m == "field is required but not present":
		return fmt.Sprintf("required field %q is missing: add it", last)
	case reMissing.MatchString(m):
		f := reMissing.FindStringSubmatch(m)[1]
		return fmt.Sprintf("required field %q is missing: add it", f)
	case reIncomplete.MatchString(m):
		want := reIncomplete.FindStringSubmatch(m)[1]
		if strings.Contains(want, "env!:") {
			if l.emptyStruct(path) {
				// written, as {}: no source is not "missing"
				if isEnvValuePath(path) {
					return "empty secret reference {}; " + secretHint(path)
				}
				return "empty secret reference {}: a secret takes exactly one of env, file and vault; " + secretHint(path)
			}
			return "required secret is missing: add it; " + secretHint(path)
		}
		return fmt.Sprintf("no concrete value (want %s): give it a value", describe(want))
	}
	return m
}

// givenTwice explains a value the user gave in two places, which CUE
// unifies rather than letting the later one win: two different literals
// for one field, or two secret references with different sources. It
// returns the message and the place to report it (the second place), ok
// false when the values are not found in two places (a value that comes
// from a definition or a reference): the plain message is given then.
func (l *loader) givenTwice(path []string, msgs []string) (string, Pos, bool) {
	es := l.index.entries(path...)
	if len(es) < 2 {
		return "", Pos{}, false
	}
	if l.isSecretPath(path) {
		var places []astEntry
		seen := map[string]bool{}
		for _, e := range es {
			src := secretSource(e.value)
			if src == "" || seen[src] {
				continue
			}
			seen[src] = true
			places = append(places, e)
		}
		if len(places) >= 2 {
			a, b := l.homeFirst(path, places[0], places[1])
			return fmt.Sprintf("the secret is given twice, as %s at %s and as %s at %s%s",
				shortNode(a.value), l.position(a.value.Pos()), shortNode(b.value), l.position(b.value.Pos()), unified(a, b)), l.position(b.value.Pos()), true
		}
		if !isEnvValuePath(path) {
			return "", Pos{}, false
		}
		// an env value may be a plain string, which is no secret: two
		// of them are named below
	}
	for _, m := range msgs {
		c := reConflict.FindStringSubmatch(m)
		if c == nil {
			continue
		}
		var at []astEntry
		for _, v := range c[1:3] {
			for _, e := range es {
				if lit, ok := e.value.(*ast.BasicLit); ok && lit.Value == v {
					at = append(at, e)
					break
				}
			}
		}
		if len(at) < 2 { // a value not written literally at path
			continue
		}
		if indexOf(es, at[0]) > indexOf(es, at[1]) {
			at[0], at[1] = at[1], at[0]
		}
		a, b := l.homeFirst(path, at[0], at[1])
		return fmt.Sprintf("conflicting values %s (at %s) and %s (at %s): the field is given twice%s",
			a.value.(*ast.BasicLit).Value, l.position(a.value.Pos()), b.value.(*ast.BasicLit).Value, l.position(b.value.Pos()), unified(a, b)), l.position(b.value.Pos()), true
	}
	return "", Pos{}, false
}

func indexOf(es []astEntry, e astEntry) int {
	for i, x := range es {
		if x.label == e.label && x.value == e.value {
			return i
		}
	}
	return -1
}

// unified says why a second value does not replace the first, and where
// to change it.
func unified(first, second astEntry) string {
	if first.file == second.file {
		return "; keep one"
	}
	a, b := filepath.Base(first.file), filepath.Base(second.file)
	return fmt.Sprintf(", and the files of a directory are unified, not overridden: %s cannot replace the value set in %s; keep one: change it in %s and remove it from %s", b, a, a, b)
}

// homeFirst orders two places of one value: the one in the file that
// declares the pipeline or connection in full (its source, or its kind)
// first, the one added from another file (a local.cue) second; in the
// order of the files otherwise.
func (l *loader) homeFirst(path []string, a, b astEntry) (astEntry, astEntry) {
	if len(path) >= 2 {
		key := map[string]string{"pipelines": "source", "connections": "kind"}[path[0]]
		if key != "" {
			home := map[string]bool{}
			for _, e := range l.index.entries(path[0], path[1], key) {
				home[e.file] = true
			}
			if home[b.file] && !home[a.file] {
				return b, a
			}
		}
	}
	return a, b
}

// isSecretPath says whether path names a field that holds a #Secret: one
// of secretFields, or an environment variable of an exec connection (which
// may also be a plain string).
func (l *loader) isSecretPath(path []string) bool {
	if len(path) == 4 && isEnvValuePath(path) {
		kind := l.connectionKind(path[1])
		return kind == "exec" || kind == ""
	}
	if len(path) < 2 || !secretFields[path[len(path)-1]] {
		return false
	}
	switch path[0] {
	case "connections":
		return len(path) == 3
	case "state", "server":
		return len(path) == 2
	}
	return false
}

// connectionKind is the kind written literally for connection name, ""
// when there is none (it comes from a definition, say) or several.
func (l *loader) connectionKind(name string) string {
	kind := ""
	for _, e := range l.index.entries("connections", name, "kind") {
		lit, ok := e.value.(*ast.BasicLit)
		if !ok {
			continue
		}
		k, err := strconv.Unquote(lit.Value)
		if err != nil || kind != "" && k != kind {
			return ""
		}
		kind = k
	}
	return kind
}

// loneSecretSource says whether path is a secret's source (env, file or
// vault) written as the one field of the secret's struct literals.
func (l *loader) loneSecretSource(path []string) bool {
	n := len(path)
	if n < 3 || !l.isSecretPath(path[:n-1]) {
		return false
	}
	switch path[n-1] {
	case "env", "file", "vault":
	default:
		return false
	}
	es := l.index.entries(path[:n-1]...)
	if len(es) == 0 {
		return false
	}
	for _, e := range es {
		if secretSource(e.value) != path[n-1] {
			return false // another field beside it, or not a literal
		}
	}
	return true
}

// soleSourceBesideUnknown says whether path is the one secret source
// (env, file or vault) written in an exec connection's env value beside
// fields that are no source: it is "not allowed" only because of them.
func (l *loader) soleSourceBesideUnknown(path []string) bool {
	n := len(path)
	if n != 5 || !isEnvValuePath(path) || !l.isSecretPath(path[:n-1]) {
		return false
	}
	sources := map[string]bool{}
	for _, e := range l.index.entries(path[:n-1]...) {
		s, ok := e.value.(*ast.StructLit)
		if !ok {
			return false
		}
		for _, d := range s.Elts {
			f, ok := d.(*ast.Field)
			if !ok {
				return false
			}
			switch name, _ := labelName(f.Label); name {
			case "env", "file", "vault":
				sources[name] = true
			}
		}
	}
	return len(sources) == 1 && sources[path[n-1]]
}

// errorsBelow says whether an error being explained is about a field
// below path.
func (l *loader) errorsBelow(path []string) bool {
	prefix := pathKey(path...) + "\x00"
	for k := range l.errPaths {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// secretSource is the source (env, file or vault) a secret reference
// written as a struct literal with one field names, "" for anything else.
func secretSource(e ast.Expr) string {
	s, ok := e.(*ast.StructLit)
	if !ok || len(s.Elts) != 1 {
		return ""
	}
	f, ok := s.Elts[0].(*ast.Field)
	if !ok {
		return ""
	}
	name, _ := labelName(f.Label)
	switch name {
	case "env", "file", "vault":
		return name
	}
	return ""
}

// shortNode formats a value for a message, on one line.
func shortNode(e ast.Expr) string {
	b, err := format.Node(e)
	if err != nil {
		return "a value"
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
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

// secretTwice says whether the secret at path is written in more than one
// place with different sources ({env: ...} in one file, {file: ...} in
// another).
func (l *loader) secretTwice(path []string) bool {
	seen := map[string]bool{}
	for _, e := range l.index.entries(path...) {
		if src := secretSource(e.value); src != "" {
			seen[src] = true
		}
	}
	return len(seen) >= 2
}

// reValue finds the value an "invalid value" message is about.
var reValue = regexp.MustCompile(`^invalid value (.+?) \(`)

// offendingLiteral is, for a path written in several places (a default in
// one file, a value in another), the literal an "invalid value" message
// names: where the user wrote the value that is wrong.
func (l *loader) offendingLiteral(path []string, msgs []string) (*ast.BasicLit, bool) {
	es := l.index.entries(path...)
	if len(es) < 2 {
		return nil, false
	}
	for _, m := range msgs {
		v := reValue.FindStringSubmatch(m)
		if v == nil {
			continue
		}
		var found *ast.BasicLit
		for _, e := range es {
			if lit, ok := e.value.(*ast.BasicLit); ok && lit.Value == v[1] {
				if found != nil {
					return nil, false
				}
				found = lit
			}
		}
		if found != nil {
			return found, true
		}
	}
	return nil, false
}

// vaultHint is the struct a vault secret source wants, built from the
// user's value when it is the secret's path.
func vaultHint(path []string, user string) string {
	p := "secret/data/pipe"
	if u, err := strconv.Unquote(user); err == nil && strings.Contains(u, "/") {
		p = u
	}
	key := strings.ToLower(secretEnvName(path))
	return fmt.Sprintf("{path: %q, key: %q}", p, key)
}

// vaultExample is the vault source at path written in full: the path and
// key the user gave, and suggestions for those missing.
func (l *loader) vaultExample(path []string) string {
	given := func(field string) string {
		for _, e := range l.index.entries(append(path[:len(path):len(path)], field)...) {
			if lit, ok := e.value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && s != "" {
					return s
				}
			}
		}
		return ""
	}
	p := cmp.Or(given("path"), "secret/data/pipe")
	k := cmp.Or(given("key"), strings.ToLower(secretEnvName(path)))
	return fmt.Sprintf("{path: %q, key: %q}", p, k)
}

// emptyStruct says whether path is written in the user's files, and only
// as empty structs ({}).
func (l *loader) emptyStruct(path []string) bool {
	es := l.index.entries(path...)
	if len(es) == 0 {
		return false
	}
	for _, e := range es {
		if s, ok := e.value.(*ast.StructLit); !ok || len(s.Elts) > 0 {
			return false
		}
	}
	return true
}

// notAStruct explains a plain value given where a struct is wanted (CUE's
// "cannot combine regular field").
func notAStruct(path []string, value string) string {
	switch {
	case len(path) == 2 && path[0] == "connections":
		kind := "postgres"
		if u, err := strconv.Unquote(value); err == nil && connectionKinds[u] {
			kind = u
		}
		return fmt.Sprintf("a connection is a struct like {kind: %q, streams: {...}}, not %s: write connections: %s: {kind: %q, ...}", kind, value, formatPath(path[1:]), kind)
	case len(path) == 2 && path[0] == "pipelines":
		return fmt.Sprintf(`a pipeline is a struct like {source: "connection.stream", sink: "connection.stream", push: {...}}, not %s`, value)
	}
	return fmt.Sprintf("want a struct (with fields), not %s", value)
}

// connectionKinds are the connector kinds.
var connectionKinds = map[string]bool{"twenty": true, "postgres": true, "sqlite": true, "file": true, "exec": true, "memory": true}

// unquotedExpr is the hint for an expression written as CUE rather than
// as a string (push: {city: city(city)}): its CUE references do not
// resolve. It is "" when path is not an expression's place.
func (l *loader) unquotedExpr(path []string) string {
	if len(path) < 4 || path[0] != "pipelines" {
		return ""
	}
	switch {
	case (path[2] == "push" || path[2] == "pull") && len(path) == 4:
	case (path[2] == "push" || path[2] == "pull") && len(path) == 5 && (path[4] == "expr" || path[4] == "when"):
	case path[2] == "filter" && len(path) == 4:
	default:
		return ""
	}
	const hint = "expressions are strings"
	es := l.index.entries(path...)
	if len(es) == 0 {
		return hint + ": write the expression in quotes"
	}
	if _, isLit := es[0].value.(*ast.BasicLit); isLit {
		return ""
	}
	b, err := format.Node(es[0].value)
	src := string(b)
	if err != nil || strings.Contains(src, "\n") || len(src) > 80 {
		return hint + ": write the expression in quotes"
	}
	quoted := strconv.Quote(src)
	if strings.ContainsAny(src, "\"\\") {
		quoted = "#\"" + src + "\"#"
	}
	return fmt.Sprintf("%s: write %s in quotes", hint, quoted)
}
