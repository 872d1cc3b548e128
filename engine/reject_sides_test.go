package engine_test

import (
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// TestRejectOfASideNoLongerReadIsKept: a sink record rejected while the
// pipeline synced both ways keeps its reject through runs of the pipeline
// made push-only (which do not read the sink), and is retried when it
// syncs both ways again. Push-only runs used to clear it as "not written",
// and the record, behind the sink cursor, was never read again.
func TestRejectOfASideNoLongerReadIsKept(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		e := newEnv(t, open, p)
		e.seed(2)
		e.putInvalidPerson("p-bad")
		res := e.run(engine.RunParams{})[0]
		if res.Counts.Rejected != 1 {
			t.Fatalf("both ways: %+v, want the invalid sink record rejected", res.Counts)
		}
		p.Direction = config.Push
		e.runOK(engine.RunParams{})
		if rj := e.rejects(); len(rj) != 1 || rj[0].Key != "p-bad" || rj[0].Side != config.SideSink {
			t.Fatalf("after a push-only run, rejects = %+v, want the sink record's kept", rj)
		}
		p.Direction = config.Both
		res = e.run(engine.RunParams{})[0]
		if res.Counts.Rejected != 1 {
			t.Errorf("both ways again: %+v, want the sink record retried (and rejected again)", res.Counts)
		}
		// Fixed, it goes through.
		update(t, e.snk, "people", "p-bad", map[string]any{"invalid": false})
		res = e.runOK(engine.RunParams{})
		if res.Counts.Created != 1 || len(e.rejects()) != 0 {
			t.Errorf("after the fix: %+v, rejects %+v", res.Counts, e.rejects())
		}
	})
}
