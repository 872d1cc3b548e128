// Package pgstore is the PostgreSQL state store (pgx/v5, pgxpool), for
// production and for several pipe processes sharing one store.
//
// Migrations run under a PostgreSQL advisory lock, so processes starting
// together migrate once. Pipeline locks are rows with an expiry taken from
// the database clock (not the hosts' clocks) and refreshed while held.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/internal/column"
	"github.com/kelompok/pipe/engine/state/internal/lease"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a state.Store on a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	where string // the URL without its password, for messages
	beats lease.Heartbeats
}

var _ state.Store = (*Store)(nil)

// Open connects to the PostgreSQL database at url (postgres://... or a
// key=value DSN) and checks that it answers. Call Migrate before use and
// Close when done. Error messages never include the password.
func Open(ctx context.Context, url string) (*Store, error) {
	where := redact(url)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse error may quote the string, password included.
		return nil, fmt.Errorf("postgres state store %s: invalid connection string: want postgres://user@host:port/db?sslmode=... or key=value pairs", where)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres state store %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres state store %s: cannot connect: %w", where, err)
	}
	return &Store{pool: pool, where: where}, nil
}

// redact returns the URL without its password (key=value DSNs are not
// shown at all).
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "(connection string hidden)"
	}
	return u.Redacted()
}

// Pool returns the store's connection pool (for River, or tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies the embedded migrations that are not yet applied, under
// an advisory lock held for the duration.
func (s *Store) Migrate(ctx context.Context) error {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres state store: embedded migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300), lock.WithLockID(0x70697065 /* "pipe" */))
	if err != nil {
		return fmt.Errorf("postgres state store: migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName("pipe_migrations"), goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres state store: load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres state store %s: apply migrations: %w", s.where, err)
	}
	return nil
}

// Close stops lock refreshes (without releasing the locks, as a crash
// would: they lapse after their ttl) and closes the pool.
func (s *Store) Close() error {
	s.beats.Close()
	s.pool.Close()
	return nil
}

func (s *Store) errf(format string, args ...any) error {
	return fmt.Errorf("postgres state store: "+format, args...)
}

func ts(t time.Time) time.Time { return column.Norm(t) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Lock implements state.Store. Expiry is computed with the database clock.
func (s *Store) Lock(ctx context.Context, pipeline, owner string, ttl time.Duration) (func(context.Context) error, error) {
	if ttl <= 0 {
		return nil, s.errf("lock %q: ttl must be positive, got %v", pipeline, ttl)
	}
	token := lease.Token()
	micros := ttl.Microseconds()
	var tok string
	err := s.pool.QueryRow(ctx, `
		INSERT INTO locks (pipeline, owner, token, acquired_at, expires_at)
		VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp() + $4::bigint * interval '1 microsecond')
		ON CONFLICT (pipeline) DO UPDATE SET owner = excluded.owner, token = excluded.token,
			acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
		WHERE locks.expires_at <= clock_timestamp()
		RETURNING token`, pipeline, owner, token, micros).Scan(&tok)
	if errors.Is(err, pgx.ErrNoRows) {
		var holder string
		var until time.Time
		if err := s.pool.QueryRow(ctx, `SELECT owner, expires_at FROM locks WHERE pipeline = $1`, pipeline).Scan(&holder, &until); err != nil {
			return nil, &state.LockedError{Pipeline: pipeline}
		}
		return nil, &state.LockedError{Pipeline: pipeline, Holder: holder, Until: until}
	}
	if err != nil {
		return nil, s.errf("lock pipeline %q: %w", pipeline, err)
	}
	stop := s.beats.Start(ttl, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `UPDATE locks SET expires_at = clock_timestamp() + $3::bigint * interval '1 microsecond'
			WHERE pipeline = $1 AND token = $2`, pipeline, token, micros)
		return err
	})
	var released atomic.Bool
	return func(ctx context.Context) error {
		if !released.CompareAndSwap(false, true) {
			return nil
		}
		stop()
		tag, err := s.pool.Exec(ctx, `DELETE FROM locks WHERE pipeline = $1 AND token = $2`, pipeline, token)
		if err != nil {
			return s.errf("release lock of %q: %w", pipeline, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("release lock of %q: %w (it lapsed: not refreshed within %v)", pipeline, state.ErrLockLost, ttl)
		}
		return nil
	}, nil
}

