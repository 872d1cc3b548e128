// Package sql is the generic SQL connector, registered as two kinds:
// "postgres" (pgx/v5 with a pgxpool) and "sqlite" (modernc.org/sqlite, pure
// Go, no cgo).
//
// Nothing about any particular schema is written here: each stream is mapped
// onto a table by its StreamConfig, read from the connection's params in the
// config (table, key, updatedAt, deletedAt, columns, where, upsertOn,
// lookup). Column types not given in the config come from the database
// catalog.
//
// Reads page by keyset on (updated-at, key); Get and Find select by
// `= ANY($1)` on PostgreSQL and by an IN list of parameters on SQLite; Write
// runs one transaction per batch with a savepoint per record, so a refused
// record is reported as a connectors.RecordError and the others commit.
// Identifiers are always quoted and values are always parameters; only the
// operator-written `where` and `lookup` fragments are pasted into SQL.
//
// See docs/connectors/kelompok.md for the reference and examples.
package sql
