package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/kelompok/pipe/schemas"
)

// DefaultDir is the configuration directory used when none is given.
const DefaultDir = "pipelines"

// EnvDir is the environment variable naming the configuration directory.
const EnvDir = "PIPE_CONFIG"

// PackageName is the CUE package of configuration files. A file may also
// have no package clause.
const PackageName = "pipe"

// schemaPrefix marks the embedded schema files in positions.
const schemaPrefix = "pipe:schemas/"

// Files returns the paths (dir joined with the name) of the files of the
// configuration directory dir, in name order: every entry whose name ends
// in .cue and does not start with a dot, whatever its package clause (Load
// reports a wrong one, and an entry that is not a readable file, as
// errors of the configuration). The error is os.ReadDir's.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".cue") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, filepath.Join(dir, e.Name()))
		}
	}
	return names, nil
}

// Load reads the files of dir (Files), unifies them with the embedded schemas,
// validates the result, runs the semantic checks (references, dependencies,
// expressions, field paths, durations, secrets) and returns the typed
// configuration with every expression compiled.
//
// Files are read at each call: editing them needs no rebuild. User files
// may use the schema's definitions (#Secret, #Pipeline, ...) by name.
//
// On failure the error is an Errors holding every problem found, each with
// its file:line:col; no partial configuration is returned.
func Load(ctx context.Context, dir string) (*Config, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := &loader{dir: dir, index: newASTIndex(), userFiles: map[string]bool{}}
	return l.load(ctx)
}

type loader struct {
	dir       string
	abs       string
	index     *astIndex
	userFiles map[string]bool
	errs      Errors
	// suppressed are CUE paths (keys) under which CUE errors are dropped
	// because a better message was already given.
	suppressed []string
	// errPaths are the CUE paths (keys) of the errors addCUEError is
	// explaining.
	errPaths map[string]bool
}

// errorf records a problem at pos about the value at path.
func (l *loader) errorf(pos token.Pos, path []string, format string, args ...any) {
	l.errs = append(l.errs, Error{Pos: l.position(pos), Path: formatPath(path), Msg: fmt.Sprintf(format, args...)})
}

// position converts a CUE position to a Pos, schema files named as such.
func (l *loader) position(p token.Pos) Pos {
	if !p.IsValid() {
		return Pos{File: l.dir}
	}
	pp := p.Position()
	return Pos{File: pp.Filename, Line: pp.Line, Column: pp.Column}
}

