package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/internal/column"
)

// Commit implements state.Store: everything in b is applied in one
// transaction, or nothing is.
func (s *Store) Commit(ctx context.Context, b state.Batch) error {
	return s.write(ctx, fmt.Sprintf("commit batch of %q (run %d)", b.Pipeline, b.RunID), func(tx *sql.Tx) error {
		return commit(ctx, tx, &s.stmts, b)
	})
}

// pipelineOr returns p, or the batch's pipeline when p is empty.
func pipelineOr(p, batch string) string {
	if p != "" {
		return p
	}
	return batch
}

// exec runs one prepared statement for each of n rows.
func exec(ctx context.Context, tx *sql.Tx, query string, n int, args func(i int) ([]any, error)) error {
	if n == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer st.Close()
	for i := 0; i < n; i++ {
		a, err := args(i)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, a...); err != nil {
			return err
		}
	}
	return nil
}

// maxRowParams bounds the parameters of one multi-row statement (under
// the 999 of SQLite builds older than 3.32).
const maxRowParams = 900

// execRows inserts n rows of cols columns with multi-row VALUES lists:
// head + "(?, ...), (?, ...)" + tail, in chunks. Rows are applied in order,
// so a later row of the same key wins, as with one statement per row. The
// statements are prepared once per shape (stmts).
func execRows(ctx context.Context, tx *sql.Tx, stmts *stmtCache, head, tail string, cols, n int, args func(i int) ([]any, error)) error {
	one := "(?" + strings.Repeat(", ?", cols-1) + ")"
	per := maxRowParams / cols
	all := make([]any, 0, min(n, per)*cols)
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		all = all[:0]
		for i := start; i < end; i++ {
			a, err := args(i)
			if err != nil {
				return err
			}
			all = append(all, a...)
		}
		st, err := stmts.get(ctx, tx, head+one+strings.Repeat(", "+one, end-start-1)+tail)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, all...); err != nil {
			return err
		}
	}
	return nil
}

// stmtCache holds the writer's prepared statements by SQL text: a batch's
// multi-row statements have a few shapes that recur batch after batch, and
// preparing one (parsing hundreds of placeholders) costs about as much as
// running it.
//
// The writer has one connection, which a transaction holds: a statement
// first seen in a transaction is prepared for that use only and remembered
// (wanted); prepareWanted, called once the transaction has ended, prepares
// it on the database for the next ones.
type stmtCache struct {
	mu     sync.Mutex
	db     *sql.DB
	m      map[string]*sql.Stmt
	wanted []string
}

// maxCachedStmts bounds the cache; statements beyond it are prepared for
// each use.
const maxCachedStmts = 64

// get returns the statement for query, bound to tx.
func (c *stmtCache) get(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.m[query]
	if !ok && len(c.m)+len(c.wanted) < maxCachedStmts && !slices.Contains(c.wanted, query) {
		c.wanted = append(c.wanted, query)
	}
	c.mu.Unlock()
	if !ok {
		return tx.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}

// prepareWanted prepares the statements get has seen but not found. Call
// it outside any transaction of the writer. A failure only means no cache.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = nil
	c.mu.Unlock()
	// Not under mu: preparing waits for the writer connection, which
	// another goroutine's transaction may hold while it calls get.
	for _, q := range wanted {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		if _, dup := c.m[q]; dup {
			st.Close()
		} else {
			c.m[q] = st
		}
		c.mu.Unlock()
	}
}

// close closes the cached statements.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}

