package config

import (
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// astIndex maps CUE paths written literally in the user's files to where
// they are written. It gives precise positions for values (an expression's
// string literal) and finds declarations repeated across files.
type astIndex struct {
	byPath map[string][]astEntry
}

// astEntry is one declaration of a path.
type astEntry struct {
	file  string
	label token.Pos // the field's label
	value ast.Expr  // the field's value as written
}

func pathKey(segs ...string) string { return strings.Join(segs, "\x00") }

func newASTIndex() *astIndex { return &astIndex{byPath: map[string][]astEntry{}} }

// addFile indexes one parsed user file.
func (x *astIndex) addFile(f *ast.File) {
	x.addDecls(f.Filename, nil, f.Decls)
}

func (x *astIndex) addDecls(file string, prefix []string, decls []ast.Decl) {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			name, ok := labelName(d.Label)
			if !ok {
				continue
			}
			path := append(append([]string(nil), prefix...), name)
			x.byPath[pathKey(path...)] = append(x.byPath[pathKey(path...)], astEntry{file: file, label: d.Label.Pos(), value: d.Value})
			x.addExpr(file, path, d.Value)
		case *ast.EmbedDecl:
			x.addExpr(file, prefix, d.Expr)
		}
	}
}

func (x *astIndex) addExpr(file string, path []string, e ast.Expr) {
	switch e := e.(type) {
	case *ast.StructLit:
		x.addDecls(file, path, e.Elts)
	case *ast.ListLit:
		for i, el := range e.Elts {
			p := append(append([]string(nil), path...), strconv.Itoa(i))
			x.byPath[pathKey(p...)] = append(x.byPath[pathKey(p...)], astEntry{file: file, label: el.Pos(), value: el})
			x.addExpr(file, p, el)
		}
	case *ast.BinaryExpr:
		if e.Op == token.AND {
			x.addExpr(file, path, e.X)
			x.addExpr(file, path, e.Y)
		}
	case *ast.ParenExpr:
		x.addExpr(file, path, e.X)
	}
}

// labelName returns a field label's name for identifiers and string
// literals; pattern constraints and interpolations have none.
func labelName(l ast.Label) (string, bool) {
	switch l := l.(type) {
	case *ast.Ident:
		return l.Name, true
	case *ast.BasicLit:
		if l.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(l.Value)
		if err != nil {
			return "", false
		}
		return s, true
	}
	return "", false
}

// entries returns the declarations of a path.
func (x *astIndex) entries(segs ...string) []astEntry { return x.byPath[pathKey(segs...)] }

// pos returns the position of the first declaration of path, or of its
// nearest declared ancestor; ok is false when no ancestor is declared.
func (x *astIndex) pos(segs ...string) (token.Pos, bool) {
	for n := len(segs); n > 0; n-- {
		if es := x.byPath[pathKey(segs[:n]...)]; len(es) > 0 {
			if n == len(segs) && es[0].value != nil && es[0].value.Pos().IsValid() {
				if _, isStruct := es[0].value.(*ast.StructLit); !isStruct {
					return es[0].value.Pos(), true
				}
			}
			return es[0].label, true
		}
	}
	return token.NoPos, false
}

// literal returns the string literal written at path, if one is.
func (x *astIndex) literal(segs ...string) *ast.BasicLit {
	for _, e := range x.byPath[pathKey(segs...)] {
		if lit, ok := e.value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			return lit
		}
	}
	return nil
}
