package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// syncedEnv is newEnv with n members seeded and synced by a first run.
func syncedEnv(t *testing.T, open func(testing.TB) state.Store, p *config.Pipeline, n int) *env {
	t.Helper()
	e := newEnv(t, open, p)
	e.seed(n)
	e.runOK(engine.RunParams{})
	return e
}

// lateMember puts a source record stamped at (the clock's now - ago), as a
// transaction that started ago and committed only now would leave it.
func lateMember(e *env, id, first string, ago time.Duration) {
	rec := member(id, first, strings.ToLower(first)+"@kelompok.id")
	rec.UpdatedAt = e.clock.Now().Add(-ago)
	e.src.S("members").Put(rec)
}

// TestLookBackReadsLateCommits: a change stamped before the cursor (a
// transaction that committed after a later one was read) is read by the
// next run when it falls within lookBack, and is missed without it.
func TestLookBackReadsLateCommits(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		for _, tc := range []struct {
			lookBack time.Duration
			synced   bool
		}{{time.Minute, true}, {0, false}} {
			p := members(config.Push)
			p.LookBack = tc.lookBack
			e := syncedEnv(t, open, p, 3)
			// Stamped 20 s ago, committed now: behind the cursor.
			lateMember(e, "late", "Wati", 20*time.Second)
			res := e.runOK(engine.RunParams{})
			_, ok := e.snk.S("people").All()[engine.CreateID("members", config.SideSink, "late")]
			if ok != tc.synced || (res.Counts.Created == 1) != tc.synced {
				t.Errorf("lookBack %v: late record synced = %v (counts %+v), want %v", tc.lookBack, ok, res.Counts, tc.synced)
			}
			// The records of the window that were synced already are
			// neither counted nor audited again.
			if tc.synced && res.Counts != (state.Counts{Created: 1}) {
				t.Errorf("lookBack %v: counts %+v, want only the late create", tc.lookBack, res.Counts)
			}
			if tc.synced {
				audit := e.audit(res.RunID)
				if len(audit) != 1 || audit[0].SourceKey != "late" {
					t.Errorf("audit of the run = %+v, want the late create only", audit)
				}
			}
		}
	})
}

// TestLookBackRerunWritesNothing: a run right after a sync reads the
// window again and finds nothing to do: no write, no count, no audit row.
func TestLookBackRerunWritesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.LookBack = time.Hour
		e := newEnv(t, open, p)
		e.seed(250)
		first := e.runOK(engine.RunParams{})
		if first.Counts.Created != 250 {
			t.Fatalf("first run: %+v", first.Counts)
		}
		var writes int
		e.snk.SetOptions(memoryHook(func(int, connectors.Change) error { writes++; return nil }, e.clock.Now))
		e.src.SetOptions(memoryHook(func(int, connectors.Change) error { writes++; return nil }, e.clock.Now))
		res := e.runOK(engine.RunParams{})
		if res.Counts != (state.Counts{}) || writes != 0 {
			t.Errorf("rerun within the window: counts %+v, %d writes; want nothing", res.Counts, writes)
		}
		audit := e.audit(res.RunID)
		if len(audit) != 0 {
			t.Errorf("rerun audited %d rows, first %+v", len(audit), audit[0])
		}
	})
}

// TestLookBackWithLimit: --limit counts new records only, so that runs
// with a limit make progress through records that all sit in the window.
func TestLookBackWithLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Push)
		p.LookBack = time.Hour
		e := newEnv(t, open, p)
		e.seed(30)
		for i := 0; i < 3; i++ {
			res := e.runOK(engine.RunParams{Limit: 10})
			if res.Counts.Created != 10 {
				t.Fatalf("run %d with --limit 10: counts %+v, want 10 created", i+1, res.Counts)
			}
		}
		if n := e.snk.S("people").Len(); n != 30 {
			t.Errorf("after three runs of 10: %d people, want 30", n)
		}
		// New records behind a window larger than the limit: the window
		// is read in full pages, and each run takes the limit's worth of
		// new records from the page where they start.
		for i := 0; i < 12; i++ {
			e.src.S("members").Put(member(fmt.Sprintf("n%02d", i), "Baru", fmt.Sprintf("baru%d@kelompok.id", i)))
		}
		for i, want := range []int{5, 5, 2, 0} {
			if res := e.runOK(engine.RunParams{Limit: 5}); res.Counts != (state.Counts{Created: want}) {
				t.Errorf("run %d with --limit 5 after 12 new records: %+v, want %d created", i+1, res.Counts, want)
			}
		}
	})
}

