// Package sqlitestore is the embedded state store: one SQLite file through
// the pure-Go driver modernc.org/sqlite (no cgo), in WAL mode.
//
// SQLite allows one writer at a time. Within a process every write goes
// through a single connection, so writes queue in Go instead of failing with
// SQLITE_BUSY; reads use a separate pool and run alongside (WAL). Write
// transactions begin IMMEDIATE and every connection waits up to a busy
// timeout, so several processes sharing one file also queue rather than
// fail.
package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/internal/column"
	"github.com/kelompok/pipe/engine/state/internal/lease"
	"github.com/kelompok/pipe/internal/jsonappend"
)

//go:embed migrations/*.sql
var migrations embed.FS

// BusyTimeout is how long a connection waits for another process's write
// to finish before failing with SQLITE_BUSY.
const BusyTimeout = 30 * time.Second

// Store is a state.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	path  string
	w     *sql.DB // exactly one connection: the writer
	r     *sql.DB // readers
	beats lease.Heartbeats
	stmts stmtCache // on w
}

var _ state.Store = (*Store)(nil)

// Open opens (creating it and its parent directories when absent) the SQLite
// state file at path. Call Migrate before use, and Close when done.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite state store: empty path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite state store: path %q contains '?', which SQLite would read as options: rename it", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite state store: create directory for %s: %w", path, err)
		}
	}
	w, err := openDB(ctx, path, 1, false)
	if err != nil {
		return nil, err
	}
	r, err := openDB(ctx, path, 4, true)
	if err != nil {
		w.Close()
		return nil, err
	}
	return &Store{path: path, w: w, r: r, stmts: stmtCache{db: w}}, nil
}

// dsn builds the driver's connection string: pragmas run on every new
// connection.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Statement journals (multi-row inserts inside a batch's transaction)
	// and temporary b-trees stay in memory instead of temp files.
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
		// Checkpoint every 32 MiB of WAL rather than every 4 MiB: pages a
		// run rewrites batch after batch (index interiors, the run row) are
		// copied back fewer times.
		q.Add("_pragma", "wal_autocheckpoint(8192)")
		// 16 MiB of page cache for the writer (the default is 2 MiB): a
		// batch touches the links, audit and intents b-trees and their
		// indexes. Readers keep the default.
		q.Add("_pragma", "cache_size(-16384)")
	}
	return path + "?" + q.Encode()
}

func openDB(ctx context.Context, path string, conns int, readOnly bool) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, readOnly))
	if err != nil {
		return nil, fmt.Errorf("sqlite state store %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite state store %s: open: %w", path, err)
	}
	return db, nil
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Migrate applies the embedded migrations that are not yet applied.
func (s *Store) Migrate(ctx context.Context) error {
	// goose takes connections of its own; a separate handle keeps it from
	// waiting on the single writer connection.
	db, err := sql.Open("sqlite", dsn(s.path, false))
	if err != nil {
		return fmt.Errorf("sqlite state store %s: migrate: %w", s.path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite state store: embedded migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub, goose.WithTableName("pipe_migrations"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlite state store: load migrations: %w", err)
	}
	lk := migrationLock{ttl: time.Minute, poll: 20 * time.Millisecond}
	if err := lk.Lock(ctx, db); err != nil {
		return fmt.Errorf("sqlite state store %s: %w", s.path, err)
	}
	_, err = p.Up(ctx)
	// Unlock with a context of its own: a cancelled Up must not leave the
	// row behind for a minute.
	uerr := lk.Unlock(context.WithoutCancel(ctx), db)
	if err != nil {
		return fmt.Errorf("sqlite state store %s: apply migrations: %w", s.path, err)
	}
	if uerr != nil {
		return fmt.Errorf("sqlite state store %s: %w", s.path, uerr)
	}
	return nil
}

// Close stops lock refreshes (without releasing the locks, as a crash
// would: they lapse after their ttl) and closes the file.
func (s *Store) Close() error {
	s.beats.Close()
	return errors.Join(s.stmts.close(), s.w.Close(), s.r.Close())
}

// write runs fn in one IMMEDIATE transaction on the writer connection.
func (s *Store) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite state store: %s: begin: %w", what, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("sqlite state store: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite state store: %s: commit: %w", what, err)
	}
	s.stmts.prepareWanted(ctx)
	return nil
}

