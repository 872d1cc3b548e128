package engine_test

import (
	"context"
	"path/filepath"
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
