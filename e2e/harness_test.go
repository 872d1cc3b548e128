package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/kelompok/pipe/config"
	_ "github.com/kelompok/pipe/connectors/all"
	"github.com/kelompok/pipe/connectors/twenty/emulator"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/storeopen"
	"github.com/kelompok/pipe/examples/quickstart"
	"github.com/kelompok/pipe/internal/pgtest"
	"github.com/kelompok/pipe/internal/restartable"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const apiKey = "e2e-twenty-key"

// small are the sizes most tests use: enough for every kind of messy row,
// few enough to keep each test around a second.
var small = quickstart.Sizes{Organizations: 6, Members: 45, Events: 10}

// options shape one test environment.
type options struct {
	sizes quickstart.Sizes
	// preexisting people in Twenty whose emails match members.
	preexisting int
	// faults injected into the emulator from the start.
	faults emulator.Faults
	// tune changes the loaded configuration (policies, directions) the way
	// an operator would edit the shipped .cue files.
	tune func(cfg *config.Config)
	// stoppable puts the emulator behind a listener the test can stop
	// (connection refused) and start again: env.front.
	stoppable bool
}

// env is one end-to-end setup: a PostgreSQL Kelompok seeded with sample
// data, a Twenty emulator, the shipped configuration pointed at both, a
// state store and an engine.
type env struct {
	t      testing.TB
	ctx    context.Context
	db     *sql.DB
	data   quickstart.Data
	twenty *emulator.Server
	front  *restartable.Server // with options.stoppable
	cfg    *config.Config
	store  state.Store
	eng    *engine.Engine
	pre    int
}

