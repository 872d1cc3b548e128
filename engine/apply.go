package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sourcegraph/conc/panics"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/mapping"
	"github.com/kelompok/pipe/engine/state"
)

func countAction(c *state.Counts, action string) {
	switch action {
	case state.ActionCreate:
		c.Created++
	case state.ActionUpdate:
		c.Updated++
	case state.ActionDelete:
		c.Deleted++
	case state.ActionLink:
		c.Linked++
	case state.ActionSkip:
		c.Skipped++
	case state.ActionConflict:
		c.Conflicts++
	case state.ActionReject:
		c.Rejected++
	case state.ActionFail:
		c.Failed++
	}
}

// record counts an item's decisions and keeps them in the plan. Deletes
// are counted when the delete guard has let them through.
func (r *runner) record(ds []Decision) {
	for _, d := range ds {
		if d.Action == state.ActionDelete {
			continue
		}
		countAction(&r.counts, d.Action)
		if r.keepPlan {
			r.plan = append(r.plan, d)
		}
	}
}

// write sends changes to one side, turning a connector panic into an error.
func (r *runner) write(ctx context.Context, si int, changes []connectors.Change) ([]connectors.Result, error) {
	var res []connectors.Result
	var err error
	if rec := panics.Try(func() { res, err = r.streams[si].Write(ctx, changes) }); rec != nil {
		err = fmt.Errorf("connector panicked: %w", rec.AsError())
	}
	if err == nil && len(res) != len(changes) {
		err = fmt.Errorf("connector returned %d results for %d changes", len(res), len(changes))
	}
	if err != nil {
		return nil, fmt.Errorf("writing %d changes to %s (%s side of %q): %w", len(changes), r.ref(sideName(si)), sideName(si), r.p.Name, err)
	}
	return res, nil
}

func (r *runner) audit(d Decision) state.AuditEntry {
	return state.AuditEntry{RunID: r.runID, At: r.now().UTC(), SourceKey: d.SourceKey, SinkKey: d.SinkKey,
		Direction: d.Direction, Action: d.Action, Diff: d.Diff, Reason: d.Reason}
}

// quiet reports decisions that are counted but not audited: unchanged
// records, so that a no-change rerun writes no audit rows.
func quiet(d Decision) bool {
	return d.Action == state.ActionSkip && d.Direction == "" && (d.Reason == "no field to write" ||
		d.Reason == unchangedPair ||
		d.Reason == "unchanged; the other side's change is our own write" ||
		strings.HasSuffix(d.Reason, nothingToPull) || strings.HasSuffix(d.Reason, keptThere))
}

// heldAlready reports whether c is the open conflict of its pair as the run
// found it: the same fields and values.
func (r *runner) heldAlready(c *state.Conflict) bool {
	open, ok := r.openConflicts[c.SourceKey]
	if !ok || open.SinkKey != c.SinkKey || !slices.Equal(open.Fields, c.Fields) {
		return false
	}
	// The stored values come back as JSON decodes them: compare encodings.
	for _, pair := range [][2]map[string]any{{open.Source, c.Source}, {open.Sink, c.Sink}} {
		a, err1 := json.Marshal(pair[0])
		b, err2 := json.Marshal(pair[1])
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			return false
		}
	}
	return true
}

// dropSecondReading drops the decisions of a pair (by source key) that an
// earlier reading of this run decided: an echo of its commit (unchanged),
// a skip that reading counted already (deleted on both sides, say), a
// linked pair a filter excludes, or anything at all in a dry run (which
// committed nothing, so the pair would be decided a second time).
func (r *runner) dropSecondReading(it *item, key string) {
	if r.closes(it) {
		return // (an open conflict closed now: news)
	}
	if len(it.decisions) == 1 && quiet(it.decisions[0]) {
		it.decisions = nil
	}
	// What the earlier reading counted is not counted again: a skip (a pair
	// deleted on both sides, or filtered out, also by the write of that
	// reading), or, in a dry run, anything. A sink record matched with a
	// filtered source record is a skip of its own (newLink); an earlier
	// reading that counted nothing (a record of the look-back window, found
	// unchanged) leaves this one to count.
	if !r.counted[key] {
		return
	}
	if !it.newLink && skipsOnly(it) {
		it.decisions = nil
	}
	if r.params.DryRun {
		it.decisions, it.del, it.conflict, it.supersede = nil, nil, nil, 0
	}
}

