package engine_test

import (
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// TestPairDeletedOnBothSidesCountedOnce: a both-way run reads a pair
// deleted on both sides from each side; it is one skip, audited once.
func TestPairDeletedOnBothSidesCountedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		for _, policy := range []string{config.DeleteIgnore, config.DeleteSoft, config.DeletePropagate} {
			p := members(config.Both)
			p.Delete = config.Delete{Policy: policy}
			e := newEnv(t, open, p)
			e.seed(3)
			e.runOK(engine.RunParams{})
			del(t, e.src, "members", "m00001")
			del(t, e.snk, "people", e.person("m00001").ID)
			res := e.runOK(engine.RunParams{})
			if res.Counts != (state.Counts{Skipped: 1}) {
				t.Errorf("%s: counts %+v, want one skip", policy, res.Counts)
			}
			audit := e.audit(res.RunID)
			if len(audit) != 1 || audit[0].Reason != "deleted on both sides" {
				t.Errorf("%s: audit %+v, want one row", policy, audit)
			}
		}
	})
}
