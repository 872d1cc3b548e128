package schemas

import (
	"fmt"
	"maps"
	"slices"
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
	b.WriteString(validationDoc)
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
					b.WriteString(markdownDoc(doc) + "\n\n")
				}
				if s, ok := field.Value.(*ast.StructLit); ok {
					writeFields(&b, "", s.Elts)
				} else if src, err := format.Node(field.Value); err == nil && strings.Contains(string(src), "\n") {
					// A disjunction of structs and the like: as written,
					// with its comments, not squeezed onto one line.
					fmt.Fprintf(&b, "```cue\n%s: %s\n```\n", name, strings.TrimSpace(string(src)))
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
	writeCatalog(&b)
	return b.String(), nil
}

const validationDoc = `
## Validation

` + "`pipe validate`" + ` (and every command that loads the configuration) reports every problem at
once, one per line, as ` + "`file:line:col: path: message`" + `; the message says what to do. With
` + "`--format github`" + ` the same problems are printed as GitHub Actions annotations. Exit status: 0
valid, 1 invalid, 2 usage error. Validation needs no network, database or secret value: secret
fields are checked to be references (` + "`{env: NAME}`, `{file: PATH}`, `{vault: {path, key}}`" + `),
never read.

Beyond the schemas below, the loader checks that the top level has only ` + "`state`, `server`,\n`connections` and `pipelines`" + ` (helpers of your own go in ` + "`#Definitions`" + ` or ` + "`_hidden`" + ` fields),
that every ` + "`source`/`sink`" + ` names a declared
connection and stream, that pipeline and connection names are not declared in two files, that
` + "`dependsOn`" + ` names pipelines and has no cycle, that every duration parses (` + "`\"90s\"`, `\"15m\"`" + `),
that each direction synced has its mapping, that mapping targets, match fields, sensitive fields
and owned fields exist on their stream, that normalizers exist, and it compiles every expression
(mappings, ` + "`when`" + `, filters) with expr against the stream's typed fields and the functions of
docs/functions.md.

Expressions see the record's fields by name, typed from the stream's declaration:

| column type | expression type |
|---|---|
| uuid, text | string |
| int | int |
| float | float |
| bool | bool |
| timestamp | time |
| text[] | list |
| json | map (any key) |

plus ` + "`id`" + ` (string), ` + "`updatedAt`" + ` (time) and ` + "`deleted`" + ` (bool). Twenty streams need no
declaration: their fields come from the catalog at the end of this page, plus the connection's
` + "`customFields`" + `. Composite fields are nested: ` + "`name.firstName`" + `.

Tip: write expressions that contain double quotes as raw strings, ` + "`#\"status != \"draft\"\"#`" + `.
`

// writeCatalog lists the built-in Twenty catalog.
func writeCatalog(b *strings.Builder) {
	c := Twenty()
	b.WriteString("\n## Twenty catalog (schemas/twenty/catalog.json)\n\n")
	b.WriteString("Mapping targets and match fields on a Twenty stream must be among these (or declared in\n`customFields`). Every object also has: ")
	b.WriteString(strings.Join(slices.Sorted(maps.Keys(c.Common)), ", "))
	b.WriteString(".\n\n| object | fields |\n|---|---|\n")
	for _, plural := range c.Plurals() {
		o := c.Objects[plural]
		var fields []string
		for _, name := range slices.Sorted(maps.Keys(o.Fields)) {
			fields = append(fields, fmt.Sprintf("%s %s", name, o.Fields[name]))
		}
		fmt.Fprintf(b, "| %s | %s |\n", plural, strings.Join(fields, ", "))
	}
	b.WriteString("\n| composite type | sub-fields |\n|---|---|\n")
	for _, t := range slices.Sorted(maps.Keys(c.Composites)) {
		fmt.Fprintf(b, "| %s | %s |\n", t, strings.Join(slices.Sorted(maps.Keys(c.Composites[t])), ", "))
	}
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

// markdownDoc returns a doc comment as Markdown: runs of indented lines
// (examples, lists of forms) become code blocks instead of being folded
// into the paragraph before them.
func markdownDoc(doc string) string {
	var out []string
	inBlock := false
	for _, line := range strings.Split(doc, "\n") {
		indented := strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "\t")
		if indented != inBlock {
			if indented {
				out = append(out, "", "```")
			} else {
				out = append(out, "```", "")
			}
			inBlock = indented
		}
		if indented {
			line = strings.TrimPrefix(strings.TrimPrefix(line, "  "), "\t")
		}
		out = append(out, line)
	}
	if inBlock {
		out = append(out, "```")
	}
	return strings.Join(out, "\n")
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
