package config

import (
	"github.com/kelompok/pipe/engine/functions"

	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"

	"github.com/kelompok/pipe/schemas"
)

// Env returns the typed environment expressions over a record of the
// stream compile against: a sample value of the right type for each
// declared field ("" for text, 0.0 for numbers, 0 for integers, false,
// time.Time{}, []any{}, nested maps for composites), plus the record's
// id (string), updatedAt (time) and deleted (bool).
func (s *Stream) Env() map[string]any {
	env := sampleFields(s.Fields)
	if _, ok := env["id"]; !ok {
		env["id"] = ""
	}
	if _, ok := env["updatedAt"]; !ok {
		env["updatedAt"] = time.Time{}
	}
	if _, ok := env["deleted"]; !ok {
		env["deleted"] = false
	}
	return env
}

func sampleFields(fields map[string]any) map[string]any {
	env := make(map[string]any, len(fields)+3)
	for name, t := range fields {
		env[name] = sampleValue(t)
	}
	return env
}

func sampleValue(t any) any {
	switch t := t.(type) {
	case map[string]any:
		return sampleFields(t)
	case string:
		switch t {
		case schemas.TypeNumber:
			return 0.0
		case schemas.TypeInt:
			return 0
		case schemas.TypeBool:
			return false
		case schemas.TypeTime:
			return time.Time{}
		case schemas.TypeList:
			return []any{}
		case schemas.TypeObject:
			return map[string]any{}
		}
	}
	return ""
}

// HasPath reports whether the stream has the dotted field path: every
// segment must be a declared field or a sub-field of a composite; below an
// "object" (JSON) field any path is accepted.
func (s *Stream) HasPath(path string) bool {
	var cur any = s.Fields
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return cur == schemas.TypeObject
		}
		next, ok := m[seg]
		if !ok {
			return false
		}
		cur = next
	}
	return true
}

// CompileExpr compiles one expression against a typed environment (see
// Stream.Env) with the mapping function registry, as Load does; asBool
// requires a boolean result. Calls of registered functions work even when
// a record field has the same name (email(email)). The program is safe to
// share between goroutines.
func CompileExpr(src string, env map[string]any, asBool bool) (*vm.Program, error) {
	opts := []expr.Option{expr.Env(env)}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	return functions.Default.Compile(src, opts...)
}

// exprErrorAt returns the message of an expr compile error and its
// position in the CUE file: the string literal's position shifted by the
// error's line and column inside the expression.
func exprErrorAt(err error, lit *ast.BasicLit, fallback token.Pos) (string, token.Pos) {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err.Error(), fallback
	}
	msg := fe.Message
	if lit == nil || !lit.ValuePos.IsValid() {
		return msg, fallback
	}
	if fe.Line == 0 { // no position inside the expression (a result type mismatch)
		return msg, lit.ValuePos
	}
	return msg, literalOffset(lit, fe.Line, fe.Column)
}

// literalOffset maps a (1-based line, 0-based rune column) position inside
// the decoded value of a CUE string literal to a position in the file.
func literalOffset(lit *ast.BasicLit, line, col int) token.Pos {
	raw := lit.Value
	hashes := 0
	for hashes < len(raw) && raw[hashes] == '#' {
		hashes++
	}
	rest := raw[hashes:]
	multi := strings.HasPrefix(rest, `"""`) || strings.HasPrefix(rest, `'''`)
	base := lit.ValuePos
	if !multi {
		// One line in the file, but the value may hold \n escapes: the
		// position's line starts after the (line-1)-th of them.
		content := rest[1:]
		return base.Add(hashes + 1 + rawRunes(content, lineStart(content, line, hashes)+col, hashes))
	}
	// Multi-line: content starts on the next line; each line carries the
	// closing delimiter's indentation.
	lines := strings.Split(raw, "\n")
	if line >= len(lines) {
		return base
	}
	last := lines[len(lines)-1]
	indent := len(last) - len(strings.TrimLeft(last, " \t"))
	target := lines[line]
	// Offset in bytes from the literal's start to the wanted line.
	off := 0
	for i := 0; i < line; i++ {
		off += len(lines[i]) + 1
	}
	if indent > len(target) {
		indent = len(target)
	}
	return base.Add(off + indent + rawRunes(target[indent:], col, hashes))
}

// lineStart returns how many decoded runes of raw (a single-line literal's
// content) come before the start of its 1-based line, lines being separated
// by \n escapes.
func lineStart(raw string, line, hashes int) int {
	esc := `\` + strings.Repeat("#", hashes)
	k := 0
	for i, seen := 0, 1; seen < line && i < len(raw); k++ {
		if strings.HasPrefix(raw[i:], esc) && i+len(esc) < len(raw) {
			if raw[i+len(esc)] == 'n' {
				seen++
			}
		}
		i += rawRunes(raw[i:], 1, hashes)
	}
	return k
}

// rawRunes returns the byte length of the raw text that decodes to the
// first n runes, counting an escape sequence as one rune.
func rawRunes(raw string, n, hashes int) int {
	i := 0
	esc := `\` + strings.Repeat("#", hashes)
	for k := 0; k < n && i < len(raw); k++ {
		if strings.HasPrefix(raw[i:], esc) && i+len(esc) < len(raw) {
			i += len(esc)
			switch raw[i] {
			case 'u':
				i += 5
			case 'U':
				i += 9
			case 'x':
				i += 3
			default:
				i++
			}
			continue
		}
		_, size := utf8.DecodeRuneInString(raw[i:])
		i += size
	}
	if i > len(raw) {
		i = len(raw)
	}
	return i
}
