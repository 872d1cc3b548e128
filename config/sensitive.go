package config

import (
	"sort"
	"strings"

	exprast "github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// ReadsSensitive returns the sensitive fields a compiled expression reads,
// sorted: a field is read when the expression names it, a field inside it
// ("claim.evidence" for sensitive "claim") or a composite holding it
// ("claim" for sensitive "claim.evidence"); an expression that reads $env
// may read any field, so it reads them all. at is where in the expression
// the first such read is (its From is a rune offset into the source).
//
// Load refuses a mapping expression that reads one (a sensitive value is
// never mapped out); the engine reports an error of a condition that reads
// one without the values involved.
func ReadsSensitive(prog *vm.Program, sensitive []string) (fields []string, at file.Location) {
	if prog == nil || len(sensitive) == 0 {
		return nil, at
	}
	type read struct {
		name string
		loc  file.Location
	}
	var reads []read
	node := prog.Node()
	exprast.Walk(&node, nodeVisitor(func(n exprast.Node) {
		switch n := n.(type) {
		case *exprast.IdentifierNode:
			reads = append(reads, read{n.Value, n.Location()})
		case *exprast.MemberNode:
			if p := memberPath(n); p != "" {
				reads = append(reads, read{p, n.Location()})
			}
		}
	}))
	found := map[string]bool{}
	first := -1
	for i, r := range reads {
		hit := false
		for _, s := range sensitive {
			if r.name == "$env" || r.name == s || strings.HasPrefix(s, r.name+".") || strings.HasPrefix(r.name, s+".") {
				found[s], hit = true, true
			}
		}
		if hit && (first < 0 || r.loc.From < reads[first].loc.From) {
			first = i
		}
	}
	if first < 0 {
		return nil, at
	}
	for s := range found {
		fields = append(fields, s)
	}
	sort.Strings(fields)
	return fields, reads[first].loc
}

// memberPath returns "a.b.c" for the member chain a.b.c, or "".
func memberPath(n *exprast.MemberNode) string {
	prop, ok := n.Property.(*exprast.StringNode)
	if !ok {
		return ""
	}
	switch x := n.Node.(type) {
	case *exprast.IdentifierNode:
		return x.Value + "." + prop.Value
	case *exprast.MemberNode:
		if p := memberPath(x); p != "" {
			return p + "." + prop.Value
		}
	}
	return ""
}

type nodeVisitor func(exprast.Node)

// Visit implements ast.Visitor.
func (v nodeVisitor) Visit(n *exprast.Node) { v(*n) }