func micro(t time.Time) int64 { return column.Norm(t).UnixMicro() }

func fromMicro(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromMicroPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicro(v.Int64)
	return &t
}

// Lock implements state.Store.
func (s *Store) Lock(ctx context.Context, pipeline, owner string, ttl time.Duration) (func(context.Context) error, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("sqlite state store: lock %q: ttl must be positive, got %v", pipeline, ttl)
	}
	token := lease.Token()
	var got bool
	var holder string
	var until int64
	err := s.write(ctx, "lock pipeline "+pipeline, func(tx *sql.Tx) error {
		now := column.Now()
		var tok string
		err := tx.QueryRowContext(ctx, `
			INSERT INTO locks (pipeline, owner, token, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (pipeline) DO UPDATE SET owner = excluded.owner, token = excluded.token,
				acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
			WHERE locks.expires_at <= excluded.acquired_at
			RETURNING token`,
			pipeline, owner, token, now.UnixMicro(), now.Add(ttl).UnixMicro()).Scan(&tok)
		switch {
		case err == nil:
			got = true
			return nil
		case errors.Is(err, sql.ErrNoRows):
			return tx.QueryRowContext(ctx, `SELECT owner, expires_at FROM locks WHERE pipeline = ?`, pipeline).Scan(&holder, &until)
		default:
			return err
		}
	})
	if err != nil {
		return nil, err
	}
	if !got {
		return nil, &state.LockedError{Pipeline: pipeline, Holder: holder, Until: fromMicro(until)}
	}
	stop := s.beats.Start(ttl, func(ctx context.Context) error {
		_, err := s.w.ExecContext(ctx, `UPDATE locks SET expires_at = ? WHERE pipeline = ? AND token = ?`,
			column.Now().Add(ttl).UnixMicro(), pipeline, token)
		return err
	})
	var released atomic.Bool
	return func(ctx context.Context) error {
		if !released.CompareAndSwap(false, true) {
			return nil
		}
		stop()
		res, err := s.w.ExecContext(ctx, `DELETE FROM locks WHERE pipeline = ? AND token = ?`, pipeline, token)
		if err != nil {
			return fmt.Errorf("sqlite state store: release lock of %q: %w", pipeline, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("release lock of %q: %w (it lapsed: not refreshed within %v)", pipeline, state.ErrLockLost, ttl)
		}
		return nil
	}, nil
}

// LockBreak implements state.Store.
func (s *Store) LockBreak(ctx context.Context, pipeline, holder string) (bool, error) {
	var n int64
	err := s.write(ctx, "break lock of "+pipeline, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM locks WHERE pipeline = ? AND owner = ?`, pipeline, holder)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite state store: break lock of %q: %w", pipeline, err)
	}
	return n > 0, nil
}

// RunCreate implements state.Store.
func (s *Store) RunCreate(ctx context.Context, run state.Run) (int64, error) {
	counts, err := column.JSON(run.Counts)
	if err != nil {
		return 0, err
	}
	if run.Status == "" {
		run.Status = state.RunRunning
	}
	var id int64
	err = s.write(ctx, "create run of "+run.Pipeline, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			INSERT INTO runs (pipeline, trigger, dry_run, full_run, row_limit, started_at, status, counts, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			run.Pipeline, run.Trigger, run.DryRun, run.Full, run.Limit, micro(run.StartedAt), run.Status, counts, run.Error).Scan(&id)
	})
	return id, err
}

// RunFinish implements state.Store.
func (s *Store) RunFinish(ctx context.Context, run state.Run) error {
	counts, err := column.JSON(run.Counts)
	if err != nil {
		return err
	}
	finished := column.Now()
	if run.FinishedAt != nil {
		finished = column.Norm(*run.FinishedAt)
	}
	return s.write(ctx, fmt.Sprintf("finish run %d", run.ID), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ? WHERE id = ?`,
			finished.UnixMicro(), run.Status, counts, run.Error, run.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("run %d: %w", run.ID, state.ErrNotFound)
		}
		return nil
	})
}