func commit(ctx context.Context, tx *sql.Tx, stmts *stmtCache, b state.Batch) error {
	now := column.Now()
	if err := exec(ctx, tx, `DELETE FROM links WHERE pipeline = ? AND source_key = ?`, len(b.Unlink), func(i int) ([]any, error) {
		return []any{b.Pipeline, b.Unlink[i]}, nil
	}); err != nil {
		return fmt.Errorf("unlink: %w", err)
	}
	if err := execRows(ctx, tx, stmts, `
		INSERT INTO links (pipeline, source_key, sink_key, base, source_hash, sink_hash, updated_at) VALUES `, `
		ON CONFLICT (pipeline, source_key) DO UPDATE SET sink_key = excluded.sink_key, base = excluded.base,
			source_hash = excluded.source_hash, sink_hash = excluded.sink_hash, updated_at = excluded.updated_at`,
		7, len(b.Links), func(i int) ([]any, error) {
			l := b.Links[i]
			base, err := column.JSON(l.Base)
			if err != nil {
				return nil, err
			}
			return []any{pipelineOr(l.Pipeline, b.Pipeline), l.SourceKey, l.SinkKey, base, l.SourceHash, l.SinkHash, micro(l.UpdatedAt)}, nil
		}); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	if len(b.Unlinked) > 0 || len(b.UnlinkedCleared) > 0 {
		if err := unlinked(ctx, tx, stmts, &b, now); err != nil {
			return err
		}
	}
	if len(b.Audit) > 0 {
		// Reserve len(b.Audit) sequence numbers on the run row; it also
		// orders concurrent commits of one run.
		var last int64
		err := tx.QueryRowContext(ctx, `UPDATE runs SET audit_seq = audit_seq + ? WHERE id = ? RETURNING audit_seq`,
			len(b.Audit), b.RunID).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("audit: run %d: %w", b.RunID, state.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		first := last - int64(len(b.Audit)) + 1
		if err := execRows(ctx, tx, stmts, `
			INSERT INTO audit (run_id, seq, at, source_key, sink_key, direction, action, diff, reason) VALUES `, ``,
			9, len(b.Audit), func(i int) ([]any, error) {
				a := b.Audit[i]
				diff, err := column.JSON(a.Diff)
				if err != nil {
					return nil, err
				}
				at := now
				if !a.At.IsZero() {
					at = column.Norm(a.At)
				}
				return []any{b.RunID, first + int64(i), at.UnixMicro(), a.SourceKey, a.SinkKey, a.Direction, a.Action, diff, a.Reason}, nil
			}); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	sides := make([]string, 0, len(b.Cursors))
	for side := range b.Cursors {
		sides = append(sides, side)
	}
	sort.Strings(sides)
	if err := exec(ctx, tx, `
		INSERT INTO cursors (pipeline, side, updated_at, id) VALUES (?, ?, ?, ?)
		ON CONFLICT (pipeline, side) DO UPDATE SET updated_at = excluded.updated_at, id = excluded.id`,
		len(sides), func(i int) ([]any, error) {
			p := b.Cursors[sides[i]]
			return []any{b.Pipeline, sides[i], column.PositionTime(p), p.ID}, nil
		}); err != nil {
		return fmt.Errorf("cursor: %w", err)
	}
	if err := intentsDone(ctx, tx, b.Pipeline, b.IntentsDone); err != nil {
		return fmt.Errorf("intent done: %w", err)
	}
	if err := exec(ctx, tx, `
		INSERT INTO rejects (pipeline, side, key, reason, retries, first_at, last_at, last_run_id)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?)
		ON CONFLICT (pipeline, side, key) DO UPDATE SET reason = excluded.reason, retries = rejects.retries + 1,
			last_at = excluded.last_at, last_run_id = excluded.last_run_id`,
		len(b.Rejects), func(i int) ([]any, error) {
			r := b.Rejects[i]
			runID := r.LastRunID
			if runID == 0 {
				runID = b.RunID
			}
			at := now
			if !r.LastAt.IsZero() {
				at = column.Norm(r.LastAt)
			}
			return []any{pipelineOr(r.Pipeline, b.Pipeline), r.Side, r.Key, r.Reason, at.UnixMicro(), at.UnixMicro(), runID}, nil
		}); err != nil {
		return fmt.Errorf("reject: %w", err)
	}
	if err := exec(ctx, tx, `DELETE FROM rejects WHERE pipeline = ? AND side = ? AND key = ?`, len(b.RejectsCleared), func(i int) ([]any, error) {
		r := b.RejectsCleared[i]
		return []any{pipelineOr(r.Pipeline, b.Pipeline), r.Side, r.Key}, nil
	}); err != nil {
		return fmt.Errorf("clear reject: %w", err)
	}
	if err := exec(ctx, tx, `
		INSERT INTO conflicts (pipeline, source_key, sink_key, fields, source, sink, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (pipeline, source_key) WHERE resolution = '' DO UPDATE SET sink_key = excluded.sink_key,
			fields = excluded.fields, source = excluded.source, sink = excluded.sink`,
		len(b.Conflicts), func(i int) ([]any, error) {
			c := b.Conflicts[i]
			fields, err1 := column.JSON(c.Fields)
			src, err2 := column.JSON(c.Source)
			sink, err3 := column.JSON(c.Sink)
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, err
			}
			return []any{pipelineOr(c.Pipeline, b.Pipeline), c.SourceKey, c.SinkKey, fields, src, sink, micro(c.CreatedAt)}, nil
		}); err != nil {
		return fmt.Errorf("conflict: %w", err)
	}
	for _, id := range b.ConflictsApplied {
		res, err := tx.ExecContext(ctx, `UPDATE conflicts SET applied_at = ? WHERE id = ? AND resolution <> ''`, now.UnixMicro(), id)
		if err != nil {
			return fmt.Errorf("conflict applied: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("conflict %d marked applied: it is unknown or not resolved (%w)", id, state.ErrNotFound)
		}
	}
	if err := exec(ctx, tx, `UPDATE conflicts SET resolution = ?, resolved_at = COALESCE(resolved_at, ?), applied_at = ?
		WHERE id = ? AND applied_at IS NULL`,
		len(b.ConflictsSuperseded), func(i int) ([]any, error) {
			return []any{state.Superseded, now.UnixMicro(), now.UnixMicro(), b.ConflictsSuperseded[i]}, nil
		}); err != nil {
		return fmt.Errorf("conflict superseded: %w", err)
	}
	return nil
}

// unlinked applies b.UnlinkedCleared, then b.Unlinked (a record cleared and
// recorded again in one batch stays recorded). commit calls it only when
// there is either, so most batches run no statement and allocate nothing
// for them.
func unlinked(ctx context.Context, tx *sql.Tx, stmts *stmtCache, b *state.Batch, now time.Time) error {
	if err := exec(ctx, tx, `DELETE FROM unlinked WHERE pipeline = ? AND side = ? AND key = ?`, len(b.UnlinkedCleared), func(i int) ([]any, error) {
		u := b.UnlinkedCleared[i]
		return []any{pipelineOr(u.Pipeline, b.Pipeline), u.Side, u.Key}, nil
	}); err != nil {
		return fmt.Errorf("clear unlinked: %w", err)
	}
	if err := execRows(ctx, tx, stmts, `
		INSERT INTO unlinked (pipeline, side, key, partner_key, updated_at, hash, at) VALUES `, `
		ON CONFLICT (pipeline, side, key) DO UPDATE SET partner_key = excluded.partner_key,
			updated_at = excluded.updated_at, hash = excluded.hash, at = excluded.at`,
		7, len(b.Unlinked), func(i int) ([]any, error) {
			u := b.Unlinked[i]
			at := now
			if !u.At.IsZero() {
				at = column.Norm(u.At)
			}
			return []any{pipelineOr(u.Pipeline, b.Pipeline), u.Side, u.Key, u.PartnerKey,
				column.ExactTime(u.UpdatedAt), u.Hash, at.UnixMicro()}, nil
		}); err != nil {
		return fmt.Errorf("unlinked: %w", err)
	}
	return nil
}
