package config

import (
	"cmp"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/schemas"
)

// columnTypes maps a declared column type to its Stream.Fields type.
var columnTypes = map[string]string{
	"uuid":      schemas.TypeString,
	"text":      schemas.TypeString,
	"int":       schemas.TypeInt,
	"float":     schemas.TypeNumber,
	"bool":      schemas.TypeBool,
	"timestamp": schemas.TypeTime,
	"text[]":    schemas.TypeList,
	"json":      schemas.TypeObject,
}

// at returns the best position for a path: its declaration in the user's
// files, else the value's own position.
func (l *loader) at(v cue.Value, path ...string) token.Pos {
	if p, ok := l.index.pos(path...); ok {
		return p
	}
	return v.Pos()
}

// decodeInto decodes v, reporting a failure at path.
func (l *loader) decodeInto(v cue.Value, dst any, path ...string) bool {
	if err := v.Decode(dst); err != nil {
		l.errorf(l.at(v, path...), path, "cannot decode: %v", err)
		return false
	}
	return true
}

func (l *loader) decode(v cue.Value) *Config {
	cfg := &Config{Dir: l.abs, Connections: map[string]*Connection{}, Pipelines: map[string]*Pipeline{}}

	var state struct {
		Kind string       `json:"kind"`
		Path string       `json:"path"`
		URL  *secrets.Ref `json:"url"`
	}
	l.decodeInto(v.LookupPath(cue.ParsePath("state")), &state, "state")
	cfg.State = State{Kind: state.Kind, Path: state.Path, URL: state.URL}
	if cfg.State.Kind == "sqlite" && cfg.State.Path != "" && !filepath.IsAbs(cfg.State.Path) {
		cfg.State.Path = filepath.Join(l.abs, cfg.State.Path)
	}
	l.decodeInto(v.LookupPath(cue.ParsePath("server")), &cfg.Server, "server")

	conns := v.LookupPath(cue.ParsePath("connections"))
	for it, _ := conns.Fields(); it.Next(); {
		name := it.Selector().Unquoted()
		if c := l.decodeConnection(name, it.Value()); c != nil {
			cfg.Connections[name] = c
		}
	}
	pipes := v.LookupPath(cue.ParsePath("pipelines"))
	for it, _ := pipes.Fields(); it.Next(); {
		name := it.Selector().Unquoted()
		if p := l.decodePipeline(cfg, name, it.Value()); p != nil {
			cfg.Pipelines[name] = p
		}
	}
	l.checkDependencies(cfg)
	return cfg
}