// TestFutureStampDoesNotHideChanges: a record stamped a year ahead takes
// the cursor there, but a change made after it is still read by the next
// run (which reads from now), and the future record is not counted again.
func TestFutureStampDoesNotHideChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		for _, lb := range []time.Duration{0, time.Minute} {
			p := members(config.Push)
			p.LookBack = lb
			e := newEnv(t, open, p)
			e.seed(2)
			future := member("future", "Joko", "joko@kelompok.id")
			future.UpdatedAt = e.clock.Now().AddDate(1, 0, 0)
			e.src.S("members").Put(future)
			if res := e.runOK(engine.RunParams{}); res.Counts.Created != 3 {
				t.Fatalf("lookBack %v: first run %+v", lb, res.Counts)
			}
			update(t, e.src, "members", "m00001", map[string]any{"title": "Bendahara"})
			res := e.runOK(engine.RunParams{})
			if res.Counts != (state.Counts{Updated: 1}) {
				t.Errorf("lookBack %v: run after the change: %+v, want 1 update and the future record unchanged", lb, res.Counts)
			}
			if got := e.person("m00001").Fields["jobTitle"]; got != "Bendahara" {
				t.Errorf("lookBack %v: jobTitle %v, want Bendahara", lb, got)
			}
			if lb > 0 {
				// A late commit stamped before the previous run started
				// is still within the window: the future record must not
				// have taken the cursor past it.
				lateMember(e, "late", "Wati", 10*time.Second)
				if res := e.runOK(engine.RunParams{}); res.Counts != (state.Counts{Created: 1}) {
					t.Errorf("lookBack %v: run after a late commit: %+v, want it created", lb, res.Counts)
				}
			}
		}
	})
}

// destroy hard-deletes a record, as a user deleting it for good would.
func destroy(t testing.TB, s connectors.Stream, id string) {
	t.Helper()
	res, err := s.Write(context.Background(), []connectors.Change{{Op: connectors.OpDestroy, ID: id}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("destroy %s: %v %v", id, err, res[0].Err)
	}
}

// TestIgnoredDeleteStaysUnlinked: with delete policy ignore, a sink record
// deleted for good leaves its source record alone and unlinked. Reading
// that record again (the look-back window, --full) does not create its
// partner again; a change to it does.
func TestIgnoredDeleteStaysUnlinked(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		for _, direction := range []string{config.Push, config.Both} {
			p := members(direction)
			p.Delete = config.Delete{Policy: config.DeleteIgnore}
			p.LookBack = time.Hour
			e := syncedEnv(t, open, p, 3)
			gone := e.person("m00001").ID
			destroy(t, e.snk.S("people"), gone)
			// Seen as gone when the source record's pair is next decided.
			update(t, e.src, "members", "m00001", map[string]any{"title": "Bendahara"})
			res := e.runOK(engine.RunParams{})
			if res.Counts.Created != 0 || e.linkCount() != 2 {
				t.Fatalf("%s: run after the delete: %+v, %d links; want the link removed and nothing created", direction, res.Counts, e.linkCount())
			}
			for _, params := range []engine.RunParams{{}, {Full: true}} {
				res := e.runOK(params)
				if res.Counts.Created != 0 || e.snk.S("people").Len() != 2 {
					t.Fatalf("%s, full %v: %+v, %d people; the deleted person was created again", direction, params.Full, res.Counts, e.snk.S("people").Len())
				}
				if params.Full && res.Counts.Skipped == 0 {
					t.Errorf("%s: --full did not report the record left unlinked: %+v", direction, res.Counts)
				}
			}
			plan := e.runOK(engine.RunParams{Full: true, DryRun: true}).Plan
			found := false
			for _, d := range plan {
				if d.SourceKey == "m00001" {
					found = true
					if d.Action != state.ActionSkip || !strings.Contains(d.Reason, "left unlinked when its sink partner "+gone+" was deleted") {
						t.Errorf("%s: decision %+v", direction, d)
					}
				}
			}
			if !found {
				t.Errorf("%s: --full dry run has no decision for m00001", direction)
			}
			// A touch that changes nothing the pipeline syncs (a field
			// it does not map; for a SQL table, updated_at alone) leaves
			// it alone.
			update(t, e.src, "members", "m00001", map[string]any{"note": "dicek"})
			if res := e.runOK(engine.RunParams{}); res.Counts.Created != 0 {
				t.Errorf("%s: a touch of an unmapped field created it again: %+v", direction, res.Counts)
			}
			// A change brings it back, even one stamped earlier than the
			// version left (a writer whose clock is behind).
			rec := e.src.S("members").All()["m00001"]
			rec.Fields["title"] = "Ketua"
			rec.UpdatedAt = rec.UpdatedAt.Add(-2 * time.Second)
			e.src.S("members").Put(rec)
			res = e.runOK(engine.RunParams{})
			if res.Counts.Created != 1 || e.snk.S("people").Len() != 3 || e.linkCount() != 3 {
				t.Errorf("%s: after a change: %+v, %d people, %d links; want it created again", direction, res.Counts, e.snk.S("people").Len(), e.linkCount())
			}
			left, err := e.store.Unlinked(context.Background(), "members", config.SideSource, []string{"m00001"})
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("%s: still recorded as left unlinked: %+v", direction, left)
			}
		}
	})
}

