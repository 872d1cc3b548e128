package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// deleteOnceEnv is a both-way pipeline over 5 synced pairs whose first
// `deleted` sink records are then soft-deleted on the sink: each such pair
// is one delete (on the source), whichever side a --full run reads it from.
func deleteOnceEnv(t *testing.T, open func(testing.TB) state.Store, maxCount, deleted int) (*env, *config.Pipeline) {
	t.Helper()
	p := members(config.Both)
	p.Delete = config.Delete{Policy: config.DeleteSoft, MaxCount: maxCount}
	e := newEnv(t, open, p)
	e.seed(5)
	e.runOK(engine.RunParams{})
	for i := range deleted {
		del(t, e.snk, "people", engine.CreateID("members", config.SideSink, fmt.Sprintf("m%05d", i)))
	}
	return e, p
}

// deleteDecisions counts a plan's decisions about deleting each pair, applied
// or held, by source key.
func deleteDecisions(plan []engine.Decision) map[string]int {
	n := map[string]int{}
	for _, d := range plan {
		if d.Action == state.ActionDelete || strings.HasPrefix(d.Reason, "delete held by the delete guard") {
			n[d.SourceKey]++
		}
	}
	return n
}

// checkOnePerPair fails unless the plan decides each of the first `deleted`
// pairs' delete once, and the store holds wantRejects rejects, one per pair.
func checkOnePerPair(t *testing.T, e *env, name string, res engine.Result, deleted, wantRejects int) {
	t.Helper()
	n := deleteDecisions(res.Plan)
	if len(n) != deleted {
		t.Errorf("%s: delete decisions for %d pairs, want %d: %v", name, len(n), deleted, n)
	}
	for k, c := range n {
		if c != 1 {
			t.Errorf("%s: pair %s decided %d times, want once", name, k, c)
		}
	}
	rejects, err := e.store.Rejects(context.Background(), "members")
	if err != nil {
		t.Fatal(err)
	}
	if len(rejects) != wantRejects {
		t.Errorf("%s: %d rejects, want %d: %+v", name, len(rejects), wantRejects, rejects)
	}
	pairs := map[string]bool{}
	for _, rj := range rejects {
		k := rj.Key
		if rj.Side == config.SideSink {
			for i := range 5 {
				if engine.CreateID("members", config.SideSink, fmt.Sprintf("m%05d", i)) == k {
					k = fmt.Sprintf("m%05d", i)
				}
			}
		}
		if pairs[k] {
			t.Errorf("%s: pair %s has more than one reject: %+v", name, k, rejects)
		}
		pairs[k] = true
	}
}

// TestBothWayFullRunDecidesADeleteOnce: a both-way --full run reads a pair
// deleted on the sink from both sides. Its delete waits for the end-of-run
// guard, so nothing is committed between the two readings: the second
// reading must not add the same delete again (the guard would count it
// twice, hold it twice and keep a reject under each side's key, and every
// later run would retry both). The dry run counts what the real run does.
func TestBothWayFullRunDecidesADeleteOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		// maxCount at the count: both deletes go through.
		e, _ := deleteOnceEnv(t, open, 2, 2)
		dry := e.run(engine.RunParams{Full: true, DryRun: true})[0]
		real := e.run(engine.RunParams{Full: true, KeepPlan: true})[0]
		if dry.Counts != real.Counts || real.Status != state.RunSucceeded || real.Counts.Deleted != 2 || real.DeletesHeld != 0 {
			t.Fatalf("dry run %+v, real run %s %q held=%d %+v", dry.Counts, real.Status, real.Error, real.DeletesHeld, real.Counts)
		}
		checkOnePerPair(t, e, "real --full run", real, 2, 0)
		for i, want := range []bool{true, true, false} {
			if got := e.src.S("members").All()[fmt.Sprintf("m%05d", i)].Deleted; got != want {
				t.Errorf("source m%05d deleted = %v, want %v", i, got, want)
			}
		}
		if res := e.runOK(engine.RunParams{Full: true}); res.Counts.Deleted != 0 {
			t.Fatalf("deletes repeated: %+v", res.Counts)
		}
	})
}