func (l *loader) decodeConnection(name string, v cue.Value) *Connection {
	path := []string{"connections", name}
	c := &Connection{Name: name, Streams: map[string]*Stream{}, Pos: l.position(l.at(v, path...))}
	if !l.decodeInto(v, &c.Params, path...) {
		return nil
	}
	c.Kind, _ = c.Params["kind"].(string)
	switch c.Kind {
	case "twenty":
		var tw struct {
			RateLimit struct {
				Per string `json:"per"`
			} `json:"rateLimit"`
			Timeout      string                       `json:"timeout"`
			CustomFields map[string]map[string]string `json:"customFields"`
		}
		if !l.decodeInto(v, &tw, path...) {
			return nil
		}
		l.checkDuration(v, tw.RateLimit.Per, append(path, "rateLimit", "per")...)
		l.checkDuration(v, tw.Timeout, append(path, "timeout")...)
		cat := schemas.Twenty()
		for _, plural := range cat.Plurals() {
			fields, _ := cat.StreamFields(plural, tw.CustomFields[plural])
			c.Streams[plural] = &Stream{Name: plural, Fields: fields}
		}
		for plural, custom := range tw.CustomFields {
			if _, ok := c.Streams[plural]; !ok {
				fields, _ := cat.StreamFields(plural, custom)
				c.Streams[plural] = &Stream{Name: plural, Fields: fields}
			}
		}
	default:
		if c.Kind == "exec" {
			if hs, ok := c.Params["handshakeTimeout"].(string); ok {
				hp := append(path, "handshakeTimeout")
				if hs == "" {
					// checkDuration lets "" mean unset (a schedule); the
					// connector refuses an empty handshakeTimeout
					l.errorf(l.at(v, hp...), hp, `invalid duration "": write a positive Go duration such as "90s", "15m" or "1h30m"`)
				} else {
					l.checkDuration(v, hs, hp...)
				}
			}
		}
		if c.Kind == "file" {
			_, hasPath := c.Params["path"]
			_, hasDir := c.Params["dir"]
			if hasPath == hasDir {
				l.errorf(l.at(v, path...), path, `a file connection needs exactly one of path (a single file) or dir (one file per stream)`)
			}
		}
		var decl struct {
			Streams map[string]struct {
				Columns   map[string]string `json:"columns"`
				Key       string            `json:"key"`
				UpdatedAt string            `json:"updatedAt"`
				DeletedAt string            `json:"deletedAt"`
			} `json:"streams"`
		}
		if !l.decodeInto(v, &decl, path...) {
			return nil
		}
		for sname, s := range decl.Streams {
			fields := make(map[string]any, len(s.Columns)+3)
			if c.Kind == "file" {
				// A file record holds its key and timestamps as fields
				// (connectors/file), so mappings, filters and match rules
				// may name them without declaring them as columns.
				fields[cmp.Or(s.Key, "id")] = schemas.TypeString
				fields[cmp.Or(s.UpdatedAt, "updated_at")] = schemas.TypeTime
				if s.DeletedAt != "" {
					fields[s.DeletedAt] = schemas.TypeTime
				}
			}
			for col, t := range s.Columns {
				fields[col] = columnTypes[t]
			}
			c.Streams[sname] = &Stream{Name: sname, Fields: fields}
		}
	}
	return c
}

// checkDuration reports a duration string that time.ParseDuration rejects.
func (l *loader) checkDuration(v cue.Value, s string, path ...string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		l.errorf(l.at(v, path...), path, `invalid duration %q: write a positive Go duration such as "90s", "15m" or "1h30m"`, s)
		return 0
	}
	return d
}

// rawPipeline is a pipeline as decoded from CUE, before references are
// resolved and expressions compiled.
type rawPipeline struct {
	Source      string      `json:"source"`
	Sink        string      `json:"sink"`
	Direction   string      `json:"direction"`
	DependsOn   []string    `json:"dependsOn"`
	Match       []MatchRule `json:"match"`
	Filter      Filter      `json:"filter"`
	Conflict    Conflict    `json:"conflict"`
	Delete      Delete      `json:"delete"`
	LookBack    string      `json:"lookBack"`
	BatchSize   int         `json:"batchSize"`
	Concurrency int         `json:"concurrency"`
	Sensitive   []string    `json:"sensitive"`
	Unresolved  string      `json:"unresolved"`
	Tests       []Test      `json:"tests"`
	Trigger     struct {
		Schedule string `json:"schedule"`
		Webhook  bool   `json:"webhook"`
	} `json:"trigger"`
}