const runColumns = `id, pipeline, trigger, dry_run, full_run, row_limit, started_at, finished_at, status, counts, error`

func scanRun(row interface{ Scan(...any) error }) (state.Run, error) {
	var r state.Run
	var started int64
	var finished sql.NullInt64
	var counts string
	if err := row.Scan(&r.ID, &r.Pipeline, &r.Trigger, &r.DryRun, &r.Full, &r.Limit, &started, &finished, &r.Status, &counts, &r.Error); err != nil {
		return r, err
	}
	r.StartedAt = fromMicro(started)
	r.FinishedAt = fromMicroPtr(finished)
	return r, column.Decode(counts, &r.Counts)
}

// RunGet implements state.Store.
func (s *Store) RunGet(ctx context.Context, id int64) (state.Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("run %d: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlite state store: get run %d: %w", id, err)
	}
	return r, nil
}

// RunList implements state.Store: newest first.
func (s *Store) RunList(ctx context.Context, p state.RunListParams) ([]state.Run, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = state.DefaultRunLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE ? = '' OR pipeline = ? ORDER BY id DESC LIMIT ?`,
		p.Pipeline, p.Pipeline, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite state store: list runs: %w", err)
	}
	defer rows.Close()
	var out []state.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite state store: list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AuditList implements state.Store.
func (s *Store) AuditList(ctx context.Context, runID int64) ([]state.AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT run_id, seq, at, source_key, sink_key, direction, action, diff, reason
		FROM audit WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlite state store: audit of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []state.AuditEntry
	for rows.Next() {
		var a state.AuditEntry
		var at int64
		var diff string
		if err := rows.Scan(&a.RunID, &a.Seq, &at, &a.SourceKey, &a.SinkKey, &a.Direction, &a.Action, &diff, &a.Reason); err != nil {
			return nil, fmt.Errorf("sqlite state store: audit of run %d: %w", runID, err)
		}
		a.At = fromMicro(at)
		if err := column.Decode(diff, &a.Diff); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const linkColumns = `pipeline, source_key, sink_key, base, source_hash, sink_hash, updated_at`

func scanLink(row interface{ Scan(...any) error }) (state.Link, error) {
	var l state.Link
	var base string
	var updated int64
	if err := row.Scan(&l.Pipeline, &l.SourceKey, &l.SinkKey, &base, &l.SourceHash, &l.SinkHash, &updated); err != nil {
		return l, err
	}
	l.UpdatedAt = fromMicro(updated)
	return l, column.Decode(base, &l.Base)
}

// maxParams bounds the keys of one IN (...) query, under SQLite's limit on
// bound parameters.
const maxParams = 500

func (s *Store) linksBy(ctx context.Context, pipeline, column string, keys []string) (map[string]state.Link, error) {
	out := make(map[string]state.Link, len(keys))
	for start := 0; start < len(keys); start += maxParams {
		chunk := keys[start:min(start+maxParams, len(keys))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, pipeline)
		for _, k := range chunk {
			args = append(args, k)
		}
		q := linksByQuery(column, len(chunk))
		rows, err := s.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite state store: links of %q by %s: %w", pipeline, column, err)
		}
		for rows.Next() {
			l, err := scanLink(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite state store: links of %q: %w", pipeline, err)
			}
			if column == "source_key" {
				out[l.SourceKey] = l
			} else {
				out[l.SinkKey] = l
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlite state store: links of %q: %w", pipeline, err)
		}
	}
	return out, nil
}

// linksByQuery is the query of n links by source or sink key. By sink key
// it names its index: without statistics SQLite takes "pipeline = ?" on
// the primary key for a narrow search and picks it over the IN list on
// links_sink, and then reads every link of the pipeline for each call,
// which made an initial sync quadratic in its size.
func linksByQuery(column string, n int) string {
	from := "links"
	if column == "sink_key" {
		from = "links INDEXED BY links_sink"
	}
	return `SELECT ` + linkColumns + ` FROM ` + from + ` WHERE pipeline = ? AND ` + column +
		` IN (?` + strings.Repeat(", ?", n-1) + `)`
}

// LinksBySource implements state.Store.
func (s *Store) LinksBySource(ctx context.Context, pipeline string, keys []string) (map[string]state.Link, error) {
	return s.linksBy(ctx, pipeline, "source_key", keys)
}

// LinksBySink implements state.Store.
func (s *Store) LinksBySink(ctx context.Context, pipeline string, keys []string) (map[string]state.Link, error) {
	return s.linksBy(ctx, pipeline, "sink_key", keys)
}

// Unlinked implements state.Store.
func (s *Store) Unlinked(ctx context.Context, pipeline, side string, keys []string) (map[string]state.Unlinked, error) {
	out := make(map[string]state.Unlinked, len(keys))
	for start := 0; start < len(keys); start += maxParams {
		chunk := keys[start:min(start+maxParams, len(keys))]
		args := make([]any, 0, len(chunk)+2)
		args = append(args, pipeline, side)
		for _, k := range chunk {
			args = append(args, k)
		}
		if err := s.unlinkedChunk(ctx, out, `SELECT pipeline, side, key, partner_key, updated_at, hash, at FROM unlinked
			WHERE pipeline = ? AND side = ? AND key IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args); err != nil {
			return nil, fmt.Errorf("sqlite state store: unlinked %s records of %q: %w", side, pipeline, err)
		}
	}
	return out, nil
}

