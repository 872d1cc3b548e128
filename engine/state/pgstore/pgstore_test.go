package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/pgstore"
	"github.com/kelompok/pipe/engine/state/statetest"
	"github.com/kelompok/pipe/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	statetest.Run(t, statetest.Harness{
		NewDatabase: func(t *testing.T) string { return pgtest.URL(t) },
		Open: func(ctx context.Context, url string) (state.Store, error) {
			return pgstore.Open(ctx, url)
		},
	})
}

// TestOpenErrorsHidePassword checks that a bad or unreachable URL is
// reported without the password in it.
func TestOpenErrorsHidePassword(t *testing.T) {
	for _, url := range []string{
		"postgres://pipe:s3cr3t-pw@127.0.0.1:1/pipe?sslmode=disable&connect_timeout=2",
		"postgres://pipe:s3cr3t-pw@127.0.0.1:1/pipe?sslmode=bogus",
		"host=127.0.0.1 port=1 password=s3cr3t-pw connect_timeout=2 sslmode=disable",
	} {
		st, err := pgstore.Open(t.Context(), url)
		if err == nil {
			st.Close()
			t.Fatalf("Open(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// BenchmarkCommit: one batch of 100 links + 100 audit rows + a cursor.
func BenchmarkCommit(b *testing.B) {
	st, err := pgstore.Open(b.Context(), pgtest.URL(b))
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
	st, err := pgstore.Open(t.Context(), pgtest.URL(t))
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
	if _, err := st.Pool().Exec(t.Context(), `UPDATE locks SET owner = 'b', token = 'b-token' WHERE pipeline = 'members'`); err != nil {
		t.Fatal(err)
	}
	if err := release(t.Context()); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("release after takeover = %v, want ErrLockLost", err)
	}
	if _, err := st.Lock(t.Context(), "members", "c", time.Minute); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("the new holder's lock was released: Lock = %v", err)
	}
}