func (l *loader) load(ctx context.Context) (*Config, error) {
	abs, err := filepath.Abs(l.dir)
	if err != nil {
		return nil, Errors{{Pos: Pos{File: l.dir}, Msg: fmt.Sprintf("cannot resolve the config directory: %v", err)}}
	}
	l.abs = abs
	files, err := l.parseFiles()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	inst := build.NewContext().NewInstance(abs, nil)
	inst.PkgName = PackageName
	for _, sf := range schemas.Files() {
		f, err := parser.ParseFile(schemaPrefix+sf.Name, sf.Source, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("embedded schema %s does not parse (a bug in pipe): %w", sf.Name, err)
		}
		if err := inst.AddSyntax(f); err != nil {
			return nil, fmt.Errorf("embedded schema %s (a bug in pipe): %w", sf.Name, err)
		}
	}
	for _, f := range files {
		if name := f.PackageName(); name != "" && name != PackageName && name != "_" {
			l.errorf(f.Pos(), nil, "package %q: configuration files belong to package %q; write `package %s` or leave the package clause out", name, PackageName, PackageName)
			continue
		}
		if err := inst.AddSyntax(f); err != nil {
			l.addCUEError(err)
		}
	}
	if inst.Err != nil {
		l.addCUEError(inst.Err)
	}
	if len(l.errs) > 0 {
		return nil, sortErrors(l.errs)
	}
	// A name declared in two files is reported, and the rest of the
	// configuration is still checked (every problem at once); the CUE
	// errors the duplicate itself causes are suppressed.
	l.checkDuplicates()

	cctx := cuecontext.New()
	v := cctx.BuildInstance(inst)
	if err := v.Validate(cue.Concrete(true), cue.Final()); err != nil {
		l.addCUEError(err)
	}
	if len(l.errs) > 0 {
		return nil, sortErrors(l.errs)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg := l.decode(v)
	if len(l.errs) > 0 {
		return nil, sortErrors(l.errs)
	}
	return cfg, nil
}

// parseFiles reads and parses the directory's .cue files, reporting every
// unreadable or unparsable one.
func (l *loader) parseFiles() ([]*ast.File, error) {
	info, err := os.Stat(l.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, Errors{{Pos: Pos{File: l.dir}, Msg: "the config directory does not exist: pass --config DIR or set " + EnvDir}}
	case err != nil:
		return nil, Errors{{Pos: Pos{File: l.dir}, Msg: fmt.Sprintf("cannot read the config directory: %v", unwrapPathError(err))}}
	case !info.IsDir():
		return nil, Errors{{Pos: Pos{File: l.dir}, Msg: "not a directory: --config takes the directory holding the .cue files"}}
	}
	names, err := Files(l.dir)
	if err != nil {
		return nil, Errors{{Pos: Pos{File: l.dir}, Msg: fmt.Sprintf("cannot list the config directory: %v; check its permissions", unwrapPathError(err))}}
	}
	var files []*ast.File
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			var msg string
			switch {
			case isDir(name):
				msg = "is a directory, not a file: rename it so that it does not end in .cue"
			case errors.Is(err, fs.ErrNotExist):
				msg = "cannot be read (a dangling symbolic link?): fix or remove it"
			case errors.Is(err, fs.ErrPermission):
				msg = "cannot be read (permission denied): make it readable by this user"
			default:
				msg = fmt.Sprintf("cannot be read: %v; fix or remove it", unwrapPathError(err))
			}
			l.errs = append(l.errs, Error{Pos: Pos{File: name}, Msg: msg})
			continue
		}
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			l.addCUEError(err)
			continue
		}
		if !l.checkStructure(f) {
			continue
		}
		l.userFiles[name] = true
		l.index.addFile(f)
		files = append(files, f)
	}
	if len(files) == 0 && len(l.errs) == 0 {
		return nil, Errors{{Pos: Pos{File: l.dir}, Msg: "no .cue files in the config directory: add connections and pipelines (see docs/configuration.md) or point --config at the right directory"}}
	}
	if len(l.errs) > 0 {
		return nil, sortErrors(l.errs)
	}
	return files, nil
}

// isDir says whether name is a directory itself (not a symbolic link to
// one).
func isDir(name string) bool {
	fi, err := os.Lstat(name)
	return err == nil && fi.IsDir()
}

// checkStructure rejects constructs that have no use in a configuration
// and that send CUE v0.17's evaluator into an endless recursion, killing
// the process with a stack overflow that no recover can catch (found by
// FuzzLoad): expressions embedded at the top level of a file
// ("{pipelines}"), references to a whole section outside a for clause
// ("pipelines: members: connections"), and references from a value to a
// struct that contains it ("connections: twenty: connections.twenty").
func (l *loader) checkStructure(f *ast.File) bool {
	ok := true
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.Field:
			name, isName := labelName(d.Label)
			if _, isIdent := d.Label.(*ast.Ident); isIdent && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, "#")) {
				continue // a hidden field or definition: the user's own helper
			}
			if isName && !topLevel[name] {
				l.errorf(d.Label.Pos(), []string{name}, "unknown section %q: the top level has state, server, connections and pipelines%s; name helpers #Name (a definition) or _name (hidden)", name, suggest(name))
				ok = false
			}
		case *ast.EmbedDecl:
			l.errorf(d.Pos(), nil, "an expression cannot stand alone at the top level of a file: declare fields (state:, server:, connections:, pipelines:) or definitions (#Name:)")
			ok = false
		case *ast.Comprehension:
			l.errorf(d.Pos(), nil, "a comprehension cannot stand at the top level of a file: put it inside a field such as pipelines: { for ... }")
			ok = false
		}
	}
	if !l.checkCycles(nil, f.Decls) {
		ok = false
	}
	return ok
}

// suggest returns ` (did you mean "x"?)` for a misspelled section name.
func suggest(name string) string {
	lower := strings.TrimSuffix(strings.ToLower(name), "s")
	if len(lower) < 3 {
		return ""
	}
	for _, s := range []string{"connections", "pipelines", "server", "state"} {
		if strings.HasPrefix(s, lower) || strings.HasPrefix(lower, strings.TrimSuffix(s, "s")) {
			return fmt.Sprintf(" (did you mean %q?)", s)
		}
	}
	return ""
}

