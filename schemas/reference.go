package schemas

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

//go:generate go test -run TestConfigurationReferenceIsCurrent -update

// Reference renders the configuration reference (docs/configuration.md)
// from the schemas' own comments: every definition and every field, with
// its type, default and documentation.
func Reference() (string, error) {
	var b strings.Builder
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("<!-- Generated from schemas/*.cue by `go generate ./schemas`; do not edit. -->\n\n")
	b.WriteString("A configuration directory (default `./pipelines`, or `--config DIR`, or `$PIPE_CONFIG`) holds\n")
	b.WriteString("`.cue` files of package `pipe` (or without a package clause). They are unified with the schemas\n")
	b.WriteString("below, embedded in the binary, and may use the schema's definitions (`#Secret`, `#Pipeline`, ...)\n")
	b.WriteString("by name. `pipe validate` checks a directory; `pipe show NAME` prints a resolved pipeline.\n\n")
	b.WriteString("Notation: `field!` is required, `field?` optional, `*x | y` means x is the default.\n")
	for _, f := range Files() {
		file, err := parser.ParseFile(f.Name, f.Source, parser.ParseComments)
		if err != nil {
			return "", fmt.Errorf("parsing schema %s: %w", f.Name, err)
		}
		fmt.Fprintf(&b, "\n## %s\n", f.Name)
		for _, d := range file.Decls {
			field, ok := d.(*ast.Field)
			if !ok {
				continue
			}
			name, _, _ := ast.LabelName(field.Label)
			if strings.HasPrefix(name, "#") {
				fmt.Fprintf(&b, "\n### %s\n\n", name)
				if doc := docText(field); doc != "" {
					b.WriteString(doc + "\n\n")
				}
				if s, ok := field.Value.(*ast.StructLit); ok {
					writeFields(&b, "", s.Elts)
				} else {
					fmt.Fprintf(&b, "`%s`\n", oneLine(field.Value))
				}
				continue
			}
			fmt.Fprintf(&b, "\n### %s (top level)\n\n", name)
			if doc := docText(field); doc != "" {
				b.WriteString(doc + "\n\n")
			}
			fmt.Fprintf(&b, "`%s: %s`\n", name, oneLine(field.Value))
		}
	}
	return b.String(), nil
}

// writeFields lists the fields of a struct, recursing into nested structs,
// comprehensions and embedded structs.
func writeFields(b *strings.Builder, prefix string, decls []ast.Decl) {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			name, _, err := ast.LabelName(d.Label)
			if err != nil {
				continue
			}
			marker := ""
			switch d.Constraint {
			case token.NOT:
				marker = "!"
			case token.OPTION:
				marker = "?"
			}
			typ := "struct"
			if _, ok := d.Value.(*ast.StructLit); !ok {
				typ = oneLine(d.Value)
			}
			fmt.Fprintf(b, "- `%s%s%s`: `%s`", prefix, name, marker, typ)
			if doc := docText(d); doc != "" {
				b.WriteString(": " + strings.ReplaceAll(doc, "\n", " "))
			}
			b.WriteString("\n")
			if s, ok := d.Value.(*ast.StructLit); ok {
				writeFields(b, prefix+name+".", s.Elts)
			}
		case *ast.Comprehension:
			if s, ok := d.Value.(*ast.StructLit); ok {
				var cond []string
				for _, c := range d.Clauses {
					if ic, ok := c.(*ast.IfClause); ok {
						cond = append(cond, "if "+oneLine(ic.Condition))
					}
				}
				fmt.Fprintf(b, "- when `%s`:\n", strings.Join(cond, " "))
				var inner strings.Builder
				writeFields(&inner, prefix, s.Elts)
				for _, line := range strings.Split(strings.TrimRight(inner.String(), "\n"), "\n") {
					if line != "" {
						b.WriteString("  " + line + "\n")
					}
				}
			}
		case *ast.EmbedDecl:
			fmt.Fprintf(b, "- embeds `%s`\n", oneLine(d.Expr))
		}
	}
}

func docText(n ast.Node) string {
	var parts []string
	for _, cg := range ast.Comments(n) {
		if cg.Doc {
			parts = append(parts, strings.TrimSpace(cg.Text()))
		}
	}
	return strings.Join(parts, "\n")
}

func oneLine(n ast.Node) string {
	src, err := format.Node(n)
	if err != nil {
		return fmt.Sprintf("%T", n)
	}
	return strings.Join(strings.Fields(string(src)), " ")
}
