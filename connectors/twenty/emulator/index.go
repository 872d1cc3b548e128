package emulator

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Indexes that let a list request avoid scanning and sorting every stored
// row. They never decide what matches: they only narrow the rows the
// filter is evaluated on (and give counts where the filter is known to
// select exactly an interval of an order), so results are those of the
// full scan (scanList), which the tests compare them with.
//
// Stored record maps are never modified once stored (writes replace the
// map: copy on write), so an index entry's map, a page's rows and the
// JSON encoder may read them without copying. Every change to t.rows goes
// through table.set or table.remove, which keep the indexes current.

// Limits on lazily built indexes, so that a client asking for many
// different orders or filters does not make every write slower.
const (
	maxOrderIndexes = 8
	maxHashIndexes  = 8
)

// hashIndex files the ids of a table's rows under the value of one path,
// as an eq/in filter compares it: the string itself, or fmt.Sprint of a
// non-string value (compareValues falls back to that). Rows whose value
// is null are not filed (eq and in never match NULL).
type hashIndex struct {
	path  string
	byKey map[string][]string
	keyOf map[string]string // id -> the key it is filed under
}

func hashKey(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	default:
		return fmt.Sprint(x), true
	}
}

func (h *hashIndex) track(id string, r map[string]any) {
	old, had := h.keyOf[id]
	var key string
	has := false
	if r != nil {
		v, _ := lookupPath(r, h.path)
		key, has = hashKey(v)
	}
	if had && has && old == key {
		return
	}
	if had {
		ids := h.byKey[old]
		if i := slices.Index(ids, id); i >= 0 {
			ids[i] = ids[len(ids)-1]
			ids = ids[:len(ids)-1]
		}
		if len(ids) == 0 {
			delete(h.byKey, old)
		} else {
			h.byKey[old] = ids
		}
		delete(h.keyOf, id)
	}
	if has {
		h.byKey[key] = append(h.byKey[key], id)
		h.keyOf[id] = key
	}
}

// ordEntry is one row in an orderIndex, with its order-by values.
type ordEntry struct {
	id      string
	row     map[string]any
	keys    []any
	deleted bool // deletedAt was set when the entry was made
	dead    bool // superseded or removed; dropped at the next settle
}

// orderIndex keeps a table's rows (soft-deleted included) sorted by one
// list order. Writes go to a pending list; the next read merges them in
// (settle), so a burst of writes costs one O(n) merge, not one per write.
type orderIndex struct {
	terms   []orderTerm
	entries []*ordEntry // sorted by keys; no dead entries after settle
	live    []int32     // live[i]: not-deleted entries among entries[:i]
	pending []*ordEntry
	byID    map[string]*ordEntry
	stale   bool
}

func orderSignature(terms []orderTerm) string {
	var b strings.Builder
	for _, t := range terms {
		fmt.Fprintf(&b, "%s/%s/%t/%t;", t.path, t.kind, t.desc, t.nullsLast)
	}
	return b.String()
}

func newOrderIndex(terms []orderTerm, rows map[string]map[string]any) *orderIndex {
	x := &orderIndex{terms: terms, byID: make(map[string]*ordEntry, len(rows))}
	x.entries = make([]*ordEntry, 0, len(rows))
	for id, r := range rows {
		e := x.entry(id, r)
		x.byID[id] = e
		x.entries = append(x.entries, e)
	}
	slices.SortFunc(x.entries, func(a, b *ordEntry) int { return compareKeys(terms, a.keys, b.keys) })
	x.recount()
	return x
}

func (x *orderIndex) entry(id string, r map[string]any) *ordEntry {
	return &ordEntry{id: id, row: r, keys: keyOf(x.terms, r).vals, deleted: r["deletedAt"] != nil}
}

func (x *orderIndex) track(id string, r map[string]any) {
	old := x.byID[id]
	if r == nil {
		if old != nil {
			old.dead = true
			delete(x.byID, id)
			x.stale = true
		}
		return
	}
	e := x.entry(id, r)
	if old != nil {
		if old.deleted == e.deleted && compareKeys(x.terms, old.keys, e.keys) == 0 {
			old.row = r // same place in the order: only the map changed
			return
		}
		old.dead = true
	}
	x.byID[id] = e
	x.pending = append(x.pending, e)
	x.stale = true
}