// topLevel are the top-level fields of a configuration.
var topLevel = map[string]bool{"state": true, "server": true, "connections": true, "pipelines": true}

// checkCycles reports references to an enclosing struct in decls, which
// sit at path.
func (l *loader) checkCycles(path []string, decls []ast.Decl) bool {
	ok := true
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			name, isName := labelName(d.Label)
			if !isName {
				name = "*"
			}
			if !l.checkCyclesExpr(append(append([]string(nil), path...), name), d.Value) {
				ok = false
			}
		case *ast.EmbedDecl:
			if !l.checkCyclesExpr(path, d.Expr) {
				ok = false
			}
		case *ast.Comprehension:
			if !l.checkCyclesExpr(path, d.Value) {
				ok = false
			}
		}
	}
	return ok
}

func (l *loader) checkCyclesExpr(path []string, e ast.Expr) bool {
	if e == nil {
		return true
	}
	if s, isStruct := e.(*ast.StructLit); isStruct {
		return l.checkCycles(path, s.Elts)
	}
	ok := true
	ast.Walk(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.StructLit:
			if !l.checkCycles(path, n.Elts) {
				ok = false
			}
			return false
		case *ast.ForClause:
			return false // iterating over a section is fine
		case *ast.Ident, *ast.SelectorExpr, *ast.IndexExpr:
			ref := referencePath(n.(ast.Expr))
			if len(ref) == 1 && topLevel[ref[0]] && len(path) > 0 {
				l.errorf(n.Pos(), path, "refers to the whole %s section: refer to one of its entries instead (e.g. %s.NAME)", ref[0], ref[0])
				ok = false
			} else if len(ref) > 0 && topLevel[ref[0]] && len(ref) < len(path) && isPrefix(ref, path) {
				l.errorf(n.Pos(), path, "refers to %s, which contains it: a value cannot contain itself; refer to a sibling field instead", strings.Join(ref, "."))
				ok = false
			}
			return false
		}
		return true
	}, nil)
	return ok
}

// referencePath is the field path a reference names (connections.twenty),
// nil when it is not a plain reference.
func referencePath(e ast.Expr) []string {
	switch e := e.(type) {
	case *ast.Ident:
		return []string{e.Name}
	case *ast.SelectorExpr:
		base := referencePath(e.X)
		name, ok := labelName(e.Sel)
		if base == nil || !ok {
			return nil
		}
		return append(base, name)
	case *ast.IndexExpr:
		base := referencePath(e.X)
		lit, ok := e.Index.(*ast.BasicLit)
		if base == nil || !ok || lit.Kind != token.STRING {
			return nil
		}
		key, err := strconv.Unquote(lit.Value)
		if err != nil {
			return nil
		}
		return append(base, key)
	}
	return nil
}

