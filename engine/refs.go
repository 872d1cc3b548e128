package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sourcegraph/conc/panics"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/functions"
)

// refsIn collects the ref() values of mapped fields (nested maps and lists
// included), calling set to replace each once resolved.
func refsIn(m map[string]any, fn func(ref functions.Ref, set func(any))) {
	for k, v := range m {
		switch v := v.(type) {
		case functions.Ref:
			fn(v, func(nv any) { m[k] = nv })
		case *functions.Ref:
			if v != nil {
				fn(*v, func(nv any) { m[k] = nv })
			}
		case map[string]any:
			refsIn(v, fn)
		case []any:
			for i, e := range v {
				switch e := e.(type) {
				case functions.Ref:
					fn(e, func(nv any) { v[i] = nv })
				case map[string]any:
					refsIn(e, fn)
				}
			}
		}
	}
}

// resolveRefs replaces ref(pipeline, key) values in the mapped records of
// items by the key that pipeline linked on the side written to, in one
// lookup per referenced pipeline. A ref with no link makes the record wait
// (skipped, retried next run) or rejects it, as the pipeline's unresolved
// setting says.
func (r *runner) resolveRefs(ctx context.Context, items []*item) error {
	wanted := map[string]map[string]bool{}
	for _, it := range items {
		if it.fromRaw == nil || it.reject != "" {
			continue
		}
		refsIn(it.fromRaw, func(ref functions.Ref, _ func(any)) {
			if wanted[ref.Pipeline] == nil {
				wanted[ref.Pipeline] = map[string]bool{}
			}
			wanted[ref.Pipeline][ref.Key] = true
		})
	}
	if len(wanted) == 0 {
		return nil
	}
	resolved := map[string]map[string]string{}
	why := map[string]map[string]refGap{}
	for pl, keys := range wanted {
		list := make([]string, 0, len(keys))
		for k := range keys {
			list = append(list, k)
		}
		sort.Strings(list)
		m, err := r.lookupRefs(ctx, pl, r.from, list)
		if err != nil {
			return err
		}
		resolved[pl] = m
		// Only the keys left without a link are looked into.
		var missing []string
		for _, k := range list {
			if _, ok := m[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			why[pl] = r.whyUnlinked(ctx, pl, r.from, missing)
		}
	}
	for _, it := range items {
		if it.fromRaw == nil || it.reject != "" {
			continue
		}
		refsIn(it.fromRaw, func(ref functions.Ref, set func(any)) {
			if id, ok := resolved[ref.Pipeline][ref.Key]; ok {
				set(id)
				return
			}
			r.unresolved(it, ref, r.from, why[ref.Pipeline][ref.Key])
		})
	}
	return nil
}

// lookupRefs maps keys of side (of the referenced pipeline) to the keys
// linked on its other side.
func (r *runner) lookupRefs(ctx context.Context, pipeline, side string, keys []string) (map[string]string, error) {
	if _, ok := r.e.cfg.Config.Pipelines[pipeline]; !ok {
		return nil, fmt.Errorf("pipeline %q: ref() names unknown pipeline %q", r.p.Name, pipeline)
	}
	if err := r.settle(); err != nil { // a ref may name this pipeline
		return nil, err
	}
	out := map[string]string{}
	if side == config.SideSource {
		links, err := r.store.LinksBySource(ctx, pipeline, keys)
		if err != nil {
			return nil, fmt.Errorf("resolving ref(%q, ...) for %q: %w", pipeline, r.p.Name, err)
		}
		for k, l := range links {
			out[k] = l.SinkKey
		}
		return out, nil
	}
	links, err := r.store.LinksBySink(ctx, pipeline, keys)
	if err != nil {
		return nil, fmt.Errorf("resolving ref(%q, ...) for %q: %w", pipeline, r.p.Name, err)
	}
	for k, l := range links {
		out[k] = l.SourceKey
	}
	return out, nil
}

// refGap says why a referenced record has no link (the zero value: no
// known reason, it is not synced yet).
type refGap struct {
	deleted bool // soft-deleted on the referenced side
	missing bool // not found on the referenced side
	// left is the other side of the referenced pipeline, when the record
	// was left unlinked there as its partner was deleted (state.Unlinked)
	// and has not changed since.
	left   string
	reject string // the referenced pipeline's open reject of the record
}

// refCache holds what a run looked up to explain unresolved refs: the
// referenced pipelines' streams and open rejects, each loaded once.
type refCache struct {
	mu      sync.Mutex
	streams map[config.StreamRef]connectors.Stream
	rejects map[string]map[string]string // pipeline -> side+"\x00"+key -> reason
}

// whyUnlinked looks into why keys of side of the referenced pipeline have
// no link: the records themselves, read in one Get from that side's stream,
// then the pipeline's open rejects. A lookup that fails leaves the reason
// unknown (the ref waits as it always did) and is logged.
func (r *runner) whyUnlinked(ctx context.Context, pipeline, side string, keys []string) map[string]refGap {
	out := make(map[string]refGap, len(keys))
	pl := r.e.cfg.Config.Pipelines[pipeline]
	if pl == nil {
		return out
	}
	ref := pl.Source
	if side == config.SideSink {
		ref = pl.Sink
	}
	found := map[string]bool{}
	if recs, err := r.refGet(ctx, ref, keys); err != nil {
		r.e.log.Warn("could not read the records unresolved refs point to", "pipeline", r.p.Name,
			"ref", pipeline, "side", side, "stream", ref.String(), "error", err)
	} else {
		live := map[string]time.Time{}
		for _, rec := range recs {
			found[rec.ID] = true
			if rec.Deleted {
				out[rec.ID] = refGap{deleted: true}
			} else {
				live[rec.ID] = rec.UpdatedAt
			}
		}
		for _, k := range keys {
			if !found[k] {
				out[k] = refGap{missing: true}
			}
		}
		r.leftUnlinked(ctx, pipeline, side, live, out)
	}
	rejects, err := r.refRejects(ctx, pipeline)
	if err != nil {
		r.e.log.Warn("could not list the rejects of a pipeline that unresolved refs name", "pipeline", r.p.Name,
			"ref", pipeline, "error", err)
		return out
	}
	for _, k := range keys {
		if u := out[k]; !u.deleted && !u.missing {
			if reason, ok := rejects[side+"\x00"+k]; ok {
				out[k] = refGap{reject: reason}
			}
		}
	}
	return out
}

// leftUnlinked marks in out the live referenced records (updatedAt by
// key) that their pipeline left unlinked when their partner was deleted,
// and that have not changed since: they stay unlinked until they change
// (that pipeline's next run decides, by their content).
func (r *runner) leftUnlinked(ctx context.Context, pipeline, side string, live map[string]time.Time, out map[string]refGap) {
	if len(live) == 0 {
		return
	}
	keys := slices.Sorted(maps.Keys(live))
	left, err := r.store.Unlinked(ctx, pipeline, side, keys)
	if err != nil {
		r.e.log.Warn("could not look up the records unresolved refs point to in the state store", "pipeline", r.p.Name,
			"ref", pipeline, "side", side, "error", err)
		return
	}
	for k, u := range left {
		if !live[k].After(u.UpdatedAt) {
			out[k] = refGap{left: otherSide(side)}
		}
	}
}

// refGet reads records by key from a referenced pipeline's stream, opened
// once per run (this pipeline's own streams are reused).
func (r *runner) refGet(ctx context.Context, ref config.StreamRef, keys []string) ([]connectors.Record, error) {
	st, err := r.refStream(ctx, ref)
	if err != nil {
		return nil, err
	}
	var recs []connectors.Record
	if rec := panics.Try(func() { recs, err = st.Get(ctx, keys) }); rec != nil {
		err = fmt.Errorf("connector panicked: %w", rec.AsError())
	}
	if err != nil {
		return nil, fmt.Errorf("reading %d records from %s: %w", len(keys), ref, err)
	}
	return recs, nil
}

func (r *runner) refStream(ctx context.Context, ref config.StreamRef) (connectors.Stream, error) {
	for i, own := range []config.StreamRef{r.p.Source, r.p.Sink} {
		if own == ref && r.streams[i] != nil {
			return r.streams[i], nil
		}
	}
	r.refs.mu.Lock()
	defer r.refs.mu.Unlock()
	if st, ok := r.refs.streams[ref]; ok {
		return st, nil
	}
	st, err := r.e.openStream(ctx, ref)
	if err != nil {
		return nil, err
	}
	if r.refs.streams == nil {
		r.refs.streams = map[config.StreamRef]connectors.Stream{}
	}
	r.refs.streams[ref] = st
	return st, nil
}

// refRejects lists the open rejects of a referenced pipeline by side and
// key, loaded once per run.
func (r *runner) refRejects(ctx context.Context, pipeline string) (map[string]string, error) {
	r.refs.mu.Lock()
	defer r.refs.mu.Unlock()
	if m, ok := r.refs.rejects[pipeline]; ok {
		return m, nil
	}
	list, err := r.store.Rejects(ctx, pipeline)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(list))
	for _, rj := range list {
		m[rj.Side+"\x00"+rj.Key] = rj.Reason
	}
	if r.refs.rejects == nil {
		r.refs.rejects = map[string]map[string]string{}
	}
	r.refs.rejects[pipeline] = m
	return m, nil
}

