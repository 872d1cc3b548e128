package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// TestConnectionsOpenWithTheConfigDir: relative paths in a connection's
// config (an SQLite file, an NDJSON directory, a plugin command) resolve
// against the configuration directory, not the process's working directory.
func TestConnectionsOpenWithTheConfigDir(t *testing.T) {
	e := newEnv(t, storeKinds[0].open, members(config.Push))
	e.cfg.Dir = filepath.Join(t.TempDir(), "pipelines")
	var mu sync.Mutex
	got := map[string]string{}
	reg := &connectors.Registry{}
	reg.Register("memory", func(_ context.Context, p connectors.OpenParams) (connectors.Connection, error) {
		mu.Lock()
		got[p.Name] = p.Path("data/state.db")
		mu.Unlock()
		if p.Name == "kelompok" {
			return e.src, nil
		}
		return e.snk, nil
	})
	eng, err := engine.New(engine.Config{Config: e.cfg, Store: e.store, Registry: reg, Mappers: fakeMappers{}, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	e.eng = eng
	e.seed(1)
	e.runOK(engine.RunParams{})
	want := filepath.Join(e.cfg.Dir, "data", "state.db")
	for _, name := range []string{"kelompok", "crm"} {
		if got[name] != want {
			t.Errorf("connection %s resolved data/state.db to %q, want %q (the config directory)", name, got[name], want)
		}
	}
}

// TestMatchedPairFillsEmptyFields: a pair linked by identity in this run has
// no base. A field empty on one side and set on the other is filled from the
// side that has it, whatever the conflict policy; only fields set on both
// sides with different values go to the policy.
func TestMatchedPairFillsEmptyFields(t *testing.T) {
	cases := []struct {
		name      string
		direction string
		conflict  config.Conflict
		// want on the source (first, last, title) and the sink (firstName,
		// lastName, jobTitle) after the run.
		src, snk [3]string
	}{
		// The person is newer in the CRM: it wins the first name (set on both
		// sides), but its empty last name does not erase the member's, and
		// its job title fills the member's empty one.
		{"newest both", config.Both, config.Conflict{Policy: config.ConflictNewest},
			[3]string{"Rina-K", "Santoso", "Ketua"}, [3]string{"Rina-K", "Santoso", "Ketua"}},
		{"newest push", config.Push, config.Conflict{Policy: config.ConflictNewest},
			[3]string{"Rina", "Santoso", ""}, [3]string{"Rina-K", "Santoso", "Ketua"}},
		{"source of truth source both", config.Both, config.Conflict{Policy: config.ConflictSourceOfTruth, Side: "source"},
			[3]string{"Rina", "Santoso", "Ketua"}, [3]string{"Rina", "Santoso", "Ketua"}},
		{"source of truth sink both", config.Both, config.Conflict{Policy: config.ConflictSourceOfTruth, Side: "sink"},
			[3]string{"Rina-K", "Santoso", "Ketua"}, [3]string{"Rina-K", "Santoso", "Ketua"}},
		{"merge sink both", config.Both, config.Conflict{Policy: config.ConflictMerge, Fallback: "sink"},
			[3]string{"Rina-K", "Santoso", "Ketua"}, [3]string{"Rina-K", "Santoso", "Ketua"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				p := members(tc.direction)
				p.Conflict = tc.conflict
				e := newEnv(t, open, p)
				e.src.S("members").Put(connectors.Record{ID: "m1", Fields: map[string]any{
					"first": "Rina", "last": "Santoso", "email": "rina@kelompok.id", "title": ""}})
				// Written after the member: newer.
				e.snk.S("people").Put(connectors.Record{ID: "p1", Fields: map[string]any{
					"name":     map[string]any{"firstName": "Rina-K", "lastName": ""},
					"emails":   map[string]any{"primaryEmail": "rina@kelompok.id"},
					"jobTitle": "Ketua"}})
				res := e.runOK(engine.RunParams{KeepPlan: true})
				if res.Counts.Linked != 1 || res.Counts.Created != 0 {
					t.Fatalf("counts %+v", res.Counts)
				}
				s := e.src.S("members").All()["m1"]
				k := e.snk.S("people").All()["p1"]
				name, _ := k.Fields["name"].(map[string]any)
				gotSrc := [3]string{str(s.Fields["first"]), str(s.Fields["last"]), str(s.Fields["title"])}
				gotSnk := [3]string{str(name["firstName"]), str(name["lastName"]), str(k.Fields["jobTitle"])}
				if gotSrc != tc.src || gotSnk != tc.snk {
					t.Fatalf("source %q (want %q), sink %q (want %q); plan %+v", gotSrc, tc.src, gotSnk, tc.snk, res.Plan)
				}
				ws, wk := e.src.Writes(), e.snk.Writes()
				res = e.runOK(engine.RunParams{})
				if e.src.Writes() != ws || e.snk.Writes() != wk || res.Counts.Updated != 0 {
					t.Fatalf("rerun wrote: %+v", res.Counts)
				}
			})
		})
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// TestVanishedRecordFollowsDeletePolicy: a record deleted on the other side
// between the read and the update (the write answers ErrNotFound) is
// treated like a delete seen on that side: ignore unlinks and leaves the
// live record; soft and propagate delete it on the side it came from. The
// outcome is audited with the reason.
func TestVanishedRecordFollowsDeletePolicy(t *testing.T) {
	cases := []struct {
		policy      string
		wantDeleted bool // the member is soft-deleted
		wantGone    bool // the member is destroyed
		wantAction  string
	}{
		{config.DeleteIgnore, false, false, state.ActionSkip},
		{config.DeleteSoft, true, false, state.ActionDelete},
		{config.DeletePropagate, false, true, state.ActionDelete},
	}
	for _, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				p := members(config.Both)
				p.Delete = config.Delete{Policy: tc.policy}
				e := newEnv(t, open, p)
				e.src.S("members").Put(member("m1", "Rina", "rina@kelompok.id"))
				e.runOK(engine.RunParams{})
				id := engine.CreateID("members", config.SideSink, "m1")
				update(t, e.src, "members", "m1", map[string]any{"first": "Rina-S"})
				// The person is destroyed in the CRM just before the update
				// reaches it.
				e.snk.SetOptions(memoryHook(func(_ int, c connectors.Change) error {
					if c.Op == connectors.OpUpdate && c.ID == id {
						if _, err := e.snk.S("people").Write(context.Background(), []connectors.Change{{Op: connectors.OpDestroy, ID: id}}); err != nil {
							t.Error(err)
						}
					}
					return nil
				}, e.clock.Now))
				res := e.runOK(engine.RunParams{KeepPlan: true})
				e.snk.SetOptions(memoryHook(nil, e.clock.Now))
				m, ok := e.src.S("members").All()["m1"]
				switch {
				case tc.wantGone && ok:
					t.Fatalf("member kept: %+v; plan %+v", m, res.Plan)
				case !tc.wantGone && !ok:
					t.Fatalf("member destroyed; plan %+v", res.Plan)
				case ok && m.Deleted != tc.wantDeleted:
					t.Fatalf("member deleted=%v, want %v; plan %+v", m.Deleted, tc.wantDeleted, res.Plan)
				}
				if n := e.linkCount(); n != 0 {
					t.Fatalf("%d links left", n)
				}
				audit := e.audit(res.RunID)
				found := false
				for _, a := range audit {
					if a.Action == tc.wantAction && strings.Contains(a.Reason, "sink record no longer exists") {
						found = true
					}
				}
				if !found {
					t.Fatalf("no %s audit row saying the sink record is gone: %+v", tc.wantAction, audit)
				}
				if rj, _ := e.store.Rejects(context.Background(), "members"); len(rj) != 0 {
					t.Fatalf("rejects left: %+v", rj)
				}
				// Settled: the next run writes nothing.
				ws, wk := e.src.Writes(), e.snk.Writes()
				e.runOK(engine.RunParams{})
				if e.src.Writes() != ws || e.snk.Writes() != wk {
					t.Fatal("the next run wrote")
				}
			})
		})
	}
}

