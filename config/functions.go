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
)

// registryOptions returns the expr options declaring the mapping functions
// (email, phone, ref, ...), one expr.Function each, and registryHas
// reports whether a name is registered. Until the registry of package
// engine/functions is in the tree, expressions compile with the
// environment and expr's built-ins alone.
var (
	registryOptions = func() []expr.Option { return nil }
	registryHas     = func(string) bool { return false }
)

// calleePrefix marks the alias under which each registered function is
// also declared. A record field and a function often share a name
// (email(email), city(city), position(position)); expr resolves an
// identifier in the environment before the functions, so a call site's
// callee is renamed to the alias, which only a function has.
const calleePrefix = "fn·"

// functionTable is the registry's functions with their aliases.
type functionTable struct {
	opts  []expr.Option
	names map[string]bool
}

var (
	tableOnce sync.Once
	table     *functionTable
)

func functions() *functionTable {
	tableOnce.Do(func() { table = newFunctionTable(registryOptions()) })
	return table
}

// newFunctionTable declares every function of opts under its name and
// under its alias, and patches call sites to call the alias.
func newFunctionTable(opts []expr.Option) *functionTable {
	t := &functionTable{names: map[string]bool{}}
	c := conf.CreateNew()
	for _, o := range opts {
		o(c)
	}
	t.opts = append(t.opts, opts...)
	for name, fn := range c.Functions {
		t.names[name] = true
		alias := *fn
		alias.Name = calleePrefix + name
		t.opts = append(t.opts, func(c *conf.Config) { c.Functions[alias.Name] = &alias })
	}
	return t
}

// compile compiles src as expr.Compile does with opts, except that calls
// of registered functions are pointed at their aliases before the type
// check (an expr patcher would run after a first check has already typed
// the tree, hiding errors in the arguments).
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
	if len(t.names) > 0 {
		ast.Walk(&tree.Node, calleeRenamer{names: t.names})
	}
	if _, err := new(checker.Checker).PatchAndCheck(tree, config); err != nil {
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

// calleeRenamer points calls of registered functions at their aliases.
type calleeRenamer struct{ names map[string]bool }

// Visit implements ast.Visitor.
func (r calleeRenamer) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); ok && r.names[id.Value] {
		id.Value = calleePrefix + id.Value
	}
}

// hasFunction reports whether a function (or normalizer) name is
// registered.
func hasFunction(name string) bool { return registryHas(name) || functions().names[name] }

// cleanMessage removes the alias marker from a compile error message.
func cleanMessage(msg string) string { return strings.ReplaceAll(msg, calleePrefix, "") }
