package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// orderTerm is one order_by entry.
type orderTerm struct {
	path      string
	kind      string
	desc      bool
	nullsLast bool
}

var directions = map[string][2]bool{ // desc, nullsLast
	"AscNullsFirst":  {false, false},
	"AscNullsLast":   {false, true},
	"DescNullsFirst": {true, false},
	"DescNullsLast":  {true, true},
}

// parseOrderBy reads order_by=f1,f2[DescNullsLast]. id is always appended
// as the last term (ascending) so that every order is total.
func parseOrderBy(o *objectDef, src string) ([]orderTerm, *apiError) {
	var terms []orderTerm
	hasID := false
	if strings.TrimSpace(src) != "" {
		for _, item := range strings.Split(src, ",") {
			item = strings.TrimSpace(item)
			name, dir := item, "AscNullsFirst"
			if i := strings.IndexByte(item, '['); i >= 0 {
				if !strings.HasSuffix(item, "]") {
					return nil, badRequest("Invalid order_by %q: missing ']'", src)
				}
				name, dir = item[:i], item[i+1:len(item)-1]
			}
			d, ok := directions[dir]
			if !ok {
				return nil, badRequest("Invalid order_by direction %q: use AscNullsFirst, AscNullsLast, DescNullsFirst or DescNullsLast", dir)
			}
			kind, path, err := resolvePath(o, name)
			if err != nil {
				return nil, err
			}
			if path == "id" {
				hasID = true
			}
			terms = append(terms, orderTerm{path: path, kind: kind, desc: d[0], nullsLast: d[1]})
		}
	} else {
		terms = append(terms, orderTerm{path: "position", kind: typePosition})
	}
	if !hasID {
		terms = append(terms, orderTerm{path: "id", kind: typeUUID})
	}
	return terms, nil
}

// compareBy orders two records (or a record and a cursor) by terms.
func compareBy(terms []orderTerm, a, b map[string]any) int {
	for _, t := range terms {
		x, _ := lookupPath(a, t.path)
		y, _ := lookupPath(b, t.path)
		if c := compareTerm(t, x, y); c != 0 {
			return c
		}
	}
	return 0
}

// compareTerm orders two values of one order-by term: nulls first or last
// whatever the direction, other values by the term's kind and direction.
func compareTerm(t orderTerm, x, y any) int {
	switch {
	case x == nil && y == nil:
		return 0
	case x == nil || y == nil:
		c := -1
		if x != nil {
			c = 1
		}
		if t.nullsLast {
			c = -c
		}
		return c
	}
	c := compareValues(t.kind, x, y)
	if t.desc {
		c = -c
	}
	return c
}

// encodeCursor is base64 of the JSON of the order-by values plus id.
func encodeCursor(terms []orderTerm, r map[string]any) string {
	m := map[string]any{}
	for _, t := range terms {
		v, _ := lookupPath(r, t.path)
		m[t.path] = v
	}
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

func decodeCursor(s string) (map[string]any, *apiError) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.URLEncoding.DecodeString(s)
	}
	var flat map[string]any
	if err != nil || json.Unmarshal(b, &flat) != nil {
		return nil, badRequest("Invalid cursor %q", s)
	}
	// cursor keys are dotted paths; rebuild nested maps for lookupPath
	out := map[string]any{}
	for k, v := range flat {
		head, sub, nested := strings.Cut(k, ".")
		if !nested {
			out[k] = v
			continue
		}
		m, _ := out[head].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[head] = m
		}
		m[sub] = v
	}
	return out, nil
}

// listQuery is a parsed GET /rest/{plural} query.
type listQuery struct {
	limit         int
	depth         int
	filter        filterNode
	withDeleted   bool
	order         []orderTerm
	startingAfter map[string]any
	endingBefore  map[string]any
}

const (
	defaultLimit = 60
	maxLimit     = 200
)

