package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/sqlitestore"
	"github.com/kelompok/pipe/engine/state/statetest"
)

func TestConformance(t *testing.T) {
	statetest.Run(t, statetest.Harness{
		NewDatabase: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nested", "dir", "state.db") },
		Open: func(ctx context.Context, path string) (state.Store, error) {
			return sqlitestore.Open(ctx, path)
		},
	})
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "state.db?mode=memory"} {
		if st, err := sqlitestore.Open(t.Context(), p); err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// BenchmarkCommit: one batch of 100 links + 100 audit rows + a cursor.
func BenchmarkCommit(b *testing.B) {
	st, err := sqlitestore.Open(b.Context(), filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	statetest.BenchmarkCommit(b, st)
}

// TestReleaseAfterTakeover: when another holder has taken the lock over
// (here forced by rewriting the row), release reports ErrLockLost and
// leaves the new holder's lock alone.
func TestReleaseAfterTakeover(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlitestore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	release, err := st.Lock(t.Context(), "members", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `UPDATE locks SET owner = 'b', token = 'b-token' WHERE pipeline = 'members'`); err != nil {
		t.Fatal(err)
	}
	if err := release(t.Context()); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("release after takeover = %v, want ErrLockLost", err)
	}
	if _, err := st.Lock(t.Context(), "members", "c", time.Minute); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("the new holder's lock was released: Lock = %v", err)
	}
}

// TestIntentGroupsMigration: intents recorded one row per record before
// migration 2 come back from Intents after it (a crashed run's pending
// creates survive an upgrade), and its down migration restores them.
func TestIntentGroupsMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	provider := func() *goose.Provider {
		p, err := goose.NewProvider(goose.DialectSQLite3, db, os.DirFS("migrations"),
			goose.WithTableName("pipe_migrations"), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := provider().UpTo(ctx, 1); err != nil {
		t.Fatalf("migration 1: %v", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO intents (pipeline, side, key, target_id, created_at) VALUES
		('members', 'sink', 'm-2', 't-2', 1700000000000000), ('members', 'sink', 'm-"1', 't-1', 1700000000000001),
		('events', 'source', 'e-1', 's-1', 1700000000000002)`); err != nil {
		t.Fatal(err)
	}

	st, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	got, err := st.Intents(ctx, "members")
	if err != nil {
		t.Fatal(err)
	}
	want := []state.Intent{
		{Pipeline: "members", Side: "sink", Key: `m-"1`, TargetID: "t-1", CreatedAt: time.UnixMicro(1700000000000001).UTC()},
		{Pipeline: "members", Side: "sink", Key: "m-2", TargetID: "t-2", CreatedAt: time.UnixMicro(1700000000000000).UTC()},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Intents after the upgrade = %+v\nwant %+v", got, want)
	}
	if got, _ := st.Intents(ctx, "events"); len(got) != 1 || got[0].TargetID != "s-1" {
		t.Fatalf("Intents(events) after the upgrade = %+v", got)
	}

	// A later group replaces an earlier one's key; down keeps the latest.
	if err := st.IntentsAdd(ctx, []state.Intent{{Pipeline: "members", Side: "sink", Key: "m-2", TargetID: "t-2b", CreatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := provider().DownTo(ctx, 1); err != nil {
		t.Fatalf("down to migration 1: %v", err)
	}
	var target string
	if err := db.QueryRowContext(ctx, `SELECT target_id FROM intents WHERE pipeline = 'members' AND key = 'm-2'`).Scan(&target); err != nil || target != "t-2b" {
		t.Fatalf("after down, m-2's target = %q (%v), want t-2b", target, err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM intents`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("after down, %d intents (%v), want 3", n, err)
	}
}

// TestConcurrentCommitsOfManyShapes: commits of different sizes (so
// different multi-row statement shapes, prepared and cached as they come)
// from several goroutines at once, beside a lock's heartbeat, all go
// through and nothing waits forever on the writer's one connection.
func TestConcurrentCommitsOfManyShapes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	release, err := st.Lock(ctx, "p0", "test", 30*time.Millisecond) // refreshed every 10 ms
	if err != nil {
		t.Fatal(err)
	}
	defer release(ctx)
	const workers, commits = 6, 15
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			p := fmt.Sprintf("p%d", w)
			run, err := st.RunCreate(ctx, state.Run{Pipeline: p})
			if err != nil {
				errs <- err
				return
			}
			for c := range commits {
				n := 1 + (w*commits+c)%140 // 1..140 rows: up to two chunks of links
				b := state.Batch{Pipeline: p, RunID: run}
				for i := range n {
					k := fmt.Sprintf("%d-%d", c, i)
					b.Links = append(b.Links, state.Link{SourceKey: "s" + k, SinkKey: "t" + k, Base: map[string]any{"n": k}})
					b.Audit = append(b.Audit, state.AuditEntry{SourceKey: "s" + k, Action: state.ActionCreate})
				}
				if err := st.IntentsAdd(ctx, []state.Intent{{Pipeline: p, Side: "sink", Key: "s" + fmt.Sprint(c), TargetID: "x"}}); err != nil {
					errs <- err
					return
				}
				b.IntentsDone = []state.Intent{{Side: "sink", Key: "s" + fmt.Sprint(c)}}
				if err := st.Commit(ctx, b); err != nil {
					errs <- fmt.Errorf("%s commit %d (%d rows): %w", p, c, n, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for w := range workers {
		p := fmt.Sprintf("p%d", w)
		want := 0
		for c := range commits {
			want += 1 + (w*commits+c)%140
		}
		if n, err := st.LinkCount(ctx, p); err != nil || n != want {
			t.Errorf("%s: %d links (%v), want %d", p, n, err, want)
		}
		if in, err := st.Intents(ctx, p); err != nil || len(in) != 0 {
			t.Errorf("%s: intents left %v (%v)", p, in, err)
		}
	}
}