func isPrefix(prefix, path []string) bool {
	for i, s := range prefix {
		if path[i] != s && path[i] != "*" {
			return false
		}
	}
	return true
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkDuplicates reports a pipeline or connection declared in full (with
// its source, or its kind) in more than one file.
func (l *loader) checkDuplicates() {
	for _, top := range []struct{ section, key, what string }{
		{"pipelines", "source", "pipeline"},
		{"connections", "kind", "connection"},
	} {
		names := map[string]bool{}
		prefix := pathKey(top.section) + "\x00"
		for k := range l.index.byPath {
			if rest, ok := strings.CutPrefix(k, prefix); ok && !strings.Contains(rest, "\x00") {
				names[rest] = true
			}
		}
		sorted := make([]string, 0, len(names))
		for n := range names {
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)
		for _, name := range sorted {
			decls := l.index.entries(top.section, name, top.key)
			files := map[string]bool{}
			var first astEntry
			for i, d := range decls {
				if i == 0 {
					first = d
				}
				if files[d.file] {
					continue
				}
				files[d.file] = true
				if i > 0 {
					firstPos := l.position(first.label)
					l.errorf(d.label, []string{top.section, name}, "duplicate %s name: %q is already declared at %s; rename one of them", top.what, name, firstPos)
				}
			}
			if len(files) > 1 {
				l.suppressed = append(l.suppressed, pathKey(top.section, name))
			}
		}
	}
}

// addCUEError converts CUE errors (syntax, evaluation, validation) to
// Errors, choosing for each the position in the user's files that best
// explains it, and folding the alternatives of a failed disjunction into
// one message.
func (l *loader) addCUEError(err error) {
	type group struct {
		path []string
		pos  Pos
		msgs []string
	}
	var groups []*group
	byKey := map[string]*group{}
	errs := cueerrors.Errors(err)
	// A connection whose kind is wrong gets no fields from any connector:
	// the errors about its other fields are consequences, not problems.
	badKind := map[string]bool{}
	for _, e := range errs {
		if path := unquotePath(e.Path()); len(path) == 3 && path[0] == "connections" && path[2] == "kind" {
			badKind[path[1]] = true
		}
	}
	for _, e := range errs {
		path := unquotePath(e.Path())
		if l.isSuppressed(path) {
			continue
		}
		if len(path) > 2 && path[0] == "connections" && badKind[path[1]] && path[2] != "kind" {
			continue
		}
		// A secret given in two places with different sources: one
		// problem, about the secret as a whole.
		for n := len(path) - 1; n >= 2; n-- {
			if l.isSecretPath(path[:n]) && l.secretTwice(path[:n]) {
				path = path[:n]
				break
			}
		}
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if len(path) == 0 && (strings.Contains(msg, "expected") || strings.Contains(msg, "not terminated")) {
			msg += ": fix the CUE syntax here"
		}
		var pos Pos
		if len(path) > 2 && path[0] == "connections" && msg == "field not allowed" && l.kindMissing(path[1]) {
			// Without a kind, every field of the connection is "not
			// allowed": say what is really missing, once.
			path = path[:2]
			msg = "required field missing: kind"
			p, _ := l.index.pos(path...)
			pos = l.position(p)
		}
		key := pathKey(path...)
		if len(path) == 0 {
			key = fmt.Sprint(len(groups)) // syntax errors: one group each
		}
		g := byKey[key]
		if g == nil {
			if pos.File == "" {
				pos = l.bestPos(e, path)
			}
			g = &group{path: path, pos: pos}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.msgs = append(g.msgs, msg)
	}
	l.errPaths = map[string]bool{}
	for _, g := range groups {
		l.errPaths[pathKey(g.path...)] = true
	}
	for _, g := range groups {
		if msg, pos, ok := l.givenTwice(g.path, g.msgs); ok {
			l.errs = append(l.errs, Error{Pos: pos, Path: formatPath(g.path), Msg: msg})
			continue
		}
		if p, ok := l.offendingLiteral(g.path, g.msgs); ok {
			g.pos = l.position(p.ValuePos)
		}
		for _, msg := range l.explain(g.path, g.msgs) {
			l.errs = append(l.errs, Error{Pos: g.pos, Path: formatPath(g.path), Msg: msg})
		}
	}
}

// kindMissing says whether connection name is written without a kind:
// declared only as struct literals, none of which has a kind field. A
// connection that is (or embeds) a definition or another reference may get
// its kind from there.
func (l *loader) kindMissing(name string) bool {
	es := l.index.entries("connections", name)
	if len(es) == 0 || len(l.index.entries("connections", name, "kind")) > 0 {
		return false
	}
	for _, e := range es {
		s, ok := e.value.(*ast.StructLit)
		if !ok {
			return false
		}
		for _, d := range s.Elts {
			if _, isField := d.(*ast.Field); !isField {
				return false
			}
		}
	}
	return true
}

func (l *loader) isSuppressed(path []string) bool {
	k := pathKey(path...)
	for _, s := range l.suppressed {
		if k == s || strings.HasPrefix(k, s+"\x00") {
			return true
		}
	}
	return false
}

// bestPos picks, among an error's positions, the first one in a user file;
// failing that, the declaration of the path (or of its nearest declared
// ancestor) in the user's files; failing that, the schema's position.
func (l *loader) bestPos(e cueerrors.Error, path []string) Pos {
	positions := cueerrors.Positions(e)
	for _, p := range positions {
		if l.userFiles[p.Filename()] {
			return l.position(p)
		}
	}
	if p, ok := l.index.pos(path...); ok {
		return l.position(p)
	}
	if len(positions) > 0 {
		return l.position(positions[0])
	}
	return Pos{File: l.dir}
}

func unquotePath(segs []string) []string {
	out := make([]string, len(segs))
	for i, s := range segs {
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
		out[i] = s
	}
	return out
}
