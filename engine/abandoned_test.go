package engine_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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
		// The killed run had committed two creates.
		at := time.Now().UTC().Add(time.Minute)
		if err := e.store.Commit(ctx, state.Batch{Pipeline: "members", RunID: killed, Audit: []state.AuditEntry{
			{RunID: killed, At: at.Add(-time.Second), SourceKey: "a", Action: state.ActionCreate},
			{RunID: killed, At: at, SourceKey: "b", Action: state.ActionCreate}}}); err != nil {
			t.Fatal(err)
		}
		e.runOK(engine.RunParams{})
		got, _ := e.store.RunGet(ctx, killed)
		if got.Status != state.RunFailed || got.FinishedAt == nil || !strings.Contains(got.Error, "abandoned") {
			t.Errorf("killed run after the next run: %+v", got)
		}
		if got.Counts.Created != 2 || got.FinishedAt == nil || !got.FinishedAt.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("killed run's counts %+v and end %v: want 2 created, ending at its last audit row %v", got.Counts, got.FinishedAt, at)
		}
		if got, _ := e.store.RunGet(ctx, done.RunID); got.Status != state.RunSucceeded || got.Error != "" {
			t.Errorf("finished run changed: %+v", got)
		}
		if got, _ := e.store.RunGet(ctx, other); got.Status != state.RunRunning {
			t.Errorf("another pipeline's run changed: %+v", got)
		}
	})
}

// TestLockOfADeadProcessIsTakenOver: a run killed on this host leaves its
// pipeline locked; the next run sees that the holder's process no longer
// exists and takes the lock at once instead of failing until it lapses. A
// holder whose process is alive, or on another host, keeps it.
func TestLockOfADeadProcessIsTakenOver(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	// Killed and not yet reaped by its parent: a zombie, dead all the same.
	unreaped := exec.Command("sleep", "60")
	if err := unreaped.Start(); err != nil {
		t.Fatal(err)
	}
	_ = unreaped.Process.Kill()
	t.Cleanup(func() { _ = unreaped.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", unreaped.Process.Pid)); strings.Contains(string(b), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed process did not become a zombie")
		}
	}
	alive := exec.Command("sleep", "60")
	if err := alive.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = alive.Process.Kill(); _ = alive.Wait() })
	for _, tc := range []struct {
		name   string
		holder string
		taken  bool
	}{
		{"dead process of this host", fmt.Sprintf("%s:%d", host, exited.Process.Pid), true},
		{"killed process of this host not yet reaped", fmt.Sprintf("%s:%d", host, unreaped.Process.Pid), true},
		{"live process of this host", fmt.Sprintf("%s:%d", host, alive.Process.Pid), false},
		{"process of another host", fmt.Sprintf("%s-elsewhere:%d", host, exited.Process.Pid), false},
		{"another owner form", "scheduler-1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, storeKinds[0].open, members(config.Push))
			e.seed(3)
			release, err := e.store.Lock(context.Background(), "members", tc.holder, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = release(context.Background()) }()
			res := e.run(engine.RunParams{})[0]
			if tc.taken {
				if res.Status != state.RunSucceeded || res.Counts.Created != 3 {
					t.Fatalf("run after a dead holder: %s %q %+v", res.Status, res.Error, res.Counts)
				}
				return
			}
			want := fmt.Sprintf(`pipeline "members" is already running (its lock is held by %q until `, tc.holder)
			if res.Status != state.RunFailed || !strings.HasPrefix(res.Error, want) || !strings.HasSuffix(res.Error, " unless refreshed); try again when it has finished") {
				t.Fatalf("run while %s holds the lock: %s %q", tc.holder, res.Status, res.Error)
			}
		})
	}
}
