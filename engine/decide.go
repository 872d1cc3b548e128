package engine

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/mapping"
	"github.com/kelompok/pipe/engine/state"
)

func gone(r *connectors.Record) bool { return r == nil || r.Deleted }

// writable reports whether this pipeline writes to side.
func (r *runner) writable(side string) bool {
	return side == r.to || r.p.Direction == config.Both
}

func (r *runner) note(it *item, action, dir, reason string, diff []state.FieldChange) {
	it.decisions = append(it.decisions, Decision{Action: action, Direction: dir,
		SourceKey: it.sourceKey(), SinkKey: it.sinkKey(), Diff: diff, Reason: reason})
}

// decide turns one paired item into writes, link changes and decisions.
// It runs on a worker and touches only the item.
func (r *runner) decide(it *item, w *worker) {
	if it.reject != "" {
		r.noteReject(it)
		return
	}
	if it.filtered != "" {
		r.note(it, state.ActionSkip, "", r.filteredReason(it), nil)
		return
	}
	oi := sideIdx(it.origin)
	if it.link == nil {
		o := it.recs[oi]
		if gone(o) {
			reason := fmt.Sprintf("deleted on the %s and not linked", it.origin)
			if o == nil {
				reason = fmt.Sprintf("%s record %s no longer exists and is not linked", it.origin, it.key)
			}
			r.note(it, state.ActionSkip, "", reason, nil)
			return
		}
		if it.left {
			r.note(it, state.ActionSkip, "", fmt.Sprintf("left unlinked when its %s partner %s was deleted; synced again when it changes",
				otherSide(it.origin), it.unlinked.PartnerKey), nil)
			return
		}
		r.create(it, w)
		return
	}
	F, T := it.recs[sideIdx(r.from)], it.recs[sideIdx(r.to)]
	if gone(F) || gone(T) {
		if r.decideDelete(it) {
			return
		}
		// The live side wins over an older soft delete: restore.
		T = it.recs[sideIdx(r.to)]
	}
	r.reconcile(it, w, F, T)
}

// filteredReason is the skip reason of a pair a filter excludes: the
// record read, or its partner (linked, or matched by identity) on the
// other side. Nothing of the pair is written to either side.
func (r *runner) filteredReason(it *item) string {
	if it.filtered == it.origin {
		return "filtered out by the " + it.filtered + " filter"
	}
	key := it.sourceKey()
	if it.filtered == config.SideSink {
		key = it.sinkKey()
	}
	return fmt.Sprintf("%s record %s is filtered out by the %s filter; nothing of the pair is synced while it is", it.filtered, key, it.filtered)
}

// noteReject notes the item's reject reason: a skip for a record waiting
// for another pipeline's link, a reject otherwise.
func (r *runner) noteReject(it *item) {
	if it.wait {
		r.note(it, state.ActionSkip, "", it.reject, nil)
		return
	}
	r.note(it, state.ActionReject, "", it.reject, nil)
}

// create plans the create of the origin record on the other side.
func (r *runner) create(it *item, w *worker) {
	target := otherSide(it.origin)
	if !r.writable(target) {
		r.note(it, state.ActionSkip, "", fmt.Sprintf("no link and this pipeline does not write to the %s", target), nil)
		return
	}
	id := CreateID(r.p.Name, target, it.key)
	var fields map[string]any
	l := &state.Link{Pipeline: r.p.Name}
	if it.origin == r.from {
		fields = it.fromRaw
		base := r.flatten(fields, r.paths, false)
		l.Base = base
		h := mapping.Hash(base)
		r.setHashes(l, h, h)
	} else {
		T := it.recs[sideIdx(r.to)]
		raw, err := w.back.Map(*T)
		if err != nil {
			it.reject = fmt.Sprintf("%s mapping: %v", dirOf(target), err)
			r.noteReject(it)
			return
		}
		if !r.resolveIn(it, raw, r.to) {
			r.noteReject(it)
			return
		}
		r.stripSensitive(raw)
		fields = raw
		base := r.flatten(T.Fields, r.paths, false)
		l.Base = base
		fromHash := ""
		if fr, err := w.fwd.Map(connectors.Record{ID: id, Fields: raw}); err == nil {
			r.resolveIn(nil, fr, r.from)
			r.stripSensitive(fr)
			fromHash = mapping.Hash(r.flatten(fr, r.paths, true))
		}
		r.setHashes(l, fromHash, mapping.Hash(base))
	}
	if target == config.SideSink {
		l.SourceKey, l.SinkKey = it.key, id
	} else {
		l.SourceKey, l.SinkKey = id, it.key
	}
	it.writes[sideIdx(target)] = &connectors.Change{Op: connectors.OpCreate, ID: id, Fields: fields}
	it.linkOut = l
	paths := r.paths
	if target != r.to {
		paths = r.backPath
	}
	diff := make([]state.FieldChange, 0, len(paths))
	for _, p := range paths {
		// A field the create leaves empty changes nothing: listing it as
		// null -> null would only be noise in the plan and the audit.
		if v, ok := mapping.Get(fields, p); ok && v != nil {
			diff = append(diff, state.FieldChange{Field: p, New: v})
		}
	}
	if len(diff) == 0 {
		diff = nil
	}
	r.note(it, state.ActionCreate, dirOf(target), newRecordReason(it.origin), diff)
}