// TestLookBackBothWaysCountsEachChangeOnce: in a both-way run with a
// look-back window, a sink record's soft delete (delete policy ignore) is
// counted and audited once, though the source reading also reads its pair
// again, unchanged and silent; and a sink record whose reject the retry
// creates on the source is not counted again when the source reading finds
// the record it has just created.
func TestLookBackBothWaysCountsEachChangeOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.Delete = config.Delete{Policy: config.DeleteIgnore}
		p.LookBack = time.Hour
		e := syncedEnv(t, open, p, 3)
		del(t, e.snk, "people", e.person("m00001").ID)
		res := e.runOK(engine.RunParams{})
		if res.Counts != (state.Counts{Skipped: 1}) {
			t.Errorf("run after a sink delete: %+v, want one skip", res.Counts)
		}
		audit := e.audit(res.RunID)
		if len(audit) != 1 || audit[0].Reason != "deleted on the sink; delete policy is ignore" {
			t.Errorf("audit %+v, want the delete once", audit)
		}

		e.putInvalidPerson("p-bad")
		if res := e.run(engine.RunParams{})[0]; res.Counts != (state.Counts{Rejected: 1}) {
			t.Fatalf("run with an invalid sink record: %+v", res.Counts)
		}
		update(t, e.snk, "people", "p-bad", map[string]any{"invalid": false})
		if res := e.runOK(engine.RunParams{}); res.Counts != (state.Counts{Created: 1}) {
			t.Errorf("run after the fix: %+v, want the create only", res.Counts)
		}
	})
}

// TestLookBackDoesNotHoldAConflictAgain: an open manual conflict whose pair
// the look-back window reads again, unchanged, stays as it is: not counted
// or audited again on every run.
func TestLookBackDoesNotHoldAConflictAgain(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := conflictEnv(t, open, config.Conflict{Policy: config.ConflictManual}, true, false)
		e.cfg.Pipelines["members"].LookBack = time.Hour
		if res := e.run(engine.RunParams{})[0]; res.Counts.Conflicts != 1 {
			t.Fatalf("first run: %+v", res.Counts)
		}
		for i := 0; i < 2; i++ {
			res := e.run(engine.RunParams{})[0]
			if res.Counts != (state.Counts{}) {
				t.Errorf("run %d after the conflict was held: %+v, want nothing counted", i+2, res.Counts)
			}
			audit := e.audit(res.RunID)
			if len(audit) != 0 {
				t.Errorf("run %d audited %+v", i+2, audit)
			}
		}
		cs, err := e.store.Conflicts(context.Background(), "members", false)
		if err != nil || len(cs) != 1 {
			t.Fatalf("open conflicts %+v %v, want the one", cs, err)
		}
		// A new change to the pair is held again, with its new values.
		update(t, e.src, "members", "m1", map[string]any{"first": "Rina-S2"})
		if res := e.run(engine.RunParams{})[0]; res.Counts.Conflicts != 1 {
			t.Errorf("run after a new change: %+v, want the conflict held again", res.Counts)
		}
		cs, _ = e.store.Conflicts(context.Background(), "members", false)
		if len(cs) != 1 || cs[0].Source["name.firstName"] != "Rina-S2" {
			t.Errorf("open conflicts %+v, want the new values", cs)
		}
	})
}

// TestCursorLeftInTheFutureIsBroughtBack: a cursor an older version left in
// the future (a record stamped ahead of time took it there) is read as if
// it stood now, and written back to the present by the next run, so that
// changes between runs spaced further apart than lookBack are read.
func TestCursorLeftInTheFutureIsBroughtBack(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Push)
		p.LookBack = time.Minute
		e := syncedEnv(t, open, p, 3)
		ctx := context.Background()
		future := connectors.Position{UpdatedAt: e.clock.Now().AddDate(1, 0, 0), ID: "zzz"}
		if err := e.store.Commit(ctx, state.Batch{Pipeline: "members", Cursors: map[string]connectors.Position{config.SideSource: future}}); err != nil {
			t.Fatal(err)
		}
		advance := func(d time.Duration) {
			e.clock.mu.Lock()
			e.clock.t = e.clock.t.Add(d)
			e.clock.mu.Unlock()
		}
		// A run that reads nothing new brings it back too.
		advance(5 * time.Minute)
		if res := e.runOK(engine.RunParams{}); res.Counts != (state.Counts{}) {
			t.Fatalf("run with the cursor in the future: %+v, want nothing", res.Counts)
		}
		if cur, _ := e.store.Cursor(ctx, "members", config.SideSource); cur.UpdatedAt.After(e.clock.Now()) {
			t.Errorf("cursor still in the future after a run: %v", cur)
		}
		if err := e.store.Commit(ctx, state.Batch{Pipeline: "members", Cursors: map[string]connectors.Position{config.SideSource: future}}); err != nil {
			t.Fatal(err)
		}
		update(t, e.src, "members", "m00000", map[string]any{"title": "Ketua"})
		if res := e.runOK(engine.RunParams{}); res.Counts != (state.Counts{Updated: 1}) {
			t.Fatalf("run with the cursor in the future: %+v, want the change read", res.Counts)
		}
		advance(10 * time.Minute)
		update(t, e.src, "members", "m00001", map[string]any{"title": "Bendahara"})
		advance(10 * time.Minute)
		if res := e.runOK(engine.RunParams{}); res.Counts != (state.Counts{Updated: 1}) {
			t.Errorf("run 10 minutes after a change: %+v, want it read", res.Counts)
		}
		cur, err := e.store.Cursor(ctx, "members", config.SideSource)
		if err != nil {
			t.Fatal(err)
		}
		if cur.UpdatedAt.After(e.clock.Now()) {
			t.Errorf("cursor still in the future: %v", cur)
		}
	})
}

