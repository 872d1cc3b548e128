package sqlitestore_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/sqlitestore"
)

// TestLostLockIsNotKeptAlive: a holder whose lock was taken over keeps
// refreshing only its own token, so the new holder's lease lapses on its
// own schedule (here the new holder is a rewritten row that never
// refreshes) and a third process gets the lock after the ttl.
func TestLostLockIsNotKeptAlive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlitestore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	const ttl = 300 * time.Millisecond
	release, err := st.Lock(t.Context(), "members", "a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `UPDATE locks SET owner = 'b', token = 'b-token' WHERE pipeline = 'members'`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * ttl)
	for {
		rel, err := st.Lock(t.Context(), "members", "c", ttl)
		if err == nil {
			_ = rel(t.Context())
			break
		}
		if !errors.Is(err, state.ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("the taken-over lock is still held %v after its ttl (%v): the old holder's refreshes keep it alive", 10*ttl, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := release(t.Context()); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("release by the old holder = %v, want ErrLockLost", err)
	}
}
