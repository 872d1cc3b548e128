package sql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kelompok/pipe/connectors"
)

// OpenPostgres opens a "postgres" connection. Params:
//
//	url:      PostgreSQL URL or DSN; a #Secret reference or a plain string
//	maxConns: pool size, a whole number >= 1; it wins over the URL's
//	          pool_max_conns (default: that, else pgxpool's: the greater of
//	          4 and the number of CPUs)
//	streams:  {<name>: StreamConfig}
func OpenPostgres(ctx context.Context, p connectors.OpenParams) (connectors.Connection, error) {
	url, ok, err := resolveString(ctx, p, "url")
	if err != nil {
		return nil, err
	}
	if !ok || url.IsZero() {
		return nil, fmt.Errorf("url is missing: set url to a #Secret reference holding the PostgreSQL URL (e.g. {env: \"KELOMPOK_DATABASE_URL\"})")
	}
	cfgs, err := streamConfigs(p.Config)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(url.Reveal())
	if err != nil {
		// pgx's parse errors can quote the URL, password included.
		return nil, fmt.Errorf("url is not a valid PostgreSQL URL or DSN (the value is secret and not shown)")
	}
	if n, ok := p.Config["maxConns"]; ok && n != nil {
		m, err := maxConns(n)
		if err != nil {
			return nil, err
		}
		pc.MaxConns = m
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d/%s: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database, err)
	}
	return newConn(p, postgres{}, newPgDB(pool), cfgs), nil
}

// maxConns reads the maxConns parameter: a whole number from 1 to
// math.MaxInt32, as CUE (int64), JSON (float64 or json.Number) or Go (int)
// gives it.
func maxConns(v any) (int32, error) {
	var n int64
	ok := true
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case float64:
		n, ok = int64(x), x == math.Trunc(x) && math.Abs(x) < 1<<62
	case json.Number:
		var err error
		n, err = x.Int64()
		ok = err == nil
	default:
		ok = false
	}
	if !ok || n < 1 || n > math.MaxInt32 {
		return 0, fmt.Errorf("maxConns must be a whole number of connections, at least 1; got %v", v)
	}
	return int32(n), nil
}

// pgQueries runs statements on a pool or a transaction.
type pgQueries struct{ q pgQuerier }

type pgQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (p pgQueries) query(ctx context.Context, q string, args []any, each func([]any) error) error {
	return pgQuery(ctx, p.q, q, args, each)
}

func (p pgQueries) exec(ctx context.Context, q string, args []any) (int64, error) {
	tag, err := p.q.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

type pgDB struct {
	pgQueries
	pool *pgxpool.Pool
}

func newPgDB(pool *pgxpool.Pool) pgDB { return pgDB{pgQueries{pool}, pool} }

func (d pgDB) begin(ctx context.Context) (txn, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return pgTx{pgQueries{tx}, tx}, nil
}

func (d pgDB) close() { d.pool.Close() }

type pgTx struct {
	pgQueries
	tx pgx.Tx
}

func (t pgTx) commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t pgTx) rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

func pgQuery(ctx context.Context, q pgQuerier, sql string, args []any, each func([]any) error) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var dec *rowDecoder
	for rows.Next() {
		if dec == nil {
			dec = newRowDecoder(rows)
		}
		vals, err := dec.decode(rows.RawValues())
		if err != nil {
			return err
		}
		if err := each(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// postgres is the PostgreSQL dialect.
type postgres struct{}

func (postgres) kind() string       { return "postgres" }
func (postgres) param(n int) string { return "$" + strconv.Itoa(n) }
func (postgres) maxList() int       { return 0 }
func (postgres) textEncoded() bool  { return false }

func (postgres) anyOf(expr string, vals []any, args []any) (string, []any) {
	// One array parameter of the values' type: = ANY($n) uses the index.
	var arr any
	switch vals[0].(type) {
	case int64:
		arr = typedSlice[int64](vals)
	case pgtype.UUID:
		arr = typedSlice[pgtype.UUID](vals)
	default:
		arr = typedSlice[string](vals)
	}
	args = append(args, arr)
	return fmt.Sprintf("%s = ANY(%s)", expr, postgres{}.param(len(args))), args
}

// typedSlice converts values that are all of type T to a []T.
func typedSlice[T any](vals []any) []T {
	a := make([]T, len(vals))
	for i, v := range vals {
		a[i] = v.(T)
	}
	return a
}

func (d postgres) jsonPath(quoted string, path []string, n int) (string, any) {
	return fmt.Sprintf("(%s #>> %s::text[])", quoted, d.param(n)), path
}

func (postgres) columns(ctx context.Context, db querier, table []string) ([]column, error) {
	const q = `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`
	var cols []column
	err := db.query(ctx, q, []any{quoteQualified(table)}, func(vals []any) error {
		name, _ := vals[0].(string)
		typ, _ := vals[1].(string)
		cols = append(cols, column{Name: name, Type: pgType(typ), DBType: typ})
		return nil
	})
	return cols, err
}

// pgType maps a PostgreSQL type (as format_type names it) to a column type.
func pgType(t string) string {
	switch {
	case strings.HasSuffix(t, "[]"):
		return TypeTextArray
	case t == "uuid":
		return TypeUUID
	case t == "smallint", t == "integer", t == "bigint":
		return TypeInt
	case t == "real", t == "double precision", strings.HasPrefix(t, "numeric"):
		return TypeFloat
	case t == "boolean":
		return TypeBool
	case strings.HasPrefix(t, "timestamp"), t == "date":
		return TypeTimestamp
	case t == "json", t == "jsonb":
		return TypeJSON
	}
	return TypeText
}

func (postgres) encode(c column, v any) (any, error) { return encodeValue(c, v) }

// lookupValue returns a uuid as a pgtype.UUID, which pgx encodes whether
// or not it knows the parameter's type: with default_query_exec_mode=exec
// (PgBouncer) it does not, and a bare [16]byte cannot be sent then.
func (postgres) lookupValue(c column, s string) (any, bool) {
	v, ok := parseLookup(c, s)
	if u, isUUID := v.(uuid.UUID); isUUID {
		return pgtype.UUID{Bytes: u, Valid: true}, true
	}
	return v, ok
}

func (postgres) now(c column, args []any) (string, []any) {
	if c.DBType == "timestamp without time zone" {
		return "(now() AT TIME ZONE 'UTC')", args
	}
	return "now()", args
}

func (postgres) sortExpr(quoted string) (string, bool) { return quoted, false }
func (postgres) parseSort(any) (time.Time, error)      { return time.Time{}, nil }
func (postgres) sortParam(t time.Time) any             { return t }

func (postgres) recordError(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		// pgx refuses a value it cannot encode for the column's type (an
		// int too big for a smallint) before sending anything; that is
		// the record's fault too. pgx has no error type for it, only this
		// wording (pinned by TestPostgresDataExceptionIsARecordError).
		return strings.Contains(err.Error(), "failed to encode args[")
	}
	// 22: data exception, 23: integrity constraint violation.
	return strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23")
}