// newRecordReason is a create's audit reason for a record read from
// origin (a constant string: formatting it per record showed in profiles).
func newRecordReason(origin string) string {
	if origin == config.SideSink {
		return "new sink record, no match on the source"
	}
	return "new source record, no match on the sink"
}

// setHashes stores the from- and to-side hashes in the link's source and
// sink slots.
func (r *runner) setHashes(l *state.Link, fromHash, toHash string) {
	if r.from == config.SideSource {
		l.SourceHash, l.SinkHash = fromHash, toHash
	} else {
		l.SourceHash, l.SinkHash = toHash, fromHash
	}
}

func (r *runner) hashes(l *state.Link) (fromHash, toHash string) {
	if r.from == config.SideSource {
		return l.SourceHash, l.SinkHash
	}
	return l.SinkHash, l.SourceHash
}

// decideDelete handles a linked pair with at least one side deleted or
// gone. It returns false when the live side wins over an older soft delete
// and the pair should be reconciled (with a restore).
func (r *runner) decideDelete(it *item) bool {
	S, K := it.recs[0], it.recs[1]
	if gone(S) && gone(K) {
		it.unlink = S == nil || K == nil
		r.note(it, state.ActionSkip, "", "deleted on both sides", nil)
		return true
	}
	di := 0 // the deleted side
	if gone(K) {
		di = 1
	}
	li := 1 - di
	D, L := it.recs[di], it.recs[li]
	dside, lside := sideName(di), sideName(li)
	policy := r.p.Delete.Policy
	// A soft delete older than the live side's last change is undone: the
	// live side changed after it.
	if D != nil && L.UpdatedAt.After(D.UpdatedAt) && policy == config.DeleteSoft && r.writable(dside) {
		it.restore = di + 1
		return false
	}
	// The live record stays; its partner is gone for good: the link goes,
	// and the live record is left unlinked (see state.Unlinked).
	leaveLive := func() {
		if it.unlink = D == nil; it.unlink {
			it.leave = li + 1
		}
	}
	if !r.writable(lside) {
		leaveLive()
		r.note(it, state.ActionSkip, "", fmt.Sprintf("deleted on the %s; this pipeline does not write to the %s", dside, lside), nil)
		return true
	}
	switch policy {
	case config.DeleteSoft:
		it.del = &connectors.Change{Op: connectors.OpDelete, ID: L.ID}
		it.unlink = D == nil
	case config.DeletePropagate:
		it.del = &connectors.Change{Op: connectors.OpDestroy, ID: L.ID}
		it.unlink = true
	default:
		leaveLive()
		r.note(it, state.ActionSkip, "", fmt.Sprintf("deleted on the %s; delete policy is ignore", dside), nil)
		return true
	}
	it.delSide = li
	r.note(it, state.ActionDelete, dirOf(lside), fmt.Sprintf("deleted on the %s; delete policy %s", dside, policy), nil)
	return true
}

