package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	"github.com/expr-lang/expr/file"

	"github.com/kelompok/pipe/schemas"
)

// parseLit parses src (a CUE file holding one field x with a string or
// bytes literal) and returns that literal.
func parseLit(t *testing.T, src string) *ast.BasicLit {
	t.Helper()
	f, err := parser.ParseFile("f.cue", src)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	var lit *ast.BasicLit
	ast.Walk(f, func(n ast.Node) bool {
		if b, ok := n.(*ast.BasicLit); ok && lit == nil {
			lit = b
		}
		return true
	}, nil)
	if lit == nil {
		t.Fatalf("no literal in %q", src)
	}
	return lit
}

// wantAt checks that pos is the file offset of the only '@' in src.
func wantAt(t *testing.T, src string, pos token.Pos) {
	t.Helper()
	want := strings.Index(src, "@")
	if want < 0 || strings.Count(src, "@") != 1 {
		t.Fatalf("test source %q needs exactly one @", src)
	}
	if got := pos.Offset(); got != want {
		t.Errorf("%q: offset %d (%s), want %d (the @)", src, got, pos, want)
	}
}

// TestLiteralOffset maps a (1-based line, 0-based rune column) position in
// the decoded value of a literal to the file offset of the character there.
func TestLiteralOffset(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		line, col int
	}{
		{"plain", `x: "ab@"`, 1, 2},
		{"start", `x: "@b"`, 1, 0},
		{"multibyte", `x: "éé@"`, 1, 2},
		// \u is 6 bytes, \U is 10, \x is 4, a simple escape 2; each is one rune.
		{"u escape", `x: "\u00e9@"`, 1, 1},
		{"two u escapes", `x: "\u00e9\u00e8@"`, 1, 2},
		{"U escape", `x: "\U0001F600@"`, 1, 1},
		{"mixed escapes", `x: "\u00e9\U0001F600\t\"@"`, 1, 4},
		// CUE rejects \x in a double-quoted string; it is valid in bytes.
		{"x escape in bytes", `x: '\x41@'`, 1, 1},
		{"two x escapes in bytes", `x: '\x41\x42@'`, 1, 2},
		{"single-quoted u escape", `x: '\u00e9@'`, 1, 1},
		// Raw strings: the escape is \ plus as many # as open the literal;
		// a bare \u00e9 is then six ordinary runes.
		{"one hash, bare u is literal", `x: #"\u00e9@"#`, 1, 6},
		{"one hash, escape", `x: #"a\#u00e9@"#`, 1, 2},
		{"one hash, quote inside", `x: #"a"b@"#`, 1, 3},
		{"two hashes, one-hash escape is literal", `x: ##"\#n@"##`, 1, 3},
		{"two hashes, escape", `x: ##"\#n\##t@"##`, 1, 4},
		{"two hashes, U escape", `x: ##"\##U0001F600@"##`, 1, 1},
		// A single-line literal whose value has several lines (\n escapes).
		{"n escape, second line", `x: "a\n+ @"`, 2, 2},
		{"n escapes, third line", `x: "a\nbc\n\u00e9@"`, 3, 1},
		{"raw n escape, second line", `x: #"a\#nb@"#`, 2, 1},
		{"raw bare n is not a line break", `x: #"a\nb@"#`, 1, 4},
		// Multi-line: line 1 is the first content line; the closing
		// delimiter's indentation is not part of the value.
		{"multi first line", "x: \"\"\"\n\t\ta@\n\t\t\"\"\"", 1, 1},
		{"multi second line", "x: \"\"\"\n\t\tab\n\t\tc@\n\t\t\"\"\"", 2, 1},
		{"multi second line spaces", "x: \"\"\"\n    ab\n    cd@\n    \"\"\"", 2, 2},
		{"multi third line escape", "x: \"\"\"\n  a\n  b\n  \\u00e9\\t@\n  \"\"\"", 3, 2},
		{"multi extra indentation kept", "x: \"\"\"\n  a\n     @\n  \"\"\"", 2, 3},
		{"multi bytes", "x: '''\n  a\n  \\x41@\n  '''", 2, 1},
		{"raw multi second line", "x: #\"\"\"\n    first\n    \\#u00e9 \\u@\n    \"\"\"#", 2, 4},
		{"raw multi third line", "x: #\"\"\"\n  one\n  two\n  th@\n  \"\"\"#", 3, 2},
		{"two-hash multi", "x: ##\"\"\"\n  a\n  \\#n\\##t@\n  \"\"\"##", 2, 4},
		{"multi not at file start", "a: b\nb: {\n\tx: #\"\"\"\n\t\tone\n\t\ttwo @\n\t\t\"\"\"#\n}", 2, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lit := parseLit(t, c.src)
			// The test's (line, col) must name the @ in the decoded value.
			val, err := literal.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("unquote %s: %v", lit.Value, err)
			}
			lines := strings.Split(val, "\n")
			if c.line > len(lines) || c.col >= len([]rune(lines[c.line-1])) || []rune(lines[c.line-1])[c.col] != '@' {
				t.Fatalf("decoded %q: (%d,%d) is not the @", val, c.line, c.col)
			}
			wantAt(t, c.src, literalOffset(lit, c.line, c.col))
		})
	}
}