func (l *loader) decodePipeline(cfg *Config, name string, v cue.Value) *Pipeline {
	path := []string{"pipelines", name}
	var raw rawPipeline
	if !l.decodeInto(v, &raw, path...) {
		return nil
	}
	p := &Pipeline{
		Name:        name,
		Direction:   raw.Direction,
		DependsOn:   raw.DependsOn,
		Match:       raw.Match,
		Filter:      Filter{Source: raw.Filter.Source, Sink: raw.Filter.Sink},
		Conflict:    raw.Conflict,
		Delete:      raw.Delete,
		BatchSize:   raw.BatchSize,
		Concurrency: raw.Concurrency,
		Sensitive:   raw.Sensitive,
		Unresolved:  raw.Unresolved,
		Tests:       raw.Tests,
		Pos:         l.position(l.at(v, path...)),
	}
	p.Trigger.Webhook = raw.Trigger.Webhook
	p.Trigger.Schedule = l.checkDuration(v, raw.Trigger.Schedule, append(path, "trigger", "schedule")...)
	if d, err := time.ParseDuration(raw.LookBack); err != nil || d < 0 {
		l.errorf(l.at(v, append(path, "lookBack")...), append(path, "lookBack"),
			`invalid duration %q: write a Go duration such as "1m" or "30s", or "0s" to read from the cursor itself`, raw.LookBack)
	} else {
		p.LookBack = d
	}
	for i := range p.Tests {
		p.Tests[i].Pos = l.position(l.at(v, append(path, "tests", strconv.Itoa(i))...))
	}

	src := l.resolveStream(cfg, v, raw.Source, append(path, "source")...)
	snk := l.resolveStream(cfg, v, raw.Sink, append(path, "sink")...)
	p.Source, p.Sink = splitRef(raw.Source), splitRef(raw.Sink)

	pushes := p.Direction == Push || p.Direction == Both
	pulls := p.Direction == Pull || p.Direction == Both
	for _, m := range []struct {
		name   string
		needed bool
		dst    **Mapping
		from   *Stream
		to     *Stream
	}{
		{"push", pushes, &p.Push, src, snk},
		{"pull", pulls, &p.Pull, snk, src},
	} {
		mv := v.LookupPath(cue.MakePath(cue.Str(m.name)))
		switch {
		case !mv.Exists() && m.needed:
			l.errorf(l.at(v, append(path, "direction")...), append(path, m.name), "direction %q needs a %s mapping: add `%s: {\"targetField\": \"expression\"}`", p.Direction, m.name, m.name)
		case mv.Exists() && !m.needed:
			l.errorf(l.at(mv, append(path, m.name)...), append(path, m.name), "a %s mapping is given but direction is %q: remove it or set direction: \"both\"", m.name, p.Direction)
		case mv.Exists():
			*m.dst = l.decodeMapping(mv, append(path, m.name), m.from, m.to, raw.Sensitive)
		}
	}

	// Filters.
	if p.Filter.Source != "" && src != nil {
		p.Filter.SourceProgram = l.compile(v, p.Filter.Source, src, true, append(path, "filter", "source")...)
	}
	if p.Filter.Sink != "" && snk != nil {
		p.Filter.SinkProgram = l.compile(v, p.Filter.Sink, snk, true, append(path, "filter", "sink")...)
	}

	// Match rules.
	for i, r := range p.Match {
		rp := append(path, "match", strconv.Itoa(i))
		if src != nil && !src.HasPath(r.Source) {
			l.errorf(l.at(v, append(rp, "source")...), append(rp, "source"), "stream %s has no field %q: use one of %s", raw.Source, r.Source, fieldList(src, r.Source))
		}
		if snk != nil && !snk.HasPath(r.Sink) {
			l.errorf(l.at(v, append(rp, "sink")...), append(rp, "sink"), "stream %s has no field %q: use one of %s", raw.Sink, r.Sink, fieldList(snk, r.Sink))
		}
		if r.Normalize != "" && !hasNormalizer(r.Normalize) {
			l.errorf(l.at(v, append(rp, "normalize")...), append(rp, "normalize"), "unknown normalizer %q: use one of %s", r.Normalize, normalizerNames())
		}
	}

	// Sensitive fields and owned fields exist on one side or the other.
	for i, f := range p.Sensitive {
		if !hasOn(f, src, snk) {
			sp := append(path, "sensitive", strconv.Itoa(i))
			l.errorf(l.at(v, sp...), sp, "neither %s nor %s has a field %q: correct the name or remove it", raw.Source, raw.Sink, f)
		}
	}
	owners := make([]string, 0, len(p.Conflict.Owner))
	for f := range p.Conflict.Owner {
		owners = append(owners, f)
	}
	sort.Strings(owners)
	for _, f := range owners {
		if !hasOn(f, src, snk) {
			op := append(path, "conflict", "owner", f)
			l.errorf(l.at(v, op...), op, "neither %s nor %s has a field %q: correct the name or remove it", raw.Source, raw.Sink, f)
		}
	}
	for i, t := range p.Tests {
		if (t.Direction == Push && p.Push == nil && !pushes) || (t.Direction == Pull && p.Pull == nil && !pulls) {
			tp := append(path, "tests", strconv.Itoa(i), "direction")
			l.errorf(l.at(v, tp...), tp, "test %q exercises the %s mapping, which this pipeline does not have: change its direction or the pipeline's", t.Name, t.Direction)
			continue
		}
		tp := append(append([]string(nil), path...), "tests", strconv.Itoa(i))
		in, inRef, m := src, raw.Source, p.Push
		if t.Direction == Pull {
			in, inRef, m = snk, raw.Sink, p.Pull
		}
		if in != nil {
			l.checkTestInput(v, append(tp, "input"), t.Name, inRef, in.Env(), t.Input, "")
		}
		if m != nil {
			dir := t.Direction
			if dir == "" {
				dir = Push
			}
			l.checkTestExpect(v, append(tp, "expect"), t.Name, dir, m, t.Expect, "")
		}
	}
	return p
}