// LockBreak implements state.Store.
func (s *Store) LockBreak(ctx context.Context, pipeline, holder string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM locks WHERE pipeline = $1 AND owner = $2`, pipeline, holder)
	if err != nil {
		return false, s.errf("break lock of %q: %w", pipeline, err)
	}
	return tag.RowsAffected() > 0, nil
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
	err = s.pool.QueryRow(ctx, `
		INSERT INTO runs (pipeline, trigger, dry_run, full_run, row_limit, started_at, status, counts, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9) RETURNING id`,
		run.Pipeline, run.Trigger, run.DryRun, run.Full, run.Limit, ts(run.StartedAt), run.Status, counts, run.Error).Scan(&id)
	if err != nil {
		return 0, s.errf("create run of %q: %w", run.Pipeline, err)
	}
	return id, nil
}

// RunFinish implements state.Store.
func (s *Store) RunFinish(ctx context.Context, run state.Run) error {
	counts, err := column.JSON(run.Counts)
	if err != nil {
		return err
	}
	finished := column.Now()
	if run.FinishedAt != nil {
		finished = ts(*run.FinishedAt)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE runs SET finished_at = $1, status = $2, counts = $3::jsonb, error = $4 WHERE id = $5`,
		finished, run.Status, counts, run.Error, run.ID)
	if err != nil {
		return s.errf("finish run %d: %w", run.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("run %d: %w", run.ID, state.ErrNotFound)
	}
	return nil
}

const runColumns = `id, pipeline, trigger, dry_run, full_run, row_limit, started_at, finished_at, status, counts::text, error`

func scanRun(row pgx.Row) (state.Run, error) {
	var r state.Run
	var counts string
	if err := row.Scan(&r.ID, &r.Pipeline, &r.Trigger, &r.DryRun, &r.Full, &r.Limit, &r.StartedAt, &r.FinishedAt, &r.Status, &counts, &r.Error); err != nil {
		return r, err
	}
	r.StartedAt = r.StartedAt.UTC()
	r.FinishedAt = utcPtr(r.FinishedAt)
	return r, column.Decode(counts, &r.Counts)
}

// RunGet implements state.Store.
func (s *Store) RunGet(ctx context.Context, id int64) (state.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("run %d: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return r, s.errf("get run %d: %w", id, err)
	}
	return r, nil
}

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, s *Store, what string, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, s.errf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.errf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("%s: %w", what, err)
	}
	return out, nil
}

// RunList implements state.Store: newest first.
func (s *Store) RunList(ctx context.Context, p state.RunListParams) ([]state.Run, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = state.DefaultRunLimit
	}
	return collect(ctx, s, "list runs", scanRun,
		`SELECT `+runColumns+` FROM runs WHERE $1::text = '' OR pipeline = $1 ORDER BY id DESC LIMIT $2`, p.Pipeline, limit)
}

// AuditList implements state.Store.
func (s *Store) AuditList(ctx context.Context, runID int64) ([]state.AuditEntry, error) {
	return collect(ctx, s, fmt.Sprintf("audit of run %d", runID), func(row pgx.Row) (state.AuditEntry, error) {
		var a state.AuditEntry
		var diff string
		if err := row.Scan(&a.RunID, &a.Seq, &a.At, &a.SourceKey, &a.SinkKey, &a.Direction, &a.Action, &diff, &a.Reason); err != nil {
			return a, err
		}
		a.At = a.At.UTC()
		return a, column.Decode(diff, &a.Diff)
	}, `SELECT run_id, seq, at, source_key, sink_key, direction, action, diff::text, reason
		FROM audit WHERE run_id = $1 ORDER BY seq`, runID)
}

const linkColumns = `pipeline, source_key, sink_key, base::text, source_hash, sink_hash, updated_at`

