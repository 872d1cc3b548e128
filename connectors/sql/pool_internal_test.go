package sql

// Tests of the postgres pool size (maxConns), set in a .cue file and read
// through config.Load as the engine does; the pool is looked at from inside.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/internal/pgtest"
)

// withParam adds a query parameter to a PostgreSQL URL or DSN.
func withParam(url, name, value string) string {
	switch {
	case !strings.Contains(url, "://"):
		return url + " " + name + "=" + value
	case strings.Contains(url, "?"):
		return url + "&" + name + "=" + value
	}
	return url + "?" + name + "=" + value
}

// loadPostgres loads a configuration whose connection db is the postgres
// connection {kind: "postgres", url: {env: "TEST_POOL_URL"}} with extra
// fields, and returns its params.
func loadPostgres(t *testing.T, extra string) (map[string]any, error) {
	t.Helper()
	dir := t.TempDir()
	src := "package pipe\n\nconnections: db: {kind: \"postgres\", url: {env: \"TEST_POOL_URL\"}" + extra + "}\n"
	if err := os.WriteFile(filepath.Join(dir, "conn.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(context.Background(), dir)
	if err != nil {
		return nil, err
	}
	return cfg.Connections["db"].Params, nil
}

// TestPostgresMaxConns: maxConns in the .cue file is the pool size, and wins
// over pool_max_conns in the URL, which decides without it; the schema
// refuses a maxConns below 1 and the connector one that is not a whole
// number from Go.
func TestPostgresMaxConns(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, url, extra string
		want             int32
	}{
		{"maxConns", url, ", maxConns: 3", 3},
		{"maxConns over pool_max_conns", withParam(url, "pool_max_conns", "7"), ", maxConns: 2", 2},
		{"pool_max_conns alone", withParam(url, "pool_max_conns", "7"), "", 7},
	} {
		t.Setenv("TEST_POOL_URL", tc.url)
		params, err := loadPostgres(t, tc.extra)
		if err != nil {
			t.Fatalf("%s: config.Load: %v", tc.name, err)
		}
		c, err := connectors.Default.Open(ctx, "postgres", connectors.OpenParams{Name: "db", Config: params, Secrets: secrets.Env{}})
		if err != nil {
			t.Fatalf("%s: open: %v", tc.name, err)
		}
		if got := c.(*conn).db.(pgDB).pool.Config().MaxConns; got != tc.want {
			t.Errorf("%s: pool size %d, want %d", tc.name, got, tc.want)
		}
		_ = c.Close()
	}

	t.Setenv("TEST_POOL_URL", url)
	for _, extra := range []string{", maxConns: 0", `, maxConns: "4"`, ", maxConns: 2.5"} {
		if _, err := loadPostgres(t, extra); err == nil || !strings.Contains(err.Error(), "maxConns") {
			t.Errorf("config.Load with %q: err = %v, want one about maxConns", extra, err)
		}
	}
	for _, bad := range []any{int64(0), -1, 2.5, "4", json.Number("1e3"), float64(1 << 40)} {
		_, err := connectors.Default.Open(ctx, "postgres", connectors.OpenParams{Name: "db", Secrets: secrets.Env{}, Config: map[string]any{
			"url": map[string]any{"env": "TEST_POOL_URL"}, "maxConns": bad,
		}})
		if err == nil || !strings.Contains(err.Error(), "maxConns") {
			t.Errorf("open with maxConns %#v: err = %v, want one about maxConns", bad, err)
		}
	}
}