// markClosed remembers that it's decision closes the open conflict of its
// pair, so that a later reading in the run does not close it again.
func (r *runner) markClosed(it *item) {
	if r.closed == nil {
		r.closed = map[string]int64{}
	}
	r.closed[it.sourceKey()] = it.supersede
}

// closes reports whether it's decision closes an open conflict of its pair
// that no earlier decision of this run closed.
func (r *runner) closes(it *item) bool {
	return it.supersede != 0 && r.closed[it.sourceKey()] != it.supersede
}

// fillKeys gives the decisions of a pair linked by this decision (a create,
// a match) the key they lack: the record created or matched on the other
// side, known once written.
func fillKeys(it *item) {
	if it.linkOut == nil {
		return
	}
	for i := range it.decisions {
		if it.decisions[i].SourceKey == "" {
			it.decisions[i].SourceKey = it.linkOut.SourceKey
		}
		if it.decisions[i].SinkKey == "" {
			it.decisions[i].SinkKey = it.linkOut.SinkKey
		}
	}
}

// skipsOnly reports whether it's decision is skips only: nothing written,
// deleted, held or refused.
func skipsOnly(it *item) bool {
	return it.reject == "" && it.del == nil && it.conflict == nil && it.writes == [2]*connectors.Change{} && onlySkips(it.decisions)
}

// onlySkips reports whether every decision is a skip.
func onlySkips(ds []Decision) bool {
	for _, d := range ds {
		if d.Action != state.ActionSkip {
			return false
		}
	}
	return true
}