func scanLink(row pgx.Row) (state.Link, error) {
	var l state.Link
	var base string
	if err := row.Scan(&l.Pipeline, &l.SourceKey, &l.SinkKey, &base, &l.SourceHash, &l.SinkHash, &l.UpdatedAt); err != nil {
		return l, err
	}
	l.UpdatedAt = l.UpdatedAt.UTC()
	return l, column.Decode(base, &l.Base)
}

func (s *Store) linksBy(ctx context.Context, pipeline, column string, keys []string) (map[string]state.Link, error) {
	out := make(map[string]state.Link, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	links, err := collect(ctx, s, fmt.Sprintf("links of %q by %s", pipeline, column), scanLink,
		`SELECT `+linkColumns+` FROM links WHERE pipeline = $1 AND `+column+` = ANY($2::text[])`, pipeline, keys)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if column == "source_key" {
			out[l.SourceKey] = l
		} else {
			out[l.SinkKey] = l
		}
	}
	return out, nil
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
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := collect(ctx, s, fmt.Sprintf("unlinked %s records of %q", side, pipeline), func(row pgx.Row) (state.Unlinked, error) {
		var u state.Unlinked
		var updated string
		if err := row.Scan(&u.Pipeline, &u.Side, &u.Key, &u.PartnerKey, &updated, &u.Hash, &u.At); err != nil {
			return u, err
		}
		u.At = u.At.UTC()
		var err error
		if u.UpdatedAt, err = column.ParseExactTime(updated); err != nil {
			return u, fmt.Errorf("stored updatedAt %q of %q: %w", updated, u.Key, err)
		}
		return u, nil
	}, `SELECT pipeline, side, key, partner_key, updated_at, hash, at FROM unlinked
		WHERE pipeline = $1 AND side = $2 AND key = ANY($3::text[])`, pipeline, side, keys)
	if err != nil {
		return nil, err
	}
	for _, u := range rows {
		out[u.Key] = u
	}
	return out, nil
}

// UnlinkedAny implements state.Store.
func (s *Store) UnlinkedAny(ctx context.Context, pipeline string) (bool, error) {
	var found bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM unlinked WHERE pipeline = $1)`, pipeline).Scan(&found); err != nil {
		return false, s.errf("unlinked records of %q: %w", pipeline, err)
	}
	return found, nil
}

// LinkCount implements state.Store.
func (s *Store) LinkCount(ctx context.Context, pipeline string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM links WHERE pipeline = $1`, pipeline).Scan(&n); err != nil {
		return 0, s.errf("count links of %q: %w", pipeline, err)
	}
	return n, nil
}