// settle drops dead entries and merges the pending ones in.
func (x *orderIndex) settle() {
	if !x.stale {
		return
	}
	keep := x.entries[:0]
	for _, e := range x.entries {
		if !e.dead {
			keep = append(keep, e)
		}
	}
	clear(x.entries[len(keep):])
	var add []*ordEntry
	for _, e := range x.pending {
		if !e.dead {
			add = append(add, e)
		}
	}
	x.pending = nil
	cmp := func(a, b *ordEntry) int { return compareKeys(x.terms, a.keys, b.keys) }
	slices.SortFunc(add, cmp)
	// merge from the back, in place
	n, m := len(keep), len(add)
	merged := slices.Grow(keep, m)[:n+m]
	i, j := n-1, m-1
	for k := n + m - 1; j >= 0; k-- {
		if i >= 0 && cmp(merged[i], add[j]) > 0 {
			merged[k] = merged[i]
			i--
		} else {
			merged[k] = add[j]
			j--
		}
	}
	x.entries = merged
	x.recount()
	x.stale = false
}

func (x *orderIndex) recount() {
	if cap(x.live) < len(x.entries)+1 {
		x.live = make([]int32, len(x.entries)+1, len(x.entries)+len(x.entries)/4+1)
	}
	x.live = x.live[:len(x.entries)+1]
	x.live[0] = 0
	for i, e := range x.entries {
		x.live[i+1] = x.live[i]
		if !e.deleted {
			x.live[i+1]++
		}
	}
}

// track brings every index of t up to date with t.rows[id] (nil: removed).
func (t *table) track(id string) {
	r := t.rows[id]
	for _, h := range t.hashes {
		h.track(id, r)
	}
	for _, x := range t.orders {
		x.track(id, r)
	}
}

// set stores r (a map that is not modified afterwards) under its id.
func (t *table) set(r map[string]any) {
	id := r["id"].(string)
	if old := t.rows[id]; old != nil {
		t.unindex(old)
	}
	t.rows[id] = r
	t.index(r)
	t.track(id)
}

// remove deletes the row id, if any.
func (t *table) remove(id string) {
	old := t.rows[id]
	if old == nil {
		return
	}
	t.unindex(old)
	delete(t.rows, id)
	t.track(id)
}

// dropIndexes forgets the list indexes (they are rebuilt when next used).
func (t *table) dropIndexes() {
	t.hashes = nil
	t.orders = nil
}

func (t *table) orderIndexFor(terms []orderTerm) *orderIndex {
	sig := orderSignature(terms)
	if x := t.orders[sig]; x != nil {
		x.settle()
		return x
	}
	if len(t.orders) >= maxOrderIndexes {
		return nil
	}
	if t.orders == nil {
		t.orders = map[string]*orderIndex{}
	}
	x := newOrderIndex(terms, t.rows)
	t.orders[sig] = x
	return x
}

// hashable tells whether eq/in on path may use a hash index: id, a unique
// field, or a UUID field (relations), for which compareValues is string
// equality.
func (t *table) hashable(path, kind string) bool {
	if path == "id" {
		return true
	}
	if kind == typeUUID {
		return true
	}
	_, unique := t.uniques[path]
	return unique && kind == typeText
}

func (t *table) hashIndexFor(path string) *hashIndex {
	if h := t.hashes[path]; h != nil {
		return h
	}
	if len(t.hashes) >= maxHashIndexes {
		return nil
	}
	if t.hashes == nil {
		t.hashes = map[string]*hashIndex{}
	}
	h := &hashIndex{path: path, byKey: map[string][]string{}, keyOf: map[string]string{}}
	for id, r := range t.rows {
		h.track(id, r)
	}
	t.hashes[path] = h
	return h
}

// conjuncts flattens a top-level AND.
func conjuncts(f filterNode) []filterNode {
	switch n := f.(type) {
	case nil:
		return nil
	case andNode:
		var out []filterNode
		for _, c := range n {
			out = append(out, conjuncts(c)...)
		}
		return out
	}
	return []filterNode{f}
}

