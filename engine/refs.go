package engine

import (
	"context"
	"fmt"
	"sort"

	"github.com/kelompok/pipe/config"
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
			r.unresolved(it, ref)
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

func (r *runner) unresolved(it *item, ref functions.Ref) {
	if it.reject != "" {
		return
	}
	if r.p.Unresolved == "reject" {
		it.reject = fmt.Sprintf("%s has no link for %s key %s yet", ref.Pipeline, r.from, ref.Key)
		return
	}
	it.wait = true
	it.reject = fmt.Sprintf("waiting: %s has no link for %s key %s yet (retried on the next run)", ref.Pipeline, r.from, ref.Key)
}

// resolveIn resolves the refs of a mapping output made while deciding, one
// lookup per ref: keysSide is the side whose keys the refs carry (r.from for
// the forward mapping, r.to for the pull mapping of a both-way pipeline).
// When it is not nil, it is marked waiting or rejected for a missing link;
// the result says whether every ref was resolved.
func (r *runner) resolveIn(it *item, m map[string]any, keysSide string) bool {
	ok := true
	refsIn(m, func(ref functions.Ref, set func(any)) {
		got, err := r.lookupRefs(r.ctx, ref.Pipeline, keysSide, []string{ref.Key})
		if id, found := got[ref.Key]; err == nil && found {
			set(id)
			return
		}
		ok = false
		if it != nil {
			r.unresolved(it, ref)
		}
	})
	return ok
}