// TestBothWayFullRunHoldsADeleteOnce: the same with maxCount below the
// count: each pair is held once (one held decision, one reject), later runs
// still count each pair once, and raising the limit releases the holds.
func TestBothWayFullRunHoldsADeleteOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e, p := deleteOnceEnv(t, open, 1, 2)
		dry := e.run(engine.RunParams{Full: true, DryRun: true})[0]
		real := e.run(engine.RunParams{Full: true, KeepPlan: true})[0]
		if dry.Counts != real.Counts || dry.DeletesHeld != real.DeletesHeld {
			t.Fatalf("dry run held=%d %+v, real run held=%d %+v", dry.DeletesHeld, dry.Counts, real.DeletesHeld, real.Counts)
		}
		held := func(name string, res engine.Result) {
			t.Helper()
			if res.Status != state.RunPartial || res.DeletesHeld != 2 || res.Counts.Deleted != 0 ||
				!strings.Contains(res.Error, "would delete 2 records, more than delete.maxCount 1") {
				t.Fatalf("%s: %s %q held=%d %+v", name, res.Status, res.Error, res.DeletesHeld, res.Counts)
			}
		}
		held("real --full run", real)
		checkOnePerPair(t, e, "real --full run", real, 2, 2)
		retries := func() []int {
			rejects, err := e.store.Rejects(context.Background(), "members")
			if err != nil {
				t.Fatal(err)
			}
			var n []int
			for _, rj := range rejects {
				n = append(n, rj.Retries)
			}
			return n
		}
		before := retries()
		// The held deletes are retried from their rejects by every run,
		// one retry each per run.
		for i, params := range []engine.RunParams{{KeepPlan: true}, {Full: true, KeepPlan: true}} {
			name := fmt.Sprintf("next run (full=%v)", params.Full)
			dry := e.run(engine.RunParams{Full: params.Full, DryRun: true})[0]
			res := e.run(params)[0]
			held(name, res)
			if dry.Counts != res.Counts || dry.DeletesHeld != res.DeletesHeld {
				t.Fatalf("%s: dry run held=%d %+v, real run held=%d %+v", name, dry.DeletesHeld, dry.Counts, res.DeletesHeld, res.Counts)
			}
			checkOnePerPair(t, e, name, res, 2, 2)
			for j, n := range retries() {
				if n != before[j]+i+1 {
					t.Fatalf("%s: reject %d has %d retries, want %d (one per run)", name, j, n, before[j]+i+1)
				}
			}
		}
		for i := range 2 {
			if e.src.S("members").All()[fmt.Sprintf("m%05d", i)].Deleted {
				t.Fatalf("source m%05d deleted despite the guard", i)
			}
		}
		// Raising the limit lets them through, once each.
		p.Delete.MaxCount = 2
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if res.Counts.Deleted != 2 || res.DeletesHeld != 0 {
			t.Fatalf("after raising the limit: held=%d %+v", res.DeletesHeld, res.Counts)
		}
		checkOnePerPair(t, e, "after raising the limit", res, 2, 0)
		for i, want := range []bool{true, true, false} {
			if got := e.src.S("members").All()[fmt.Sprintf("m%05d", i)].Deleted; got != want {
				t.Errorf("source m%05d deleted = %v, want %v", i, got, want)
			}
		}
		if res := e.runOK(engine.RunParams{Full: true}); res.Counts.Deleted != 0 || res.DeletesHeld != 0 {
			t.Fatalf("deletes repeated: %+v", res.Counts)
		}
	})
}

// TestHeldDeleteRejectedOnBothSidesIsCountedOnce: older versions kept a
// held delete of a both-way pair as a reject under each side's key. The
// retry of both rejects decides the pair once, keeps one reject, and clears
// the other.
func TestHeldDeleteRejectedOnBothSidesIsCountedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e, p := deleteOnceEnv(t, open, 1, 2)
		ctx := context.Background()
		now := time.Now().UTC()
		var old []state.Reject
		for i := range 2 {
			reason := "delete held by the delete guard: more than delete.maxCount 1"
			src := fmt.Sprintf("m%05d", i)
			old = append(old,
				state.Reject{Pipeline: "members", Side: config.SideSource, Key: src, Reason: reason, FirstAt: now, LastAt: now},
				state.Reject{Pipeline: "members", Side: config.SideSink, Key: engine.CreateID("members", config.SideSink, src), Reason: reason, FirstAt: now, LastAt: now})
		}
		if err := e.store.Commit(ctx, state.Batch{Pipeline: "members", Rejects: old}); err != nil {
			t.Fatal(err)
		}
		dry := e.run(engine.RunParams{DryRun: true})[0]
		res := e.run(engine.RunParams{KeepPlan: true})[0]
		if dry.Counts != res.Counts || dry.DeletesHeld != res.DeletesHeld || res.DeletesHeld != 2 || res.Counts.Deleted != 0 {
			t.Fatalf("dry run held=%d %+v, real run held=%d %+v", dry.DeletesHeld, dry.Counts, res.DeletesHeld, res.Counts)
		}
		checkOnePerPair(t, e, "run with rejects on both sides", res, 2, 2)
		p.Delete.MaxCount = 2
		if res := e.runOK(engine.RunParams{}); res.Counts.Deleted != 2 {
			t.Fatalf("after raising the limit: %+v", res.Counts)
		}
		if rejects, _ := e.store.Rejects(ctx, "members"); len(rejects) != 0 {
			t.Fatalf("rejects left: %+v", rejects)
		}
	})
}

// TestDeleteGuardMessageCountsInWords: one held delete is "1 record".
func TestDeleteGuardMessageCountsInWords(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Push)
		p.Delete = config.Delete{Policy: config.DeleteSoft, MaxFraction: 0.1}
		e := newEnv(t, open, p)
		e.seed(5)
		e.runOK(engine.RunParams{})
		del(t, e.src, "members", "m00000")
		res := e.run(engine.RunParams{})[0]
		want := "this run would delete 1 record, more than delete.maxFraction 0.1 of 5 linked records;"
		if res.DeletesHeld != 1 || !strings.Contains(res.Error, want) {
			t.Fatalf("held=%d, error %q, want it to contain %q", res.DeletesHeld, res.Error, want)
		}
	})
}