// checkTestInput reports the keys of a test's input record (at path) that
// are not fields the mapping's expressions can see: the stream's fields
// (nested for composites) and id, updatedAt, deleted. prefix is the dotted
// path of the composite being checked.
func (l *loader) checkTestInput(v cue.Value, path []string, test, stream string, env, input map[string]any, prefix string) {
	for _, k := range slices.Sorted(maps.Keys(input)) {
		kp := append(append([]string(nil), path...), k)
		want, ok := env[k]
		if !ok {
			names := slices.Sorted(maps.Keys(env))
			for i := range names {
				names[i] = prefix + names[i]
			}
			hint := didYouMean(prefix+k, names)
			if hint == "" {
				hint = ": use one of " + strings.Join(names, ", ")
			} else {
				hint = " " + strings.TrimSpace(hint)
			}
			l.errorf(l.labelAt(v, kp), kp, "test %q: input field %q is not a field of %s%s", test, prefix+k, stream, hint)
			continue
		}
		sub, isComposite := want.(map[string]any)
		given, isMap := input[k].(map[string]any)
		if isComposite && len(sub) > 0 && isMap {
			l.checkTestInput(v, kp, test, stream, sub, given, prefix+k+".")
		}
	}
}

// checkTestExpect reports the keys of a test's expected output (at path;
// dotted or nested) that are not targets of the mapping m. A key below a
// target is accepted (companyId: {pipeline: ..., key: ...}).
func (l *loader) checkTestExpect(v cue.Value, path []string, test, dir string, m *Mapping, expect map[string]any, prefix string) {
	targets := make([]string, len(m.Fields))
	for i, f := range m.Fields {
		targets[i] = f.Target
	}
	covered := func(p string) bool {
		for _, t := range targets {
			if p == t || strings.HasPrefix(p, t+".") {
				return true
			}
		}
		return false
	}
	parent := func(p string) bool {
		for _, t := range targets {
			if strings.HasPrefix(t, p+".") {
				return true
			}
		}
		return false
	}
	for _, k := range slices.Sorted(maps.Keys(expect)) {
		full := prefix + k
		kp := append(append([]string(nil), path...), k)
		if covered(full) {
			continue
		}
		if sub, ok := expect[k].(map[string]any); ok && parent(full) {
			l.checkTestExpect(v, kp, test, dir, m, sub, full+".")
			continue
		}
		hint := didYouMean(full, targets)
		if hint == "" {
			hint = ": its targets are " + strings.Join(targets, ", ")
		} else {
			hint = " " + strings.TrimSpace(hint)
		}
		l.errorf(l.labelAt(v, kp), kp, "test %q: expected field %q is not a target of the %s mapping%s", test, full, dir, hint)
	}
}