// failingCommits fails the n-th Commit (1-based).
type failingCommits struct {
	state.Store
	mu    sync.Mutex
	calls int
	n     int
}

func (f *failingCommits) Commit(ctx context.Context, b state.Batch) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls == f.n
	f.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return f.Store.Commit(ctx, b)
}

// TestFailedCommitStopsTheNextBatchsWrites: a batch's commit runs while the
// next batch is paired and decided, but the next batch writes nothing
// before that commit succeeded: when it fails, the run fails with its
// error, nothing more is written, and a rerun completes without duplicates.
func TestFailedCommitStopsTheNextBatchsWrites(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		st := &failingCommits{Store: open(t), n: 2}
		e := newEnvOn(t, st, members(config.Push))
		e.seed(500) // 5 batches of 100
		res := e.run(engine.RunParams{})[0]
		if res.Status != state.RunFailed || !strings.Contains(res.Error, "disk full") {
			t.Fatalf("status %s (%s)", res.Status, res.Error)
		}
		if n := len(e.snk.S("people").All()); n != 200 {
			t.Fatalf("%d people written, want 200 (the batch after the failed commit must not write)", n)
		}
		st.n = 0
		e.runOK(engine.RunParams{})
		if n, l := len(e.snk.S("people").All()), e.linkCount(); n != 500 || l != 500 {
			t.Fatalf("after the rerun: %d people, %d links, want 500", n, l)
		}
	})
}

// TestCreateDiffLeavesOutEmptyFields: a create's diff (plan and audit)
// lists the values it writes, not the mapped fields it leaves empty
// ("jobTitle: null -> null" was noise in `pipe run -v`).
func TestCreateDiffLeavesOutEmptyFields(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		rec := member("m1", "Siti", "siti@kelompok.id")
		rec.Fields["title"] = nil
		e.src.S("members").Put(rec)
		want := []string{"emails.primaryEmail", "name.firstName", "name.lastName"}
		fields := func(diff []state.FieldChange) []string {
			var got []string
			for _, c := range diff {
				got = append(got, c.Field)
			}
			slices.Sort(got)
			return got
		}
		res := e.run(engine.RunParams{DryRun: true})[0]
		if len(res.Plan) != 1 || !slices.Equal(fields(res.Plan[0].Diff), want) {
			t.Fatalf("dry-run plan = %+v, want a create listing %v", res.Plan, want)
		}
		res = e.runOK(engine.RunParams{})
		audit, err := e.store.AuditList(context.Background(), res.RunID)
		if err != nil || len(audit) != 1 || audit[0].Action != state.ActionCreate || !slices.Equal(fields(audit[0].Diff), want) {
			t.Fatalf("audit = %+v (%v), want a create listing %v", audit, err, want)
		}
	})
}
