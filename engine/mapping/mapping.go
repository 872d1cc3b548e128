// Package mapping evaluates a pipeline direction's mapping (config.Mapping)
// on a record: each target field's compiled expression runs against the
// record, and the results are assembled into the nested fields written to
// the other side. It also evaluates filters, and holds the value helpers the
// engine compares records with: Get and Set by dotted path, Equal and Hash.
package mapping

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/functions"
	"github.com/kelompok/pipe/engine/normalize"
)

// Evaluator runs compiled expressions on records with one reused expr VM
// and environment. It is not safe for concurrent use: give each worker its
// own (NewEvaluator is cheap).
type Evaluator struct {
	vm  vm.VM
	env map[string]any
}

// NewEvaluator returns an Evaluator.
func NewEvaluator() *Evaluator { return &Evaluator{env: make(map[string]any, 16)} }

// Env fills and returns the evaluator's environment for rec: the record's
// fields by name, plus id, updatedAt and deleted unless the record has
// fields of those names. The map is reused by the next call.
func (e *Evaluator) Env(rec connectors.Record) map[string]any {
	clear(e.env)
	for k, v := range rec.Fields {
		e.env[k] = v
	}
	if _, ok := e.env["id"]; !ok {
		e.env["id"] = rec.ID
	}
	if _, ok := e.env["updatedAt"]; !ok {
		e.env["updatedAt"] = rec.UpdatedAt
	}
	if _, ok := e.env["deleted"]; !ok {
		e.env["deleted"] = rec.Deleted
	}
	return e.env
}

// envFor fills the environment with only the variables in names (as Env
// would set them; absent ones as nil, which expressions cannot tell from
// absent), or with every field when names is nil. A Mapper passes the same
// names every time, so the map's keys never change and need no clearing.
func (e *Evaluator) envFor(rec connectors.Record, names []string) map[string]any {
	if names == nil {
		return e.Env(rec)
	}
	for _, k := range names {
		v, ok := rec.Fields[k]
		if !ok {
			switch k {
			case "id":
				v = rec.ID
			case "updatedAt":
				v = rec.UpdatedAt
			case "deleted":
				v = rec.Deleted
			}
		}
		e.env[k] = v
	}
	return e.env
}

