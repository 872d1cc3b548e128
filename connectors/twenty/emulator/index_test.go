package emulator

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// indexFixture is a server with a few hundred people (soft-deleted ones,
// null updatedAt, batches sharing one updatedAt) for comparing the
// indexed list paths with the full scan.
type indexFixture struct {
	t     *testing.T
	s     *Server
	rng   *rand.Rand
	clock *fakeClock
	comps []string
	n     int // people created so far
}

func newIndexFixture(t *testing.T, seed uint64) *indexFixture {
	clock := newClock()
	f := &indexFixture{t: t, s: New(Config{Clock: clock.Now}), rng: rand.New(rand.NewPCG(seed, 7)), clock: clock}
	var comps, people []map[string]any
	for i := range 4 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", 900+i)
		f.comps = append(f.comps, id)
		comps = append(comps, map[string]any{"id": id, "name": fmt.Sprintf("C%d", i)})
	}
	// seeded rows: some with null updatedAt, some soft-deleted, some
	// sharing one updatedAt
	for i := range 40 {
		p := f.personInput()
		switch i % 5 {
		case 0:
			p["updatedAt"] = nil
		case 1:
			p["deletedAt"] = "2025-05-01T00:00:00.000Z"
			p["updatedAt"] = "2025-05-01T00:00:00.000Z"
		case 2:
			p["updatedAt"] = "2025-04-01T10:00:00.000Z"
		}
		people = append(people, p)
	}
	if err := f.s.Seed(map[string][]map[string]any{"companies": comps, "people": people}); err != nil {
		t.Fatal(err)
	}
	for range 12 {
		f.batch(1 + f.rng.IntN(25))
	}
	return f
}

var cities = []string{"Bandung", "Jakarta", "Medan", "Surabaya"}

func (f *indexFixture) personInput() map[string]any {
	f.n++
	p := map[string]any{
		"id":     fmt.Sprintf("%08x-0000-4000-8000-%012d", f.rng.Uint32(), f.n),
		"name":   map[string]any{"firstName": fmt.Sprintf("P%d", f.n), "lastName": "X"},
		"emails": map[string]any{"primaryEmail": fmt.Sprintf("p%d@x.example", f.n)},
	}
	if f.rng.IntN(4) > 0 {
		p["city"] = cities[f.rng.IntN(len(cities))]
	}
	if f.rng.IntN(3) > 0 {
		p["companyId"] = f.comps[f.rng.IntN(len(f.comps))]
	}
	if f.rng.IntN(10) == 0 {
		delete(p, "emails")
	}
	return p
}

// batch creates n people sharing one updatedAt, like POST /rest/batch.
func (f *indexFixture) batch(n int) {
	s := f.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables["people"]
	f.clock.Advance(time.Duration(f.rng.IntN(3)) * time.Millisecond)
	at := s.stamp()
	for range n {
		r, err := s.prepareCreate(t, f.personInput(), at, "API")
		if err != nil {
			f.t.Fatal(err.Messages)
		}
		s.insert(t, r)
	}
}