// winner names the side whose record is newer: updatedAt, ties broken by
// the greater id, then the source.
func winnerNewest(S, K *connectors.Record) string {
	switch {
	case S.UpdatedAt.After(K.UpdatedAt):
		return config.SideSource
	case K.UpdatedAt.After(S.UpdatedAt):
		return config.SideSink
	case K.ID > S.ID:
		return config.SideSink
	}
	return config.SideSource
}

// reconcile decides a linked pair whose both sides are live (T may be a
// soft-deleted record about to be restored).
func (r *runner) reconcile(it *item, w *worker, F, T *connectors.Record) {
	fi, ti := sideIdx(r.from), sideIdx(r.to)
	if it.restore-1 == fi {
		// Restoring the from side: write it back through the pull mapping.
		it.writes[fi] = &connectors.Change{Op: connectors.OpRestore, ID: F.ID}
		r.note(it, state.ActionUpdate, dirOf(r.from), fmt.Sprintf("restored: the %s changed after the %s was deleted", r.to, r.from), nil)
		it.linkOut = it.link
		return
	}
	fromVals := r.flatten(it.fromRaw, r.paths, true)
	toVals := r.flatten(T.Fields, r.paths, false)
	l := it.link
	base := l.Base
	if it.newLink {
		base = nil
	}
	// An open conflict of the pair is closed by any decision but holding
	// it again (which replaces its values).
	it.supersede = r.open[l.SourceKey]
	if it.take != "" && it.resolved != nil && r.staleResolution(it.resolved, fromVals, toVals) {
		// The pair changed after the values the resolution was decided on:
		// it is decided afresh from its base instead, and the resolution
		// is superseded.
		it.stale = fmt.Sprintf("the resolution of conflict %d (the %s wins) is stale: the pair changed since; decided afresh", it.conflictID, it.take)
		it.supersede, it.take, it.conflictID = it.conflictID, "", 0
	}
	if base != nil && it.restore == 0 && it.take == "" && sameAsBase(fromVals, toVals, base, r.paths) {
		// Neither side changed since the last sync (the common case).
		r.note(it, state.ActionSkip, "", unchangedPair, nil)
		return
	}
	fromHash, toHash := r.hashes(l)
	hf, ht := mapping.Hash(fromVals), mapping.Hash(toVals)
	fromEcho := base != nil && fromHash != "" && hf == fromHash
	toEcho := base != nil && toHash != "" && ht == toHash
	if fromEcho && toEcho && it.restore == 0 && it.take == "" {
		// Neither side changed since the last sync (the common case).
		r.note(it, state.ActionSkip, "", unchangedPair, nil)
		return
	}
	cf, ct := map[string]bool{}, map[string]bool{}
	// fill: with no base (a pair matched in this run), a field empty on one
	// side and set on the other is filled from the side that has it, whatever
	// the conflict policy; only fields set on both sides with different
	// values are conflicts.
	var fill map[string]bool
	for _, p := range r.paths {
		fv, inFrom := fromVals[p]
		if base == nil {
			fe, te := !inFrom || isEmpty(fv), isEmpty(toVals[p])
			switch {
			case fe && te:
			case te:
				cf[p] = true
			case fe:
				ct[p] = true
			case !equal(fv, toVals[p]):
				cf[p], ct[p] = true, true
				continue
			default:
				continue
			}
			if fe != te {
				if fill == nil {
					fill = map[string]bool{}
				}
				fill[p] = true
			}
			continue
		}
		if inFrom && !fromEcho && !equal(fv, base[p]) {
			cf[p] = true
		}
		if !toEcho && !equal(toVals[p], base[p]) {
			ct[p] = true
		}
	}
	owner := r.owner
	merged := make(map[string]any, len(toVals))
	for k, v := range toVals {
		merged[k] = v
	}
	fromWins := map[string]bool{}
	var conflicts []string
	for _, p := range r.paths {
		if owner[p] != "" {
			continue
		}
		switch {
		case cf[p] && !ct[p]:
			merged[p], fromWins[p] = fromVals[p], true
		case cf[p] && ct[p] && !equal(fromVals[p], toVals[p]):
			conflicts = append(conflicts, p)
		}
	}
	held := false
	if len(conflicts) > 0 {
		winner := r.policySide(F, T, it.take)
		switch {
		case winner == "":
			held = true
		case r.p.Conflict.Policy == config.ConflictMerge:
			// Field by field: only the fields changed on both sides.
			if winner == r.from {
				for _, p := range conflicts {
					merged[p], fromWins[p] = fromVals[p], true
				}
			}
		case winner == r.from:
			// The record level: the winner's whole compared record.
			for p, v := range fromVals {
				if owner[p] == "" && !fill[p] {
					merged[p], fromWins[p] = v, true
				}
			}
		default:
			for p := range fromWins {
				if !fill[p] {
					merged[p] = toVals[p]
					delete(fromWins, p)
				}
			}
		}
	}
	if held {
		if it.stale == "" {
			it.supersede = 0 // the open conflict is replaced
		}
		c := &state.Conflict{Pipeline: r.p.Name, SourceKey: l.SourceKey, SinkKey: l.SinkKey, Fields: conflicts,
			CreatedAt: r.now().UTC()}
		sv, kv := fromVals, toVals
		if r.from == config.SideSink {
			sv, kv = toVals, fromVals
		}
		c.Source, c.Sink = r.visible(sv), r.visible(kv)
		it.conflict = c
		if it.newLink {
			it.linkOut = l // keep the pairing; the base stays empty until resolved
		}
		r.note(it, state.ActionConflict, "", fmt.Sprintf("both sides changed %s; held for a decision (pipe conflicts resolve)", strings.Join(conflicts, ", ")), nil)
		return
	}
	for p, side := range owner {
		if side == r.from {
			if v, ok := fromVals[p]; ok {
				merged[p], fromWins[p] = v, true
			}
		} else if _, ok := toVals[p]; ok {
			merged[p] = toVals[p]
			delete(fromWins, p)
		}
	}

	// Writes back to the from side (both-way pipelines), when a value from
	// the to side won over what the from side holds.
	newFromHash := hf
	var fromDiff []state.FieldChange
	// The from side's mapped record and compared values once its write (if
	// any) is applied.
	fromAfterRaw, fromAfter := it.fromRaw, fromVals
	// The to side's record as pulled, and the pull's output (nil when
	// nothing was pulled).
	var pulledRec connectors.Record
	var pulled map[string]any
	if r.p.Direction == config.Both && w.back != nil {
		needed := false
		for p, v := range fromVals {
			if !fromWins[p] && !equal(merged[p], v) {
				needed = true
				break
			}
		}
		if needed {
			t2 := connectors.Record{ID: T.ID, UpdatedAt: T.UpdatedAt, Fields: cloneFields(T.Fields)}
			for _, p := range r.paths {
				if fromWins[p] {
					raw, _ := mapping.Get(it.fromRaw, p)
					mapping.Set(t2.Fields, p, raw)
				}
			}
			backRaw, err := w.back.Map(t2)
			pulledRec, pulled = t2, backRaw
			if err != nil {
				it.reject = fmt.Sprintf("pull mapping: %v", err)
			}
			if err != nil || !r.resolveIn(it, backRaw, r.to) {
				it.writes = [2]*connectors.Change{}
				it.linkOut = nil
				r.noteReject(it)
				return
			}
			r.stripSensitive(backRaw)
			// The from side's own record seen the same way: its compared
			// values in the to side's record, pulled. A column whose pull
			// of the merged record equals its pull of the from side's own
			// is left alone even when it differs from the stored column: a
			// pull that normalizes ("H. Indah Lubis, S.E." reaches the sink
			// as "Indah Lubis", which pulls back as "Indah Lubis") must not
			// rewrite columns that nothing changed.
			var backOwn map[string]any
			t1 := connectors.Record{ID: T.ID, UpdatedAt: T.UpdatedAt, Fields: cloneFields(T.Fields)}
			for _, p := range r.paths {
				if raw, ok := mapping.Get(it.fromRaw, p); ok {
					mapping.Set(t1.Fields, p, raw)
				}
			}
			if b1, err := w.back.Map(t1); err == nil && r.resolveIn(nil, b1, r.to) {
				r.stripSensitive(b1)
				backOwn = b1
			}
			fromCur := r.flatten(F.Fields, r.backPath, false)
			fromFields := map[string]any{}
			for _, p := range r.backPath {
				v, ok := mapping.Get(backRaw, p)
				if !ok {
					continue
				}
				if backOwn != nil {
					if ov, ok := mapping.Get(backOwn, p); ok && equal(v, ov) {
						continue
					}
				}
				if cv := v; !equal(cv, fromCur[p]) {
					mapping.Set(fromFields, p, v)
					fromDiff = append(fromDiff, state.FieldChange{Field: p, Old: fromCur[p], New: cv})
				}
			}
			if len(fromDiff) > 0 {
				it.writes[fi] = &connectors.Change{Op: connectors.OpUpdate, ID: F.ID, Fields: fromFields}
				f2 := connectors.Record{ID: F.ID, UpdatedAt: F.UpdatedAt, Fields: cloneFields(F.Fields)}
				for _, c := range fromDiff {
					v, _ := mapping.Get(backRaw, c.Field)
					mapping.Set(f2.Fields, c.Field, v)
				}
				if fr, err := w.fwd.Map(f2); err == nil {
					r.resolveIn(nil, fr, r.from)
					r.stripSensitive(fr)
					fromAfterRaw, fromAfter = fr, r.flatten(fr, r.paths, true)
					newFromHash = mapping.Hash(fromAfter)
				}
			}
		}
	}

	// A field the from side would still hold differently after its write
	// is one no pull carries back (a push-only field, or a pipeline without
	// a pull). Changed on the from side only, it is written to the to side
	// (even when the to side won the record: it has no change of its own
	// there). When the to side changed it, the policy decides between the
	// two values: when the from side wins, its value is written to the to
	// side; when the to side wins, its value stays there. Either way the
	// link's base keeps the from side's value for it, so that later runs
	// see neither a change to absorb nor one to undo (until one side
	// changes it again). Fields filled on a new pair and owned fields keep
	// their rules.
	var unpulled, kept []string
	for _, p := range r.paths {
		fv, ok := fromAfter[p]
		if !ok || fromWins[p] || owner[p] != "" || fill[p] || equal(fv, merged[p]) {
			continue
		}
		if r.pullCarries(w, pulledRec, pulled, p, it.fromRaw) {
			// The pull does carry it: the from side holds what the to
			// side's value pulls to, and its push maps that differently
			// (a push that normalizes). That is not a difference to fix.
			continue
		}
		if !ct[p] && !cf[p] {
			// A difference kept earlier (the base holds the from side's
			// value): nothing new to decide.
			kept = append(kept, p)
			continue
		}
		if !ct[p] || r.unpulledWinner(F, T, it.take) == r.from {
			merged[p], fromWins[p] = fv, true
			unpulled = append(unpulled, p)
		} else {
			kept = append(kept, p)
		}
	}

	// Writes to the to side: the fields whose merged value differs.
	var toDiff []state.FieldChange
	toFields := map[string]any{}
	for _, p := range r.paths {
		if fromWins[p] && !equal(merged[p], toVals[p]) {
			src := it.fromRaw
			if slices.Contains(unpulled, p) {
				src = fromAfterRaw
			}
			raw, _ := mapping.Get(src, p)
			mapping.Set(toFields, p, raw)
			toDiff = append(toDiff, state.FieldChange{Field: p, Old: toVals[p], New: merged[p]})
		}
	}
	restoring := it.restore-1 == ti
	if len(toDiff) > 0 || restoring {
		op := connectors.OpUpdate
		if restoring {
			op = connectors.OpRestore
		}
		it.writes[ti] = &connectors.Change{Op: op, ID: T.ID, Fields: toFields}
	}

	newBase := merged
	if len(kept) > 0 {
		newBase = make(map[string]any, len(merged))
		for k, v := range merged {
			newBase[k] = v
		}
		for _, p := range kept {
			newBase[p] = fromAfter[p]
		}
	}
	nl := &state.Link{Pipeline: r.p.Name, SourceKey: l.SourceKey, SinkKey: l.SinkKey, Base: newBase}
	newToHash := ht
	if len(toDiff) > 0 {
		newToHash = mapping.Hash(merged)
	}
	r.setHashes(nl, newFromHash, newToHash)
	if it.newLink || !sameLink(l, nl) || it.take != "" {
		it.linkOut = nl
	}
	reason := ""
	switch {
	case len(conflicts) > 0 && it.take != "":
		reason = fmt.Sprintf("conflict on %s resolved by hand: the %s wins", strings.Join(conflicts, ", "), it.take)
	case len(conflicts) > 0:
		reason = fmt.Sprintf("both sides changed %s; %s policy decided", strings.Join(conflicts, ", "), r.p.Conflict.Policy)
	case len(unpulled) > 0 && len(cf) == 0:
		reason = fmt.Sprintf("changed on the %s, which no pull mapping carries back to the %s (%s); the %s's value wins (%s policy) and is written again",
			r.to, r.from, strings.Join(unpulled, ", "), r.from, r.p.Conflict.Policy)
	case restoring:
		reason = fmt.Sprintf("restored: the %s changed after the %s was deleted", r.from, r.to)
	case it.newLink:
		reason = "newly matched: fields empty on one side filled from the other"
	case len(cf) > 0 && len(ct) > 0:
		reason = "changed on both sides; merged"
	case len(cf) > 0:
		reason = fmt.Sprintf("changed on the %s", r.from)
	case len(ct) > 0:
		reason = fmt.Sprintf("changed on the %s", r.to)
	}
	if it.newLink {
		r.note(it, state.ActionLink, "", fmt.Sprintf("matched by %s", it.matched), nil)
	}
	if it.writes[ti] != nil {
		r.note(it, state.ActionUpdate, dirOf(r.to), reason, r.visibleDiff(toDiff))
	}
	if it.writes[fi] != nil {
		r.note(it, state.ActionUpdate, dirOf(r.from), reason, r.visibleDiff(fromDiff))
	}
	if len(it.decisions) > 0 {
		return
	}
	var changedTo []string // fields the to side changed, which nothing was written for
	for _, p := range r.paths {
		if ct[p] {
			changedTo = append(changedTo, p)
		}
	}
	switch {
	case fromEcho && toEcho:
		r.note(it, state.ActionSkip, "", unchangedPair, nil)
	case len(changedTo) > 0 && len(kept) > 0:
		r.note(it, state.ActionSkip, "", fmt.Sprintf("changed on the %s (%s); no pull mapping carries %s back%s",
			r.to, strings.Join(changedTo, ", "), strings.Join(kept, ", "), keptThere), nil)
	case len(changedTo) > 0 && len(cf) == 0:
		r.note(it, state.ActionSkip, "", fmt.Sprintf("changed on the %s (%s)%s", r.to, strings.Join(changedTo, ", "), nothingToPull), nil)
	case fromEcho || toEcho:
		r.note(it, state.ActionSkip, "", "unchanged; the other side's change is our own write", nil)
	default:
		r.note(it, state.ActionSkip, "", "no field to write", nil)
	}
}

