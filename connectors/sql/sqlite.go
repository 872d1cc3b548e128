package sql

import (
	"context"
	stdsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kelompok/pipe/connectors"
)

// OpenSQLite opens a "sqlite" connection. Params:
//
//	path:    the database file, relative to the config directory; a plain
//	         string or a #Secret reference. ":memory:" is a private
//	         in-memory database (one connection).
//	streams: {<name>: StreamConfig}
//
// The file is opened with WAL journaling, a 10 s busy timeout, foreign keys
// on and immediate write transactions.
func OpenSQLite(ctx context.Context, p connectors.OpenParams) (connectors.Connection, error) {
	v, ok, err := resolveString(ctx, p, "path")
	if err != nil {
		return nil, err
	}
	if !ok || v.IsZero() {
		return nil, fmt.Errorf("path is missing: set path to the SQLite database file")
	}
	cfgs, err := streamConfigs(p.Config)
	if err != nil {
		return nil, err
	}
	path := v.Reveal()
	memory := path == ":memory:"
	if !memory {
		path = p.Path(path)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if !memory {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Set("_txlock", "immediate")
	db, err := stdsql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	if memory {
		db.SetMaxOpenConns(1)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	return newConn(p, sqliteDialect{}, newSQLiteDB(db), cfgs), nil
}

// stdQueries runs statements on a database/sql pool or transaction.
type stdQueries struct{ q stdQuerier }

type stdQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error)
}

func (s stdQueries) query(ctx context.Context, sql string, args []any, each func([]any) error) error {
	rows, err := s.q.QueryContext(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := each(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s stdQueries) exec(ctx context.Context, sql string, args []any) (int64, error) {
	res, err := s.q.ExecContext(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

type sqliteDB struct {
	stdQueries
	db *stdsql.DB
}

func newSQLiteDB(db *stdsql.DB) sqliteDB { return sqliteDB{stdQueries{db}, db} }

func (d sqliteDB) begin(ctx context.Context) (txn, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqliteTx{stdQueries{tx}, tx}, nil
}

func (d sqliteDB) close() { _ = d.db.Close() }

type sqliteTx struct {
	stdQueries
	tx *stdsql.Tx
}

func (t sqliteTx) commit(context.Context) error   { return t.tx.Commit() }
func (t sqliteTx) rollback(context.Context) error { return t.tx.Rollback() }

// sqliteDialect is the SQLite dialect. Timestamps are stored as UTC text
// (sqliteTimeFormat), lists and JSON as JSON text, booleans as 0/1.
type sqliteDialect struct{}

// sqliteSortFormat is what strftime('%Y-%m-%d %H:%M:%f', ...) yields.
const sqliteSortFormat = "2006-01-02 15:04:05.000"

func (sqliteDialect) kind() string       { return "sqlite" }
func (sqliteDialect) param(n int) string { return "?" + strconv.Itoa(n) }
func (sqliteDialect) maxList() int       { return 500 }
func (sqliteDialect) textEncoded() bool  { return true }

func (d sqliteDialect) anyOf(expr string, vals []any, args []any) (string, []any) {
	ps := make([]string, len(vals))
	for i, v := range vals {
		args = append(args, v)
		ps[i] = d.param(len(args))
	}
	return fmt.Sprintf("%s IN (%s)", expr, strings.Join(ps, ", ")), args
}

func (d sqliteDialect) jsonPath(quoted string, path []string, n int) (string, any) {
	var b strings.Builder
	b.WriteString("$")
	for _, p := range path {
		b.WriteString(".")
		b.WriteString(strconv.Quote(p))
	}
	return fmt.Sprintf("CAST(json_extract(%s, %s) AS TEXT)", quoted, d.param(n)), b.String()
}

func (sqliteDialect) columns(ctx context.Context, db querier, table []string) ([]column, error) {
	schema, name := "main", table[0]
	if len(table) == 2 {
		schema, name = table[0], table[1]
	}
	const q = `SELECT name, type FROM pragma_table_info(?1, ?2) ORDER BY cid`
	var cols []column
	err := db.query(ctx, q, []any{name, schema}, func(vals []any) error {
		n, _ := decodeText(vals[0])
		t, _ := decodeText(vals[1])
		cols = append(cols, column{Name: n.(string), Type: sqliteType(t.(string)), DBType: t.(string)})
		return nil
	})
	return cols, err
}

// sqliteType maps a declared SQLite column type to a column type, by the
// words it contains (as SQLite's own affinity rules do).
func sqliteType(decl string) string {
	t := strings.ToUpper(decl)
	switch {
	case strings.Contains(t, "[]"), strings.Contains(t, "ARRAY"), strings.Contains(t, "LIST"):
		return TypeTextArray
	case strings.Contains(t, "UUID"):
		return TypeUUID
	case strings.Contains(t, "BOOL"):
		return TypeBool
	case strings.Contains(t, "INT"):
		return TypeInt
	case strings.Contains(t, "DATE"), strings.Contains(t, "TIME"):
		return TypeTimestamp
	case strings.Contains(t, "JSON"):
		return TypeJSON
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return TypeText
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"),
		strings.Contains(t, "NUMERIC"), strings.Contains(t, "DECIMAL"):
		return TypeFloat
	}
	return TypeText
}

// encode stores booleans as 0/1, timestamps as sqliteTimeFormat text, and
// lists and JSON as JSON text.
func (sqliteDialect) encode(c column, v any) (any, error) {
	x, err := encodeValue(c, v)
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case TypeBool:
		if x.(bool) {
			return int64(1), nil
		}
		return int64(0), nil
	case TypeTimestamp:
		return x.(time.Time).Format(sqliteTimeFormat), nil
	case TypeTextArray, TypeJSON:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("cannot write %T as JSON: %w", v, err)
		}
		return string(b), nil
	}
	return x, nil
}

func (sqliteDialect) lookupValue(c column, s string) (any, bool) {
	v, ok := parseLookup(c, s)
	if u, isUUID := v.(uuid.UUID); isUUID {
		return u.String(), true
	}
	return v, ok
}

func (sqliteDialect) now(c column, args []any) (string, []any) {
	var v any = time.Now().UTC().Format(sqliteTimeFormat)
	if c.Type == TypeInt {
		v = time.Now().Unix()
	}
	args = append(args, v)
	return sqliteDialect{}.param(len(args)), args
}

// sortExpr normalizes every SQLite time form (with or without zone, T or
// space, any fraction) to one sortable UTC text with milliseconds. An index
// on exactly this expression makes reads use it.
func (sqliteDialect) sortExpr(quoted string) (string, bool) {
	return "strftime('%Y-%m-%d %H:%M:%f', " + quoted + ")", true
}

func (sqliteDialect) parseSort(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("updated-at value is NULL or not a time SQLite understands (store UTC text such as 2024-05-01 10:00:00.000000)")
	}
	return time.Parse(sqliteSortFormat, s)
}

func (sqliteDialect) sortParam(t time.Time) any { return t.UTC().Format(sqliteSortFormat) }

func (sqliteDialect) recordError(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
		return true
	}
	return false
}