// apply writes one batch's decisions and commits links, audit, rejects,
// conflicts, intents and the cursor together. A failed record stops the
// cursor of side before it for the rest of the run.
func (r *runner) apply(ctx context.Context, items []*item, side string, blocked bool) (bool, error) {
	// A record the look-back window read again, at or before the cursor a
	// previous run left, was decided by that run: when it still needs
	// nothing (unchanged, filtered out, left alone), it is not counted or
	// audited again.
	for _, it := range items {
		if it.unlink || r.closes(it) {
			// A link removed now, an open conflict closed now, is news: a
			// previous run, or intents recovery, would have done it.
			continue
		}
		if r.recovered[it.sourceKey()] && skipsOnly(it) {
			// Linked and counted by intents recovery in this run.
			it.decisions = nil
		}
		if !it.reread {
			continue
		}
		if it.conflict != nil && it.reject == "" && it.del == nil && it.writes == [2]*connectors.Change{} && r.heldAlready(it.conflict) {
			// Held again with the values it is held with (and nothing
			// else): it stays as it is, not counted again.
			it.decisions, it.conflict = nil, nil
		}
		if skipsOnly(it) {
			it.decisions = nil
		}
	}
	// A both-way run reads the pairs it has just written again from the
	// other side (and a pair the retry of rejects decided, from either):
	// the later reading of a pair is counted only when it finds something
	// the earlier one did not count.
	if r.p.Direction == config.Both {
		if r.seen == nil {
			r.seen, r.counted = map[string]bool{}, map[string]bool{}
		}
		for _, it := range items {
			key := it.sourceKey()
			if key == "" {
				continue // a record read from the sink, not linked yet: no pair to read twice
			}
			if r.seen[key] && !r.retrying {
				r.dropSecondReading(it, key)
			}
			r.seen[key] = true
			if len(it.decisions) > 0 {
				r.counted[key] = true
			}
		}
	}
	// A pair whose decision in this run was refused or failed (its link
	// and base did not move) is not decided again when read from the other
	// side: that would count, audit and reject it twice, with the other
	// side's stale view. Nor is a pair whose delete waits for the end-of-run
	// guard: nothing of it is committed before then, so a real run reads it
	// from the other side (or retries a reject kept under the other side's
	// key) as unsettled as a dry run does, and the guard would count, hold
	// and keep as a reject the same delete twice.
	if len(r.unsettled) > 0 {
		for _, it := range items {
			if _, ok := r.unsettled[it.sourceKey()]; ok {
				it.decisions, it.writes, it.linkOut = nil, [2]*connectors.Change{}, nil
				it.del, it.conflict, it.reject, it.unlink = nil, nil, "", false
				it.supersede = 0
			}
		}
	}
	// A pair read from both sides in one run is held once.
	for _, it := range items {
		if it.conflict == nil {
			continue
		}
		if r.held[it.conflict.SourceKey] {
			// Counted once, when it was held.
			it.conflict, it.linkOut = nil, nil
			it.decisions = nil
			continue
		}
		if r.held == nil {
			r.held = map[string]bool{}
		}
		r.held[it.conflict.SourceKey] = true
	}
	// The decisions of a pair whose conflict they close say so; a pair
	// read again in the run closes its open conflict once.
	for _, it := range items {
		if it.supersede == 0 || it.reject != "" {
			continue
		}
		if it.stale == "" && r.closed[it.sourceKey()] == it.supersede {
			it.supersede = 0
			continue
		}
		why := it.stale
		if why == "" {
			why = fmt.Sprintf("open conflict %d closed (superseded): the pair was decided without it", it.supersede)
		}
		for i := range it.decisions {
			it.decisions[i].Reason += "; " + why
		}
	}
	// (A dry run looks too: its plan says what the run would do.)
	if err := r.settle(); err != nil {
		return blocked, err
	}
	if err := r.updateLeftRecords(ctx, items); err != nil {
		return blocked, err
	}
	if r.params.DryRun {
		for _, it := range items {
			fillKeys(it)
			r.record(it.decisions)
			if it.del != nil {
				r.pendDelete(it)
			}
			if it.supersede != 0 && it.filtered == "" {
				r.markClosed(it)
			}
		}
		return blocked, nil
	}
	// Nothing of this batch is written before the previous batch is
	// committed.
	if err := r.settle(); err != nil {
		return blocked, err
	}
	now := r.now().UTC()
	intents := make([]state.Intent, 0, len(items))
	for _, it := range items {
		for si, w := range it.writes {
			if w != nil && w.Op == connectors.OpCreate {
				intents = append(intents, state.Intent{Pipeline: r.p.Name, Side: sideName(si), Key: it.key, TargetID: w.ID, CreatedAt: now})
			}
		}
	}
	if len(intents) > 0 {
		if err := r.store.IntentsAdd(ctx, intents); err != nil {
			return blocked, fmt.Errorf("recording %d pending creates of %q: %w", len(intents), r.p.Name, err)
		}
	}
	// Writes: to the to side first, then back to the from side, each in
	// one call in read order.
	for _, si := range []int{sideIdx(r.to), sideIdx(r.from)} {
		var changes []connectors.Change
		var owners []*item
		for _, it := range items {
			if w := it.writes[si]; w != nil {
				changes = append(changes, *w)
				owners = append(owners, it)
			}
		}
		if len(changes) == 0 {
			continue
		}
		res, err := r.write(ctx, si, changes)
		if err != nil {
			return blocked, err
		}
		for i := range res {
			owners[i].results[si] = &res[i]
		}
		if err := r.reviveCreates(ctx, si, owners); err != nil {
			return blocked, err
		}
	}

	b := state.Batch{Pipeline: r.p.Name, RunID: r.runID, Cursors: map[string]connectors.Position{},
		Links: make([]state.Link, 0, len(items)), Audit: make([]state.AuditEntry, 0, len(items)),
		IntentsDone: make([]state.Intent, 0, len(intents))}
	moved := false
	var cursor connectors.Position
	for _, it := range items {
		r.finish(it, &b)
		if it.cursor {
			if it.failed {
				blocked = true
			}
			if !blocked {
				cursor, moved = it.pos, true
			}
		}
	}
	// A record stamped in the future would take the cursor there, and the
	// changes stamped before that time would go unread: the cursor stops at
	// now, so that the next run reads from lookBack before now at the
	// latest (and finds that record again, unchanged, until its time has
	// come).
	if now := r.now().UTC(); cursor.UpdatedAt.After(now) {
		cursor = connectors.Position{UpdatedAt: now}
	}
	si := sideIdx(side)
	if moved && (!r.behind[si] || r.rewind[si] || r.stored[si].Before(cursor)) {
		// A run that reads from before the cursor (--full, the look-back
		// window) moves it only past where it stood (a --full --limit run
		// must not move it back), unless it stood in the future.
		b.Cursors[side] = cursor
		if r.rewind[si] {
			r.rewind[si], r.stored[si] = false, cursor
		}
	}
	r.commitAsync(ctx, b, len(items))
	return blocked, nil
}

