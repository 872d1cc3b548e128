package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sourcegraph/conc/panics"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/mapping"
	"github.com/kelompok/pipe/engine/state"
)

// item is one record pair on its way through a run.
type item struct {
	origin string // side the record was read from
	key    string // its key there
	pos    connectors.Position
	cursor bool   // read from the change feed: the cursor passes it when done
	reread bool   // read again by the look-back window (at or before the stored cursor)
	take   string // a manual conflict's resolution to apply: source or sink

	recs    [2]*connectors.Record // source, sink (nil: absent)
	link    *state.Link
	newLink bool   // link made by identity matching in this run
	matched string // the rule that matched

	// unlinked is the record's state.Unlinked (it was left alone when its
	// partner was deleted), nil if none; left says the record has not
	// changed since, so it stays unlinked. leave is 1 + the index of a live
	// side this decision leaves alone as its partner is deleted (0: none).
	unlinked *state.Unlinked
	left     bool
	leave    int
	revived  bool // a create written to the key's earlier record (reviveCreates)

	reject   string         // reason the record is refused
	wait     bool           // reject is a wait for another pipeline's link
	filtered string         // side whose filter excludes a live record of the pair ("": none)
	fromRaw  map[string]any // from-side record mapped (nested)

	// Decided:
	decisions  []Decision
	writes     [2]*connectors.Change
	del        *connectors.Change // deferred delete (delete guard)
	delSide    int
	restore    int             // 1 + index of a soft-deleted side to restore, 0: none
	conflictID int64           // the resolved conflict this item applies
	resolved   *state.Conflict // that conflict (the values it was decided on)
	// supersede is a conflict the decision closes without applying a
	// manual decision: a stale resolution, or an open conflict whose pair
	// was decided without one (see state.Batch.ConflictsSuperseded).
	supersede int64
	stale     string // why a resolution is superseded: it is stale
	linkOut   *state.Link
	unlink    bool
	conflict  *state.Conflict
	results   [2]*connectors.Result
	failed    bool
}

// readKey is the record's side+"\x00"+key, as open rejects and retried
// records are kept by.
func (it *item) readKey() string { return it.origin + "\x00" + it.key }

func (it *item) sourceKey() string {
	if it.link != nil {
		return it.link.SourceKey
	}
	if it.origin == config.SideSource {
		return it.key
	}
	if it.recs[0] != nil {
		return it.recs[0].ID
	}
	return ""
}

func (it *item) sinkKey() string {
	if it.link != nil {
		return it.link.SinkKey
	}
	if it.origin == config.SideSink {
		return it.key
	}
	if it.recs[1] != nil {
		return it.recs[1].ID
	}
	return ""
}

// pair looks every item up in the ledger, fetches the other side of linked
// pairs, and matches the others by the identity rules.
func (r *runner) pair(ctx context.Context, items []*item, side string) error {
	if err := r.settle(); err != nil {
		return err
	}
	if err := r.lookupLinks(ctx, items, side); err != nil {
		return err
	}
	return r.matchUnknown(ctx, items, side)
}

// lookupLinks looks items up in the ledger and fetches the other side of
// linked pairs.
func (r *runner) lookupLinks(ctx context.Context, items []*item, side string) error {
	keys := make([]string, 0, len(items))
	for _, it := range items {
		keys = append(keys, it.key)
	}
	var links map[string]state.Link
	var err error
	if side == config.SideSource {
		links, err = r.store.LinksBySource(ctx, r.p.Name, keys)
	} else {
		links, err = r.store.LinksBySink(ctx, r.p.Name, keys)
	}
	if err != nil {
		return fmt.Errorf("looking up links of %q: %w", r.p.Name, err)
	}
	other := otherSide(side)
	oi := sideIdx(other)
	var otherKeys []string
	for _, it := range items {
		if l, ok := links[it.key]; ok {
			it.link = &l
			otherKeys = append(otherKeys, r.linkKeys(&l)[oi])
		}
	}
	if len(otherKeys) > 0 {
		recs, err := r.get(ctx, other, otherKeys)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.link != nil {
				it.recs[oi] = recs[r.linkKeys(it.link)[oi]]
			}
		}
	}
	return r.lookupUnlinked(ctx, items, side)
}

