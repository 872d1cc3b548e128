package sql

import (
	"context"
	"time"
)

// column is one column of a table as the stream sees it.
type column struct {
	Name string
	// Type is one of the Type* constants.
	Type string
	// DBType is the type as the database catalog names it.
	DBType string
}

// querier runs statements; the database and its transactions both are one.
type querier interface {
	// query runs q and calls each with the driver's values of every row.
	// vals is only valid during the call.
	query(ctx context.Context, q string, args []any, each func(vals []any) error) error
	// exec runs q and returns the number of rows affected.
	exec(ctx context.Context, q string, args []any) (int64, error)
}

// database is a connection pool.
type database interface {
	querier
	begin(ctx context.Context) (txn, error)
	close()
}

// txn is a database transaction.
type txn interface {
	querier
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// dialect is everything that differs between PostgreSQL and SQLite. The
// statements themselves are built once, in stream.go.
type dialect interface {
	// kind is the connector kind: "postgres" or "sqlite".
	kind() string
	// param is the placeholder of the n-th (1-based) argument.
	param(n int) string
	// anyOf returns a condition true when expr equals one of vals (already
	// converted with lookupValue), adding its arguments to args.
	anyOf(expr string, vals []any, args []any) (string, []any)
	// jsonPath returns the expression for the text at path inside the json
	// column quoted, using parameter number n for the path.
	jsonPath(quoted string, path []string, n int) (string, any)
	// maxList is how many values one anyOf may carry (0: no limit).
	maxList() int
	// columns lists the table's columns from the catalog, in table order;
	// none when the table does not exist.
	columns(ctx context.Context, db querier, table []string) ([]column, error)
	// encode turns a non-nil Record value into the parameter written to a
	// column of type c.
	encode(c column, v any) (any, error)
	// lookupValue turns a text value (a key, a Find value) into a parameter
	// compared with column c; ok is false when no row can hold it.
	lookupValue(c column, s string) (v any, ok bool)
	// now returns the expression for the current time stored in c.
	now(c column, args []any) (string, []any)
	// textEncoded is true when lists and JSON are stored as JSON text.
	textEncoded() bool
	// sortExpr is the expression reads are ordered and compared by for the
	// updated-at column (quoted); extra is true when it differs from the
	// column, and is then selected as one more column and read with
	// parseSort.
	sortExpr(quoted string) (expr string, extra bool)
	parseSort(v any) (time.Time, error)
	// sortParam is the cursor time as a parameter compared with sortExpr.
	sortParam(t time.Time) any
	// recordError reports whether err is the database refusing one record
	// (a constraint, a bad value), as opposed to a failing connection.
	recordError(err error) bool
}