// labelAt is the position of the label of the field at path as written,
// else the best position of the path.
func (l *loader) labelAt(v cue.Value, path []string) token.Pos {
	if es := l.index.entries(path...); len(es) > 0 {
		return es[0].label
	}
	return l.at(v, path...)
}

func hasOn(f string, a, b *Stream) bool {
	if a == nil || b == nil {
		return true // the unknown stream is reported already
	}
	return a.HasPath(f) || b.HasPath(f)
}

func splitRef(s string) StreamRef {
	conn, stream, _ := strings.Cut(s, ".")
	return StreamRef{Connection: conn, Stream: stream}
}

// resolveStream finds the stream a "connection.stream" reference names,
// reporting an unknown connection or stream.
func (l *loader) resolveStream(cfg *Config, v cue.Value, ref string, path ...string) *Stream {
	r := splitRef(ref)
	c, ok := cfg.Connections[r.Connection]
	if !ok {
		l.errorf(l.at(v, path...), path, "unknown connection %q: declare it under connections, or use one of %s", r.Connection, keyList(cfg.Connections))
		return nil
	}
	s, ok := c.Streams[r.Stream]
	if !ok {
		hint := "declare it under connections." + r.Connection + ".streams"
		if c.Kind == "twenty" {
			hint = "use a Twenty object's plural name, or declare a custom object under connections." + r.Connection + ".customFields"
		}
		l.errorf(l.at(v, path...), path, "connection %q has no stream %q: %s; known streams: %s", r.Connection, r.Stream, hint, keyList(c.Streams))
		return nil
	}
	return s
}

// decodeMapping reads a mapping in declaration order, checking each target
// path against the target stream and compiling each expression against the
// record stream. An expression may not read a sensitive field (a `when`
// condition may).
func (l *loader) decodeMapping(v cue.Value, path []string, from, to *Stream, sensitive []string) *Mapping {
	m := &Mapping{}
	for it, _ := v.Fields(); it.Next(); {
		target := it.Selector().Unquoted()
		fv := it.Value()
		fp := append(append([]string(nil), path...), target)
		fm := FieldMapping{Target: target, Pos: l.position(l.at(fv, fp...))}
		exprPath, whenPath := fp, []string(nil)
		if fv.IncompleteKind() == cue.StringKind {
			fm.Expr, _ = fv.String()
		} else {
			exprPath = append(append([]string(nil), fp...), "expr")
			fm.Expr, _ = fv.LookupPath(cue.ParsePath("expr")).String()
			if w := fv.LookupPath(cue.ParsePath("when")); w.Exists() {
				fm.When, _ = w.String()
				whenPath = append(append([]string(nil), fp...), "when")
			}
		}
		if to != nil && !to.HasPath(target) {
			lp, ok := l.index.pos(fp...)
			if es := l.index.entries(fp...); len(es) > 0 {
				lp, ok = es[0].label, true
			}
			if !ok {
				lp = fv.Pos()
			}
			l.errorf(lp, fp, "the target stream has no field %q: use one of %s", target, fieldList(to, target))
		}
		if from != nil {
			ev := fv
			if whenPath != nil || fv.IncompleteKind() != cue.StringKind {
				ev = fv.LookupPath(cue.ParsePath("expr"))
			}
			fm.Program = l.compile(ev, fm.Expr, from, false, exprPath...)
			if r, at := ReadsSensitive(fm.Program, sensitive); len(r) > 0 {
				l.sensitiveRead(ev, fm.Program, r, at, exprPath)
			}
			if whenPath != nil {
				fm.WhenProgram = l.compile(fv.LookupPath(cue.ParsePath("when")), fm.When, from, true, whenPath...)
			}
		}
		m.Fields = append(m.Fields, fm)
	}
	return m
}