// LinkScan implements state.Store, in byte order of the source key. It
// reads in pages, so fn may call the store without holding a connection.
func (s *Store) LinkScan(ctx context.Context, pipeline string, fn func(state.Link) error) error {
	const page = 1000
	after, first := "", true
	for {
		batch, err := collect(ctx, s, fmt.Sprintf("scan links of %q", pipeline), scanLink,
			`SELECT `+linkColumns+` FROM links WHERE pipeline = $1 AND ($2 OR source_key > $3)
			ORDER BY source_key LIMIT $4`, pipeline, first, after, page)
		if err != nil {
			return err
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
	err := s.pool.QueryRow(ctx, `SELECT updated_at, id FROM cursors WHERE pipeline = $1 AND side = $2`, pipeline, side).Scan(&t, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return connectors.Position{}, nil
	}
	if err != nil {
		return connectors.Position{}, s.errf("cursor of %q %s: %w", pipeline, side, err)
	}
	return column.ParsePosition(t, id)
}

// CursorReset implements state.Store.
func (s *Store) CursorReset(ctx context.Context, pipeline string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM cursors WHERE pipeline = $1`, pipeline); err != nil {
		return s.errf("reset cursors of %q: %w", pipeline, err)
	}
	return nil
}

// IntentsAdd implements state.Store. Adding an intent that exists replaces
// its target id and keeps its creation time.
func (s *Store) IntentsAdd(ctx context.Context, intents []state.Intent) error {
	if len(intents) == 0 {
		return nil
	}
	var b pgx.Batch
	for _, in := range intents {
		b.Queue(`INSERT INTO intents (pipeline, side, key, target_id, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (pipeline, side, key) DO UPDATE SET target_id = excluded.target_id`,
			in.Pipeline, in.Side, in.Key, in.TargetID, ts(in.CreatedAt))
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return s.errf("record create intents: %w", err)
		}
		return nil
	})
}

// Intents implements state.Store, in (side, key) order.
func (s *Store) Intents(ctx context.Context, pipeline string) ([]state.Intent, error) {
	return collect(ctx, s, fmt.Sprintf("intents of %q", pipeline), func(row pgx.Row) (state.Intent, error) {
		var in state.Intent
		err := row.Scan(&in.Pipeline, &in.Side, &in.Key, &in.TargetID, &in.CreatedAt)
		in.CreatedAt = in.CreatedAt.UTC()
		return in, err
	}, `SELECT pipeline, side, key, target_id, created_at FROM intents WHERE pipeline = $1 ORDER BY side, key`, pipeline)
}

// Rejects implements state.Store, in (pipeline, id) order.
func (s *Store) Rejects(ctx context.Context, pipeline string) ([]state.Reject, error) {
	return collect(ctx, s, "rejects", func(row pgx.Row) (state.Reject, error) {
		var r state.Reject
		err := row.Scan(&r.ID, &r.Pipeline, &r.Side, &r.Key, &r.Reason, &r.Retries, &r.FirstAt, &r.LastAt, &r.LastRunID)
		r.FirstAt, r.LastAt = r.FirstAt.UTC(), r.LastAt.UTC()
		return r, err
	}, `SELECT id, pipeline, side, key, reason, retries, first_at, last_at, last_run_id
		FROM rejects WHERE $1::text = '' OR pipeline = $1 ORDER BY pipeline, id`, pipeline)
}

const conflictColumns = `id, pipeline, source_key, sink_key, fields::text, source::text, sink::text, created_at, resolution, resolved_at, applied_at`

func scanConflict(row pgx.Row) (state.Conflict, error) {
	var c state.Conflict
	var fields, src, sink string
	if err := row.Scan(&c.ID, &c.Pipeline, &c.SourceKey, &c.SinkKey, &fields, &src, &sink, &c.CreatedAt, &c.Resolution, &c.ResolvedAt, &c.AppliedAt); err != nil {
		return c, err
	}
	c.CreatedAt = c.CreatedAt.UTC()
	c.ResolvedAt, c.AppliedAt = utcPtr(c.ResolvedAt), utcPtr(c.AppliedAt)
	return c, errors.Join(column.Decode(fields, &c.Fields), column.Decode(src, &c.Source), column.Decode(sink, &c.Sink))
}

// Conflicts implements state.Store, in id order.
func (s *Store) Conflicts(ctx context.Context, pipeline string, all bool) ([]state.Conflict, error) {
	return collect(ctx, s, "conflicts", scanConflict, `SELECT `+conflictColumns+` FROM conflicts
		WHERE ($1::text = '' OR pipeline = $1) AND ($2 OR resolution = '') ORDER BY id`, pipeline, all)
}

// ConflictGet implements state.Store.
func (s *Store) ConflictGet(ctx context.Context, id int64) (state.Conflict, error) {
	c, err := scanConflict(s.pool.QueryRow(ctx, `SELECT `+conflictColumns+` FROM conflicts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("conflict %d: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return c, s.errf("get conflict %d: %w", id, err)
	}
	return c, nil
}

// ConflictResolve implements state.Store.
func (s *Store) ConflictResolve(ctx context.Context, id int64, take string) error {
	if take != state.TakeSource && take != state.TakeSink {
		return fmt.Errorf("resolve conflict %d: take must be %q or %q, got %q", id, state.TakeSource, state.TakeSink, take)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE conflicts SET resolution = $2, resolved_at = $3 WHERE id = $1 AND resolution = ''`,
		id, take, column.Now())
	if err != nil {
		return s.errf("resolve conflict %d: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var current string
	err = s.pool.QueryRow(ctx, `SELECT resolution FROM conflicts WHERE id = $1`, id).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("conflict %d: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return s.errf("resolve conflict %d: %w", id, err)
	}
	return fmt.Errorf("conflict %d (took %s): %w", id, current, state.ErrAlreadyResolved)
}
