package engine

import (
	"context"
	"fmt"

	"github.com/sourcegraph/conc/panics"

	"github.com/kelompok/pipe/engine/state"
)

// Link lookups ahead of the ordered part.
//
// Pairing must see every earlier batch's writes, so it runs in read order,
// one batch at a time. But a record's link and its partner on the other
// side can only have changed since the run started if an earlier batch of
// this run processed one of the pair's keys: only this run writes the
// pipeline's links (the pipeline lock), and a batch writes nothing but its
// own pairs. So the links and partners of a batch are read ahead, while
// earlier batches are still being decided and applied (prefetch), and the
// ordered part reads again only the items whose keys a batch processed
// after the read-ahead started (pairPrefetched). Identity matching of
// unlinked records stays in the ordered part.

// touchKeep is how many processed batches' keys are remembered; a
// read-ahead older than that is read again in full.
const touchKeep = 8

type touchedBatch struct {
	seq  int
	keys map[string]bool
}

// pendingCommit is a batch's Commit running while the next batch is paired
// and decided.
type pendingCommit struct {
	done chan struct{}
	err  error
}

// commitAsync commits b (the batch that touch numbers next) in the
// background: the next batch is paired and decided meanwhile, but anything
// that reads what b writes (link lookups, identity matching, refs) and the
// next batch's intents and writes wait for it (settle). So crash safety is
// unchanged: a batch's intents and writes still come after the previous
// batch's commit.
func (r *runner) commitAsync(ctx context.Context, b state.Batch, n int) {
	r.touchMu.Lock()
	seq := r.touchSeq + 1
	r.touchMu.Unlock()
	pc := &pendingCommit{done: make(chan struct{})}
	r.pending, r.pendingFor = pc, seq
	go func() {
		defer close(pc.done)
		var err error
		if rec := panics.Try(func() { err = r.store.Commit(ctx, b) }); rec != nil {
			err = fmt.Errorf("state store panicked: %w", rec.AsError())
		}
		if err != nil {
			pc.err = fmt.Errorf("committing a batch of %d records of %q: %w", n, r.p.Name, err)
			return
		}
		r.touchMu.Lock()
		r.committedSeq = max(r.committedSeq, seq)
		r.touchMu.Unlock()
	}()
}

// settle waits for the batch being committed in the background, if any,
// and returns its error. Safe for concurrent calls (decide workers).
func (r *runner) settle() error {
	pc := r.pending
	if pc == nil {
		return nil
	}
	<-pc.done
	return pc.err
}

// prefetched is the result of a read-ahead: seq is the number of batches
// processed when it started.
type prefetched struct {
	seq int
	err error
}

// prefetch reads the links of items (read from side) and their partners.
func (r *runner) prefetch(ctx context.Context, items []*item, side string) *prefetched {
	r.touchMu.Lock()
	pre := &prefetched{seq: r.committedSeq}
	r.touchMu.Unlock()
	pre.err = r.lookupLinks(ctx, items, side)
	return pre
}

// touch remembers the keys of a processed batch: every key its pairs had
// or got on either side.
func (r *runner) touch(items []*item) {
	keys := make(map[string]bool, 2*len(items))
	for _, it := range items {
		keys[it.key] = true
		for _, l := range []*state.Link{it.link, it.linkOut} {
			if l != nil {
				keys[l.SourceKey], keys[l.SinkKey] = true, true
			}
		}
		for _, w := range it.writes {
			if w != nil {
				keys[w.ID] = true
			}
		}
		for _, rec := range it.recs {
			if rec != nil {
				keys[rec.ID] = true
			}
		}
	}
	r.touchMu.Lock()
	defer r.touchMu.Unlock()
	r.touchSeq++
	if r.pendingFor != r.touchSeq { // no commit of this batch in flight
		r.committedSeq = max(r.committedSeq, r.touchSeq)
	}
	r.touched = append(r.touched, touchedBatch{seq: r.touchSeq, keys: keys})
	if len(r.touched) > touchKeep {
		r.touched = append(r.touched[:0], r.touched[len(r.touched)-touchKeep:]...)
	}
}

// pairPrefetched completes the pairing of a batch read ahead: items whose
// keys a batch processed since the read-ahead are looked up again, then
// unlinked records are matched.
func (r *runner) pairPrefetched(ctx context.Context, items []*item, side string, pre *prefetched) error {
	stale := r.stale(items, pre.seq)
	if pre.err != nil {
		stale = items
	}
	if len(stale) > 0 {
		if err := r.settle(); err != nil {
			return err
		}
		oi := sideIdx(otherSide(side))
		for _, it := range stale {
			it.link, it.recs[oi] = nil, nil
		}
		if err := r.lookupLinks(ctx, stale, side); err != nil {
			return err
		}
	}
	return r.matchUnknown(ctx, items, side)
}

// stale lists the items whose keys a batch processed after the read-ahead
// that started when seq batches had been processed.
func (r *runner) stale(items []*item, seq int) []*item {
	r.touchMu.Lock()
	defer r.touchMu.Unlock()
	if r.touchSeq <= seq {
		return nil
	}
	if len(r.touched) == 0 || r.touched[0].seq > seq+1 {
		return items // not remembered that far back
	}
	var out []*item
	for _, it := range items {
		for _, tb := range r.touched {
			if tb.seq <= seq {
				continue
			}
			if tb.keys[it.key] || (it.link != nil && (tb.keys[it.link.SourceKey] || tb.keys[it.link.SinkKey])) {
				out = append(out, it)
				break
			}
		}
	}
	return out
}