// envNames returns the variables programs read, sorted, or nil when one of
// them may read any (through $env).
func envNames(progs []*vm.Program) []string {
	names := map[string]bool{}
	all := false
	for _, p := range progs {
		node := p.Node()
		ast.Walk(&node, visitor(func(n ast.Node) {
			id, ok := n.(*ast.IdentifierNode)
			if !ok {
				return
			}
			if id.Value == "$env" {
				all = true
			}
			if _, fn := functions.Default.PublicName(id.Value); !fn {
				names[id.Value] = true
			}
		}))
	}
	if all {
		return nil
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Eval runs prog on rec.
func (e *Evaluator) Eval(prog *vm.Program, rec connectors.Record) (any, error) {
	return e.vm.Run(prog, e.Env(rec))
}

// Filter evaluates a filter program (config.Filter's SourceProgram or
// SinkProgram) on records. A filter may test any field, sensitive ones
// included: an error of one that reads a sensitive field is reported
// without values, as a mapping's `when` condition's is. It is not safe for
// concurrent use: give each worker its own.
type Filter struct {
	ev    *Evaluator
	prog  *vm.Program
	reads []string
}

// NewFilter returns a Filter for prog, which may be nil (every record
// passes); sensitive lists the pipeline's sensitive fields.
func NewFilter(prog *vm.Program, sensitive []string) *Filter {
	return &Filter{ev: NewEvaluator(), prog: prog, reads: readsSensitive(prog, sensitive)}
}

// Keep reports whether rec passes the filter. A result that is not a
// boolean is an error.
func (f *Filter) Keep(rec connectors.Record) (bool, error) {
	if f.prog == nil {
		return true, nil
	}
	out, err := f.ev.Eval(f.prog, rec)
	if err != nil {
		reason, _ := evalReason(err, f.reads)
		return false, errors.New("filter: " + reason)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("filter: result is %T, not a boolean", out)
	}
	return b, nil
}

// Mapper maps records through one direction's mapping. It is not safe for
// concurrent use: it reuses one expr VM. Give each worker its own with Clone,
// which shares the compiled programs and costs two small allocations.
type Mapper struct {
	fields   []field
	ev       *Evaluator
	warnings []string
	// nWhen is the number of distinct `when` conditions; whens holds their
	// results during one Map (a condition shared by several fields, such as
	// the three phone fields' `phone != nil && trim(phone) != ""`, runs
	// once per record).
	nWhen int
	whens []whenResult
	// top is the number of distinct first path segments, the size of the
	// mapped record's outer map.
	top int
	// names are the variables the mapping reads, nil for all (see envFor).
	names []string
	// subs holds, during one Map, the nested maps of the first path
	// segments under which every target has exactly two segments
	// ("phones.primaryPhoneNumber"): field.sub indexes it, subSize is each
	// one's number of fields.
	subs    []map[string]any
	subSize []int
}

// notBoolError is a `when` condition whose result is not a boolean.
type notBoolError struct{ v any }

func (e notBoolError) Error() string { return fmt.Sprintf("result is %T, not a boolean", e.v) }

// whenResult is a `when` condition's outcome for the record being mapped.
type whenResult struct {
	done bool
	ok   bool
	err  error
}

type field struct {
	target string
	path   []string
	prog   *vm.Program
	when   *vm.Program
	// whenIdx indexes Mapper.whens: fields whose conditions compile to the
	// same program share it.
	whenIdx int
	// sub indexes Mapper.subs, or is -1: the target is set with setPath.
	sub int
	// reads lists the sensitive fields the expressions read: their errors
	// are reported without values.
	reads []string
	// sdgOf is the field an `sdg(field)` expression reads, to report the
	// tags it leaves out.
	sdgOf string
}

// New prepares a Mapper for m, whose programs must be compiled (config.Load
// does it with functions.Default.Compile). sensitive lists the pipeline's
// sensitive fields: an expression that reads one is refused (a sensitive
// value is never mapped out), while a `when` condition may test one, and any
// error it causes is reported without the value.
func New(m *config.Mapping, sensitive []string) (*Mapper, error) {
	if m == nil {
		return nil, errors.New("mapping: no mapping for this direction")
	}
	mp := &Mapper{ev: NewEvaluator()}
	seen := map[string]bool{}
	whenIdx := map[string]int{}
	tops := map[string]bool{}
	for _, fm := range m.Fields {
		if fm.Program == nil {
			return nil, fmt.Errorf("mapping: field %s: expression %q is not compiled", fm.Target, fm.Expr)
		}
		if seen[fm.Target] {
			return nil, fmt.Errorf("mapping: field %s is mapped twice", fm.Target)
		}
		seen[fm.Target] = true
		if r := readsSensitive(fm.Program, sensitive); len(r) > 0 {
			return nil, fmt.Errorf("mapping: field %s reads sensitive field %s: sensitive fields are never mapped out; remove it from the expression (a `when` condition may test it)", fm.Target, strings.Join(r, ", "))
		}
		f := field{target: fm.Target, path: strings.Split(fm.Target, "."), prog: fm.Program, when: fm.WhenProgram, sdgOf: sdgArgument(fm.Program)}
		if fm.WhenProgram != nil {
			f.reads = readsSensitive(fm.WhenProgram, sensitive)
			k := programKey(fm.WhenProgram)
			i, ok := whenIdx[k]
			if !ok {
				i = len(whenIdx)
				whenIdx[k] = i
			}
			f.whenIdx = i
		}
		tops[f.path[0]] = true
		mp.fields = append(mp.fields, f)
	}
	mp.nWhen, mp.top = len(whenIdx), len(tops)
	// A first segment whose targets all have two segments gets one nested
	// map per record, filled without looking it up for each field.
	pairsOnly := map[string]bool{}
	for _, f := range mp.fields {
		ok, seen := pairsOnly[f.path[0]]
		pairsOnly[f.path[0]] = len(f.path) == 2 && (ok || !seen)
	}
	subIdx := map[string]int{}
	for i := range mp.fields {
		f := &mp.fields[i]
		f.sub = -1
		if !pairsOnly[f.path[0]] {
			continue
		}
		j, ok := subIdx[f.path[0]]
		if !ok {
			j = len(mp.subSize)
			subIdx[f.path[0]] = j
			mp.subSize = append(mp.subSize, 0)
		}
		f.sub = j
		mp.subSize[j]++
	}
	mp.subs = make([]map[string]any, len(mp.subSize))
	var progs []*vm.Program
	for _, f := range mp.fields {
		progs = append(progs, f.prog)
		if f.when != nil {
			progs = append(progs, f.when)
		}
	}
	mp.names = envNames(progs)
	mp.whens = make([]whenResult, mp.nWhen)
	return mp, nil
}

// programKey identifies a compiled program by its source and bytecode: two
// programs with the same key compute the same thing.
func programKey(p *vm.Program) string {
	return p.Source().String() + "\x00" + p.Disassemble()
}

// Clone returns a Mapper sharing m's compiled mapping with its own VM, for
// another worker.
func (m *Mapper) Clone() *Mapper {
	return &Mapper{
		fields: m.fields, ev: NewEvaluator(), nWhen: m.nWhen, whens: make([]whenResult, m.nWhen), top: m.top, names: m.names,
		subs: make([]map[string]any, len(m.subSize)), subSize: m.subSize,
	}
}

// Warnings returns what the last Map noticed without rejecting the record,
// such as SDG tags that `sdg(field)` could not read and left out:
// `sdgTags: unknown SDG tags left out: "lingkungan"`. The slice is reused
// by the next Map.
func (m *Mapper) Warnings() []string { return m.warnings }

// Targets returns the target paths of the mapping, in declaration order.
func (m *Mapper) Targets() []string {
	out := make([]string, len(m.fields))
	for i, f := range m.fields {
		out[i] = f.target
	}
	return out
}

// Map maps rec: every field whose `when` holds (or has none) is evaluated
// and set at its dotted target path, building nested maps
// ("name.firstName" -> {"name": {"firstName": ...}}). A NULL result is
// set as nil. If any field fails, Map returns a *RejectError naming every
// failed target and no map.
func (m *Mapper) Map(rec connectors.Record) (map[string]any, error) {
	env := m.ev.envFor(rec, m.names)
	m.warnings = m.warnings[:0]
	clear(m.whens)
	clear(m.subs)
	out := make(map[string]any, m.top)
	var rej *RejectError
	for i := range m.fields {
		f := &m.fields[i]
		if f.when != nil {
			w := &m.whens[f.whenIdx]
			if !w.done {
				w.done = true
				v, err := m.ev.vm.Run(f.when, env)
				if err == nil {
					var isBool bool
					if w.ok, isBool = v.(bool); !isBool {
						err = notBoolError{v}
					}
				}
				w.err = err
			}
			if w.err != nil {
				var reads []string
				if _, notBool := w.err.(notBoolError); !notBool {
					reads = f.reads
				}
				rej = rej.add(f, "when", w.err, reads)
				continue
			}
			if !w.ok {
				continue
			}
		}
		v, err := m.ev.vm.Run(f.prog, env)
		if err != nil {
			rej = rej.add(f, "", err, nil)
			continue
		}
		if f.sub < 0 {
			setPath(out, f.path, v)
		} else {
			sub := m.subs[f.sub]
			if sub == nil {
				sub = make(map[string]any, m.subSize[f.sub])
				m.subs[f.sub] = sub
				out[f.path[0]] = sub
			}
			sub[f.path[1]] = v
		}
		if f.sdgOf != "" {
			m.warnSDG(f, env[f.sdgOf])
		}
	}
	if rej != nil {
		return nil, rej
	}
	return out, nil
}

// FieldError is why one target field could not be mapped.
type FieldError struct {
	// Target is the dotted target path.
	Target string
	// Reason is the problem, phrased for the person fixing the data; it
	// never holds the value of a sensitive field.
	Reason string
	err    error
}

// Error returns "target: reason".
func (e *FieldError) Error() string { return e.Target + ": " + e.Reason }

// Unwrap returns the function's error (a *normalize.Error for a refused
// value), when the reason came from one and no sensitive field is involved.
func (e *FieldError) Unwrap() error { return e.err }

// RejectError is a record the mapping rejects: the record is kept with this
// reason and retried on later runs.
type RejectError struct {
	Fields []*FieldError
}

// Error joins the field errors: `emails.primaryEmail: email: "budi at mail"
// is not an email address (missing @)`.
func (e *RejectError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

func (e *RejectError) add(f *field, part string, err error, sensitive []string) *RejectError {
	if e == nil {
		e = &RejectError{}
	}
	fe := &FieldError{Target: f.target}
	fe.Reason, fe.err = evalReason(err, sensitive)
	if part != "" {
		fe.Reason = part + ": " + fe.Reason
	}
	e.Fields = append(e.Fields, fe)
	return e
}

// evalReason phrases an evaluation error of an expression that reads the
// sensitive fields in sensitive (none, or the ones config.ReadsSensitive
// finds) for a reject reason, and returns the error to unwrap to. When it
// reads one, no value appears: a value a function refuses is described by
// its shape, any other error withheld (expr's messages quote operands, as
// in "invalid operation: int(3273...)"), and no error is returned.
func evalReason(err error, sensitive []string) (string, error) {
	var ne *normalize.Error
	switch {
	case errors.As(err, &ne) && len(sensitive) > 0:
		return ne.Redacted(), nil
	case errors.As(err, &ne):
		return ne.Error(), ne
	case len(sensitive) > 0:
		return "evaluation failed; details withheld because it reads sensitive field " + strings.Join(sensitive, ", "), nil
	default:
		return exprMessage(err), err
	}
}

// exprMessage is an expr error's message with its position inside the
// expression, without expr's multi-line source snippet.
func exprMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Line > 0 {
			return fmt.Sprintf("%s (at column %d of the expression)", fe.Message, fe.Column+1)
		}
		return fe.Message
	}
	return err.Error()
}

// readsSensitive returns the sensitive fields an expression reads (see
// config.ReadsSensitive).
func readsSensitive(prog *vm.Program, sensitive []string) []string {
	r, _ := config.ReadsSensitive(prog, sensitive)
	return r
}

type visitor func(ast.Node)

// Visit implements ast.Visitor.
func (v visitor) Visit(n *ast.Node) { v(*n) }

// sdgArgument returns the field name when the program is `sdg(field)`.
func sdgArgument(prog *vm.Program) string {
	call, ok := prog.Node().(*ast.CallNode)
	if !ok || len(call.Arguments) != 1 {
		return ""
	}
	callee, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return ""
	}
	if name, ok := functions.Default.PublicName(callee.Value); !ok || name != "sdg" {
		return ""
	}
	arg, ok := call.Arguments[0].(*ast.IdentifierNode)
	if !ok {
		return ""
	}
	return arg.Value
}

// warnSDG records the tags of v that sdg() left out.
func (m *Mapper) warnSDG(f *field, v any) {
	var tags []string
	switch v := v.(type) {
	case string:
		tags = []string{v}
	case []string:
		tags = v
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				tags = append(tags, s)
			}
		}
	}
	if len(tags) == 0 {
		return
	}
	if _, unknown := normalize.SDGs(tags); len(unknown) > 0 {
		q := make([]string, len(unknown))
		for i, u := range unknown {
			q[i] = fmt.Sprintf("%q", u)
		}
		m.warnings = append(m.warnings, fmt.Sprintf("%s: unknown SDG tags left out: %s", f.target, strings.Join(q, ", ")))
	}
}
