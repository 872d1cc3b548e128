// Package engine runs pipelines: it reads changes from each side, pairs
// records through the ledger of links, matches unknown records by the
// identity rules, maps them, decides per pair (echo suppression, conflict
// policy, delete policy), and either prints the plan (dry-run) or applies it
// in batches, committing links, audit rows, rejects, conflicts and cursors
// together after each batch.
//
// The engine talks to systems only through connectors (opened by kind from a
// connectors.Registry) and keeps its memory in a state.Store. See
// docs/architecture.md ("The sync engine") for the rules it follows.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc/panics"
	"github.com/sourcegraph/conc/pool"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/engine/state"
)

// Config configures an Engine.
type Config struct {
	// Config is the loaded configuration. Required.
	Config *config.Config
	// Store keeps runs, links, cursors, audit, rejects and conflicts. Required.
	Store state.Store
	// Registry opens connections by kind. Defaults to connectors.Default.
	Registry *connectors.Registry
	// Secrets resolves secret references for connectors. May be nil when no
	// connection uses secrets.
	Secrets secrets.Resolver
	// Logger receives progress and problems. Defaults to a discarding logger.
	Logger *slog.Logger
	// Mappers builds the mapping evaluators. Defaults to the engine/mapping
	// package; tests may supply their own.
	Mappers MapperFactory
	// Owner identifies this process in pipeline locks. Defaults to
	// "hostname:pid".
	Owner string
	// LockTTL is how long a pipeline lock stays valid without its holder
	// refreshing it (the store refreshes held locks every LockTTL/3), so
	// the pipelines of a crashed process are free again after it. Defaults
	// to 2 minutes. A lock held in the default owner form by a process of
	// this host that no longer exists is taken over at once.
	LockTTL time.Duration
	// Now is the clock for run and link timestamps. Defaults to time.Now.
	Now func() time.Time
}

// Engine runs the pipelines of one configuration. Connections are opened on
// first use and shared by every pipeline; Close releases them.
type Engine struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	conns map[string]connectors.Connection
}

// New checks cfg and returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Config == nil {
		return nil, errors.New("engine: Config.Config is required (load the configuration first)")
	}
	if cfg.Store == nil {
		return nil, errors.New("engine: Config.Store is required (open the state store first)")
	}
	if cfg.Registry == nil {
		cfg.Registry = connectors.Default
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Mappers == nil {
		cfg.Mappers = defaultMappers
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Engine{cfg: cfg, log: cfg.Logger, conns: map[string]connectors.Connection{}}, nil
}

// Close closes the connections the engine opened.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for name, c := range e.conns {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing connection %q: %w", name, err))
		}
	}
	e.conns = map[string]connectors.Connection{}
	return errors.Join(errs...)
}

// connection opens the named connection once and shares it.
func (e *Engine) connection(ctx context.Context, name string) (connectors.Connection, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.conns[name]; ok {
		return c, nil
	}
	cc, ok := e.cfg.Config.Connections[name]
	if !ok {
		return nil, fmt.Errorf("connection %q is not declared in the configuration", name)
	}
	var c connectors.Connection
	var err error
	if r := panics.Try(func() {
		c, err = e.cfg.Registry.Open(ctx, cc.Kind, connectors.OpenParams{
			Name: name, Config: cc.Params, Secrets: e.cfg.Secrets, Logger: e.log.With("connection", name),
			Dir: e.cfg.Config.Dir,
		})
	}); r != nil {
		return nil, fmt.Errorf("opening connection %q: connector panicked: %w", name, r.AsError())
	}
	if err != nil {
		return nil, err
	}
	e.conns[name] = c
	return c, nil
}

// RunParams say what Run does.
type RunParams struct {
	// Pipelines to run, by name; with All, every configured pipeline.
	Pipelines []string
	All       bool
	// DryRun plans without writing to either system or moving any link,
	// cursor or intent. The plan is returned in Result.Plan.
	DryRun bool
	// Full ignores the cursors and reconciles every record.
	Full bool
	// Limit caps the records read per pipeline (0: no limit).
	Limit int
	// Trigger is recorded with the run: cli, schedule, webhook or api.
	// Defaults to "cli".
	Trigger string
	// KeepPlan returns every decision in Result.Plan on a real run too
	// (always on for a dry run).
	KeepPlan bool
	// Progress, if set, is called after each batch. It must be quick and
	// safe for concurrent calls (pipelines run concurrently).
	Progress func(Progress)
}

// Progress reports how far one pipeline's run has come.
type Progress struct {
	Pipeline string
	// Records is the number of records decided so far.
	Records int
	Counts  state.Counts
	// Done is true on the last call for the pipeline.
	Done bool
}

// Result is the outcome of one pipeline's run.
type Result struct {
	Pipeline string        `json:"pipeline"`
	RunID    int64         `json:"runId,omitempty"`
	DryRun   bool          `json:"dryRun"`
	Status   string        `json:"status"`
	Counts   state.Counts  `json:"counts"`
	Duration time.Duration `json:"duration"`
	// Error says why the run failed or was partial (delete guard, a
	// dependency that failed); empty on success.
	Error string `json:"error,omitempty"`
	// DeletesHeld counts deletes the delete guard stopped.
	DeletesHeld int `json:"deletesHeld,omitempty"`
	// Plan lists every decision, for a dry run or with KeepPlan.
	Plan []Decision `json:"plan,omitempty"`
}