// TestRawRunes checks the byte width of each escape directly.
func TestRawRunes(t *testing.T) {
	cases := []struct {
		raw       string
		n, hashes int
		want      int
	}{
		{`ab`, 1, 0, 1},
		{`é`, 1, 0, 2},
		{`\u00e9z`, 1, 0, 6},
		{`\U0001F600z`, 1, 0, 10},
		{`\x41z`, 1, 0, 4},
		{`\nz`, 1, 0, 2},
		{`\u00e9z`, 1, 1, 1},  // bare \ is not an escape in #"..."#
		{`\#u00e9z`, 1, 1, 7}, // \#u is
		{`\#x41z`, 1, 1, 5},   // \#x is
		{`\#U0001F600`, 1, 1, 11},
		{`\#nz`, 1, 2, 1},  // \# is not an escape in ##"..."##
		{`\##tz`, 1, 2, 4}, // \## is
		{`ab`, 5, 0, 2},    // never past the end
		{`\u00`, 1, 0, 4},  // truncated escape: clamped
		{`a\`, 2, 0, 2},    // a trailing backslash is one rune
	}
	for _, c := range cases {
		if got := rawRunes(c.raw, c.n, c.hashes); got != c.want {
			t.Errorf("rawRunes(%q, %d, %d) = %d, want %d", c.raw, c.n, c.hashes, got, c.want)
		}
	}
}

// TestExprErrorAtEndToEnd compiles the decoded value of a literal and checks
// that the expr error lands on the unknown name in the file.
func TestExprErrorAtEndToEnd(t *testing.T) {
	env := map[string]any{"a": ""}
	for _, src := range []string{
		`x: "a + @nope"`,
		`x: "\"\u00e9\u00e8\" + @nope"`,
		`x: "\"\U0001F600\" + @nope"`,
		`x: #"a + "\u00e9" + @nope"#`,
		`x: ##"a + "\##u00e9" + @nope"##`,
		"x: \"\"\"\n\t\ta +\n\t\t\t@nope\n\t\t\"\"\"",
		"x: #\"\"\"\n    a +\n    \"\\#u00e9\" + @nope\n    \"\"\"#",
	} {
		// The @ marks the place in the file; the expression itself has no @.
		text := strings.Replace(src, "@", "", 1)
		lit := parseLit(t, text)
		val, err := literal.Unquote(lit.Value)
		if err != nil {
			t.Fatalf("unquote %s: %v", lit.Value, err)
		}
		_, err = CompileExpr(val, env, false)
		if err == nil {
			t.Fatalf("%q compiled", val)
		}
		msg, pos := exprErrorAt(err, lit, token.NoPos)
		if msg != "unknown name nope" {
			t.Errorf("%q: message %q", val, msg)
		}
		if want := strings.Index(src, "@"); pos.Offset() != want {
			t.Errorf("%s: error at offset %d (%s), want %d", src, pos.Offset(), pos, want)
		}
	}
}

// TestExprErrorAtNoLine: an expr error without a line inside the expression
// is reported at the literal's opening quote, not shifted into it.
func TestExprErrorAtNoLine(t *testing.T) {
	fallback := parseLit(t, `y: "fallback"`).ValuePos
	for _, src := range []string{
		`x: "abc"`,
		`x: #"abc"#`,
		"x: \"\"\"\n  abc\n  \"\"\"",
	} {
		lit := parseLit(t, src)
		for _, col := range []int{0, 2} {
			var err error = &file.Error{Message: "no line", Line: 0, Column: col}
			err = fmt.Errorf("wrapped: %w", err)
			msg, pos := exprErrorAt(err, lit, fallback)
			if msg != "no line" {
				t.Errorf("message %q", msg)
			}
			if pos != lit.ValuePos || pos.Offset() != 3 {
				t.Errorf("%q col %d: at %s (offset %d), want the literal's start %s", src, col, pos, pos.Offset(), lit.ValuePos)
			}
		}
	}
	// A result type mismatch from CompileExpr is not a *file.Error in this
	// expr version: it goes to the fallback position.
	lit := parseLit(t, `x: "1"`)
	_, err := CompileExpr("1", map[string]any{}, true)
	if err == nil || errors.As(err, new(*file.Error)) {
		t.Fatalf("type mismatch error %T %v", err, err)
	}
	msg, pos := exprErrorAt(err, lit, fallback)
	if pos != fallback || msg != err.Error() {
		t.Errorf("type mismatch: %q at %s, want fallback %s", msg, pos, fallback)
	}
	// A line past the end of a multi-line literal: its start.
	ml := parseLit(t, "x: \"\"\"\n  abc\n  \"\"\"")
	for _, line := range []int{3, 9} { // lines are `"""`, `  abc`, `  """`
		if pos := literalOffset(ml, line, 0); pos != ml.ValuePos {
			t.Errorf("line %d past the end: at %s, want %s", line, pos, ml.ValuePos)
		}
	}
	// No literal: fallback too.
	if _, pos := exprErrorAt(&file.Error{Message: "m", Line: 1, Column: 2}, nil, fallback); pos != fallback {
		t.Errorf("nil literal: at %s, want fallback", pos)
	}
}

func TestEnv(t *testing.T) {
	s := &Stream{Name: "s", Fields: map[string]any{
		"name": schemas.TypeString,
		"n":    schemas.TypeInt,
		"x":    schemas.TypeNumber,
		"ok":   schemas.TypeBool,
		"at":   schemas.TypeTime,
		"tags": schemas.TypeList,
		"meta": schemas.TypeObject,
		"addr": map[string]any{
			"city": schemas.TypeString,
			"geo":  schemas.TypeObject,
		},
	}}
	env := s.Env()
	want := map[string]any{
		"name":      "",
		"n":         0,
		"x":         0.0,
		"ok":        false,
		"at":        time.Time{},
		"tags":      []any{},
		"meta":      map[string]any{},
		"addr":      map[string]any{"city": "", "geo": map[string]any{}},
		"id":        "",
		"updatedAt": time.Time{},
		"deleted":   false,
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("Env() = %#v\nwant %#v", env, want)
	}
	// DeepEqual is strict on types, but say which one is off.
	for k, w := range want {
		if reflect.TypeOf(env[k]) != reflect.TypeOf(w) {
			t.Errorf("env[%q] is %T, want %T", k, env[k], w)
		}
	}
	// The environment type-checks expressions as the loader uses it.
	for _, c := range []struct {
		src    string
		asBool bool
	}{
		{`id + "-x"`, false},
		{`len(id) > 0`, true},
		{`!deleted`, true},
		{`deleted && ok`, true},
		{`meta.a.b == 1`, true},
		{`meta["k"] != nil`, true},
		{`addr.geo.lat > 1.5`, true},
		{`updatedAt.Year() > 2000`, true},
	} {
		if _, err := CompileExpr(c.src, env, c.asBool); err != nil {
			t.Errorf("%s: %v", c.src, err)
		}
	}
	for _, src := range []string{`id + 1 > 0`, `deleted + 1 > 0`, `deleted == "x"`} {
		if _, err := CompileExpr(src, env, true); err == nil {
			t.Errorf("%s compiled", src)
		}
	}
	// Declared fields named id, updatedAt or deleted keep their declared type.
	d := (&Stream{Fields: map[string]any{
		"id":        schemas.TypeInt,
		"updatedAt": schemas.TypeString,
		"deleted":   schemas.TypeString,
	}}).Env()
	if d["id"] != 0 || d["updatedAt"] != "" || d["deleted"] != "" || len(d) != 3 {
		t.Errorf("declared id/updatedAt/deleted: %#v", d)
	}
	// A stream without fields still has the three record fields.
	e := (&Stream{}).Env()
	if len(e) != 3 || e["id"] != "" || e["deleted"] != false || e["updatedAt"] != (time.Time{}) {
		t.Errorf("empty stream: %#v", e)
	}
}

func TestHasPath(t *testing.T) {
	s := &Stream{Fields: map[string]any{
		"name": schemas.TypeString,
		"tags": schemas.TypeList,
		"meta": schemas.TypeObject,
		"addr": map[string]any{
			"city": schemas.TypeString,
			"geo":  schemas.TypeObject,
		},
	}}
	for path, want := range map[string]bool{
		"name":             true,
		"meta":             true,
		"meta.a":           true,
		"meta.a.b.c":       true,
		"addr":             true,
		"addr.city":        true,
		"addr.geo":         true,
		"addr.geo.lat":     true,
		"addr.geo.lat.deg": true,
		"addr.nope":        false,
		"addr.city.x":      false,
		"name.x":           false,
		"tags.x":           false,
		"nope":             false,
		"nope.x":           false,
		"":                 false,
	} {
		if got := s.HasPath(path); got != want {
			t.Errorf("HasPath(%q) = %v, want %v", path, got, want)
		}
	}
}