func newEnv(t testing.TB, o options) *env {
	t.Helper()
	ctx := t.Context()
	if o.sizes == (quickstart.Sizes{}) {
		o.sizes = small
	}
	e := &env{t: t, ctx: ctx}

	// Kelompok: the reference schema on a fresh PostgreSQL database.
	pgURL := pgtest.URL(t)
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	e.data = quickstart.Generate(o.sizes, base)
	if err := quickstart.CreateSchema(ctx, db, quickstart.Postgres); err != nil {
		t.Fatal(err)
	}
	if err := quickstart.Seed(ctx, db, quickstart.Postgres, e.data); err != nil {
		t.Fatal(err)
	}

	// Twenty: the emulator on 127.0.0.1, rate limit off, webhooks never
	// registered (polling only).
	e.twenty = emulator.New(emulator.Config{APIKeys: []string{apiKey}, RateLimit: emulator.RateLimit{Disabled: true}, Faults: o.faults})
	t.Cleanup(func() { e.twenty.Close() })
	twentyURL, err := e.twenty.StartAt("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.stoppable {
		e.front = restartable.New(t, e.twenty.Handler())
		twentyURL = e.front.URL()
	}
	if o.preexisting > 0 {
		ids, err := quickstart.SeedTwentyPeople(e.twenty, e.data, o.preexisting, base.AddDate(0, -1, 0))
		if err != nil {
			t.Fatal(err)
		}
		e.pre = len(ids)
	}

	// The shipped configuration, as shipped, plus a local.cue pointing
	// twenty at the emulator with pipe's own budget raised to match.
	dir := t.TempDir()
	if err := quickstart.CopyShipped(dir); err != nil {
		t.Fatal(err)
	}
	local := fmt.Sprintf("package pipe\n\nconnections: twenty: url: %q\nconnections: twenty: rateLimit: {requests: 100000, per: \"1s\"}\n", twentyURL)
	if err := os.WriteFile(filepath.Join(dir, "local.cue"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KELOMPOK_DATABASE_URL", pgURL)
	t.Setenv("TWENTY_API_KEY", apiKey)
	t.Setenv("TWENTY_WEBHOOK_SECRET", "e2e-webhook-secret")
	e.cfg, err = config.Load(ctx, dir)
	if err != nil {
		t.Fatalf("loading the shipped pipelines: %v", err)
	}
	if o.tune != nil {
		o.tune(e.cfg)
	}
	resolver := secrets.NewChain(dir, nil)
	if err := quickstart.PrepareTwenty(ctx, e.cfg, resolver); err != nil {
		t.Fatal(err)
	}
	e.store, err = storeopen.Open(ctx, e.cfg.State, e.cfg.Dir, resolver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.eng, err = engine.New(engine.Config{Config: e.cfg, Store: e.store, Secrets: resolver})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.eng.Close() })
	return e
}

// run runs the named pipelines (all when none) and fails the test on an
// error or a failed pipeline.
func (e *env) run(names ...string) map[string]engine.Result {
	e.t.Helper()
	res, err := e.eng.Run(e.ctx, engine.RunParams{Pipelines: names, All: len(names) == 0, KeepPlan: true})
	if err != nil {
		e.t.Fatalf("run %v: %v", names, err)
	}
	out := map[string]engine.Result{}
	for _, r := range res {
		if r.Status == state.RunFailed || r.Status == engine.StatusSkipped {
			e.t.Fatalf("pipeline %s %s: %s", r.Pipeline, r.Status, r.Error)
		}
		out[r.Pipeline] = r
	}
	return out
}

// writes totals what results wrote to either side.
func writes(results map[string]engine.Result) int {
	n := 0
	for _, r := range results {
		n += r.Counts.Created + r.Counts.Updated + r.Counts.Deleted
	}
	return n
}

// link returns the sink key linked to a source key by a pipeline.
func (e *env) link(pipeline, sourceKey string) (string, bool) {
	e.t.Helper()
	links, err := e.store.LinksBySource(e.ctx, pipeline, []string{sourceKey})
	if err != nil {
		e.t.Fatal(err)
	}
	l, ok := links[sourceKey]
	return l.SinkKey, ok
}

// person returns the Twenty person linked to a member.
func (e *env) person(memberID string) map[string]any {
	e.t.Helper()
	id, ok := e.link("members", memberID)
	if !ok {
		e.t.Fatalf("member %s has no link", memberID)
	}
	p, ok := e.twenty.Get("people", id)
	if !ok {
		e.t.Fatalf("member %s is linked to person %s, which Twenty does not have", memberID, id)
	}
	return p
}

// exec runs a statement on Kelompok.
func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.db.ExecContext(e.ctx, q, args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

// memberText reads one text column of a member (nil for NULL).
func (e *env) memberText(id, column string) *string {
	e.t.Helper()
	var v sql.NullString
	if err := e.db.QueryRowContext(e.ctx, fmt.Sprintf("SELECT %q FROM members WHERE id = $1", column), id).Scan(&v); err != nil {
		e.t.Fatalf("member %s %s: %v", id, column, err)
	}
	if !v.Valid {
		return nil
	}
	return &v.String
}

// syncedMember returns a member that the first sync pushed: valid email,
// an organization, not a claimant (so it can be hard-deleted), not among
// the pre-existing people.
func (e *env) syncedMember(skip int) quickstart.Member {
	e.t.Helper()
	claimants := map[string]bool{}
	for _, o := range e.data.Organizations {
		if o.ClaimedBy != nil {
			claimants[*o.ClaimedBy] = true
		}
	}
	for i := len(e.data.Members) - 1; i >= 0; i-- {
		m := e.data.Members[i]
		if m.Email == nil || !strings.Contains(*m.Email, "@") || strings.Contains(*m.Email, " at ") || m.OrganizationID == nil || claimants[m.ID] {
			continue
		}
		if _, ok := e.link("members", m.ID); !ok {
			continue
		}
		if skip == 0 {
			return m
		}
		skip--
	}
	e.t.Fatal("no synced member in the sample data")
	return quickstart.Member{}
}

// get reads a dotted path of a Twenty record.
func get(r map[string]any, path string) any {
	var cur any = r
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// asJSON renders v for a search through everything a side holds.
func asJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runMembers runs the members pipeline alone.
var runMembers = engine.RunParams{Pipelines: []string{"members"}}
