package pgstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/pgstore"
	"github.com/kelompok/pipe/internal/pgtest"
)

// TestLostLockIsNotKeptAlive: a holder whose lock was taken over keeps
// refreshing only its own token, so the new holder's lease lapses on its
// own schedule (here the new holder is a rewritten row that never
// refreshes) and a third process gets the lock after the ttl.
func TestLostLockIsNotKeptAlive(t *testing.T) {
	st, err := pgstore.Open(t.Context(), pgtest.URL(t))
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
	if _, err := st.Pool().Exec(t.Context(), `UPDATE locks SET owner = 'b', token = 'b-token' WHERE pipeline = 'members'`); err != nil {
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