// pullCarries reports whether the pull mapping's output depends on the to
// side's field p: pulling rec (the to side's record as pulled, pulled its
// output) again with p set to the from side's value changes a column.
// Without a pull (a one-way pipeline, or nothing pulled) nothing is carried.
func (r *runner) pullCarries(w *worker, rec connectors.Record, pulled map[string]any, p string, fromRaw map[string]any) bool {
	if pulled == nil || w.back == nil || r.p.Direction != config.Both {
		return false
	}
	alt := connectors.Record{ID: rec.ID, UpdatedAt: rec.UpdatedAt, Fields: cloneFields(rec.Fields)}
	v, _ := mapping.Get(fromRaw, p)
	mapping.Set(alt.Fields, p, v)
	out, err := w.back.Map(alt)
	if err != nil {
		return true // the value matters to the pull (it refuses one of them)
	}
	for _, c := range r.backPath {
		a, _ := mapping.Get(pulled, c)
		b, _ := mapping.Get(out, c)
		if !equal(a, b) {
			return true
		}
	}
	return false
}

// unchangedPair is the skip reason of a pair neither side changed since the
// last sync (what a side shows is what was synced, often our own write read
// back). It is counted, not audited.
const unchangedPair = "no change since the last sync"

// The endings of the skip reasons of a pair whose to side changed with
// nothing to write. They are counted, not audited, like the other
// unchanged records (a server that normalizes what it is sent looks the
// same as a person's edit that the pull ignores).
const (
	nothingToPull = "; the pull mapping writes nothing for it"
	keptThere     = "; the value stays where it is, as the conflict policy decides"
)

