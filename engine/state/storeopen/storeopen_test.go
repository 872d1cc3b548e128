package storeopen_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/storeopen"
	"github.com/kelompok/pipe/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// envResolver resolves env references from a map: the real providers live
// in another package; this keeps the test to storeopen's own logic.
type envResolver map[string]string

func (r envResolver) Resolve(_ context.Context, ref secrets.Ref) (secrets.Value, error) {
	v, ok := r[ref.Env]
	if !ok {
		return secrets.Value{}, fmt.Errorf("environment variable %s is not set", ref.Env)
	}
	return secrets.New(v), nil
}

func usable(t *testing.T, st state.Store) {
	t.Helper()
	defer st.Close()
	id, err := st.RunCreate(t.Context(), state.Run{Pipeline: "members", Trigger: "cli"})
	if err != nil {
		t.Fatalf("store not migrated/usable: %v", err)
	}
	if r, err := st.RunGet(t.Context(), id); err != nil || r.Pipeline != "members" {
		t.Fatalf("RunGet = %+v, %v", r, err)
	}
}

func TestOpenSQLite(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "abs", "state.db")
	for _, tc := range []struct {
		name string
		cfg  config.State
		want func(dir string) string
	}{
		{"default", config.State{}, func(dir string) string { return filepath.Join(dir, ".pipe", "state.db") }},
		{"sqlite kind, default path", config.State{Kind: "sqlite"}, func(dir string) string { return filepath.Join(dir, ".pipe", "state.db") }},
		{"relative path", config.State{Kind: "sqlite", Path: "var/pipe state.db"}, func(dir string) string { return filepath.Join(dir, "var", "pipe state.db") }},
		{"absolute path", config.State{Kind: "sqlite", Path: abs}, func(string) string { return abs }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := storeopen.Open(t.Context(), tc.cfg, dir, nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			usable(t, st)
			if _, err := os.Stat(tc.want(dir)); err != nil {
				t.Fatalf("state file not where expected: %v", err)
			}
		})
	}
}

func TestOpenPostgres(t *testing.T) {
	url := pgtest.URL(t)
	cfg := config.State{Kind: "postgres", URL: &secrets.Ref{Env: "PIPE_STATE_URL"}}
	st, err := storeopen.Open(t.Context(), cfg, t.TempDir(), envResolver{"PIPE_STATE_URL": url})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	usable(t, st)
}

func TestOpenErrors(t *testing.T) {
	const secret = "postgres://pipe:hunter2-secret@127.0.0.1:1/pipe?sslmode=disable&connect_timeout=2"
	for _, tc := range []struct {
		name     string
		cfg      config.State
		resolver secrets.Resolver
		want     string
	}{
		{"unknown kind", config.State{Kind: "mysql"}, nil, `unknown kind "mysql"`},
		{"postgres without url", config.State{Kind: "postgres"}, envResolver{}, "needs url"},
		{"postgres without resolver", config.State{Kind: "postgres", URL: &secrets.Ref{Env: "X"}}, nil, "no secret resolver"},
		{"unresolvable url", config.State{Kind: "postgres", URL: &secrets.Ref{Env: "MISSING"}}, envResolver{}, "env:MISSING"},
		{"empty url", config.State{Kind: "postgres", URL: &secrets.Ref{Env: "EMPTY"}}, envResolver{"EMPTY": ""}, "is empty"},
		{"unreachable server", config.State{Kind: "postgres", URL: &secrets.Ref{Env: "U"}}, envResolver{"U": secret}, "cannot connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := storeopen.Open(t.Context(), tc.cfg, t.TempDir(), tc.resolver)
			if err == nil {
				st.Close()
				t.Fatalf("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	// A state path under a regular file cannot be created.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := storeopen.Open(t.Context(), config.State{Path: "file/state.db"}, dir, nil)
	if err == nil {
		t.Fatalf("Open of a state path under a regular file succeeded")
	}
}