// hashCandidates returns the rows that can match f according to its most
// selective eq/in term on a hashable path (every row f can match is among
// them), or false when f has no such term.
func (t *table) hashCandidates(f filterNode) ([]map[string]any, bool) {
	var best []map[string]any
	found := false
	for _, c := range conjuncts(f) {
		l, ok := c.(*leaf)
		if !ok || (l.op != "eq" && l.op != "in") || !t.hashable(l.path, l.kind) {
			continue
		}
		vals := l.values
		if l.op == "eq" {
			vals = []any{l.value}
		}
		keys := make([]string, 0, len(vals))
		for _, v := range vals {
			s, ok := v.(string)
			if !ok {
				keys = nil
				break
			}
			keys = append(keys, s)
		}
		if keys == nil && len(vals) > 0 {
			continue
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		var rows []map[string]any
		if l.path == "id" {
			for _, k := range keys {
				if r := t.rows[k]; r != nil {
					rows = append(rows, r)
				}
			}
		} else {
			h := t.hashIndexFor(l.path)
			if h == nil {
				continue
			}
			for _, k := range keys {
				for _, id := range h.byKey[k] {
					rows = append(rows, t.rows[id])
				}
			}
		}
		if !found || len(rows) < len(best) {
			best, found = rows, true
		}
	}
	return best, found
}

// rangePlan is the interval [lo, hi) of an orderIndex's entries outside
// which the filter cannot match. exact: inside it, the filter matches
// every row (up to the soft-delete rule), so counts come from the index.
type rangePlan struct {
	lo, hi int
	exact  bool
}

// side places an entry relative to an interval of the order: -1 before,
// 0 inside, +1 after. It must be monotone along the order.
type side func(e *ordEntry) int

func (x *orderIndex) plan(f filterNode) rangePlan {
	p := rangePlan{lo: 0, hi: len(x.entries), exact: true}
	for _, c := range conjuncts(f) {
		if tautology(c) {
			continue
		}
		sd := x.sideOf(c)
		if sd == nil {
			p.exact = false
			continue
		}
		lo := sort.Search(len(x.entries), func(i int) bool { return sd(x.entries[i]) >= 0 })
		hi := sort.Search(len(x.entries), func(i int) bool { return sd(x.entries[i]) > 0 })
		p.lo, p.hi = max(p.lo, lo), min(p.hi, hi)
	}
	p.hi = max(p.hi, p.lo)
	return p
}

// tautology recognises or(p[is]:NULL,p[is]:NOT_NULL), which clients send to
// include soft-deleted rows: it is true for every row.
func tautology(n filterNode) bool {
	o, ok := n.(orNode)
	if !ok {
		return false
	}
	null, notNull := map[string]bool{}, map[string]bool{}
	for _, c := range o {
		if l, ok := c.(*leaf); ok && l.op == "is" {
			if l.isNull {
				null[l.path] = true
			} else {
				notNull[l.path] = true
			}
		}
	}
	for p := range null {
		if notNull[p] {
			return true
		}
	}
	return false
}

// sideOf returns the side function of a filter term that selects exactly
// an interval of x's order, or nil. Two shapes qualify: a comparison
// (eq, gt, gte, lt, lte) on the first order term, and the keyset term
// or(k[gt]:V,and(k[eq]:V,id[gt]:ID)) (or id[gte]) when the order is k
// ascending then id ascending.
func (x *orderIndex) sideOf(n filterNode) side {
	t0 := x.terms[0]
	nullSide := -1
	if t0.nullsLast {
		nullSide = 1
	}
	if l, ok := n.(*leaf); ok {
		if l.path != t0.path || l.kind != t0.kind || l.value == nil {
			return nil
		}
		var in [3]bool // by compareValues result + 1
		switch l.op {
		case "eq":
			in = [3]bool{false, true, false}
		case "gt":
			in = [3]bool{false, false, true}
		case "gte":
			in = [3]bool{false, true, true}
		case "lt":
			in = [3]bool{true, false, false}
		case "lte":
			in = [3]bool{true, true, false}
		default:
			return nil
		}
		// positions along the order, by order comparison -1, 0, +1
		var pos [3]int
		first, last := 2, -2 // the order comparisons that are inside
		for oc := -1; oc <= 1; oc++ {
			r := oc
			if t0.desc {
				r = -oc
			}
			if in[r+1] {
				first = min(first, oc)
				last = max(last, oc)
			}
		}
		for oc := -1; oc <= 1; oc++ {
			switch {
			case oc < first:
				pos[oc+1] = -1
			case oc > last:
				pos[oc+1] = 1
			}
		}
		v, kind, desc := l.value, t0.kind, t0.desc
		return func(e *ordEntry) int {
			k := e.keys[0]
			if k == nil {
				return nullSide
			}
			oc := compareValues(kind, k, v)
			if desc {
				oc = -oc
			}
			return pos[oc+1]
		}
	}
	o, ok := n.(orNode)
	if !ok || len(o) != 2 || len(x.terms) < 2 || t0.desc || x.terms[1].path != "id" || x.terms[1].desc {
		return nil
	}
	for _, ord := range [][2]int{{0, 1}, {1, 0}} {
		a, ok1 := o[ord[0]].(*leaf)
		b, ok2 := o[ord[1]].(andNode)
		if !ok1 || !ok2 || len(b) != 2 {
			continue
		}
		for _, ord2 := range [][2]int{{0, 1}, {1, 0}} {
			eq, ok3 := b[ord2[0]].(*leaf)
			idl, ok4 := b[ord2[1]].(*leaf)
			if !ok3 || !ok4 {
				continue
			}
			if a.op != "gt" || a.path != t0.path || a.kind != t0.kind || a.value == nil ||
				eq.op != "eq" || eq.path != t0.path || eq.kind != t0.kind || eq.value == nil ||
				compareValues(t0.kind, a.value, eq.value) != 0 ||
				idl.path != "id" || idl.kind != x.terms[1].kind || idl.value == nil || (idl.op != "gt" && idl.op != "gte") {
				continue
			}
			// a.value and eq.value compare equal but may differ as text;
			// each is compared by its own leaf, so keep both.
			va, ve, vid, incl, kind, idKind := a.value, eq.value, idl.value, idl.op == "gte", t0.kind, x.terms[1].kind
			return func(e *ordEntry) int {
				k := e.keys[0]
				if k == nil {
					return nullSide
				}
				if compareValues(kind, k, va) > 0 {
					return 0
				}
				if compareValues(kind, k, ve) != 0 {
					return -1
				}
				c := compareValues(idKind, e.keys[1], vid)
				if c > 0 || (incl && c == 0) {
					return 0
				}
				return -1
			}
		}
	}
	return nil
}

// listByOrder answers lq from x, evaluating the filter only inside the
// planned interval (and, when the plan is exact, only on the page).
func (x *orderIndex) list(lq *listQuery, p rangePlan) page {
	ents := x.entries
	lo, hi := p.lo, p.hi
	start, end := lo, hi
	if lq.startingAfter != nil {
		c := keyOf(lq.order, lq.startingAfter).vals
		start = max(lo, sort.Search(len(ents), func(i int) bool { return compareKeys(lq.order, ents[i].keys, c) > 0 }))
	} else if lq.endingBefore != nil {
		c := keyOf(lq.order, lq.endingBefore).vals
		end = min(hi, sort.Search(len(ents), func(i int) bool { return compareKeys(lq.order, ents[i].keys, c) >= 0 }))
	}
	backward := lq.endingBefore != nil
	want := lq.limit + 1
	var got []map[string]any
	total := 0
	if p.exact {
		if lq.withDeleted {
			total = hi - lo
		} else {
			total = int(x.live[hi] - x.live[lo])
		}
		if backward {
			for i := end - 1; i >= lo && len(got) < want; i-- {
				if r := ents[i].row; lq.matches(r) {
					got = append(got, r)
				}
			}
			slices.Reverse(got)
		} else {
			for i := start; i < end && len(got) < want; i++ {
				if r := ents[i].row; lq.matches(r) {
					got = append(got, r)
				}
			}
		}
	} else {
		for i := lo; i < hi; i++ {
			r := ents[i].row
			if !lq.matches(r) {
				continue
			}
			total++
			if i < start || i >= end {
				continue
			}
			if backward {
				got = append(got, r)
				if len(got) > 2*want {
					got = append(got[:0], got[len(got)-want:]...)
				}
			} else if len(got) < want {
				got = append(got, r)
			}
		}
		if backward && len(got) > want {
			got = got[len(got)-want:]
		}
	}
	out := page{total: total}
	if len(got) > lq.limit {
		out.hasNext = true
		if backward {
			got = got[len(got)-lq.limit:]
		} else {
			got = got[:lq.limit]
		}
	}
	out.rows = got
	if len(got) > 0 {
		out.startCursor = encodeCursor(lq.order, got[0])
		out.endCursor = encodeCursor(lq.order, got[len(got)-1])
	}
	return out
}