// compile compiles an expression over a record of stream s, reporting an
// error at the exact place in the CUE string literal.
func (l *loader) compile(v cue.Value, src string, s *Stream, asBool bool, path ...string) *vm.Program {
	prog, err := CompileExpr(src, s.Env(), asBool)
	if err == nil {
		return prog
	}
	lit := l.index.literal(path...)
	if lit == nil {
		if b, ok := v.Source().(*ast.BasicLit); ok && l.userFiles[b.ValuePos.Filename()] {
			lit = b
		}
	}
	msg, pos := exprErrorAt(err, lit, l.at(v, path...))
	msg, syntax := l.syntaxMessage(firstLine(msg), src, lit, pos)
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
		if strings.Contains(src, name+"(") {
			msg = fmt.Sprintf("unknown function %s: use one of the functions in docs/functions.md, or expr's built-ins", name)
		} else {
			msg = fmt.Sprintf("unknown field %s: the record has %s", name, fieldList(s, name))
		}
	}
	what := "expression"
	if asBool {
		what = "condition"
	}
	if shown := shownExpr(src, lit); syntax && shown != "" {
		what += " " + shown
	}
	l.errorf(pos, path, "invalid %s: %s", what, msg)
	return nil
}

// sensitiveRead reports a mapping expression that reads sensitive fields,
// at the first read inside the CUE string literal.
func (l *loader) sensitiveRead(v cue.Value, prog *vm.Program, fields []string, at file.Location, path []string) {
	lit := l.index.literal(path...)
	if lit == nil {
		if b, ok := v.Source().(*ast.BasicLit); ok && l.userFiles[b.ValuePos.Filename()] {
			lit = b
		}
	}
	fe := (&file.Error{Location: at}).Bind(prog.Source())
	_, pos := exprErrorAt(fe, lit, l.at(v, path...))
	what, is := "field", "is"
	if len(fields) > 1 {
		what, is = "fields", "are"
	}
	l.errorf(pos, path, "the expression reads sensitive %s %s, which %s never mapped out: remove it from the expression (a `when` condition may test it)", what, strings.Join(fields, ", "), is)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// checkDependencies reports unknown dependsOn names and cycles.
func (l *loader) checkDependencies(cfg *Config) {
	names := make([]string, 0, len(cfg.Pipelines))
	for n := range cfg.Pipelines {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for i, d := range cfg.Pipelines[n].DependsOn {
			if _, ok := cfg.Pipelines[d]; !ok {
				dp := []string{"pipelines", n, "dependsOn", strconv.Itoa(i)}
				pos, _ := l.index.pos(dp...)
				l.errorf(pos, dp, "unknown pipeline %q: dependsOn takes pipeline names; known: %s", d, keyList(cfg.Pipelines))
			}
		}
	}
	// Cycles: depth-first search, reporting each cycle once at the
	// dependsOn entry that closes it.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for i, d := range cfg.Pipelines[n].DependsOn {
			if _, ok := cfg.Pipelines[d]; !ok {
				continue
			}
			switch color[d] {
			case grey:
				start := 0
				for k, s := range stack {
					if s == d {
						start = k
					}
				}
				cycle := append(append([]string(nil), stack[start:]...), d)
				dp := []string{"pipelines", n, "dependsOn", strconv.Itoa(i)}
				pos, _ := l.index.pos(dp...)
				l.errorf(pos, dp, "dependency cycle %s: remove one of these dependsOn entries", strings.Join(cycle, " -> "))
			case white:
				visit(d)
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range names {
		if color[n] == white {
			visit(n)
		}
	}
}

func keyList[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "(none)"
	}
	if len(keys) > 12 {
		keys = append(keys[:12], "...")
	}
	return strings.Join(keys, ", ")
}

// fieldList lists, for a message, the fields near a wrong path: the
// sub-fields of its composite when the first segment exists, else the
// stream's top-level fields.
func fieldList(s *Stream, path string) string {
	fields := s.Fields
	prefix := ""
	if first, _, ok := strings.Cut(path, "."); ok {
		if sub, ok := s.Fields[first].(map[string]any); ok {
			fields, prefix = sub, first+"."
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, prefix+k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