// TestLookBackCountsAnUnlinkFoundInTheWindow: a pair whose source record
// is deleted for good, read again from the sink within the window, is
// unlinked (delete policy ignore): that is counted and audited.
func TestLookBackCountsAnUnlinkFoundInTheWindow(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.Delete = config.Delete{Policy: config.DeleteIgnore}
		p.LookBack = time.Hour
		e := syncedEnv(t, open, p, 3)
		destroy(t, e.src.S("members"), "m00001")
		res := e.runOK(engine.RunParams{})
		if res.Counts != (state.Counts{Skipped: 1}) || e.linkCount() != 2 {
			t.Errorf("run after the delete: %+v, %d links; want one skip counted and the link removed", res.Counts, e.linkCount())
		}
		audit := e.audit(res.RunID)
		if len(audit) != 1 || audit[0].SourceKey != "m00001" {
			t.Errorf("audit %+v, want the unlink", audit)
		}
	})
}

// TestLookBackBothWaysDryRunMatchesTheRun: in a both-way pipeline with a
// look-back window, a sink record's soft delete (delete policy ignore), a
// sink edit that its filter excludes, and the sides coming to agree on an
// open manual conflict are each counted and audited once, and planned the
// same by a dry run: the source reading finds the pair in the window,
// unchanged, and counts nothing, so the sink reading counts it.
func TestLookBackBothWaysDryRunMatchesTheRun(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		check := func(what string, e *env, want state.Counts, reason string) {
			t.Helper()
			plan := e.runOK(engine.RunParams{DryRun: true})
			res := e.runOK(engine.RunParams{})
			if plan.Counts != want || res.Counts != want {
				t.Errorf("%s: dry run %+v, run %+v; want %+v", what, plan.Counts, res.Counts, want)
			}
			audit := e.audit(res.RunID)
			if len(audit) != 1 || !strings.Contains(audit[0].Reason, reason) {
				t.Errorf("%s: audit %+v, want one row saying %q", what, audit, reason)
			}
		}

		p := members(config.Both)
		p.Delete = config.Delete{Policy: config.DeleteIgnore}
		p.LookBack = time.Hour
		e := syncedEnv(t, open, p, 3)
		del(t, e.snk, "people", e.person("m00001").ID)
		check("sink soft delete", e, state.Counts{Skipped: 1}, "deleted on the sink; delete policy is ignore")

		p = members(config.Both)
		p.Filter.Sink = "!hidden"
		p.LookBack = time.Hour
		e = syncedEnv(t, open, p, 3)
		update(t, e.snk, "people", e.person("m00001").ID, map[string]any{"hidden": true})
		check("sink edit the filter excludes", e, state.Counts{Skipped: 1}, "filtered out by the sink filter")

		e = conflictEnv(t, open, config.Conflict{Policy: config.ConflictManual}, true, false)
		e.cfg.Pipelines["members"].LookBack = time.Hour
		if res := e.run(engine.RunParams{})[0]; res.Counts.Conflicts != 1 {
			t.Fatalf("conflict run: %+v", res.Counts)
		}
		// The sink comes to agree with the source.
		update(t, e.snk, "people", engine.CreateID("members", config.SideSink, "m1"),
			map[string]any{"name": map[string]any{"firstName": "Rina-S", "lastName": "Source"}})
		check("the sides agree on an open conflict", e, state.Counts{Skipped: 1}, "closed (superseded)")
		if cs, _ := e.store.Conflicts(context.Background(), "members", false); len(cs) != 0 {
			t.Errorf("open conflicts %+v, want none", cs)
		}
	})
}
