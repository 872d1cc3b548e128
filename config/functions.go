package config

import (
	"errors"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/kelompok/pipe/engine/functions"
)

// registryOptions returns the expr options declaring the mapping functions
// (email, phone, ref, ...) of package engine/functions.
var registryOptions = functions.Default.Options

// calleePrefix marks the alias under which each registered function is
// also declared. A record field and a function often share a name
// (email(email), city(city), position(position)); expr resolves an
// identifier in the environment before the functions, so a call site's
// callee is renamed to the alias, which only a function has.
const calleePrefix = "fn·"

// functionTable is the registry's functions with their aliases.
type functionTable struct {
	opts []expr.Option
	// callee maps a function's public name to the name it is declared
	// under in expr.
	callee map[string]string
}

var (
	tableOnce sync.Once
	table     *functionTable
)

func funcTable() *functionTable {
	tableOnce.Do(func() { table = newFunctionTable(registryOptions()) })
	return table
}

// newFunctionTable declares every function of opts so that calls reach it
// whatever the record's fields are called: a function declared under its
// own name gets an alias; one the options already declare under an
// internal name (package functions does: Function.Name is the public name,
// the key an internal one) is called by that name.
func newFunctionTable(opts []expr.Option) *functionTable {
	t := &functionTable{callee: map[string]string{}}
	c := conf.CreateNew()
	for _, o := range opts {
		o(c)
	}
	t.opts = append(t.opts, opts...)
	for key, fn := range c.Functions {
		if fn.Name != "" && fn.Name != key {
			t.callee[fn.Name] = key
			continue
		}
		alias := *fn
		alias.Name = key
		internal := calleePrefix + key
		t.callee[key] = internal
		t.opts = append(t.opts, func(c *conf.Config) { c.Functions[internal] = &alias })
	}
	return t
}

// compile compiles src as expr.Compile does with opts, except that calls
// of registered functions are pointed at the names they are declared under
// before the type check, and patchers are not run (an expr patcher runs
// after a first check has typed the tree, which hides errors in the
// arguments of calls).
func (t *functionTable) compile(src string, opts ...expr.Option) (*vm.Program, error) {
	config := conf.CreateNew()
	for _, op := range opts {
		op(config)
	}
	for _, op := range t.opts {
		op(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	tree, err := parser.ParseWithConfig(src, config)
	if err != nil {
		return nil, err
	}
	if len(t.callee) > 0 {
		ast.Walk(&tree.Node, calleeRenamer{callee: t.callee})
	}
	// Patchers in opts are not run: the only one, package functions'
	// callee renaming, is done above, and running any patcher types the
	// tree in a first pass that then hides errors in call arguments.
	if _, err := checker.Check(tree, config); err != nil {
		return nil, err
	}
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, fe.Bind(tree.Source)
			}
			return nil, err
		}
	}
	return compiler.Compile(tree, config)
}

// calleeRenamer points calls of registered functions at the names they are
// declared under.
type calleeRenamer struct{ callee map[string]string }

// Visit implements ast.Visitor.
func (r calleeRenamer) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); ok {
		if internal, ok := r.callee[id.Value]; ok {
			id.Value = internal
		}
	}
}

// hasNormalizer reports whether name is a normalizer usable in a match
// rule.
func hasNormalizer(name string) bool {
	_, ok := functions.Default.Normalizer(name)
	return ok
}

// normalizerNames lists the normalizers for a message.
func normalizerNames() string { return strings.Join(functions.Default.Normalizers(), ", ") }

// cleanMessage removes the alias markers from a compile error message.
func cleanMessage(msg string) string {
	msg = strings.ReplaceAll(msg, calleePrefix, "")
	for name, internal := range funcTable().callee {
		msg = strings.ReplaceAll(msg, internal, name)
	}
	return msg
}
