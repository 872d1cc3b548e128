package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// planHas reports whether a decision of the plan has a reason containing s.
func planHas(plan []engine.Decision, s string) bool {
	for _, d := range plan {
		if strings.Contains(d.Reason, s) {
			return true
		}
	}
	return false
}

// heldConflict runs e once, expecting its one pair held, and returns the
// open conflict.
func heldConflict(t *testing.T, e *env) state.Conflict {
	t.Helper()
	res := e.runOK(engine.RunParams{})
	cs, _ := e.store.Conflicts(context.Background(), "members", false)
	if res.Counts.Conflicts != 1 || len(cs) != 1 {
		t.Fatalf("held run: %+v, open conflicts %+v", res.Counts, cs)
	}
	return cs[0]
}

// A resolution applies to the values it was decided on: when either side
// changed the pair after them, it is stale and the pair is decided afresh
// from its base (here: held again, as a new conflict), instead of the
// resolution overwriting the later edits.
func TestStaleManualResolutionIsDecidedAfresh(t *testing.T) {
	cases := []struct {
		name     string
		conflict config.Conflict
		take     string
		later    func(t *testing.T, e *env, sinkID string)
		// the values the later run must leave in place
		wantSrcFirst, wantSrcEmail, wantSinkFirst, wantSinkEmail string
	}{
		{"source changes after take sink", config.Conflict{Policy: config.ConflictManual}, state.TakeSink,
			func(t *testing.T, e *env, _ string) {
				update(t, e.src, "members", "m1", map[string]any{"first": "Rina-C", "email": "c@kelompok.id"})
			}, "Rina-C", "c@kelompok.id", "Rina-K", "rina@kelompok.id"},
		{"sink changes after take source", config.Conflict{Policy: config.ConflictManual}, state.TakeSource,
			func(t *testing.T, e *env, id string) {
				update(t, e.snk, "people", id, map[string]any{"name": map[string]any{"firstName": "Rina-C"}, "emails": map[string]any{"primaryEmail": "c@kelompok.id"}})
			}, "Rina-S", "rina@kelompok.id", "Rina-C", "c@kelompok.id"},
		{"merge with manual fallback", config.Conflict{Policy: config.ConflictMerge, Fallback: config.ConflictManual}, state.TakeSink,
			func(t *testing.T, e *env, _ string) {
				update(t, e.src, "members", "m1", map[string]any{"first": "Rina-C", "email": "c@kelompok.id"})
			}, "Rina-C", "c@kelompok.id", "Rina-K", "rina@kelompok.id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				ctx := context.Background()
				e := conflictEnv(t, open, tc.conflict, true, false)
				c := heldConflict(t, e)
				if err := e.store.ConflictResolve(ctx, c.ID, tc.take); err != nil {
					t.Fatal(err)
				}
				id := engine.CreateID("members", config.SideSink, "m1")
				tc.later(t, e, id)
				ws, wk := e.src.Writes(), e.snk.Writes()
				res := e.runOK(engine.RunParams{KeepPlan: true})
				s, k := e.src.S("members").All()["m1"], e.person("m1")
				if s.Fields["first"] != tc.wantSrcFirst || s.Fields["email"] != tc.wantSrcEmail ||
					first(k) != tc.wantSinkFirst || k.Fields["emails"].(map[string]any)["primaryEmail"] != tc.wantSinkEmail {
					t.Fatalf("stale resolution applied: source %+v sink %+v; plan %+v", s.Fields, k.Fields, res.Plan)
				}
				if e.src.Writes() != ws || e.snk.Writes() != wk || res.Counts.Conflicts != 1 {
					t.Fatalf("the pair conflicts again and must be held: %+v, writes %d/%d", res.Counts, e.src.Writes()-ws, e.snk.Writes()-wk)
				}
				if !planHas(res.Plan, "stale") {
					t.Fatalf("the audit does not say the resolution is stale: %+v", res.Plan)
				}
				old, _ := e.store.ConflictGet(ctx, c.ID)
				if old.Resolution != state.Superseded || old.AppliedAt == nil {
					t.Fatalf("stale conflict = %+v, want superseded", old)
				}
				cs, _ := e.store.Conflicts(ctx, "members", false)
				if len(cs) != 1 || cs[0].ID == c.ID || cs[0].Source["name.firstName"] != tc.wantSrcFirst || cs[0].Sink["name.firstName"] != tc.wantSinkFirst {
					t.Fatalf("new open conflict = %+v", cs)
				}
				// The new conflict's resolution is current: it applies.
				if err := e.store.ConflictResolve(ctx, cs[0].ID, tc.take); err != nil {
					t.Fatal(err)
				}
				e.runOK(engine.RunParams{})
				s, k = e.src.S("members").All()["m1"], e.person("m1")
				want := tc.wantSinkFirst
				if tc.take == state.TakeSource {
					want = tc.wantSrcFirst
				}
				if s.Fields["first"] != want || first(k) != want {
					t.Fatalf("current resolution: source first %v, sink first %v, want %s", s.Fields["first"], first(k), want)
				}
				if got, _ := e.store.ConflictGet(ctx, cs[0].ID); got.Resolution != tc.take || got.AppliedAt == nil {
					t.Fatalf("current resolution not applied: %+v", got)
				}
			})
		})
	}
}