// unresolved marks it for a ref with no link (its key is a key of side of
// the referenced pipeline), as the pipeline's unresolved setting says,
// unless why tells that the referenced record will not be linked as it
// stands: one deleted or missing there rejects it whatever the setting.
func (r *runner) unresolved(it *item, ref functions.Ref, side string, why refGap) {
	if it.reject != "" {
		return
	}
	switch {
	case why.deleted:
		it.reject = fmt.Sprintf("refers to %s %s key %s, which is deleted there: "+
			"change the reference or restore that record (retried on later runs)", ref.Pipeline, side, ref.Key)
		return
	case why.missing:
		it.reject = fmt.Sprintf("refers to %s %s key %s, which does not exist there: "+
			"change the reference or restore that record (retried on later runs)", ref.Pipeline, side, ref.Key)
		return
	case why.left != "":
		it.reject = fmt.Sprintf("refers to %s %s key %s, which %s left unlinked when its %s partner was deleted: "+
			"it is synced again when it changes (retried on later runs)", ref.Pipeline, side, ref.Key, ref.Pipeline, why.left)
		return
	}
	what := fmt.Sprintf("%s has no link for %s key %s yet", ref.Pipeline, side, ref.Key)
	if why.reject != "" {
		what = fmt.Sprintf("%s has not linked %s key %s: it was rejected there (%s)", ref.Pipeline, side, ref.Key, why.reject)
	}
	if r.p.Unresolved == "reject" {
		it.reject = what
		return
	}
	it.wait = true
	it.reject = "waiting: " + what + " (retried on the next run)"
}

// resolveIn resolves the refs of a mapping output made while deciding, one
// lookup per ref: keysSide is the side whose keys the refs carry (r.from for
// the forward mapping, r.to for the pull mapping of a both-way pipeline).
// When it is not nil, it is marked waiting or rejected for a missing link,
// with the same reasons as resolveRefs gives; the result says whether every
// ref was resolved.
func (r *runner) resolveIn(it *item, m map[string]any, keysSide string) bool {
	ok := true
	refsIn(m, func(ref functions.Ref, set func(any)) {
		got, err := r.lookupRefs(r.ctx, ref.Pipeline, keysSide, []string{ref.Key})
		if id, found := got[ref.Key]; err == nil && found {
			set(id)
			return
		}
		ok = false
		if it != nil && it.reject == "" {
			var why refGap
			if err == nil {
				why = r.whyUnlinked(r.ctx, ref.Pipeline, keysSide, []string{ref.Key})[ref.Key]
			}
			r.unresolved(it, ref, keysSide, why)
		}
	})
	return ok
}
