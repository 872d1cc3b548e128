package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

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