// Status values of a Result besides the state.Run* ones.
const (
	// StatusSkipped: the pipeline did not run because a dependency failed.
	StatusSkipped = "skipped"
)

// ConfigError is returned by Run for a problem in what was asked (an
// unknown pipeline, a dependency cycle): nothing ran.
type ConfigError struct{ Msg string }

// Error returns the problem, phrased for the person who asked for the run.
func (e *ConfigError) Error() string { return e.Msg }

// Run runs the selected pipelines as a DAG by dependsOn: independent ones
// concurrently, each dependent after its dependencies succeeded (a
// dependency that is not selected is not waited for). It returns one Result
// per selected pipeline, in the order they run: in waves, each pipeline in
// the wave after the last of its selected dependencies, each wave sorted by
// name. The error is a *ConfigError when
// nothing could run; failures of single pipelines are in their Results.
func (e *Engine) Run(ctx context.Context, params RunParams) ([]Result, error) {
	names, err := e.selectPipelines(params)
	if err != nil {
		return nil, err
	}
	if params.Trigger == "" {
		params.Trigger = "cli"
	}
	selected := map[string]bool{}
	for _, n := range names {
		selected[n] = true
	}
	if err := e.checkCycles(names); err != nil {
		return nil, err
	}
	done := map[string]chan struct{}{}
	for _, n := range names {
		done[n] = make(chan struct{})
	}
	results := make(map[string]*Result, len(names))
	var mu sync.Mutex
	p := pool.New()
	for _, name := range names {
		p.Go(func() {
			defer close(done[name])
			var res Result
			deps := e.cfg.Config.Pipelines[name].DependsOn
			for _, d := range deps {
				if !selected[d] {
					continue
				}
				select {
				case <-done[d]:
				case <-ctx.Done():
				}
				mu.Lock()
				dr := results[d]
				mu.Unlock()
				if dr == nil || dr.Status == state.RunFailed || dr.Status == StatusSkipped {
					res = Result{Pipeline: name, DryRun: params.DryRun, Status: StatusSkipped,
						Error: fmt.Sprintf("not run: dependency %q did not succeed", d)}
					mu.Lock()
					results[name] = &res
					mu.Unlock()
					return
				}
			}
			if r := panics.Try(func() { res = e.runPipeline(ctx, name, params) }); r != nil {
				res = Result{Pipeline: name, DryRun: params.DryRun, Status: state.RunFailed,
					Error: fmt.Sprintf("internal error: %v", r.AsError())}
			}
			mu.Lock()
			results[name] = &res
			mu.Unlock()
		})
	}
	p.Wait()
	out := make([]Result, 0, len(names))
	for _, n := range e.runOrder(names) {
		out = append(out, *results[n])
	}
	return out, nil
}

// runOrder returns names (sorted, without a dependsOn cycle) in the order
// Run runs them: waves of pipelines whose selected dependencies are all in
// earlier waves, each wave sorted by name.
func (e *Engine) runOrder(names []string) []string {
	wave := map[string]int{}
	var depth func(n string) int
	depth = func(n string) int {
		if w, ok := wave[n]; ok {
			return w
		}
		w := 0
		for _, d := range e.cfg.Config.Pipelines[n].DependsOn {
			if slices.Contains(names, d) {
				w = max(w, depth(d)+1)
			}
		}
		wave[n] = w
		return w
	}
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int { return depth(a) - depth(b) })
	return out
}

func (e *Engine) selectPipelines(params RunParams) ([]string, error) {
	var names []string
	if params.All {
		for n := range e.cfg.Config.Pipelines {
			names = append(names, n)
		}
	} else {
		seen := map[string]bool{}
		for _, n := range params.Pipelines {
			if _, ok := e.cfg.Config.Pipelines[n]; !ok {
				known := make([]string, 0, len(e.cfg.Config.Pipelines))
				for k := range e.cfg.Config.Pipelines {
					known = append(known, k)
				}
				sort.Strings(known)
				return nil, &ConfigError{Msg: fmt.Sprintf("unknown pipeline %q: the configured ones are %s", n, strings.Join(known, ", "))}
			}
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, &ConfigError{Msg: "no pipeline selected: name one or more pipelines, or use --all"}
	}
	sort.Strings(names)
	return names, nil
}

// checkCycles refuses a dependsOn cycle among the selected pipelines.
func (e *Engine) checkCycles(names []string) error {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch color[n] {
		case grey:
			return &ConfigError{Msg: fmt.Sprintf("pipelines depend on each other in a cycle: %v", append(path, n))}
		case black:
			return nil
		}
		color[n] = grey
		if p, ok := e.cfg.Config.Pipelines[n]; ok {
			for _, d := range p.DependsOn {
				if _, ok := e.cfg.Config.Pipelines[d]; !ok {
					return &ConfigError{Msg: fmt.Sprintf("pipeline %q depends on unknown pipeline %q", n, d)}
				}
				if err := visit(d, append(path, n)); err != nil {
					return err
				}
			}
		}
		color[n] = black
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return err
		}
	}
	return nil
}