// policySide is the side the conflict policy makes win a field changed on
// both sides of the pair (F and T: the from and to records): a manual
// decision (take) when there is one; source_of_truth's side (the source by
// default); the newer record under newest; merge's fallback (source, sink
// or newest). It is "" when the pair waits for a decision (manual, or
// merge with a manual fallback).
func (r *runner) policySide(F, T *connectors.Record, take string) string {
	if take != "" {
		return take
	}
	S, K := F, T
	if r.from == config.SideSink {
		S, K = T, F
	}
	c := r.p.Conflict
	switch c.Policy {
	case config.ConflictNewest:
		return winnerNewest(S, K)
	case config.ConflictManual:
		return ""
	case config.ConflictMerge:
		switch c.Fallback {
		case config.ConflictNewest:
			return winnerNewest(S, K)
		case config.SideSource, config.SideSink:
			return c.Fallback
		}
		return "" // manual, and unset (the schema's default is manual)
	}
	return cmp.Or(c.Side, config.SideSource) // source_of_truth
}

// staleResolution reports whether the pair's compared values (F's and T's:
// the from and to sides') differ from those the resolved conflict c was
// decided on: either side changed after the decision.
func (r *runner) staleResolution(c *state.Conflict, fromVals, toVals map[string]any) bool {
	sv, kv := fromVals, toVals
	if r.from == config.SideSink {
		sv, kv = toVals, fromVals
	}
	return !mapping.Equal(c.Source, r.visible(sv)) || !mapping.Equal(c.Sink, r.visible(kv))
}