// unlinkedChunk adds the rows of one Unlinked query to out, by key.
func (s *Store) unlinkedChunk(ctx context.Context, out map[string]state.Unlinked, q string, args []any) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var u state.Unlinked
		var updated string
		var at int64
		if err := rows.Scan(&u.Pipeline, &u.Side, &u.Key, &u.PartnerKey, &updated, &u.Hash, &at); err != nil {
			return err
		}
		if u.UpdatedAt, err = column.ParseExactTime(updated); err != nil {
			return fmt.Errorf("stored updatedAt %q of %q: %w", updated, u.Key, err)
		}
		u.At = fromMicro(at)
		out[u.Key] = u
	}
	return rows.Err()
}

// UnlinkedAny implements state.Store.
func (s *Store) UnlinkedAny(ctx context.Context, pipeline string) (bool, error) {
	var found bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM unlinked WHERE pipeline = ?)`, pipeline).Scan(&found); err != nil {
		return false, fmt.Errorf("sqlite state store: unlinked records of %q: %w", pipeline, err)
	}
	return found, nil
}

// LinkCount implements state.Store.
func (s *Store) LinkCount(ctx context.Context, pipeline string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM links WHERE pipeline = ?`, pipeline).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite state store: count links of %q: %w", pipeline, err)
	}
	return n, nil
}

// LinkScan implements state.Store. It reads in pages, so fn may call the
// store (even write to it) without deadlocking.
func (s *Store) LinkScan(ctx context.Context, pipeline string, fn func(state.Link) error) error {
	const page = 1000
	after := ""
	first := true
	for {
		rows, err := s.r.QueryContext(ctx, `SELECT `+linkColumns+` FROM links
			WHERE pipeline = ? AND (? OR source_key > ?) ORDER BY source_key LIMIT ?`, pipeline, first, after, page)
		if err != nil {
			return fmt.Errorf("sqlite state store: scan links of %q: %w", pipeline, err)
		}
		var batch []state.Link
		for rows.Next() {
			l, err := scanLink(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("sqlite state store: scan links of %q: %w", pipeline, err)
			}
			batch = append(batch, l)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("sqlite state store: scan links of %q: %w", pipeline, err)
		}
		for _, l := range batch {
			if err := fn(l); err != nil {
				return err
			}
		}
		if len(batch) < page {
			return nil
		}
		after, first = batch[len(batch)-1].SourceKey, false
	}
}