// updateLeftRecords turns into updates the creates whose deterministic id
// is that of a live record left unlinked when its partner was deleted: the
// key came back (a row restored from a backup, a file row added again), and
// the record this key had is still there. A create would overwrite it
// unseen (an upsert), be refused (an id that exists), or, in Twenty, be
// taken for an earlier try of its own and linked with values the record
// does not have. It is updated instead, with the create's values, and
// audited as the update it is, from the values it had.
func (r *runner) updateLeftRecords(ctx context.Context, items []*item) error {
	if !r.anyUnlinked.Load() {
		return nil
	}
	for si := range 2 {
		var ids []string
		for _, it := range items {
			if w := it.writes[si]; w != nil && w.Op == connectors.OpCreate {
				ids = append(ids, w.ID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		side := sideName(si)
		left, err := r.store.Unlinked(ctx, r.p.Name, side, ids)
		if err != nil {
			return fmt.Errorf("looking up records of %q left unlinked: %w", r.p.Name, err)
		}
		if len(left) == 0 {
			continue
		}
		recs, err := r.get(ctx, side, slices.Sorted(maps.Keys(left)))
		if err != nil {
			return err
		}
		paths := r.paths
		if side != r.to {
			paths = r.backPath
		}
		for _, it := range items {
			w := it.writes[si]
			if w == nil || w.Op != connectors.OpCreate {
				continue
			}
			rec := recs[w.ID]
			if rec == nil || rec.Deleted {
				continue // gone since, or deleted: created (or restored) as planned
			}
			w.Op = connectors.OpUpdate
			it.revived = true
			var diff []state.FieldChange
			for _, p := range paths {
				was, _ := mapping.Get(rec.Fields, p)
				val, _ := mapping.Get(w.Fields, p)
				if !mapping.Equal(was, val) {
					diff = append(diff, state.FieldChange{Field: p, Old: was, New: val})
				}
			}
			for i, d := range it.decisions {
				if d.Action == state.ActionCreate {
					d.Action, d.Diff = state.ActionUpdate, diff
					d.Reason += fmt.Sprintf("; its id %s is the record this key had before, left unlinked when its partner was deleted: updated", w.ID)
					it.decisions[i] = d
				}
			}
		}
	}
	return nil
}

// reviveCreates settles the creates of a batch written to side si whose
// deterministic id is taken by a record of that side: the one this key had
// before, when an earlier pair of the key was deleted (soft-deleted on si,
// or left there as its partner went) and the key came back (a file row
// added again, a soft-deleted record restored after its pair was
// unlinked). A connector refuses such a create (the id exists) or, like
// Twenty's, hands back the existing record. Either way that record is
// looked up, and written instead: restored with the create's values when
// it is deleted, updated with them when it is live. Other refusals stand.
func (r *runner) reviveCreates(ctx context.Context, si int, owners []*item) error {
	var ids []string
	var taken []*item
	for _, it := range owners {
		w, res := it.writes[si], it.results[si]
		if w.Op != connectors.OpCreate || res == nil {
			continue
		}
		if connectors.IsRecordError(res.Err) || (res.Err == nil && res.Record != nil && res.Record.Deleted) {
			ids = append(ids, w.ID)
			taken = append(taken, it)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	recs, err := r.get(ctx, sideName(si), ids)
	if err != nil {
		return fmt.Errorf("looking up the records of %d creates %s refused: %w", len(ids), r.ref(sideName(si)), err)
	}
	var changes []connectors.Change
	var revived []*item
	for _, it := range taken {
		w := it.writes[si]
		rec := recs[w.ID]
		if rec == nil || (!rec.Deleted && !connectors.IsRecordError(it.results[si].Err)) {
			continue
		}
		op, how := connectors.OpRestore, "restored with these values"
		if !rec.Deleted {
			op, how = connectors.OpUpdate, "updated with these values"
		}
		changes = append(changes, connectors.Change{Op: op, ID: w.ID, Fields: w.Fields})
		revived = append(revived, it)
		it.revived = true
		for i := range it.decisions {
			if it.decisions[i].Action == state.ActionCreate {
				it.decisions[i].Reason += fmt.Sprintf("; its id %s is the record this key had before: %s", w.ID, how)
			}
		}
	}
	if len(changes) == 0 {
		return nil
	}
	res, err := r.write(ctx, si, changes)
	if err != nil {
		return err
	}
	for i := range res {
		revived[i].results[si] = &res[i]
	}
	return nil
}

// finish settles one item after its writes: its audit rows, link, reject,
// conflict and intents go into b.
func (r *runner) finish(it *item, b *state.Batch) {
	at := r.now().UTC()
	var refused, failure string
	notFound := -1
	for si, res := range it.results {
		if res == nil || res.Err == nil {
			continue
		}
		switch {
		case connectors.IsRecordError(res.Err):
			refused = fmt.Sprintf("%s refused the record: %s", r.ref(sideName(si)), errText(res.Err))
		case errors.Is(res.Err, connectors.ErrNotFound):
			notFound = si
		default:
			failure = fmt.Sprintf("writing to %s: %s (retried on the next run)", r.ref(sideName(si)), errText(res.Err))
		}
	}
	// Creates with a definite answer (done or refused) no longer need their
	// intent; a transient failure keeps it for the next run's recovery.
	for si, w := range it.writes {
		if w == nil || w.Op != connectors.OpCreate {
			continue
		}
		res := it.results[si]
		if res != nil && (res.Err == nil || connectors.IsRecordError(res.Err)) {
			b.IntentsDone = append(b.IntentsDone, state.Intent{Pipeline: r.p.Name, Side: sideName(si), Key: it.key, TargetID: w.ID})
		}
		if res != nil && res.Err == nil && it.linkOut != nil && res.ID != "" && res.ID != w.ID {
			if sideName(si) == "sink" {
				it.linkOut.SinkKey = res.ID
			} else {
				it.linkOut.SourceKey = res.ID
			}
		}
	}
	openReject, hadReject := r.rejects[it.readKey()]
	dirs := ""
	for _, d := range it.decisions {
		if d.Direction != "" {
			dirs = d.Direction
		}
	}
	if failure != "" || refused != "" || it.reject != "" {
		r.markUnsettled(it)
	}
	switch {
	case failure != "":
		it.failed = true
		d := Decision{Action: state.ActionFail, Direction: dirs, SourceKey: it.sourceKey(), SinkKey: it.sinkKey(), Reason: failure}
		r.record([]Decision{d})
		b.Audit = append(b.Audit, r.audit(d))
		return
	case refused != "":
		d := Decision{Action: state.ActionReject, Direction: dirs, SourceKey: it.sourceKey(), SinkKey: it.sinkKey(), Reason: refused}
		r.record([]Decision{d})
		b.Audit = append(b.Audit, r.audit(d))
		b.Rejects = append(b.Rejects, state.Reject{Pipeline: r.p.Name, Side: it.origin, Key: it.key, Reason: refused, FirstAt: at, LastAt: at, LastRunID: r.runID})
		return
	case notFound >= 0:
		r.vanished(it, notFound, b, at)
		return
	}
	fillKeys(it)
	r.record(it.decisions)
	for _, d := range it.decisions {
		if d.Action != state.ActionDelete && !quiet(d) {
			b.Audit = append(b.Audit, r.audit(d))
		}
	}
	if it.reject != "" {
		b.Rejects = append(b.Rejects, state.Reject{Pipeline: r.p.Name, Side: it.origin, Key: it.key, Reason: it.reject, FirstAt: at, LastAt: at, LastRunID: r.runID})
		return
	}
	if it.linkOut != nil {
		l := *it.linkOut
		l.Pipeline, l.UpdatedAt = r.p.Name, at
		b.Links = append(b.Links, l)
		if r.seen != nil {
			// A pair this reading created or linked: decided in this
			// run under its source key (known only now for a create on
			// the source).
			r.seen[l.SourceKey] = true
		}
	} else if it.unlink && it.link != nil && !it.newLink && it.del == nil {
		b.Unlink = append(b.Unlink, it.link.SourceKey)
		if it.leave > 0 {
			r.leaveUnlinked(b, it, it.leave-1)
		}
	}
	if it.unlinked != nil && !it.left {
		// Changed since it was left alone: synced again like any record.
		b.UnlinkedCleared = append(b.UnlinkedCleared, *it.unlinked)
	}
	if it.linkOut != nil && (it.newLink || it.revived) {
		// Either record may have been left alone by an earlier pair: it
		// is linked again now.
		b.UnlinkedCleared = append(b.UnlinkedCleared,
			state.Unlinked{Side: config.SideSource, Key: it.linkOut.SourceKey},
			state.Unlinked{Side: config.SideSink, Key: it.linkOut.SinkKey})
	}
	if it.conflict != nil {
		b.Conflicts = append(b.Conflicts, *it.conflict)
	}
	if it.conflictID != 0 && it.conflict == nil && it.filtered == "" {
		// (A resolution of a pair a filter excludes waits until it passes.)
		b.ConflictsApplied = append(b.ConflictsApplied, it.conflictID)
	}
	if it.supersede != 0 && it.filtered == "" {
		b.ConflictsSuperseded = append(b.ConflictsSuperseded, it.supersede)
		r.markClosed(it)
	}
	if it.del != nil {
		// Deletes wait for the end-of-run guard; the pending reject makes
		// sure a crash before then retries them.
		r.pendDelete(it)
		r.keepPending(it, b, at)
		return
	}
	if hadReject && r.unsettled[it.sourceKey()] != it.readKey() {
		// (A second reading of a pair whose delete is pending, or whose
		// decision was refused or failed, clears a reject kept under its
		// own key, as older versions left one per side, but not the one
		// this run kept for that delete or refusal: the same record read
		// again, changed since the retry, must stay a reject.)
		b.RejectsCleared = append(b.RejectsCleared, openReject)
	}
}

// leaveUnlinked records that the live record of it on side li is left
// alone as its partner was deleted (see state.Unlinked).
func (r *runner) leaveUnlinked(b *state.Batch, it *item, li int) {
	rec := it.recs[li]
	if gone(rec) {
		return
	}
	r.anyUnlinked.Store(true)
	keys := r.linkKeys(it.link)
	var fromRaw map[string]any
	if li == sideIdx(r.from) {
		fromRaw = it.fromRaw
	}
	b.Unlinked = append(b.Unlinked, state.Unlinked{Pipeline: r.p.Name, Side: sideName(li), Key: keys[li],
		PartnerKey: keys[1-li], UpdatedAt: rec.UpdatedAt, Hash: r.contentHash(sideName(li), rec, fromRaw)})
}

// pendDelete adds an item's delete to the ones the end-of-run guard checks.
// Its pair is unsettled until then: not decided again in this run.
func (r *runner) pendDelete(it *item) {
	r.deletes = append(r.deletes, it)
	r.unsettle(it)
}

// markUnsettled remembers, in a both-way run, a pair whose decision was
// refused or failed.
func (r *runner) markUnsettled(it *item) {
	if r.p.Direction == config.Both {
		r.unsettle(it)
	}
}

// unsettle remembers the pair of it (by source key) as decided in this run
// but not settled, with the reading that decided it (whose reject it keeps).
func (r *runner) unsettle(it *item) {
	if it.sourceKey() == "" {
		return
	}
	if r.unsettled == nil {
		r.unsettled = map[string]string{}
	}
	r.unsettled[it.sourceKey()] = it.readKey()
}

// vanished settles an item whose write to side gi failed with
// connectors.ErrNotFound: the record was deleted there between the read and
// the write. It is treated like a delete seen on that side: the delete
// policy decides what happens to the record on the other side (ignore:
// left alone; soft or propagate: deleted, through the end-of-run delete
// guard like every delete), and the link is removed. Every outcome is
// audited with the reason.
func (r *runner) vanished(it *item, gi int, b *state.Batch, at time.Time) {
	gside, lside := sideName(gi), sideName(1-gi)
	// A write to the other side that went through is still audited.
	for _, d := range it.decisions {
		if d.Action == state.ActionUpdate && d.Direction == dirOf(lside) && it.results[1-gi] != nil && it.results[1-gi].Err == nil {
			r.record([]Decision{d})
			b.Audit = append(b.Audit, r.audit(d))
		}
	}
	why := fmt.Sprintf("the %s record no longer exists (deleted between read and write)", gside)
	skip := func(reason string, unlink, leave bool) {
		d := Decision{Action: state.ActionSkip, SourceKey: it.sourceKey(), SinkKey: it.sinkKey(), Reason: why + "; " + reason}
		r.record([]Decision{d})
		b.Audit = append(b.Audit, r.audit(d))
		if unlink {
			b.Unlink = append(b.Unlink, it.link.SourceKey)
			if leave {
				r.leaveUnlinked(b, it, 1-gi)
			}
		}
		if rj, ok := r.rejects[it.readKey()]; ok {
			b.RejectsCleared = append(b.RejectsCleared, rj)
		}
	}
	if it.link == nil || it.newLink {
		skip("the pair was matched in this run and never synced: not linked", false, false)
		return
	}
	live := it.recs[1-gi]
	if res := it.results[1-gi]; gone(live) || (res != nil && errors.Is(res.Err, connectors.ErrNotFound)) {
		skip(fmt.Sprintf("the %s record is gone too; link removed", lside), true, false)
		return
	}
	if !r.writable(lside) {
		skip(fmt.Sprintf("this pipeline does not write to the %s; link removed", lside), true, true)
		return
	}
	policy := r.p.Delete.Policy
	switch policy {
	case config.DeleteSoft:
		it.del = &connectors.Change{Op: connectors.OpDelete, ID: live.ID}
	case config.DeletePropagate:
		it.del = &connectors.Change{Op: connectors.OpDestroy, ID: live.ID}
	default:
		skip("delete policy is ignore; link removed", true, true)
		return
	}
	it.delSide, it.unlink = 1-gi, true
	it.decisions = []Decision{{Action: state.ActionDelete, Direction: dirOf(lside), SourceKey: it.sourceKey(), SinkKey: it.sinkKey(),
		Reason: fmt.Sprintf("%s; delete policy %s", why, policy)}}
	// Like every delete, it waits for the end-of-run guard; the pending
	// reject makes a crash before then retry it.
	r.pendDelete(it)
	r.keepPending(it, b, at)
}

// keepPending keeps a pending delete as a reject until the end-of-run guard
// decides it, so that a crash before then retries it. A record that already
// has an open reject (a delete the guard held in an earlier run, say) is
// retried through that one: adding another would count the retry twice.
func (r *runner) keepPending(it *item, b *state.Batch, at time.Time) {
	if _, open := r.rejects[it.readKey()]; open {
		return
	}
	b.Rejects = append(b.Rejects, state.Reject{Pipeline: r.p.Name, Side: it.origin, Key: it.key,
		Reason: "delete pending: waits for the end-of-run delete guard check", FirstAt: at, LastAt: at, LastRunID: r.runID})
}

// finishDeletes applies this run's deletes unless they exceed the delete
// guard, in which case none is applied and all are kept as rejects.
func (r *runner) finishDeletes(ctx context.Context) error {
	if err := r.settle(); err != nil {
		return err
	}
	total := len(r.deletes)
	if total == 0 {
		return nil
	}
	g := r.p.Delete
	over := ""
	switch {
	case g.MaxCount > 0 && total > g.MaxCount:
		over = fmt.Sprintf("more than delete.maxCount %d", g.MaxCount)
	case g.MaxFraction > 0 && float64(total) > g.MaxFraction*float64(r.linkCount):
		over = fmt.Sprintf("more than delete.maxFraction %g of %s", g.MaxFraction, records(r.linkCount, "linked record"))
	}
	at := r.now().UTC()
	if over != "" {
		r.heldDel = total
		r.guardError = fmt.Sprintf("delete guard: this run would delete %s, %s; no delete was applied. "+
			"Check that the deletions are intended, then raise the limit in the pipeline's delete settings and run again", records(total, "record"), over)
		reason := "delete held by the delete guard: " + over
		var rejects []state.Reject
		var audit []state.AuditEntry
		for _, it := range r.deletes {
			d := it.decisions[len(it.decisions)-1]
			d.Action, d.Reason = state.ActionSkip, reason
			r.record([]Decision{d})
			audit = append(audit, r.audit(d))
			rejects = append(rejects, state.Reject{Pipeline: r.p.Name, Side: it.origin, Key: it.key, Reason: reason, FirstAt: at, LastAt: at, LastRunID: r.runID})
		}
		if r.params.DryRun {
			return nil
		}
		return r.store.Commit(ctx, state.Batch{Pipeline: r.p.Name, RunID: r.runID, Rejects: rejects, Audit: audit})
	}
	for start := 0; start < total; start += r.batchSize() {
		chunk := r.deletes[start:min(total, start+r.batchSize())]
		if r.params.DryRun {
			for _, it := range chunk {
				r.countDelete(it)
			}
			continue
		}
		for _, it := range chunk {
			it.results = [2]*connectors.Result{}
		}
		for si := range 2 {
			var changes []connectors.Change
			var owners []*item
			for _, it := range chunk {
				if it.delSide == si {
					changes = append(changes, *it.del)
					owners = append(owners, it)
				}
			}
			if len(changes) == 0 {
				continue
			}
			res, err := r.write(ctx, si, changes)
			if err != nil {
				return err
			}
			for i := range res {
				owners[i].results[si] = &res[i]
			}
		}
		b := state.Batch{Pipeline: r.p.Name, RunID: r.runID}
		for _, it := range chunk {
			res := it.results[it.delSide]
			d := it.decisions[len(it.decisions)-1]
			switch {
			case res.Err == nil || errors.Is(res.Err, connectors.ErrNotFound):
				r.countDelete(it)
				b.Audit = append(b.Audit, r.audit(d))
				if it.unlink && it.link != nil {
					b.Unlink = append(b.Unlink, it.link.SourceKey)
				}
				b.RejectsCleared = append(b.RejectsCleared, state.Reject{Pipeline: r.p.Name, Side: it.origin, Key: it.key})
			case connectors.IsRecordError(res.Err):
				d.Action, d.Reason = state.ActionReject, fmt.Sprintf("%s refused the delete: %s", r.ref(sideName(it.delSide)), errText(res.Err))
				r.record([]Decision{d})
				b.Audit = append(b.Audit, r.audit(d))
				b.Rejects = append(b.Rejects, state.Reject{Pipeline: r.p.Name, Side: it.origin, Key: it.key, Reason: d.Reason, FirstAt: at, LastAt: at, LastRunID: r.runID})
			default:
				d.Action, d.Reason = state.ActionFail, fmt.Sprintf("deleting on %s: %s (retried on the next run)", r.ref(sideName(it.delSide)), errText(res.Err))
				r.record([]Decision{d})
				b.Audit = append(b.Audit, r.audit(d))
			}
		}
		if err := r.store.Commit(ctx, b); err != nil {
			return fmt.Errorf("committing deletes of %q: %w", r.p.Name, err)
		}
	}
	return nil
}

// records says n things: "1 record", "3 records".
func records(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func (r *runner) countDelete(it *item) {
	d := it.decisions[len(it.decisions)-1]
	r.counts.Deleted++
	if r.keepPlan {
		r.plan = append(r.plan, d)
	}
}
