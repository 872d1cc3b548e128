package engine_test

import (
	"context"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// TestRejectIsDecidedOncePerRun: a run retries the open rejects first and
// then reads changes; a rejected record that the read returns again (a
// --full run, or a record changed since) is the same version the retry
// just decided, so it is neither decided, counted nor audited twice.
func TestRejectIsDecidedOncePerRun(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.seed(10)
		update(t, e.src, "members", "m00004", map[string]any{"invalid": true})
		if res := e.run(engine.RunParams{})[0]; res.Counts.Rejected != 1 {
			t.Fatalf("first run: %+v", res.Counts)
		}
		check := func(name string, params engine.RunParams, retries int) {
			t.Helper()
			res := e.run(params)[0]
			if res.Counts.Rejected != 1 {
				t.Errorf("%s: rejected %d, want 1 (%+v)", name, res.Counts.Rejected, res.Counts)
			}
			audit, err := e.store.AuditList(context.Background(), res.RunID)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, a := range audit {
				if a.SourceKey == "m00004" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: %d audit rows for m00004, want 1: %+v", name, n, audit)
			}
			rejects, _ := e.store.Rejects(context.Background(), "members")
			if len(rejects) != 1 || rejects[0].Retries != retries {
				t.Errorf("%s: rejects = %+v, want m00004 with %d retries", name, rejects, retries)
			}
		}
		check("full run", engine.RunParams{Full: true}, 1)
		// Changed, and still refused: read by both the retry and the
		// incremental read.
		update(t, e.src, "members", "m00004", map[string]any{"title": "Ketua"})
		check("incremental run after a change", engine.RunParams{}, 2)
	})
}
