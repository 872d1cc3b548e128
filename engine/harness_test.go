package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/memory"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/pgstore"
	"github.com/kelompok/pipe/engine/state/sqlitestore"
	"github.com/kelompok/pipe/internal/pgtest"
)

// storeKind is one state store implementation the engine tests run on.
type storeKind struct {
	name string
	open func(t testing.TB) state.Store
}

// storeKinds lists the stores every engine test runs against.
var storeKinds = []storeKind{
	{"sqlite", func(t testing.TB) state.Store {
		st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"postgres", func(t testing.TB) state.Store {
		st, err := pgstore.Open(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// eachStore runs f once per state store implementation.
func eachStore(t *testing.T, f func(t *testing.T, open func(testing.TB) state.Store)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k.open) })
	}
}

// clock is a deterministic clock: every call is one millisecond later.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// fakeMappers maps by copying fields: an expression is the dotted path of
// the field it reads. A record with invalid=true fails to map. It stands in
// for engine/mapping so these tests exercise the engine alone.
type fakeMappers struct{}

type fakeMapper struct{ m *config.Mapping }

func (fakeMappers) Mapper(_ *config.Pipeline, m *config.Mapping) (engine.Mapper, error) {
	return fakeMapper{m}, nil
}

func (fakeMappers) Filter(p *config.Pipeline, side string) (engine.Filter, error) {
	expr := p.Filter.Source
	if side == config.SideSink {
		expr = p.Filter.Sink
	}
	if expr == "" {
		return nil, nil
	}
	return fakeFilter(expr), nil
}

func (fakeMappers) Normalizer(name string) (func(string) (string, error), error) {
	switch name {
	case "":
		return nil, nil
	case "email":
		return func(s string) (string, error) { return strings.ToLower(strings.TrimSpace(s)), nil }, nil
	}
	return nil, fmt.Errorf("unknown normalizer %q", name)
}

// fakeFilter keeps records whose field named by the expression is true;
// "!field" keeps those whose field is not true.
type fakeFilter string

func (f fakeFilter) Keep(rec connectors.Record) (bool, error) {
	if name, ok := strings.CutPrefix(string(f), "!"); ok {
		return rec.Fields[name] != true, nil
	}
	return rec.Fields[string(f)] == true, nil
}

func (f fakeMapper) Map(rec connectors.Record) (map[string]any, error) {
	if rec.Fields["invalid"] == true {
		return nil, errors.New("invalid value in field email")
	}
	out := map[string]any{}
	for _, fm := range f.m.Fields {
		if v, ok := get(rec.Fields, fm.Expr); ok {
			set(out, fm.Target, v)
		}
	}
	return out, nil
}

func get(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func set(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// members is the test pipeline: kelompok.members <-> crm.people.
func members(direction string) *config.Pipeline {
	push := &config.Mapping{Fields: []config.FieldMapping{
		{Target: "name.firstName", Expr: "first"},
		{Target: "name.lastName", Expr: "last"},
		{Target: "emails.primaryEmail", Expr: "email"},
		{Target: "jobTitle", Expr: "title"},
	}}
	pull := &config.Mapping{Fields: []config.FieldMapping{
		{Target: "first", Expr: "name.firstName"},
		{Target: "last", Expr: "name.lastName"},
		{Target: "email", Expr: "emails.primaryEmail"},
		{Target: "title", Expr: "jobTitle"},
	}}
	p := &config.Pipeline{
		Name:        "members",
		Source:      config.StreamRef{Connection: "kelompok", Stream: "members"},
		Sink:        config.StreamRef{Connection: "crm", Stream: "people"},
		Direction:   direction,
		Match:       []config.MatchRule{{Source: "email", Sink: "emails.primaryEmail", Normalize: "email"}},
		Conflict:    config.Conflict{Policy: config.ConflictSourceOfTruth, Side: config.SideSource},
		Delete:      config.Delete{Policy: config.DeleteSoft},
		BatchSize:   100,
		Concurrency: 2,
		Unresolved:  "reject",
	}
	switch direction {
	case config.Push:
		p.Push = push
	case config.Pull:
		p.Pull = pull
	default:
		p.Push, p.Pull = push, pull
	}
	return p
}

// env is one engine over two memory connections and one state store.
type env struct {
	t     testing.TB
	clock *clock
	src   *memory.Connection
	snk   *memory.Connection
	store state.Store
	cfg   *config.Config
	eng   *engine.Engine
}

func newEnv(t testing.TB, open func(testing.TB) state.Store, pipelines ...*config.Pipeline) *env {
	return newEnvOn(t, open(t), pipelines...)
}

// newEnvOn is newEnv on an existing store.
func newEnvOn(t testing.TB, store state.Store, pipelines ...*config.Pipeline) *env {
	e := &env{t: t, clock: newClock(), store: store}
	e.src = memory.New(memory.Options{Now: e.clock.Now})
	e.snk = memory.New(memory.Options{Now: e.clock.Now})
	e.cfg = &config.Config{
		Connections: map[string]*config.Connection{
			"kelompok": {Name: "kelompok", Kind: "memory"},
			"crm":      {Name: "crm", Kind: "memory"},
		},
		Pipelines: map[string]*config.Pipeline{},
	}
	for _, p := range pipelines {
		e.cfg.Pipelines[p.Name] = p
	}
	reg := &connectors.Registry{}
	reg.Register("memory", func(_ context.Context, p connectors.OpenParams) (connectors.Connection, error) {
		if p.Name == "kelompok" {
			return e.src, nil
		}
		return e.snk, nil
	})
	eng, err := engine.New(engine.Config{Config: e.cfg, Store: e.store, Registry: reg, Mappers: fakeMappers{}, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
	return e
}

func (e *env) run(params engine.RunParams) []engine.Result {
	e.t.Helper()
	if len(params.Pipelines) == 0 && !params.All {
		params.All = true
	}
	res, err := e.eng.Run(context.Background(), params)
	if err != nil {
		e.t.Fatalf("run: %v", err)
	}
	return res
}

// runOK runs and fails the test unless every pipeline succeeded.
func (e *env) runOK(params engine.RunParams) engine.Result {
	e.t.Helper()
	res := e.run(params)
	for _, r := range res {
		if r.Status != state.RunSucceeded {
			e.t.Fatalf("pipeline %s: status %s (%s), counts %+v", r.Pipeline, r.Status, r.Error, r.Counts)
		}
	}
	return res[0]
}

func member(id, first, email string) connectors.Record {
	return connectors.Record{ID: id, Fields: map[string]any{"first": first, "last": "Santoso", "email": email, "title": "Anggota"}}
}

func (e *env) seed(n int) {
	recs := make([]connectors.Record, n)
	for i := range recs {
		recs[i] = member(fmt.Sprintf("m%05d", i), fmt.Sprintf("Budi%d", i), fmt.Sprintf("budi%d@kelompok.id", i))
	}
	e.src.S("members").Put(recs...)
}

// update writes fields to one record through the stream, as a user would.
func update(t testing.TB, c *memory.Connection, stream, id string, fields map[string]any) {
	t.Helper()
	res, err := c.S(stream).Write(context.Background(), []connectors.Change{{Op: connectors.OpUpdate, ID: id, Fields: fields}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("update %s/%s: %v %v", stream, id, err, res[0].Err)
	}
}

func del(t testing.TB, c *memory.Connection, stream, id string) {
	t.Helper()
	res, err := c.S(stream).Write(context.Background(), []connectors.Change{{Op: connectors.OpDelete, ID: id}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("delete %s/%s: %v %v", stream, id, err, res[0].Err)
	}
}

func (e *env) person(sourceKey string) connectors.Record {
	e.t.Helper()
	id := engine.CreateID("members", config.SideSink, sourceKey)
	r, ok := e.snk.S("people").All()[id]
	if !ok {
		e.t.Fatalf("no sink record for source %s (id %s)", sourceKey, id)
	}
	return r
}

func (e *env) linkCount() int {
	e.t.Helper()
	n, err := e.store.LinkCount(context.Background(), "members")
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// memoryHook builds memory options with a write hook (nil: none).
func memoryHook(f func(n int, c connectors.Change) error, now func() time.Time) memory.Options {
	o := memory.Options{Now: now}
	if f != nil {
		o.OnWrite = func(n int, _ string, c connectors.Change) error { return f(n, c) }
	}
	return o
}

// audit returns the audit trail of a run.
func (e *env) audit(runID int64) []state.AuditEntry {
	e.t.Helper()
	audit, err := e.store.AuditList(context.Background(), runID)
	if err != nil {
		e.t.Fatal(err)
	}
	return audit
}

// rejects returns the open rejects of the members pipeline.
func (e *env) rejects() []state.Reject {
	e.t.Helper()
	list, err := e.store.Rejects(context.Background(), "members")
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// putInvalidPerson puts a sink person whose mapping fails (invalid).
func (e *env) putInvalidPerson(id string) {
	e.snk.S("people").Put(connectors.Record{ID: id, Fields: map[string]any{
		"name": map[string]any{"firstName": "Rusak"}, "emails": map[string]any{"primaryEmail": "rusak@x.id"}, "invalid": true}})
}