func parseListQuery(o *objectDef, q url.Values) (*listQuery, *apiError) {
	lq := &listQuery{limit: defaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, badRequest("limit must be a non-negative integer, got %q", s)
		}
		lq.limit = min(n, maxLimit)
	}
	depth, err := parseDepth(q)
	if err != nil {
		return nil, err
	}
	lq.depth = depth
	if s := q.Get("filter"); s != "" {
		f, deleted, err := parseFilter(o, s)
		if err != nil {
			return nil, err
		}
		lq.filter, lq.withDeleted = f, deleted
	}
	order, aerr := parseOrderBy(o, q.Get("order_by"))
	if aerr != nil {
		return nil, aerr
	}
	lq.order = order
	after, before := q.Get("starting_after"), q.Get("ending_before")
	if after != "" && before != "" {
		return nil, badRequest("starting_after and ending_before cannot be used together")
	}
	if after != "" {
		if lq.startingAfter, aerr = decodeCursor(after); aerr != nil {
			return nil, aerr
		}
	}
	if before != "" {
		if lq.endingBefore, aerr = decodeCursor(before); aerr != nil {
			return nil, aerr
		}
	}
	return lq, nil
}

func parseDepth(q url.Values) (int, *apiError) {
	s := q.Get("depth")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1 {
		return 0, badRequest("depth must be 0 or 1, got %q", s)
	}
	return n, nil
}

// matches applies the soft-delete rule and the filter.
func (lq *listQuery) matches(r map[string]any) bool {
	if !lq.withDeleted && r["deletedAt"] != nil {
		return false
	}
	return lq.filter == nil || lq.filter.eval(r) == triTrue
}

// page is one page of a list.
type page struct {
	rows        []map[string]any
	total       int
	hasNext     bool
	startCursor any
	endCursor   any
}

// sortKey is a record with its order-by values extracted once.
type sortKey struct {
	row  map[string]any
	vals []any
}

func keyOf(terms []orderTerm, r map[string]any) sortKey {
	vals := make([]any, len(terms))
	for i, t := range terms {
		vals[i], _ = lookupPath(r, t.path)
	}
	return sortKey{row: r, vals: vals}
}

// compareKeys orders two extracted keys like compareBy.
func compareKeys(terms []orderTerm, a, b []any) int {
	for i, t := range terms {
		x, y := a[i], b[i]
		if c := compareTerm(t, x, y); c != 0 {
			return c
		}
	}
	return 0
}

// runList answers a list query. It uses an index when one narrows the
// rows to evaluate (a hash index for an eq/in term on id, a unique field
// or a relation; an order index for the query's order), and returns
// exactly what scanList would.
func runList(t *table, lq *listQuery) page {
	cands, hashOK := t.hashCandidates(lq.filter)
	if hashOK && (len(cands) <= 1024 || len(cands) <= len(t.rows)/8) {
		return scanList(lq, cands)
	}
	x := t.orderIndexFor(lq.order)
	if x == nil {
		if hashOK {
			return scanList(lq, cands)
		}
		return scanList(lq, mapRows(t.rows))
	}
	p := x.plan(lq.filter)
	if hashOK && !p.exact && len(cands) < p.hi-p.lo {
		return scanList(lq, cands)
	}
	return x.list(lq, p)
}

func mapRows(rows map[string]map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, r)
	}
	return out
}

// scanList answers a list query from rows (every row that can match, in
// any order) by evaluating the filter on each and sorting the matches.
func scanList(lq *listQuery, rows []map[string]any) page {
	var all []sortKey
	var cursor []any
	after := lq.startingAfter != nil
	if after {
		cursor = keyOf(lq.order, lq.startingAfter).vals
	} else if lq.endingBefore != nil {
		cursor = keyOf(lq.order, lq.endingBefore).vals
	}
	total := 0
	for _, r := range rows {
		if !lq.matches(r) {
			continue
		}
		total++
		k := keyOf(lq.order, r)
		if cursor != nil {
			c := compareKeys(lq.order, k.vals, cursor)
			if (after && c <= 0) || (!after && c >= 0) {
				continue
			}
		}
		all = append(all, k)
	}
	sort.Slice(all, func(i, j int) bool { return compareKeys(lq.order, all[i].vals, all[j].vals) < 0 })
	p := page{total: total}
	var keys []sortKey
	if lq.endingBefore != nil {
		lo := max(0, len(all)-lq.limit)
		keys = all[lo:]
		p.hasNext = lo > 0
	} else {
		hi := min(len(all), lq.limit)
		keys = all[:hi]
		p.hasNext = hi < len(all)
	}
	p.rows = make([]map[string]any, len(keys))
	for i, k := range keys {
		p.rows[i] = k.row
	}
	if len(keys) > 0 {
		p.startCursor = encodeCursor(lq.order, keys[0].row)
		p.endCursor = encodeCursor(lq.order, keys[len(keys)-1].row)
	}
	return p
}
