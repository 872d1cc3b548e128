package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/internal/column"
)

// Commit implements state.Store: everything in b is applied in one
// transaction (sent as one pipelined batch), or nothing is.
func (s *Store) Commit(ctx context.Context, b state.Batch) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return commit(ctx, tx, b) })
	if err != nil {
		return s.errf("commit batch of %q (run %d): %w", b.Pipeline, b.RunID, err)
	}
	return nil
}

func pipelineOr(p, batch string) string {
	if p != "" {
		return p
	}
	return batch
}

func commit(ctx context.Context, tx pgx.Tx, b state.Batch) error {
	now := column.Now()
	var first int64
	if len(b.Audit) > 0 {
		// Reserve sequence numbers on the run row; this also orders
		// concurrent commits of one run.
		var last int64
		err := tx.QueryRow(ctx, `UPDATE runs SET audit_seq = audit_seq + $1 WHERE id = $2 RETURNING audit_seq`,
			len(b.Audit), b.RunID).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("audit: run %d: %w", b.RunID, state.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		first = last - int64(len(b.Audit)) + 1
	}

	var q pgx.Batch
	for _, k := range b.Unlink {
		q.Queue(`DELETE FROM links WHERE pipeline = $1 AND source_key = $2`, b.Pipeline, k)
	}
	if len(b.Links) > 0 {
		// One statement for all links. A key given twice would make the
		// upsert touch a row twice, which PostgreSQL refuses: the last
		// one wins, as with one statement per link.
		links := lastLinks(b)
		cols := make([][]string, 6)
		updated := make([]time.Time, len(links))
		for i, l := range links {
			base, err := column.JSON(l.Base)
			if err != nil {
				return err
			}
			for c, v := range []string{pipelineOr(l.Pipeline, b.Pipeline), l.SourceKey, l.SinkKey, base, l.SourceHash, l.SinkHash} {
				cols[c] = append(cols[c], v)
			}
			updated[i] = ts(l.UpdatedAt)
		}
		q.Queue(`INSERT INTO links (pipeline, source_key, sink_key, base, source_hash, sink_hash, updated_at)
			SELECT p, s, k, b::jsonb, sh, kh, u
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) AS t(p, s, k, b, sh, kh, u)
			ON CONFLICT (pipeline, source_key) DO UPDATE SET sink_key = excluded.sink_key, base = excluded.base,
				source_hash = excluded.source_hash, sink_hash = excluded.sink_hash, updated_at = excluded.updated_at`,
			cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], updated)
	}
	queueUnlinked(&q, &b, now)
	if len(b.Audit) > 0 {
		n := len(b.Audit)
		seqs, ats := make([]int64, n), make([]time.Time, n)
		cols := make([][]string, 6)
		for i, a := range b.Audit {
			diff, err := column.JSON(a.Diff)
			if err != nil {
				return err
			}
			seqs[i] = first + int64(i)
			ats[i] = now
			if !a.At.IsZero() {
				ats[i] = ts(a.At)
			}
			for c, v := range []string{a.SourceKey, a.SinkKey, a.Direction, a.Action, diff, a.Reason} {
				cols[c] = append(cols[c], v)
			}
		}
		q.Queue(`INSERT INTO audit (run_id, seq, at, source_key, sink_key, direction, action, diff, reason)
			SELECT $1, seq, at, sk, kk, dir, act, diff::jsonb, reason
			FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
				AS t(seq, at, sk, kk, dir, act, diff, reason)`,
			b.RunID, seqs, ats, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5])
	}
	sides := make([]string, 0, len(b.Cursors))
	for side := range b.Cursors {
		sides = append(sides, side)
	}
	sort.Strings(sides)
	for _, side := range sides {
		p := b.Cursors[side]
		q.Queue(`INSERT INTO cursors (pipeline, side, updated_at, id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (pipeline, side) DO UPDATE SET updated_at = excluded.updated_at, id = excluded.id`,
			b.Pipeline, side, column.PositionTime(p), p.ID)
	}
	for _, in := range b.IntentsDone {
		q.Queue(`DELETE FROM intents WHERE pipeline = $1 AND side = $2 AND key = $3`, pipelineOr(in.Pipeline, b.Pipeline), in.Side, in.Key)
	}
	for _, r := range b.Rejects {
		runID := r.LastRunID
		if runID == 0 {
			runID = b.RunID
		}
		at := now
		if !r.LastAt.IsZero() {
			at = ts(r.LastAt)
		}
		q.Queue(`INSERT INTO rejects (pipeline, side, key, reason, retries, first_at, last_at, last_run_id)
			VALUES ($1, $2, $3, $4, 0, $5, $5, $6)
			ON CONFLICT (pipeline, side, key) DO UPDATE SET reason = excluded.reason, retries = rejects.retries + 1,
				last_at = excluded.last_at, last_run_id = excluded.last_run_id`,
			pipelineOr(r.Pipeline, b.Pipeline), r.Side, r.Key, r.Reason, at, runID)
	}
	for _, r := range b.RejectsCleared {
		q.Queue(`DELETE FROM rejects WHERE pipeline = $1 AND side = $2 AND key = $3`, pipelineOr(r.Pipeline, b.Pipeline), r.Side, r.Key)
	}
	for _, c := range b.Conflicts {
		fields, err1 := column.JSON(c.Fields)
		src, err2 := column.JSON(c.Source)
		sink, err3 := column.JSON(c.Sink)
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		q.Queue(`INSERT INTO conflicts (pipeline, source_key, sink_key, fields, source, sink, created_at)
			VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7)
			ON CONFLICT (pipeline, source_key) WHERE resolution = '' DO UPDATE SET sink_key = excluded.sink_key,
				fields = excluded.fields, source = excluded.source, sink = excluded.sink`,
			pipelineOr(c.Pipeline, b.Pipeline), c.SourceKey, c.SinkKey, fields, src, sink, ts(c.CreatedAt))
	}
	for _, id := range b.ConflictsApplied {
		id := id
		q.Queue(`UPDATE conflicts SET applied_at = $1 WHERE id = $2 AND resolution <> ''`, now, id).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("conflict %d marked applied: it is unknown or not resolved (%w)", id, state.ErrNotFound)
			}
			return nil
		})
	}
	for _, id := range b.ConflictsSuperseded {
		q.Queue(`UPDATE conflicts SET resolution = $1, resolved_at = COALESCE(resolved_at, $2), applied_at = $2
			WHERE id = $3 AND applied_at IS NULL`, state.Superseded, now, id)
	}
	if q.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &q).Close()
}

