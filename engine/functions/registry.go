// Package functions is the registry of the functions that mapping and filter
// expressions (github.com/expr-lang/expr) can call besides expr's built-ins:
// the normalizers of package normalize (email, phone, name_parts, position,
// sdg, province, city, domain, url), ref for ids linked through another
// pipeline, and a few small helpers (coalesce, nullif, title, squish).
//
// Default holds them all; config compiles every expression with
// Default.Compile. Each Function carries its documentation and examples:
// the examples run as tests, and docs/functions.md is generated from the
// registry (go generate ./engine/functions).
package functions

//go:generate go run ./gen -o ../../docs/functions.md

import (
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/conf"
)

// Function is one function callable from expressions.
type Function struct {
	// Name is the name expressions call it by.
	Name string
	// Signature is the human-readable signature shown in the docs, such as
	// `phone(x string, region string = "ID") map`.
	Signature string
	// Doc says what the function does, for docs/functions.md (Markdown).
	Doc string
	// Examples are shown in the docs and run as tests.
	Examples []Example
	// Func is called with the evaluated arguments. An error rejects the
	// record being mapped, with the error's message as the reason.
	Func func(params ...any) (any, error)
	// Types are the expr signatures the checker accepts, as typed function
	// values such as new(func(string) string); several act as overloads.
	Types []any
	// Normalize, if set, makes the function usable as the normalizer of a
	// match rule (`normalize: "email"`): both sides' values go through it
	// before they are compared.
	Normalize func(string) (string, error)
}

// Example is one documented use of a function, run as a test.
type Example struct {
	// Expr is the expression, such as `email("  Budi@Mail.ID ")`.
	Expr string
	// Env are the variables Expr refers to, if any.
	Env map[string]any
	// Want is the expected result (nil for NULL) unless Err is set.
	Want any
	// Err, if set, is a substring of the expected error.
	Err string
}

// Registry is a set of functions by name. The zero value is not usable; call
// New. A Registry is safe for concurrent use once populated: Register is
// meant for program start-up.
type Registry struct {
	fns   map[string]*Function
	cache *cache
}

// New returns an empty registry.
func New() *Registry { return &Registry{fns: map[string]*Function{}, cache: newCache()} }

// NewBuiltin returns a registry holding every function of this package, with
// its own result cache: what Default holds.
func NewBuiltin() *Registry {
	r := New()
	registerAll(r)
	return r
}

// Default is the registry config compiles expressions with, holding every
// function of this package. It is the package's only mutable global.
var Default = NewBuiltin()

// Register adds f. It panics if f has no name or no Func, or if a function of
// that name is already registered: both are programming errors.
func (r *Registry) Register(f Function) {
	if f.Name == "" || f.Func == nil {
		panic(fmt.Sprintf("functions: Register(%q): a function needs a Name and a Func", f.Name))
	}
	if _, dup := r.fns[f.Name]; dup {
		panic(fmt.Sprintf("functions: Register(%q): already registered", f.Name))
	}
	r.fns[f.Name] = &f
}

// Has reports whether a function called name is registered.
func (r *Registry) Has(name string) bool {
	_, ok := r.fns[name]
	return ok
}

// Get returns the function called name.
func (r *Registry) Get(name string) (Function, bool) {
	f, ok := r.fns[name]
	if !ok {
		return Function{}, false
	}
	return *f, true
}

// Functions returns every registered function, sorted by name.
func (r *Registry) Functions() []Function {
	out := make([]Function, 0, len(r.fns))
	for _, f := range r.fns {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Options returns the expr options that declare every function, under its
// public name and under an internal one (calleePrefix + name). With
// expr.Compile they serve expressions whose variables do not share a name
// with a function; Compile serves every expression and is what config uses.
func (r *Registry) Options() []expr.Option {
	fs := r.Functions()
	opts := make([]expr.Option, 0, 3*len(fs))
	for _, f := range fs {
		internal := calleePrefix + f.Name
		opts = append(opts,
			expr.Function(f.Name, f.Func, f.Types...),
			expr.Function(internal, f.Func, f.Types...), showAs(internal, f.Name))
	}
	return opts
}

// calleePrefix starts the internal names of registered functions.
const calleePrefix = "fn:"

// PublicName returns the name a function is called by in expressions for a
// callee name found in a compiled program's tree ("fn:sdg" gives "sdg"),
// and whether it is a registered function's internal name.
func (r *Registry) PublicName(callee string) (string, bool) {
	name, ok := strings.CutPrefix(callee, calleePrefix)
	if !ok || !r.Has(name) {
		return "", false
	}
	return name, true
}

// showAs makes messages about a function use its public name.
func showAs(internal, name string) expr.Option {
	return func(c *conf.Config) { c.Functions[internal].Name = name }
}

// Normalizer returns the normalizer of the function called name, for match
// rules: "email", "phone" (to E.164, region ID), "domain", "url", "name"
// (first and last name joined), "position", "province", "city", "title",
// "squish". Blank input normalizes to "".
func (r *Registry) Normalizer(name string) (func(string) (string, error), bool) {
	f, ok := r.fns[name]
	if !ok || f.Normalize == nil {
		return nil, false
	}
	return f.Normalize, true
}

// Normalizers returns the names of the functions usable as normalizers,
// sorted.
func (r *Registry) Normalizers() []string {
	var out []string
	for _, f := range r.Functions() {
		if f.Normalize != nil {
			out = append(out, f.Name)
		}
	}
	return out
}