// Cursor implements state.Store.
func (s *Store) Cursor(ctx context.Context, pipeline, side string) (connectors.Position, error) {
	var t, id string
	err := s.r.QueryRowContext(ctx, `SELECT updated_at, id FROM cursors WHERE pipeline = ? AND side = ?`, pipeline, side).Scan(&t, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return connectors.Position{}, nil
	}
	if err != nil {
		return connectors.Position{}, fmt.Errorf("sqlite state store: cursor of %q %s: %w", pipeline, side, err)
	}
	return column.ParsePosition(t, id)
}

// CursorReset implements state.Store.
func (s *Store) CursorReset(ctx context.Context, pipeline string) error {
	return s.write(ctx, "reset cursors of "+pipeline, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM cursors WHERE pipeline = ?`, pipeline)
		return err
	})
}

// IntentsAdd implements state.Store. Adding an intent that exists replaces
// IntentsAdd implements state.Store: one intent_groups row per pipeline
// of the call.
func (s *Store) IntentsAdd(ctx context.Context, intents []state.Intent) error {
	if len(intents) == 0 {
		return nil
	}
	byPipeline := map[string][]state.Intent{}
	var order []string
	for _, in := range intents {
		if _, ok := byPipeline[in.Pipeline]; !ok {
			order = append(order, in.Pipeline)
		}
		byPipeline[in.Pipeline] = append(byPipeline[in.Pipeline], in)
	}
	return s.write(ctx, "record create intents", func(tx *sql.Tx) error {
		for _, p := range order {
			if _, err := tx.ExecContext(ctx, `INSERT INTO intent_groups (pipeline, intents) VALUES (?, ?)`,
				p, encodeIntents(byPipeline[p])); err != nil {
				return fmt.Errorf("intents: %w", err)
			}
		}
		return nil
	})
}

// Intents implements state.Store, in (side, key) order.
func (s *Store) Intents(ctx context.Context, pipeline string) ([]state.Intent, error) {
	groups, err := intentGroups(ctx, s.r, pipeline)
	if err != nil {
		return nil, fmt.Errorf("sqlite state store: intents of %q: %w", pipeline, err)
	}
	latest := map[[2]string]state.Intent{}
	for _, g := range groups {
		for _, in := range g.intents {
			latest[[2]string{in.Side, in.Key}] = in
		}
	}
	out := make([]state.Intent, 0, len(latest))
	for _, in := range latest {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b state.Intent) int {
		return cmp.Or(cmp.Compare(a.Side, b.Side), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

// intentGroup is one intent_groups row.
type intentGroup struct {
	id      int64
	intents []state.Intent
}

// querier is what intentGroups reads through: the readers or the writer's
// transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// intentGroups returns the pipeline's intent groups in the order they
// were added.
func intentGroups(ctx context.Context, q querier, pipeline string) ([]intentGroup, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, intents FROM intent_groups WHERE pipeline = ? ORDER BY id`, pipeline)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intentGroup
	for rows.Next() {
		var g intentGroup
		var text string
		if err := rows.Scan(&g.id, &text); err != nil {
			return nil, err
		}
		if g.intents, err = decodeIntents(pipeline, text); err != nil {
			return nil, fmt.Errorf("intent group %d: %w", g.id, err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// encodeIntents encodes intents as intent_groups.intents: a JSON array of
// [side, key, target_id, created_at microseconds].
func encodeIntents(intents []state.Intent) string {
	b := make([]byte, 0, 96*len(intents))
	b = append(b, '[')
	for i, in := range intents {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = jsonappend.String(b, in.Side)
		b = append(b, ',')
		b = jsonappend.String(b, in.Key)
		b = append(b, ',')
		b = jsonappend.String(b, in.TargetID)
		b = append(b, ',')
		b = strconv.AppendInt(b, micro(in.CreatedAt), 10)
		b = append(b, ']')
	}
	return string(append(b, ']'))
}

// decodeIntents decodes what encodeIntents (or migration 2) wrote.
func decodeIntents(pipeline, text string) ([]state.Intent, error) {
	if out, ok := decodeIntentsFast(pipeline, text); ok {
		return out, nil
	}
	var rows [][4]json.RawMessage
	if err := json.Unmarshal([]byte(text), &rows); err != nil {
		return nil, err
	}
	out := make([]state.Intent, len(rows))
	for i, r := range rows {
		in := state.Intent{Pipeline: pipeline}
		var created int64
		if err := errors.Join(json.Unmarshal(r[0], &in.Side), json.Unmarshal(r[1], &in.Key),
			json.Unmarshal(r[2], &in.TargetID), json.Unmarshal(r[3], &created)); err != nil {
			return nil, err
		}
		in.CreatedAt = fromMicro(created)
		out[i] = in
	}
	return out, nil
}

// decodeIntentsFast decodes the common form, without whitespace or escaped
// strings, in one pass; ok is false for anything else.
func decodeIntentsFast(pipeline, s string) (out []state.Intent, ok bool) {
	i := 0
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		end := strings.IndexByte(s[i+1:], '"')
		if end < 0 {
			return "", false
		}
		v := s[i+1 : i+1+end]
		if strings.IndexByte(v, '\\') >= 0 {
			return "", false
		}
		i += end + 2
		return v, true
	}
	lit := func(c byte) bool {
		if i < len(s) && s[i] == c {
			i++
			return true
		}
		return false
	}
	if !lit('[') {
		return nil, false
	}
	out = make([]state.Intent, 0, strings.Count(s, "],")+1)
	if lit(']') {
		return out, i == len(s)
	}
	for {
		in := state.Intent{Pipeline: pipeline}
		var ok1, ok2, ok3 bool
		if !lit('[') {
			return nil, false
		}
		if in.Side, ok1 = str(); !ok1 || !lit(',') {
			return nil, false
		}
		if in.Key, ok2 = str(); !ok2 || !lit(',') {
			return nil, false
		}
		if in.TargetID, ok3 = str(); !ok3 || !lit(',') {
			return nil, false
		}
		j := i
		for j < len(s) && (s[j] == '-' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		created, err := strconv.ParseInt(s[i:j], 10, 64)
		if err != nil {
			return nil, false
		}
		i = j
		in.CreatedAt = fromMicro(created)
		out = append(out, in)
		if !lit(']') {
			return nil, false
		}
		if lit(']') {
			return out, i == len(s)
		}
		if !lit(',') {
			return nil, false
		}
	}
}

// intentsDone removes the given intents (by pipeline, side and key) from
// their groups inside tx: a group left empty is deleted, one left with
// others (creates that failed for a transient reason) is rewritten.
func intentsDone(ctx context.Context, tx *sql.Tx, batchPipeline string, done []state.Intent) error {
	byPipeline := map[string]map[[2]string]bool{}
	for _, in := range done {
		p := pipelineOr(in.Pipeline, batchPipeline)
		if byPipeline[p] == nil {
			byPipeline[p] = map[[2]string]bool{}
		}
		byPipeline[p][[2]string{in.Side, in.Key}] = true
	}
	for p, keys := range byPipeline {
		groups, err := intentGroups(ctx, tx, p)
		if err != nil {
			return err
		}
		for _, g := range groups {
			kept := slices.DeleteFunc(slices.Clone(g.intents), func(in state.Intent) bool { return keys[[2]string{in.Side, in.Key}] })
			switch {
			case len(kept) == len(g.intents):
				continue
			case len(kept) == 0:
				_, err = tx.ExecContext(ctx, `DELETE FROM intent_groups WHERE id = ?`, g.id)
			default:
				_, err = tx.ExecContext(ctx, `UPDATE intent_groups SET intents = ? WHERE id = ?`, encodeIntents(kept), g.id)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Rejects implements state.Store, in (pipeline, id) order.
func (s *Store) Rejects(ctx context.Context, pipeline string) ([]state.Reject, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, pipeline, side, key, reason, retries, first_at, last_at, last_run_id
		FROM rejects WHERE ? = '' OR pipeline = ? ORDER BY pipeline, id`, pipeline, pipeline)
	if err != nil {
		return nil, fmt.Errorf("sqlite state store: rejects: %w", err)
	}
	defer rows.Close()
	var out []state.Reject
	for rows.Next() {
		var r state.Reject
		var first, last int64
		if err := rows.Scan(&r.ID, &r.Pipeline, &r.Side, &r.Key, &r.Reason, &r.Retries, &first, &last, &r.LastRunID); err != nil {
			return nil, fmt.Errorf("sqlite state store: rejects: %w", err)
		}
		r.FirstAt, r.LastAt = fromMicro(first), fromMicro(last)
		out = append(out, r)
	}
	return out, rows.Err()
}

const conflictColumns = `id, pipeline, source_key, sink_key, fields, source, sink, created_at, resolution, resolved_at, applied_at`

func scanConflict(row interface{ Scan(...any) error }) (state.Conflict, error) {
	var c state.Conflict
	var fields, src, sink string
	var created int64
	var resolved, applied sql.NullInt64
	if err := row.Scan(&c.ID, &c.Pipeline, &c.SourceKey, &c.SinkKey, &fields, &src, &sink, &created, &c.Resolution, &resolved, &applied); err != nil {
		return c, err
	}
	c.CreatedAt = fromMicro(created)
	c.ResolvedAt, c.AppliedAt = fromMicroPtr(resolved), fromMicroPtr(applied)
	return c, errors.Join(column.Decode(fields, &c.Fields), column.Decode(src, &c.Source), column.Decode(sink, &c.Sink))
}

// Conflicts implements state.Store, in id order.
func (s *Store) Conflicts(ctx context.Context, pipeline string, all bool) ([]state.Conflict, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+conflictColumns+` FROM conflicts
		WHERE (? = '' OR pipeline = ?) AND (? OR resolution = '') ORDER BY id`, pipeline, pipeline, all)
	if err != nil {
		return nil, fmt.Errorf("sqlite state store: conflicts: %w", err)
	}
	defer rows.Close()
	var out []state.Conflict
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite state store: conflicts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ConflictGet implements state.Store.
func (s *Store) ConflictGet(ctx context.Context, id int64) (state.Conflict, error) {
	c, err := scanConflict(s.r.QueryRowContext(ctx, `SELECT `+conflictColumns+` FROM conflicts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("conflict %d: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("sqlite state store: get conflict %d: %w", id, err)
	}
	return c, nil
}

// ConflictResolve implements state.Store.
func (s *Store) ConflictResolve(ctx context.Context, id int64, take string) error {
	if take != state.TakeSource && take != state.TakeSink {
		return fmt.Errorf("resolve conflict %d: take must be %q or %q, got %q", id, state.TakeSource, state.TakeSink, take)
	}
	return s.write(ctx, fmt.Sprintf("resolve conflict %d", id), func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT resolution FROM conflicts WHERE id = ?`, id).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("conflict %d: %w", id, state.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if current != "" {
			return fmt.Errorf("conflict %d (took %s): %w", id, current, state.ErrAlreadyResolved)
		}
		_, err = tx.ExecContext(ctx, `UPDATE conflicts SET resolution = ?, resolved_at = ? WHERE id = ?`, take, column.Now().UnixMicro(), id)
		return err
	})
}
