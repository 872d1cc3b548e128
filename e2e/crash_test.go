package e2e

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors/twenty/emulator"
)

// Twenty applies the k-th batch create of a run and the answer is lost (a 500
// after applying, or a dropped connection). Either the connector's retry
// settles it within the run ("retry"), or the process dies right then
// ("crash": the run's context is cancelled the moment the fault fires, so
// the write is in Twenty but no link was committed). Either way the next
// run converges with no duplicate person and nobody missing, because
// creates carry deterministic ids recorded as intents first.
func TestCrashAfterTheKthWriteLeavesNoDuplicate(t *testing.T) {
	for _, crash := range []bool{false, true} {
		for _, k := range []int{1, 3} {
			for _, kind := range []emulator.FaultKind{emulator.FaultErrorAfterApply, emulator.FaultDropAfterApply} {
				mode := "retry"
				if crash {
					mode = "crash"
				}
				t.Run(fmt.Sprintf("%s/%s/write %d", mode, kind, k), func(t *testing.T) {
					crashAfterWrite(t, k, kind, crash)
				})
			}
		}
	}
}

func crashAfterWrite(t *testing.T, k int, kind emulator.FaultKind, crash bool) {
	// Batches of 10 members: several create calls per run.
	e := newEnv(t, options{preexisting: 3, tune: func(cfg *config.Config) { cfg.Pipelines["members"].BatchSize = 10 }})
	e.run("organizations")
	e.twenty.SetFaults(emulator.Faults{Script: []emulator.ScriptedFault{{On: emulator.Writes, Route: "POST /rest/batch/people", Nth: k, Kind: kind}}})

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	if crash {
		go func() {
			for ctx.Err() == nil && e.twenty.Stats().Faults[kind] == 0 {
				runtime.Gosched()
			}
			cancel()
		}()
	}
	faulty, err := e.eng.Run(ctx, runMembers)
	if hit := e.twenty.Stats().Faults[kind]; hit != 1 {
		t.Fatalf("the emulator injected %d %s faults, want 1", hit, kind)
	}
	t.Logf("faulty run: %+v (err %v)", faulty, err)
	cancel()
	e.twenty.SetFaults(emulator.Faults{})
	e.run("members")

	checkConverged(t, e)
	if n := writes(e.run("members")); n != 0 {
		t.Errorf("the run after recovery wrote %d records", n)
	}
}
