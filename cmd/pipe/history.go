package main

// The history commands (runs, runs show, rejects, conflicts) only read the
// state store, so they keep working while the configuration has an error
// elsewhere (a typo in a mapping): the store is found from the files'
// state section when config.Load, which returns nothing but the errors of
// a configuration that does not load, cannot give it.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/storeopen"
	"github.com/kelompok/pipe/schemas"
)

// openHistory opens the state store for a command that only reads the
// history. With a configuration that loads it is openStore. With one that
// does not, the store is still opened when its place can be told from the
// files (historyState): the configuration's problems are printed on stderr
// as a warning and cfg is nil. Otherwise, or when there is no store there
// yet, the configuration's errors are the answer (exit 2), as for every
// other command.
func openHistory(ctx context.Context, app *App) (*config.Config, state.Store, error) {
	cfg, err := app.Config(ctx)
	if err == nil {
		st, err := openStateStore(ctx, cfg)
		return cfg, st, err
	}
	var errs config.Errors
	if !errors.As(err, &errs) {
		return nil, nil, Exit(ExitUsage, err)
	}
	loc, dir, why := historyState(app.ConfigDir(), errs)
	if why != "" {
		app.Logger.Debug("the state store's place cannot be told from a configuration with errors", "why", why)
		return nil, nil, Exit(ExitUsage, err)
	}
	where := storeDescription(loc)
	if loc.Kind == "sqlite" {
		if _, statErr := os.Stat(loc.Path); errors.Is(statErr, fs.ErrNotExist) {
			// a command that reads the history creates no store beside a
			// configuration that does not load
			fmt.Fprintf(app.Stderr, "pipe: the configuration has errors, and there is no state store at %s yet to show history from\n", where)
			return nil, nil, Exit(ExitUsage, err)
		}
	}
	st, openErr := storeopen.Open(ctx, loc, dir, resolverFor(&config.Config{Dir: dir}))
	if openErr != nil {
		fmt.Fprintf(app.Stderr, "pipe: the configuration has errors, and the state store at %s does not open either: %v\n", where, openErr)
		return nil, nil, Exit(ExitUsage, err)
	}
	fmt.Fprintf(app.Stderr, "pipe: warning: the configuration has errors; showing history from %s\n%s\n", where, errs.Error())
	return nil, st, nil
}

// storeDescription names the store loc describes for a message: the SQLite
// file, or the PostgreSQL database by its URL's reference (never the URL).
func storeDescription(loc config.State) string {
	if loc.Kind == "postgres" && loc.URL != nil {
		return "the PostgreSQL database at " + loc.URL.String()
	}
	return loc.Path
}

// historyState tells where the state store of the configuration directory
// dir is when config.Load failed with errs: its state section unified with
// the schema's #State (defaults filled in), as config.Load would have it
// (a relative SQLite path taken from dir), and dir's absolute path. why is
// "" when it could tell, else why not:
//   - an error is about the state section, or about a top-level section
//     that is not connections, pipelines or server (a misspelled "state"
//     would leave the default in its place);
//   - a file does not read or parse, or its top level has a field whose
//     name is not written out (the state section could hide there);
//   - the state section is not plain data (a reference or an expression:
//     evaluating those needs the rest of the configuration), or does not
//     fit #State.
func historyState(dir string, errs config.Errors) (loc config.State, absDir, why string) {
	for _, e := range errs {
		section, _, _ := strings.Cut(e.Path, ".")
		switch section {
		case "", "connections", "pipelines", "server":
		default:
			return config.State{}, "", fmt.Sprintf("%s: %s", e.Pos, e.Message())
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return config.State{}, "", err.Error()
	}
	// The files config.Load reads, a wrong package clause notwithstanding
	// (the state section in such a file is still the one meant).
	names, err := config.Files(dir)
	if err != nil {
		return config.State{}, "", err.Error()
	}
	var decls []ast.Expr
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			return config.State{}, "", err.Error()
		}
		f, err := parser.ParseFile(name, src)
		if err != nil {
			return config.State{}, "", err.Error()
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.Package, *ast.ImportDecl, *ast.Attribute, *ast.CommentGroup, *ast.LetClause:
			case *ast.Field:
				label, _, err := ast.LabelName(d.Label)
				if err != nil {
					return config.State{}, "", fmt.Sprintf("%s: a top-level field without a plain name", d.Pos())
				}
				if label != "state" {
					continue
				}
				if !plainData(d.Value) {
					return config.State{}, "", fmt.Sprintf("%s: the state section is not plain data", d.Pos())
				}
				decls = append(decls, d.Value)
			default:
				return config.State{}, "", fmt.Sprintf("%s: a top-level %T", d.Pos(), d)
			}
		}
	}
	if len(names) == 0 {
		return config.State{}, "", "no configuration files"
	}

	ctx := cuecontext.New()
	inst := build.NewContext().NewInstance(abs, nil)
	inst.PkgName = config.PackageName
	for _, sf := range schemas.Files() {
		f, err := parser.ParseFile("pipe:schemas/"+sf.Name, sf.Source)
		if err != nil {
			return config.State{}, "", err.Error()
		}
		if err := inst.AddSyntax(f); err != nil {
			return config.State{}, "", err.Error()
		}
	}
	v := ctx.BuildInstance(inst).LookupPath(cue.MakePath(cue.Def("#State")))
	for _, d := range decls {
		v = v.Unify(ctx.BuildExpr(d))
	}
	if err := v.Validate(cue.Concrete(true), cue.Final()); err != nil {
		return config.State{}, "", err.Error()
	}
	var st struct {
		Kind string       `json:"kind"`
		Path string       `json:"path"`
		URL  *secrets.Ref `json:"url"`
	}
	if err := v.Decode(&st); err != nil {
		return config.State{}, "", err.Error()
	}
	loc = config.State{Kind: st.Kind, Path: st.Path, URL: st.URL}
	if loc.Kind == "sqlite" && !filepath.IsAbs(loc.Path) {
		loc.Path = filepath.Join(abs, loc.Path)
	}
	return loc, abs, ""
}

// plainData reports whether e is data written out: structs of fields with
// written-out names, and literals. Such a value refers to nothing, so it
// evaluates alone.
func plainData(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING || e.Kind == token.INT || e.Kind == token.FLOAT ||
			e.Kind == token.TRUE || e.Kind == token.FALSE || e.Kind == token.NULL
	case *ast.ParenExpr:
		return plainData(e.X)
	case *ast.StructLit:
		for _, d := range e.Elts {
			switch d := d.(type) {
			case *ast.CommentGroup, *ast.Attribute:
			case *ast.Field:
				switch d.Label.(type) {
				case *ast.Ident, *ast.BasicLit:
				default:
					return false
				}
				if _, _, err := ast.LabelName(d.Label); err != nil || d.Alias != nil || !plainData(d.Value) {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	return false
}