// ids lists the people's ids in a stable order. It reads the table
// without the server's lock: the fixture is used from one goroutine, and
// write holds the lock while it picks.
func (f *indexFixture) ids() []string {
	var out []string
	for id := range f.s.tables["people"].rows {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (f *indexFixture) pick() string {
	ids := f.ids()
	return ids[f.rng.IntN(len(ids))]
}

// write makes one random change: a batch, updates sharing one updatedAt,
// a soft delete, a restore, a destroy, an upsert restoring a row.
func (f *indexFixture) write() {
	s := f.s
	switch f.rng.IntN(7) {
	case 0:
		f.batch(1 + f.rng.IntN(8))
		return
	case 1:
		s.mu.Lock()
		at := s.stamp()
		for range 1 + f.rng.IntN(4) {
			_, _, _ = s.update(s.tables["people"], f.pick(), map[string]any{"city": cities[f.rng.IntN(len(cities))]}, "API", true, at)
		}
		s.mu.Unlock()
	case 2:
		s.mu.Lock()
		_, _ = s.softDelete(s.tables["people"], f.pick())
		s.mu.Unlock()
	case 3:
		s.mu.Lock()
		_, _, _ = s.restore(s.tables["people"], f.pick())
		s.mu.Unlock()
	case 4:
		s.mu.Lock()
		_, _ = s.destroy(s.tables["people"], f.pick())
		s.mu.Unlock()
	case 5:
		s.mu.Lock()
		t := s.tables["people"]
		id := f.pick()
		_, _, _ = s.createOrUpsert(t, map[string]any{"id": id, "jobTitle": "upserted"}, s.stamp(), true)
		s.mu.Unlock()
	case 6:
		if _, err := s.Put("people", map[string]any{"id": f.pick(), "jobTitle": "manual"}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// filter returns a random filter, mostly of the shapes the indexes serve.
func (f *indexFixture) filter() string {
	stamps := []string{"2025-04-01T10:00:00.000Z", "2025-05-01T00:00:00.000Z", "2000-01-01T00:00:00Z", "2030-01-01T00:00:00Z"}
	for _, r := range f.s.tables["people"].rows {
		if v, _ := r["updatedAt"].(string); v != "" && f.rng.IntN(10) == 0 {
			stamps = append(stamps, v)
		}
	}
	ts := func() string { return stamps[f.rng.IntN(len(stamps))] }
	email := func() string {
		switch f.rng.IntN(4) {
		case 0:
			return fmt.Sprintf(`"P%d@X.EXAMPLE"`, 1+f.rng.IntN(f.n)) // stored lower-cased: no match
		case 1:
			return `"nobody@x.example"`
		}
		return fmt.Sprintf(`"p%d@x.example"`, 1+f.rng.IntN(f.n))
	}
	var term func(depth int) string
	term = func(depth int) string {
		switch k := f.rng.IntN(16); {
		case k == 0:
			return "or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL)"
		case k == 1:
			return fmt.Sprintf(`or(updatedAt[gt]:"%s",and(updatedAt[eq]:"%s",id[gt]:"%s"))`, ts(), ts(), f.pick())
		case k <= 3:
			t, id := ts(), f.pick()
			op := []string{"gt", "gte"}[f.rng.IntN(2)]
			if f.rng.IntN(2) == 0 {
				return fmt.Sprintf(`or(and(id[%s]:"%s",updatedAt[eq]:"%s"),updatedAt[gt]:"%s")`, op, id, t, t)
			}
			return fmt.Sprintf(`or(updatedAt[gt]:"%s",and(updatedAt[eq]:"%s",id[%s]:"%s"))`, t, t, op, id)
		case k <= 5:
			op := []string{"gt", "gte", "lt", "lte", "eq"}[f.rng.IntN(5)]
			return fmt.Sprintf(`updatedAt[%s]:"%s"`, op, ts())
		case k == 6:
			var vals []string
			for range f.rng.IntN(6) {
				vals = append(vals, email())
			}
			return "emails.primaryEmail[in]:[" + strings.Join(vals, ",") + "]"
		case k == 7:
			return "emails.primaryEmail[eq]:" + email()
		case k == 8:
			var vals []string
			for range 1 + f.rng.IntN(5) {
				id := f.pick()
				vals = append(vals, `"`+id+`"`, `"`+id+`"`) // duplicates must not double-count
			}
			return "id[in]:[" + strings.Join(vals, ",") + "]"
		case k == 9:
			return fmt.Sprintf(`id[%s]:"%s"`, []string{"eq", "gt", "lte"}[f.rng.IntN(3)], f.pick())
		case k == 10:
			return fmt.Sprintf(`companyId[eq]:"%s"`, f.comps[f.rng.IntN(len(f.comps))])
		case k == 11:
			return fmt.Sprintf(`city[eq]:"%s"`, cities[f.rng.IntN(len(cities))])
		case k == 12:
			return []string{"deletedAt[is]:NULL", "deletedAt[is]:NOT_NULL", "updatedAt[is]:NULL", "companyId[is]:NULL"}[f.rng.IntN(4)]
		case k == 13:
			return fmt.Sprintf("position[%s]:%d", []string{"gt", "lte", "eq"}[f.rng.IntN(3)], f.rng.IntN(f.n+40))
		case depth < 2 && k == 14:
			return "not(" + term(depth+1) + ")"
		case depth < 2:
			conj := []string{"and", "or"}[f.rng.IntN(2)]
			return conj + "(" + term(depth+1) + "," + term(depth+1) + ")"
		}
		return `name.firstName[like]:"P1%"`
	}
	var terms []string
	for range 1 + f.rng.IntN(3) {
		terms = append(terms, term(0))
	}
	return strings.Join(terms, ",")
}

var indexOrders = []string{"", "updatedAt,id", "updatedAt", "updatedAt[DescNullsLast]", "updatedAt[AscNullsLast]",
	"position[DescNullsFirst]", "city,updatedAt", "id", "emails.primaryEmail[DescNullsFirst]", "companyId[AscNullsLast],id"}

// pageIDs summarises a page for comparison.
func pageIDs(p page) []any {
	ids := make([]any, len(p.rows))
	for i, r := range p.rows {
		ids[i] = r["id"]
	}
	return []any{ids, p.total, p.hasNext, p.startCursor, p.endCursor}
}

// checkPaths answers q by the full scan and by every index path that
// applies, and fails when they differ. It returns the scan's page.
func (f *indexFixture) checkPaths(q url.Values) page {
	f.t.Helper()
	s := f.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables["people"]
	lq, err := parseListQuery(t.obj, q)
	if err != nil {
		f.t.Fatalf("%v: %v", q, err.Messages)
	}
	want := scanList(lq, mapRows(t.rows))
	check := func(path string, got page) {
		f.t.Helper()
		if g, w := pageIDs(got), pageIDs(want); !reflect.DeepEqual(g, w) {
			f.t.Fatalf("%s path differs from the scan for %s\n got %v\nwant %v", path, q.Encode(), g, w)
		}
	}
	check("runList", runList(t, lq))
	if cands, ok := t.hashCandidates(lq.filter); ok {
		check("hash", scanList(lq, cands))
	}
	if x := t.orderIndexFor(lq.order); x != nil {
		check("order", x.list(lq, x.plan(lq.filter)))
	}
	return want
}

func TestIndexPathsMatchScan(t *testing.T) {
	for seed := range uint64(6) {
		f := newIndexFixture(t, seed)
		for range 300 {
			q := url.Values{}
			if f.rng.IntN(8) > 0 {
				q.Set("filter", f.filter())
			}
			q.Set("order_by", indexOrders[f.rng.IntN(len(indexOrders))])
			q.Set("limit", fmt.Sprint([]int{0, 1, 3, 7, 60}[f.rng.IntN(5)]))
			p := f.checkPaths(q)
			// follow a cursor either way, with a write in between
			if f.rng.IntN(3) == 0 {
				f.write()
			}
			if p.endCursor != nil && f.rng.IntN(2) == 0 {
				q.Set("starting_after", p.endCursor.(string))
				f.checkPaths(q)
				q.Del("starting_after")
			}
			if p.startCursor != nil && f.rng.IntN(2) == 0 {
				q.Set("ending_before", p.startCursor.(string))
				f.checkPaths(q)
			}
			if f.rng.IntN(4) == 0 {
				f.write()
			}
		}
	}
}

// TestIndexPagingWithWrites pages through people in (updatedAt, id) order
// the way the connector does (keyset filter, or starting_after cursors),
// writing between pages, and compares every page with the scan.
func TestIndexPagingWithWrites(t *testing.T) {
	for seed := range uint64(4) {
		f := newIndexFixture(t, 100+seed)
		var after [2]string // updatedAt, id
		useCursor := seed%2 == 1
		cursor := ""
		for step := 0; step < 200; step++ {
			q := url.Values{"order_by": {"updatedAt,id"}, "limit": {fmt.Sprint(1 + f.rng.IntN(9))}}
			filter := "or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL)"
			if seed >= 2 {
				filter = ""
			}
			if after[0] != "" && !useCursor {
				k := fmt.Sprintf(`or(updatedAt[gt]:"%s",and(updatedAt[eq]:"%s",id[gt]:"%s"))`, after[0], after[0], after[1])
				if filter == "" {
					filter = k
				} else {
					filter += "," + k
				}
			}
			if filter != "" {
				q.Set("filter", filter)
			}
			if useCursor && cursor != "" {
				q.Set("starting_after", cursor)
			}
			p := f.checkPaths(q)
			if n := len(p.rows); n > 0 {
				last := p.rows[n-1]
				after[0], _ = last["updatedAt"].(string)
				after[1] = last["id"].(string)
				cursor = p.endCursor.(string)
			}
			if !p.hasNext && f.rng.IntN(2) == 0 {
				after, cursor = [2]string{}, "" // start over
			}
			if f.rng.IntN(2) == 0 {
				f.write()
			}
		}
	}
}

// TestIndexMetadataField adds a unique custom field after the indexes
// exist; lists by it and by the old orders must still match the scan.
func TestIndexMetadataField(t *testing.T) {
	f := newIndexFixture(t, 42)
	f.checkPaths(url.Values{"order_by": {"updatedAt,id"}, "filter": {`emails.primaryEmail[in]:["p3@x.example"]`}})
	u := f.s.Start()
	defer f.s.Close()
	r := call(t, u, "GET", "/rest/metadata/objects", "", nil)
	var personObj string
	for _, o := range r.json(t)["data"].(map[string]any)["objects"].([]any) {
		if m := o.(map[string]any); m["nameSingular"] == "person" {
			personObj = m["id"].(string)
		}
	}
	body := fmt.Sprintf(`{"objectMetadataId":%q,"type":"TEXT","name":"kelompokId","label":"K","isNullable":true,"isUnique":true}`, personObj)
	if r := call(t, u, "POST", "/rest/metadata/fields", body, nil); r.status != 201 {
		t.Fatal(r.body)
	}
	if _, err := f.s.Put("people", map[string]any{"id": f.pick(), "kelompokId": "k-1"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []url.Values{
		{"filter": {`kelompokId[eq]:"k-1"`}},
		{"filter": {`kelompokId[is]:NULL`}, "order_by": {"updatedAt,id"}, "limit": {"5"}},
		{"filter": {`emails.primaryEmail[in]:["p3@x.example","p4@x.example"]`}},
	} {
		if p := f.checkPaths(q); q.Get("filter") == `kelompokId[eq]:"k-1"` && p.total != 1 {
			t.Fatalf("kelompokId lookup: total %d, want 1", p.total)
		}
	}
}