// unpulledWinner is the side whose value a field no pull carries back
// takes when the to side changed it: policySide's, except that where the
// policy would wait for a decision the to side keeps its value (nothing is
// overwritten without one).
func (r *runner) unpulledWinner(F, T *connectors.Record, take string) string {
	return cmp.Or(r.policySide(F, T, take), r.to)
}

// equal is mapping.Equal with a fast path for the common case of two equal
// strings or two nils (Canonical is a function of its input, so equal inputs
// are equal outputs).
func equal(a, b any) bool {
	switch a := a.(type) {
	case string:
		if b, ok := b.(string); ok && a == b {
			return true
		}
	case nil:
		if b == nil {
			return true
		}
	}
	return mapping.Equal(a, b)
}

// isEmpty reports whether a compared value is unset: nil, "", an empty
// list, or a composite whose every sub-field is empty.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, sv := range v {
			if !isEmpty(sv) {
				return false
			}
		}
		return true
	}
	return false
}

// sameAsBase reports whether both sides hold the base values on every
// compared path (fields the from side does not map are not compared there).
func sameAsBase(fromVals, toVals, base map[string]any, paths []string) bool {
	for _, p := range paths {
		b := base[p]
		if fv, ok := fromVals[p]; ok && !equal(fv, b) {
			return false
		}
		if !equal(toVals[p], b) {
			return false
		}
	}
	return true
}

func sameLink(a, b *state.Link) bool {
	if a.SourceHash != b.SourceHash || a.SinkHash != b.SinkHash || len(a.Base) != len(b.Base) {
		return false
	}
	for k, v := range a.Base {
		if !equal(v, b.Base[k]) {
			return false
		}
	}
	return true
}

// visible drops sensitive fields from compared values.
func (r *runner) visible(vals map[string]any) map[string]any {
	out := make(map[string]any, len(vals))
	for k, v := range vals {
		if !r.isSensitive(k) {
			out[k] = v
		}
	}
	return out
}

func (r *runner) visibleDiff(d []state.FieldChange) []state.FieldChange {
	out := d[:0]
	for _, c := range d {
		if !r.isSensitive(c.Field) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func cloneFields(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = cloneFields(sub)
		}
		out[k] = v
	}
	return out
}