// lastLinks returns b.Links keeping, for a (pipeline, source key) given more
// than once, only the last, in the order of first appearance.
func lastLinks(b state.Batch) []state.Link {
	type key struct{ p, s string }
	at := make(map[key]int, len(b.Links))
	out := make([]state.Link, 0, len(b.Links))
	for _, l := range b.Links {
		k := key{pipelineOr(l.Pipeline, b.Pipeline), l.SourceKey}
		if i, ok := at[k]; ok {
			out[i] = l
			continue
		}
		at[k] = len(out)
		out = append(out, l)
	}
	return out
}

// queueUnlinked queues b.UnlinkedCleared, then b.Unlinked (a record cleared
// and recorded again in one batch stays recorded), one statement each and
// none when they are empty.
func queueUnlinked(q *pgx.Batch, b *state.Batch, now time.Time) {
	if len(b.UnlinkedCleared) > 0 {
		cols := make([][]string, 3)
		for _, u := range b.UnlinkedCleared {
			for c, v := range []string{pipelineOr(u.Pipeline, b.Pipeline), u.Side, u.Key} {
				cols[c] = append(cols[c], v)
			}
		}
		q.Queue(`DELETE FROM unlinked AS u USING unnest($1::text[], $2::text[], $3::text[]) AS t(p, s, k)
			WHERE u.pipeline = t.p AND u.side = t.s AND u.key = t.k`, cols[0], cols[1], cols[2])
	}
	if len(b.Unlinked) > 0 {
		// A key given twice would make the upsert touch a row twice,
		// which PostgreSQL refuses: the last one wins.
		type key struct{ p, s, k string }
		at := make(map[key]int, len(b.Unlinked))
		cols := make([][]string, 6)
		var ats []time.Time
		for _, u := range b.Unlinked {
			t := now
			if !u.At.IsZero() {
				t = ts(u.At)
			}
			row := []string{pipelineOr(u.Pipeline, b.Pipeline), u.Side, u.Key, u.PartnerKey, column.ExactTime(u.UpdatedAt), u.Hash}
			k := key{row[0], row[1], row[2]}
			if i, ok := at[k]; ok {
				for c, v := range row {
					cols[c][i] = v
				}
				ats[i] = t
				continue
			}
			at[k] = len(ats)
			for c, v := range row {
				cols[c] = append(cols[c], v)
			}
			ats = append(ats, t)
		}
		q.Queue(`INSERT INTO unlinked (pipeline, side, key, partner_key, updated_at, hash, at)
			SELECT p, s, k, pk, u, h, a
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) AS t(p, s, k, pk, u, h, a)
			ON CONFLICT (pipeline, side, key) DO UPDATE SET partner_key = excluded.partner_key,
				updated_at = excluded.updated_at, hash = excluded.hash, at = excluded.at`,
			cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], ats)
	}
}
