package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// reToken is expr's "unexpected token Kind("value")".
var reToken = regexp.MustCompile(`^unexpected token (\w+)(?:\((.*)\))?$`)

// exprOpen is an opening parenthesis, bracket, brace or quote of an
// expression, at a 1-based line and 0-based rune column of its source.
type exprOpen struct {
	ch        rune
	line, col int
}

// unclosed scans an expression's source and returns the innermost
// parenthesis, bracket or brace left open at its end, or the quote of a
// string that is not terminated; ok is false when everything is closed.
func unclosed(src string) (exprOpen, bool) {
	var stack []exprOpen
	var str *exprOpen // the open string, if any
	line, col := 1, 0
	escaped := false
	for _, r := range src {
		switch {
		case str != nil:
			switch {
			case escaped:
				escaped = false
			case r == '\\' && str.ch != '`':
				escaped = true
			case r == str.ch:
				str = nil
			}
		case r == '"' || r == '\'' || r == '`':
			str = &exprOpen{r, line, col}
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, exprOpen{r, line, col})
		case r == ')' || r == ']' || r == '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
		if r == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
	}
	if str != nil {
		return *str, true
	}
	if len(stack) > 0 {
		return stack[len(stack)-1], true
	}
	return exprOpen{}, false
}

var closing = map[rune]string{'(': ")", '[': "]", '{': "}"}

// syntaxMessage rewrites an expr syntax error message so that it says what
// is wrong and where: for an expression that ends early, which
// parenthesis, bracket or quote is left open (at its column in the file);
// for an unexpected token, the token and its column. at is where the
// error is reported. ok is false, and msg returned unchanged, for other
// errors.
func (l *loader) syntaxMessage(msg, src string, lit *ast.BasicLit, at token.Pos) (string, bool) {
	where := func(line, col int) string {
		if lit == nil || !lit.ValuePos.IsValid() {
			return fmt.Sprintf("character %d of the expression", col+1)
		}
		p := l.position(literalOffset(lit, line, col))
		if at.IsValid() && p.Line == l.position(at).Line {
			return fmt.Sprintf("column %d", p.Column)
		}
		return fmt.Sprintf("line %d, column %d", p.Line, p.Column)
	}
	t := reToken.FindStringSubmatch(msg)
	ends := msg == "unexpected end of expression" || msg == "literal not terminated" || t != nil && t[1] == "EOF"
	switch {
	case ends:
		if o, ok := unclosed(src); ok {
			if o.ch == '"' || o.ch == '\'' || o.ch == '`' {
				return fmt.Sprintf("it ends early: the string that starts at %s is not closed", where(o.line, o.col)), true
			}
			return fmt.Sprintf("it ends early: the %q at %s is not closed; add %q", string(o.ch), where(o.line, o.col), closing[o.ch]), true
		}
		trimmed := strings.TrimRight(src, " \t\n")
		if n := len(trimmed); n > 0 && strings.ContainsRune("+-*/%^!=<>&|?:,.", rune(trimmed[n-1])) {
			op := trimmed[n-1:]
			for _, two := range []string{"==", "!=", "<=", ">=", "&&", "||", "??", "**", "?."} {
				if strings.HasSuffix(trimmed, two) {
					op = two
				}
			}
			return fmt.Sprintf("it ends early: nothing follows %q; complete it or remove %q", op, op), true
		}
		return "it ends early: look for an unclosed parenthesis, bracket or quote", true
	case t != nil:
		tok := t[2]
		if tok == "" {
			tok = t[1]
		}
		if lit != nil && at.IsValid() {
			return fmt.Sprintf("syntax error at column %d: unexpected %s", l.position(at).Column, tok), true
		}
		return "syntax error: unexpected " + tok, true
	}
	return msg, false
}

// shownExpr is an expression as the user wrote it, for a message: the CUE
// string literal when it is on one line and short, "" otherwise.
func shownExpr(src string, lit *ast.BasicLit) string {
	if lit != nil && len(lit.Value) <= 70 && !strings.Contains(lit.Value, "\n") {
		return lit.Value
	}
	if len(src) <= 60 && !strings.ContainsAny(src, "\n\"\\") {
		return strconv.Quote(src)
	}
	return ""
}
