package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// TestAbandonedRunIsClosed: a run whose process was killed stays recorded
// as running; the next run of the pipeline (which holds the lock, so no
// other run of it is alive) records it as failed, saying why, and leaves
// finished runs and other pipelines' runs alone.
func TestAbandonedRunIsClosed(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.seed(3)
		ctx := context.Background()
		done := e.runOK(engine.RunParams{})
		killed, err := e.store.RunCreate(ctx, state.Run{Pipeline: "members", Trigger: "cli", StartedAt: time.Now().UTC(), Status: state.RunRunning})
		if err != nil {
			t.Fatal(err)
		}
		other, err := e.store.RunCreate(ctx, state.Run{Pipeline: "elsewhere", Trigger: "cli", StartedAt: time.Now().UTC(), Status: state.RunRunning})
		if err != nil {
			t.Fatal(err)
		}
		e.runOK(engine.RunParams{})
		got, _ := e.store.RunGet(ctx, killed)
		if got.Status != state.RunFailed || got.FinishedAt == nil || !strings.Contains(got.Error, "abandoned") {
			t.Errorf("killed run after the next run: %+v", got)
		}
		if got, _ := e.store.RunGet(ctx, done.RunID); got.Status != state.RunSucceeded || got.Error != "" {
			t.Errorf("finished run changed: %+v", got)
		}
		if got, _ := e.store.RunGet(ctx, other); got.Status != state.RunRunning {
			t.Errorf("another pipeline's run changed: %+v", got)
		}
	})
}
