package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

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