// A stale resolution whose pair now merges cleanly (the source took the
// sink's value) is superseded, and the pair's other changes go through.
func TestStaleManualResolutionMergesCleanly(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		ctx := context.Background()
		e := conflictEnv(t, open, config.Conflict{Policy: config.ConflictManual}, true, false)
		c := heldConflict(t, e)
		if err := e.store.ConflictResolve(ctx, c.ID, state.TakeSource); err != nil {
			t.Fatal(err)
		}
		update(t, e.src, "members", "m1", map[string]any{"first": "Rina-K"})
		res := e.runOK(engine.RunParams{KeepPlan: true})
		s, k := e.src.S("members").All()["m1"], e.person("m1")
		if s.Fields["first"] != "Rina-K" || first(k) != "Rina-K" || k.Fields["name"].(map[string]any)["lastName"] != "Source" {
			t.Fatalf("source %+v sink %+v; plan %+v", s.Fields, k.Fields, res.Plan)
		}
		if res.Counts.Conflicts != 0 || !planHas(res.Plan, "stale") {
			t.Fatalf("counts %+v plan %+v", res.Counts, res.Plan)
		}
		if got, _ := e.store.ConflictGet(ctx, c.ID); got.Resolution != state.Superseded || got.AppliedAt == nil {
			t.Fatalf("stale conflict = %+v, want superseded", got)
		}
		if cs, _ := e.store.Conflicts(ctx, "members", false); len(cs) != 0 {
			t.Fatalf("open conflicts %+v", cs)
		}
	})
}

// An open conflict whose pair is later decided without one (both sides
// came to agree) is closed: it is not left open with stale values for a
// later resolution to apply to whatever is current.
func TestOpenConflictClosedWhenSidesAgree(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		ctx := context.Background()
		e := conflictEnv(t, open, config.Conflict{Policy: config.ConflictManual}, true, false)
		c := heldConflict(t, e)
		id := engine.CreateID("members", config.SideSink, "m1")
		// The sink changes again: the same conflict, updated.
		update(t, e.snk, "people", id, map[string]any{"name": map[string]any{"firstName": "Rina-K2"}})
		c2 := heldConflict(t, e)
		if c2.ID != c.ID || c2.Sink["name.firstName"] != "Rina-K2" {
			t.Fatalf("updated conflict = %+v (was %+v)", c2, c)
		}
		// The source takes the sink's value: nothing conflicts any more.
		update(t, e.src, "members", "m1", map[string]any{"first": "Rina-K2", "last": "Santoso"})
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if res.Counts.Conflicts != 0 {
			t.Fatalf("counts %+v", res.Counts)
		}
		if cs, _ := e.store.Conflicts(ctx, "members", false); len(cs) != 0 {
			t.Fatalf("conflict left open after the sides agreed: %+v", cs)
		}
		got, _ := e.store.ConflictGet(ctx, c.ID)
		if got.Resolution != state.Superseded || got.AppliedAt == nil || got.ResolvedAt == nil {
			t.Fatalf("closed conflict = %+v", got)
		}
		if !planHas(res.Plan, "closed") {
			t.Fatalf("the audit does not say the conflict was closed: %+v", res.Plan)
		}
		if err := e.store.ConflictResolve(ctx, c.ID, state.TakeSource); !errors.Is(err, state.ErrAlreadyResolved) {
			t.Fatalf("resolving the closed conflict = %v, want ErrAlreadyResolved", err)
		}
		ws, wk := e.src.Writes(), e.snk.Writes()
		res = e.runOK(engine.RunParams{})
		if e.src.Writes() != ws || e.snk.Writes() != wk || res.Counts.Updated != 0 {
			t.Fatalf("rerun wrote: %+v", res.Counts)
		}
		s, k := e.src.S("members").All()["m1"], e.person("m1")
		if s.Fields["first"] != "Rina-K2" || first(k) != "Rina-K2" {
			t.Fatalf("source %+v sink %+v", s.Fields, k.Fields)
		}
	})
}
