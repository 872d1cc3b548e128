package sql_test

import (
	"context"
	stdsql "database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kelompok/pipe/connectors"
	_ "github.com/kelompok/pipe/connectors/sql"
	"github.com/kelompok/pipe/engine/secrets"
	"github.com/kelompok/pipe/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend is one real database the suite runs against.
type backend struct {
	kind string
	// newDB creates a fresh empty database and returns the connection
	// params locating it and a function running SQL on it directly.
	newDB func(t *testing.T) (params map[string]any, exec func(q string, args ...any))
	// types replaces the type words of the test DDL.
	types *strings.Replacer
	// encode turns a Go test value into what the database stores.
	encode func(v any) any
	param  func(n int) string
}

var backends = []backend{
	{
		kind: "sqlite",
		newDB: func(t *testing.T) (map[string]any, func(string, ...any)) {
			path := filepath.Join(t.TempDir(), "test.db")
			db, err := stdsql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return map[string]any{"path": path}, func(q string, args ...any) {
				t.Helper()
				if _, err := db.Exec(q, args...); err != nil {
					t.Fatalf("sqlite: %v\n%s", err, q)
				}
			}
		},
		types: strings.NewReplacer("@UUID", "TEXT", "@TS", "TEXT", "@TEXTS", "TEXT", "@JSON", "TEXT",
			"@BOOL", "INTEGER", "@FLOAT", "REAL", "@SERIAL", "INTEGER", "@SCHEMA.", "main."),
		encode: func(v any) any {
			switch x := v.(type) {
			case time.Time:
				return x.UTC().Format("2006-01-02T15:04:05.000000Z")
			case []string:
				b, _ := json.Marshal(x)
				return string(b)
			case map[string]any:
				b, _ := json.Marshal(x)
				return string(b)
			case bool:
				if x {
					return 1
				}
				return 0
			}
			return v
		},
		param: func(n int) string { return fmt.Sprintf("?%d", n) },
	},
	{
		kind: "postgres",
		newDB: func(t *testing.T) (map[string]any, func(string, ...any)) {
			url := pgtest.URL(t)
			conn, err := pgx.Connect(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close(context.Background()) })
			t.Setenv("TEST_KELOMPOK_URL", url)
			return map[string]any{"url": map[string]any{"env": "TEST_KELOMPOK_URL"}}, func(q string, args ...any) {
				t.Helper()
				if _, err := conn.Exec(context.Background(), q, args...); err != nil {
					t.Fatalf("postgres: %v\n%s", err, q)
				}
			}
		},
		types: strings.NewReplacer("@UUID", "uuid", "@TS", "timestamptz", "@TEXTS", "text[]", "@JSON", "jsonb",
			"@BOOL", "boolean", "@FLOAT", "double precision", "@SERIAL", "bigserial", "@SCHEMA.", "komunitas."),
		encode: func(v any) any { return v },
		param:  func(n int) string { return fmt.Sprintf("$%d", n) },
	},
}

// db is one test database with the suite's schema and an open connection.
type db struct {
	t    *testing.T
	b    backend
	exec func(q string, args ...any)
	conn connectors.Connection
}

// setup creates the database, runs ddl (with @-type words replaced) and
// opens a connection of b.kind with the given streams config.
func setup(t *testing.T, b backend, ddl string, streams map[string]any) *db {
	t.Helper()
	params, exec := b.newDB(t)
	if b.kind == "postgres" {
		exec("CREATE SCHEMA komunitas")
	}
	for _, stmt := range strings.Split(b.types.Replace(ddl), ";") {
		if strings.TrimSpace(stmt) != "" {
			exec(stmt)
		}
	}
	params["kind"] = b.kind
	params["streams"] = streams
	conn, err := connectors.Default.Open(context.Background(), b.kind, connectors.OpenParams{
		Name: "kelompok", Config: params, Secrets: secrets.Env{},
	})
	if err != nil {
		t.Fatalf("open %s: %v", b.kind, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &db{t: t, b: b, exec: exec, conn: conn}
}

// insert adds one row directly, bypassing the connector. table may be
// schema-qualified with @SCHEMA.
func (d *db) insert(table string, row map[string]any) {
	d.t.Helper()
	cols := make([]string, 0, len(row))
	for c := range row {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	quoted := make([]string, len(cols))
	ps := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
		ps[i] = d.b.param(i + 1)
		args[i] = d.b.encode(row[c])
	}
	d.exec(fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", d.b.types.Replace(table), strings.Join(quoted, ", "), strings.Join(ps, ", ")), args...)
}

func (d *db) stream(name string) connectors.Stream {
	d.t.Helper()
	s, err := d.conn.Stream(context.Background(), name)
	if err != nil {
		d.t.Fatalf("stream %s: %v", name, err)
	}
	return s
}

// each runs f as a subtest per backend.
func each(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.kind, func(t *testing.T) { f(t, b) })
	}
}

// readAll pages through a stream with the given page size.
func readAll(t *testing.T, s connectors.Stream, limit int, deleted bool) []connectors.Record {
	t.Helper()
	var out []connectors.Record
	var after connectors.Position
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("read does not end")
		}
		p, err := s.Read(context.Background(), connectors.ReadRequest{After: after, Limit: limit, IncludeDeleted: deleted})
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if len(p.Records) > limit {
			t.Fatalf("page of %d records, limit %d", len(p.Records), limit)
		}
		out = append(out, p.Records...)
		if len(p.Records) > 0 {
			after = connectors.PositionOf(p.Records[len(p.Records)-1])
		}
		if !p.More {
			return out
		}
	}
}

func ids(recs []connectors.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}
