package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kelompok/pipe/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestURLGivesIsolatedDatabases proves the harness: two databases from URL
// are reachable with pgx, empty, and do not see each other's tables; after
// the subtest ends its database is gone.
func TestURLGivesIsolatedDatabases(t *testing.T) {
	ctx := context.Background()
	var firstName string
	t.Run("first", func(t *testing.T) {
		conn := connect(t, pgtest.URL(t))
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&firstName); err != nil {
			t.Fatalf("current_database: %v", err)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE marker (id int PRIMARY KEY)"); err != nil {
			t.Fatalf("create table: %v", err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO marker VALUES ($1)", 42); err != nil {
			t.Fatalf("insert: %v", err)
		}
		var got int
		if err := conn.QueryRow(ctx, "SELECT id FROM marker").Scan(&got); err != nil || got != 42 {
			t.Fatalf("select = %d, %v; want 42", got, err)
		}
	})

	conn := connect(t, pgtest.URL(t))
	var name string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatalf("current_database: %v", err)
	}
	if name == firstName {
		t.Fatalf("two calls to URL returned the same database %q", name)
	}
	var tables int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables); err != nil {
		t.Fatalf("count tables: %v", err)
	}
	if tables != 0 {
		t.Fatalf("new database %s has %d tables in public, want an empty database", name, tables)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", firstName).Scan(&exists); err != nil {
		t.Fatalf("look up dropped database: %v", err)
	}
	if exists {
		t.Fatalf("database %s of a finished test still exists; want it dropped at cleanup", firstName)
	}
}

// TestPool checks that Pool returns a working pool on its own database.
func TestPool(t *testing.T) {
	pool := pgtest.Pool(t)
	var v int
	if err := pool.QueryRow(context.Background(), "SELECT 40 + $1::int", 2).Scan(&v); err != nil {
		t.Fatalf("query: %v", err)
	}
	if v != 42 {
		t.Fatalf("SELECT 40 + 2 = %d", v)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
