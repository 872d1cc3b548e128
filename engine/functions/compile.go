package functions

import (
	"errors"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Compile compiles src as expr.Compile does, with the registry's functions
// declared and opts applied (typically expr.Env with a typed environment,
// and expr.AsBool for filters). The program is safe to share between
// goroutines.
//
// In expr a variable hides a function of the same name, and records have
// fields called email, phone, position and city: with expr.Compile,
// `email(email)` tries to call the field ("string is not callable"). Compile
// points the callee of every call to a registered function at the
// function's internal name, which no field can have, before the type check:
// in `email(email)` the call reaches the function and the argument is the
// field. The renaming is done on the parsed tree rather than by an expr
// patcher, because patchers run after a first check has typed the tree,
// which hides errors in call arguments (`email(nope)` would compile).
// Patchers passed in opts are therefore not run.
func (r *Registry) Compile(src string, opts ...expr.Option) (*vm.Program, error) {
	c := conf.CreateNew()
	for _, op := range opts {
		op(c)
	}
	for _, op := range r.Options() {
		op(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	c.Check()
	tree, err := parser.ParseWithConfig(src, c)
	if err != nil {
		return nil, publicNames(err)
	}
	ast.Walk(&tree.Node, callees{r})
	if _, err := checker.Check(tree, c); err != nil {
		return nil, publicNames(err)
	}
	if c.Optimize {
		if err := optimizer.Optimize(&tree.Node, c); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, publicNames(fe.Bind(tree.Source))
			}
			return nil, err
		}
	}
	return compiler.Compile(tree, c)
}

// publicNames removes the internal prefix from function names in a compile
// error, keeping the error's type and position.
func publicNames(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		fe.Message = strings.ReplaceAll(fe.Message, calleePrefix, "")
		return fe
	}
	return err
}

// callees renames the callee of calls to registered functions to their
// internal names.
type callees struct{ r *Registry }

// Visit implements ast.Visitor.
func (v callees) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); ok && v.r.Has(id.Value) {
		id.Value = calleePrefix + id.Value
	}
}
