package quickstart

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Dialect is the SQL dialect of a Kelompok database.
type Dialect string

// The dialects the reference schema is written for.
const (
	// Postgres is PostgreSQL, as Kelompok runs in production. Open the
	// *sql.DB with the pgx driver ("pgx", package
	// github.com/jackc/pgx/v5/stdlib).
	Postgres Dialect = "postgres"
	// SQLite is the embedded database `pipe demo` uses. Open the *sql.DB
	// with the pure-Go driver ("sqlite", package modernc.org/sqlite).
	SQLite Dialect = "sqlite"
)

//go:embed schema_postgres.sql
var schemaPostgres string

//go:embed schema_sqlite.sql
var schemaSQLite string

// Schema returns the DDL of the reference schema (organizations, members,
// events) in the given dialect.
func Schema(d Dialect) (string, error) {
	switch d {
	case Postgres:
		return schemaPostgres, nil
	case SQLite:
		return schemaSQLite, nil
	}
	return "", fmt.Errorf("quickstart: unknown SQL dialect %q (use %q or %q)", d, Postgres, SQLite)
}

// SQLiteTimeFormat is how timestamps are stored in the SQLite reference
// schema: UTC, fixed width, so that text order is time order. It is the
// format the SQL connector writes and reads for timestamp columns in SQLite.
const SQLiteTimeFormat = "2006-01-02 15:04:05.000000"

// CreateSchema creates the reference tables in an empty database.
func CreateSchema(ctx context.Context, db *sql.DB, d Dialect) error {
	ddl, err := Schema(d)
	if err != nil {
		return err
	}
	if d == SQLite {
		// SQLite checks foreign keys only when asked to; members and
		// organizations refer to each other, so create both before
		// anything refers to them.
		if _, err := db.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			return fmt.Errorf("quickstart: create schema (%s): %w", d, err)
		}
	}
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("quickstart: create the reference schema (%s): %w", d, err)
	}
	return nil
}

// rowsPerInsert bounds the rows of one multi-row INSERT, keeping the number
// of parameters (rows x columns) well under both dialects' limits.
const rowsPerInsert = 200

// Seed inserts data into the reference tables (created by CreateSchema), in
// one transaction, with parameterized multi-row inserts: organizations
// first, then members, then the organizations' claimed_by, then events.
func Seed(ctx context.Context, db *sql.DB, d Dialect, data Data) error {
	if _, err := Schema(d); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("quickstart: seed: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	v := valuer{d}

	orgCols := []string{"id", "name", "legal_name", "kind", "email", "phone", "website", "address", "province", "city", "district", "postal_code", "latitude", "longitude", "sdg_tags", "claim_status", "claimed_at", "created_at", "updated_at", "deleted_at"}
	orgRows := make([][]any, len(data.Organizations))
	for i, o := range data.Organizations {
		orgRows[i] = []any{v.uuid(o.ID), o.Name, o.LegalName, o.Kind, o.Email, o.Phone, o.Website, o.Address, o.Province, o.City, o.District, o.PostalCode, o.Latitude, o.Longitude, v.list(o.SDGTags), o.ClaimStatus, v.timePtr(o.ClaimedAt), v.time(o.CreatedAt), v.time(o.UpdatedAt), v.timePtr(o.DeletedAt)}
	}
	if err := insertRows(ctx, tx, d, "organizations", orgCols, orgRows); err != nil {
		return err
	}

	memberCols := []string{"id", "organization_id", "full_name", "email", "phone", "position", "province", "city", "sdg_tags", "national_id", "created_at", "updated_at", "deleted_at"}
	memberRows := make([][]any, len(data.Members))
	for i, m := range data.Members {
		memberRows[i] = []any{v.uuid(m.ID), v.uuidPtr(m.OrganizationID), m.FullName, m.Email, m.Phone, m.Position, m.Province, m.City, v.list(m.SDGTags), m.NationalID, v.time(m.CreatedAt), v.time(m.UpdatedAt), v.timePtr(m.DeletedAt)}
	}
	if err := insertRows(ctx, tx, d, "members", memberCols, memberRows); err != nil {
		return err
	}

	setClaim := "UPDATE organizations SET claimed_by = $1 WHERE id = $2"
	if d == SQLite {
		setClaim = "UPDATE organizations SET claimed_by = ?1 WHERE id = ?2"
	}
	for _, o := range data.Organizations {
		if o.ClaimedBy == nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, setClaim, v.uuid(*o.ClaimedBy), v.uuid(o.ID)); err != nil {
			return fmt.Errorf("quickstart: seed: organization %s claimed_by: %w", o.ID, err)
		}
	}

	eventCols := []string{"id", "organization_id", "title", "description", "starts_at", "ends_at", "venue", "city", "province", "status", "created_at", "updated_at", "deleted_at"}
	eventRows := make([][]any, len(data.Events))
	for i, e := range data.Events {
		eventRows[i] = []any{v.uuid(e.ID), v.uuidPtr(e.OrganizationID), e.Title, e.Description, v.timePtr(e.StartsAt), v.timePtr(e.EndsAt), e.Venue, e.City, e.Province, e.Status, v.time(e.CreatedAt), v.time(e.UpdatedAt), v.timePtr(e.DeletedAt)}
	}
	if err := insertRows(ctx, tx, d, "events", eventCols, eventRows); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("quickstart: seed: commit: %w", err)
	}
	return nil
}

// insertRows inserts rows into table with multi-row INSERT statements.
// Table and column names are constants of this package; values are always
// parameters.
func insertRows(ctx context.Context, tx *sql.Tx, d Dialect, table string, cols []string, rows [][]any) error {
	for start := 0; start < len(rows); start += rowsPerInsert {
		chunk := rows[start:min(start+rowsPerInsert, len(rows))]
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", quote(table), quoteAll(cols))
		args := make([]any, 0, len(chunk)*len(cols))
		for i, row := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, val := range row {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, val)
				if d == SQLite {
					fmt.Fprintf(&b, "?%d", len(args))
				} else {
					fmt.Fprintf(&b, "$%d", len(args))
				}
			}
			b.WriteByte(')')
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("quickstart: seed %s (rows %d-%d): %w", table, start+1, start+len(chunk), err)
		}
	}
	return nil
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// valuer converts Go values to what each dialect stores.
type valuer struct{ d Dialect }

func (v valuer) uuid(s string) any { return s }

func (v valuer) uuidPtr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func (v valuer) time(t time.Time) any {
	if v.d == SQLite {
		return t.UTC().Format(SQLiteTimeFormat)
	}
	return t
}

func (v valuer) timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return v.time(*t)
}

// list stores a text[] value: a PostgreSQL array, or a JSON array in
// SQLite. A nil list is NULL; an empty one stays an empty list.
func (v valuer) list(tags []string) any {
	if tags == nil {
		return nil
	}
	if v.d == SQLite {
		b, _ := json.Marshal(tags) // []string always marshals
		return string(b)
	}
	return tags
}