// lookupUnlinked finds the live unlinked items that were left alone when
// their partner was deleted (delete policy ignore, or a side the pipeline
// does not write). One whose content has not changed since stays unlinked:
// neither matched nor created again, so that reading it again (--full, the
// look-back window) does not undo the delete.
//
// It runs ahead of the ordered part (prefetch) without waiting for the
// batch being committed: an Unlinked record written in this run is for a
// version of the record that this run has already decided.
func (r *runner) lookupUnlinked(ctx context.Context, items []*item, side string) error {
	if !r.anyUnlinked.Load() {
		return nil // (items are fresh or were never marked)
	}
	si := sideIdx(side)
	var keys []string
	for _, it := range items {
		it.unlinked, it.left = nil, false
		if rec := it.recs[si]; it.link == nil && rec != nil && !rec.Deleted {
			keys = append(keys, it.key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	found, err := r.store.Unlinked(ctx, r.p.Name, side, keys)
	if err != nil {
		return fmt.Errorf("looking up records of %q left unlinked: %w", r.p.Name, err)
	}
	if len(found) == 0 {
		return nil
	}
	for _, it := range items {
		if u, ok := found[it.key]; ok && it.link == nil {
			it.unlinked = &u
			// Changed is a change of what the pipeline compares:
			// updatedAt may be rounded (two edits in one millisecond) or
			// behind (a writer's clock), and moves when nothing synced
			// changed. Without both hashes, updatedAt decides.
			if h := r.contentHash(side, it.recs[si], it.fromRaw); h != "" && u.Hash != "" {
				it.left = h == u.Hash
			} else {
				it.left = !it.recs[si].UpdatedAt.After(u.UpdatedAt)
			}
		}
	}
	return nil
}

// contentHash hashes what the pipeline compares of rec, a record of side:
// for the to side, its values at the compared paths; for the from side,
// those of its mapping (fromRaw), when it has been mapped ("" otherwise).
func (r *runner) contentHash(side string, rec *connectors.Record, fromRaw map[string]any) string {
	if side == r.to {
		return mapping.Hash(r.flatten(rec.Fields, r.paths, false))
	}
	if fromRaw == nil {
		return ""
	}
	return mapping.Hash(r.flatten(fromRaw, r.paths, true))
}

// matchUnknown matches the live items that have no link by the identity
// rules.
func (r *runner) matchUnknown(ctx context.Context, items []*item, side string) error {
	if len(r.p.Match) == 0 {
		return nil
	}
	var unknown []*item
	for _, it := range items {
		if it.link != nil {
			continue
		}
		if o := it.recs[sideIdx(side)]; o != nil && !o.Deleted && it.reject == "" && it.filtered == "" && !it.left {
			unknown = append(unknown, it)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	// Matching must see the links the previous batch commits.
	if err := r.settle(); err != nil {
		return err
	}
	return r.match(ctx, unknown, side)
}

// text is the text form of a field value used by identity matching.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// match pairs unknown records with the other side by the identity rules,
// in batches. Only live records are candidates. The first rule that yields
// exactly one candidate wins; more than one candidate is an ambiguity,
// reported and never guessed.
func (r *runner) match(ctx context.Context, items []*item, side string) error {
	other := otherSide(side)
	oi, si := sideIdx(other), sideIdx(side)
	pending := items
	cand := map[*item]*connectors.Record{}
	for _, rule := range r.p.Match {
		if len(pending) == 0 {
			break
		}
		ours, theirs := rule.Source, rule.Sink
		if side == config.SideSink {
			ours, theirs = rule.Sink, rule.Source
		}
		norm, err := r.e.cfg.Mappers.Normalizer(rule.Normalize)
		if err != nil {
			return fmt.Errorf("pipeline %q: match rule %s = %s: %w", r.p.Name, rule.Source, rule.Sink, err)
		}
		normalize := func(v any) string {
			s := text(v)
			if s == "" || norm == nil {
				return s
			}
			n, err := norm(s)
			if err != nil {
				return ""
			}
			return n
		}
		wanted := map[string][]*item{}
		var values []string
		seen := map[string]bool{}
		for _, it := range pending {
			v, _ := mapping.Get(it.recs[si].Fields, ours)
			n := normalize(v)
			if n == "" {
				continue
			}
			wanted[n] = append(wanted[n], it)
			for _, s := range []string{n, text(v)} {
				if !seen[s] {
					seen[s] = true
					values = append(values, s)
				}
			}
		}
		if len(values) == 0 {
			continue
		}
		sort.Strings(values)
		var found []connectors.Record
		if rec := panics.Try(func() { found, err = r.streams[oi].Find(ctx, theirs, values) }); rec != nil {
			err = fmt.Errorf("connector panicked: %w", rec.AsError())
		}
		if err != nil {
			return fmt.Errorf("matching %s records by %s in %s: %w", side, theirs, r.ref(other), err)
		}
		byValue := map[string][]*connectors.Record{}
		for i := range found {
			// A soft-deleted record is never a candidate (Find returns
			// them): pairing a new live record with it would let the delete
			// policy destroy, hide or overwrite the new one. It neither
			// matches nor makes a match ambiguous; with no live candidate
			// the record is created.
			if found[i].Deleted {
				continue
			}
			v, _ := mapping.Get(found[i].Fields, theirs)
			if n := normalize(v); n != "" {
				byValue[n] = append(byValue[n], &found[i])
			}
		}
		var next []*item
		for _, it := range pending {
			v, _ := mapping.Get(it.recs[si].Fields, ours)
			n := normalize(v)
			cs := byValue[n]
			switch {
			case n == "" || len(cs) == 0:
				next = append(next, it)
			case len(cs) > 1:
				ids := make([]string, len(cs))
				for i, c := range cs {
					ids[i] = c.ID
				}
				it.reject = fmt.Sprintf("ambiguous match: %d %s records have %s = %q (%s); link one by hand or make the identity rule stricter",
					len(cs), other, theirs, n, strings.Join(ids, ", "))
			default:
				cand[it] = cs[0]
				it.matched = fmt.Sprintf("%s = %s", rule.Source, rule.Sink)
			}
		}
		pending = next
	}
	r.sameBatchCreates(pending, side)
	if len(cand) == 0 {
		return nil
	}
	// A candidate already linked, or claimed by two records of this batch,
	// is not a match we may take.
	claims := map[string][]*item{}
	var ids []string
	for it, c := range cand {
		if len(claims[c.ID]) == 0 {
			ids = append(ids, c.ID)
		}
		claims[c.ID] = append(claims[c.ID], it)
	}
	var linked map[string]state.Link
	var err error
	if other == config.SideSink {
		linked, err = r.store.LinksBySink(ctx, r.p.Name, ids)
	} else {
		linked, err = r.store.LinksBySource(ctx, r.p.Name, ids)
	}
	if err != nil {
		return fmt.Errorf("looking up links of matched records: %w", err)
	}
	for id, its := range claims {
		if l, ok := linked[id]; ok {
			for _, it := range its {
				it.reject = fmt.Sprintf("matches %s record %s by %s, which is already linked to %s record %s",
					other, id, it.matched, side, r.linkKeys(&l)[si])
			}
			continue
		}
		if len(its) > 1 {
			keys := make([]string, len(its))
			for i, it := range its {
				keys[i] = it.key
			}
			sort.Strings(keys)
			for _, it := range its {
				it.reject = fmt.Sprintf("ambiguous match: %s record %s matches %d %s records (%s)",
					other, id, len(its), side, strings.Join(keys, ", "))
			}
			continue
		}
		it := its[0]
		it.recs[oi] = cand[it]
		l := &state.Link{Pipeline: r.p.Name}
		if side == config.SideSource {
			l.SourceKey, l.SinkKey = it.key, id
		} else {
			l.SourceKey, l.SinkKey = id, it.key
		}
		it.link, it.newLink = l, true
	}
	return nil
}

// sameBatchCreates keeps two records of one batch that no rule matched,
// but that share an identity value, from both being created: the first (in
// read order) is created, the others are rejected and retried next run, when
// they match the created record (and are then reported as already linked).
func (r *runner) sameBatchCreates(pending []*item, side string) {
	if len(pending) < 2 {
		return
	}
	si := sideIdx(side)
	first := map[string]*item{}
	for _, it := range pending {
		for _, rule := range r.p.Match {
			ours := rule.Source
			if side == config.SideSink {
				ours = rule.Sink
			}
			v, _ := mapping.Get(it.recs[si].Fields, ours)
			n := text(v)
			if norm, err := r.e.cfg.Mappers.Normalizer(rule.Normalize); err == nil && norm != nil && n != "" {
				if n, err = norm(n); err != nil {
					n = ""
				}
			}
			if n == "" {
				continue
			}
			k := ours + "\x00" + n
			if f, ok := first[k]; ok && f != it {
				shown := fmt.Sprintf("%q", n)
				if r.isSensitive(ours) {
					shown = "value withheld: sensitive"
				}
				it.reject = fmt.Sprintf("same %s (%s) as %s record %s read in the same batch; retried on the next run, after that one is synced", ours, shown, side, f.key)
				break
			}
			first[k] = it
		}
	}
}

// recoverIntents settles the creates a crashed run left behind: a target
// that exists is linked (no duplicate), a missing or deleted one is
// forgotten (the cursor did not pass its record, so the create is planned
// again).
func (r *runner) recoverIntents(ctx context.Context) error {
	intents, err := r.store.Intents(ctx, r.p.Name)
	if err != nil {
		return fmt.Errorf("listing pending creates of %q: %w", r.p.Name, err)
	}
	for len(intents) > 0 {
		n := min(len(intents), r.batchSize())
		chunk := intents[:n]
		intents = intents[n:]
		b := state.Batch{Pipeline: r.p.Name, RunID: r.runID, IntentsDone: chunk}
		for _, target := range []string{config.SideSource, config.SideSink} {
			var ids, keys []string
			for _, in := range chunk {
				if in.Side == target {
					ids = append(ids, in.TargetID)
					keys = append(keys, in.Key)
				}
			}
			if len(ids) == 0 {
				continue
			}
			got, err := r.get(ctx, target, ids)
			if err != nil {
				return err
			}
			for _, in := range chunk {
				if in.Side != target {
					continue
				}
				rec, ok := got[in.TargetID]
				if !ok || rec.Deleted {
					// Missing: never written. Deleted: the record this
					// key had before, deleted since (a key used again);
					// the create, planned again, brings it back.
					continue
				}
				// No base: what the create wrote is not known here, and the
				// written record may have been edited since. The pair, read
				// again by this run (the cursor did not pass it), is
				// decided as one matched in this run is: fields that
				// differ go to the conflict policy. A base taken from the
				// written record as it is now would have an edit made
				// there since count as a change of the other side, and
				// overwrite it.
				l := state.Link{Pipeline: r.p.Name, UpdatedAt: r.now().UTC()}
				if target == config.SideSink {
					l.SourceKey, l.SinkKey = in.Key, rec.ID
				} else {
					l.SourceKey, l.SinkKey = rec.ID, in.Key
				}
				b.Links = append(b.Links, l)
				d := Decision{Action: state.ActionLink, Direction: dirOf(target), SourceKey: l.SourceKey, SinkKey: l.SinkKey,
					Reason: "recovered a create an interrupted run had written"}
				r.record([]Decision{d})
				b.Audit = append(b.Audit, r.audit(d))
				if r.recovered == nil {
					r.recovered = map[string]bool{}
				}
				r.recovered[l.SourceKey] = true
			}
		}
		if err := r.store.Commit(ctx, b); err != nil {
			return fmt.Errorf("committing recovered creates of %q: %w", r.p.Name, err)
		}
	}
	return nil
}
