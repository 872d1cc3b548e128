// Package pgtest gives tests a fresh, empty, isolated PostgreSQL database.
//
// Every call to URL (or Pool) creates a new database named pipe_test_<random>
// and drops it when the test ends. The databases live on the server named by
// PIPE_TEST_DATABASE_URL (its user needs CREATEDB); when that variable is
// unset, the package starts a throwaway cluster of its own, once per test
// binary, from the newest /usr/lib/postgresql/*/bin (or PIPE_TEST_PG_BIN, or
// initdb on PATH), on a free port of 127.0.0.1 in a temporary directory.
// Because initdb refuses to run as root, under root the server runs as the
// unprivileged user "pipetest" (created with useradd when absent) or, failing
// that, "nobody".
//
// A package whose tests use pgtest stops that cluster with a TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// The server is also started with a parent-death signal, so it quits even
// when the test binary is killed.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the environment variable holding the URL of a PostgreSQL
// server to create test databases on, instead of starting one.
const EnvURL = "PIPE_TEST_DATABASE_URL"

// Main runs the tests of m and then stops the cluster this package may have
// started, and exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// ServerURL returns the URL of the server test databases are created on,
// starting the throwaway cluster on first use when PIPE_TEST_DATABASE_URL is
// unset. The URL names the server's administrative database; tests should
// use URL instead, which gives them a database of their own.
func ServerURL() (string, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return u, nil
	}
	return local.url()
}

// URL returns a connection URL to a new, empty database that is dropped when
// t and its subtests finish. It fails t when no server can be reached or
// started.
func URL(t testing.TB) string {
	t.Helper()
	server, err := ServerURL()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, dbURL, err := createDatabase(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, server, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dbURL
}

// Pool returns a pool connected to a new, empty database (as URL does). The
// pool is closed, then the database dropped, when t finishes.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dbURL := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		t.Fatalf("pgtest: ping new database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// createDatabase creates pipe_test_<random> on the server and returns its
// name and URL.
func createDatabase(ctx context.Context, server string) (name, dbURL string, err error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", fmt.Errorf("%s must be a postgres:// URL (got an unparsable value)", EnvURL)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("random database name: %w", err)
	}
	name = "pipe_test_" + hex.EncodeToString(b[:])

	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", "", fmt.Errorf("connect to test server %s: %w", redact(u), err)
	}
	defer conn.Close(context.Background())
	// template0 avoids "source database is being accessed by other users"
	// when template1 is in use.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		return "", "", fmt.Errorf("create test database %s on %s (the user needs CREATEDB): %w", name, redact(u), err)
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

// dropDatabase drops a test database, ending its sessions first.
func dropDatabase(ctx context.Context, server, name string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connect to drop test database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop test database %s: %w", name, err)
	}
	return nil
}

// redact returns u without its password, for error messages.
func redact(u *url.URL) string { return u.Redacted() }

// errNoBinaries is wrapped by the error returned when no server binaries are
// found.
var errNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) found")
