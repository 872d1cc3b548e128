package engine_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// crashAfter runs e's pipeline with a sink that stops after its k-th write,
// as a crash would, and checks the run failed.
func crashAfter(t *testing.T, e *env, k int) {
	t.Helper()
	e.snk.SetOptions(memoryHook(func(w int, _ connectors.Change) error {
		if w == k {
			return errors.New("simulated crash")
		}
		return nil
	}, e.clock.Now))
	if res := e.run(engine.RunParams{})[0]; res.Status != state.RunFailed {
		t.Fatalf("interrupted run: %s %q", res.Status, res.Error)
	}
	e.snk.SetOptions(memoryHook(nil, e.clock.Now))
}

// TestRecoveredCreatesCountedOnce: the creates an interrupted run wrote but
// did not record are linked by the rerun's intents recovery and counted
// there, once: the rerun's reading of those records does not count them
// again.
func TestRecoveredCreatesCountedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.seed(300)
		crashAfter(t, e, 150) // batch 1 (100) committed, 49 of batch 2 written
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if want := (state.Counts{Linked: 49, Created: 151}); res.Counts != want {
			t.Errorf("rerun: %+v, want %+v", res.Counts, want)
		}
		linked := 0
		for _, d := range res.Plan {
			if d.Action == state.ActionLink && d.Reason == "recovered a create an interrupted run had written" {
				linked++
			}
		}
		if linked != 49 {
			t.Errorf("the rerun's decisions list %d recovered creates, want 49", linked)
		}
		if res := e.runOK(engine.RunParams{}); res.Counts != (state.Counts{}) {
			t.Errorf("run after: %+v, want nothing", res.Counts)
		}
	})
}

// TestRecoveredCreateKeepsALaterEdit: a record an interrupted run created
// and did not record, then edited on its side before the rerun, keeps the
// edit when the conflict policy says so (newest): the rerun does not take
// the edited record as the pair's last synced state, which would make the
// unchanged source record look changed and overwrite the edit.
func TestRecoveredCreateKeepsALaterEdit(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.Conflict = config.Conflict{Policy: config.ConflictNewest}
		e := newEnv(t, open, p)
		e.seed(300)
		crashAfter(t, e, 150)
		edited := engine.CreateID("members", config.SideSink, "m00120")
		update(t, e.snk, "people", edited, map[string]any{"jobTitle": "Bendahara"})
		plan := e.runOK(engine.RunParams{DryRun: true})
		res := e.runOK(engine.RunParams{})
		if got := e.snk.S("people").All()[edited].Fields["jobTitle"]; got != "Bendahara" {
			t.Errorf("the sink edit was overwritten: jobTitle %v", got)
		}
		if got := e.src.S("members").All()["m00120"].Fields["title"]; got != "Bendahara" {
			t.Errorf("the sink edit was not pulled: title %v (run %+v)", got, res.Counts)
		}
		if plan.Counts.Updated != res.Counts.Updated {
			t.Errorf("dry run planned %d updates, the run made %d", plan.Counts.Updated, res.Counts.Updated)
		}
	})
}

// TestBothWaysDryRunPlansEveryPullCreate: a both-way dry run plans every
// sink record to create on the source, as the run then creates them.
func TestBothWaysDryRunPlansEveryPullCreate(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Both))
		e.seed(5)
		for i := range 20 {
			e.snk.S("people").Put(connectors.Record{ID: fmt.Sprintf("p%02d", i), Fields: map[string]any{
				"name": map[string]any{"firstName": fmt.Sprint("Orang", i)}, "emails": map[string]any{"primaryEmail": fmt.Sprintf("orang%d@crm.id", i)}}})
		}
		plan := e.runOK(engine.RunParams{DryRun: true})
		res := e.runOK(engine.RunParams{})
		if plan.Counts != res.Counts || res.Counts.Created != 25 {
			t.Errorf("dry run %+v, run %+v; want both to create 25", plan.Counts, res.Counts)
		}
	})
}
