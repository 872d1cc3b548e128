package twenty

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/secrets"
)

// fakeTwenty is a small Twenty for the people object, written from
// how the real server behaves (docs/connectors/twenty.md): list with filters (and/or, eq, gt, in,
// is), order by updatedAt then id, limit clamped to maxLimit, cursors,
// atomic batch creates with client ids and unique emails, PATCH, soft and
// hard DELETE, restore, bearer auth. Tests add faults through before.
type fakeTwenty struct {
	t        *testing.T
	mu       sync.Mutex
	key      string
	maxLimit int
	people   map[string]map[string]any
	clock    time.Time
	calls    []string // "METHOD path" of every request that reached the store
	// before runs first for every request; returning true means it answered.
	before func(w http.ResponseWriter, r *http.Request, n int) bool
	// after runs after a write was applied; returning true means it answered
	// instead of the real answer (an ambiguous failure).
	after func(w http.ResponseWriter, r *http.Request, n int) bool
	n     int
	srv   *httptest.Server
}

func newFake(t *testing.T) *fakeTwenty {
	f := &fakeTwenty{t: t, key: "key-1", maxLimit: 200, people: map[string]map[string]any{},
		clock: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwenty) tick() string {
	f.clock = f.clock.Add(time.Millisecond)
	return f.clock.Format("2006-01-02T15:04:05.000Z")
}

// hangUp closes the request's connection without an answer: the client
// sees a reset.
func hangUp(w http.ResponseWriter) {
	if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// failPatches answers every PATCH with fault while the returned switch is
// on (it starts off).
func (f *fakeTwenty) failPatches(fault func(w http.ResponseWriter)) *atomic.Bool {
	var on atomic.Bool
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if on.Load() && r.Method == http.MethodPatch {
			fault(w)
			return true
		}
		return false
	}
	return &on
}

func fakeError(w http.ResponseWriter, status int, name string, msgs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "error": name, "messages": msgs})
}

func fakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeTwenty) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n++
	n := f.n
	before, after := f.before, f.after
	f.mu.Unlock()
	if before != nil && before(w, r, n) {
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		fakeError(w, 403, "FORBIDDEN_EXCEPTION", "Missing authentication token")
		return
	}
	f.mu.Lock()
	key := f.key
	f.mu.Unlock()
	if auth != "Bearer "+key {
		fakeError(w, 401, "UNAUTHENTICATED", "Token invalid.")
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	status, body := f.handle(r)
	f.mu.Unlock()
	if r.Method != http.MethodGet && status < 300 && after != nil && after(w, r, n) {
		return
	}
	fakeJSON(w, status, body)
}

func errBody(status int, name string, msgs ...string) map[string]any {
	return map[string]any{"statusCode": status, "error": name, "messages": msgs}
}

// handle runs under f.mu.
func (f *fakeTwenty) handle(r *http.Request) (int, any) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 3 && parts[1] == "metadata" && parts[2] == "objects":
		return 200, map[string]any{"data": map[string]any{"objects": []any{
			map[string]any{"id": "obj-people", "nameSingular": "person", "namePlural": "people", "isActive": true, "fields": []any{
				map[string]any{"id": "f1", "name": "emails", "type": "EMAILS"},
				map[string]any{"id": "f2", "name": "name", "type": "FULL_NAME"},
				map[string]any{"id": "f3", "name": "jobTitle", "type": "TEXT"},
			}},
		}}}
	case len(parts) == 2 && parts[1] == "person":
		return 400, errBody(400, "BadRequestException", "object 'person' not found. Did you mean 'people'?")
	case r.Method == http.MethodGet && len(parts) == 2 && parts[1] == "people":
		return f.list(r)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[1] == "batch" && parts[2] == "people":
		var body []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return 400, errBody(400, "BadRequestException", err.Error())
		}
		return f.createMany(body)
	case r.Method == http.MethodPatch && len(parts) == 3 && parts[1] == "people":
		p, ok := f.people[parts[2]]
		if !ok || p["deletedAt"] != nil {
			return 404, errBody(404, "NotFoundException", "Record not found")
		}
		var patch map[string]any
		_ = json.NewDecoder(r.Body).Decode(&patch)
		for k, v := range patch {
			p[k] = v
		}
		p["updatedAt"] = f.tick()
		return 200, map[string]any{"data": map[string]any{"updatePerson": p}}
	case r.Method == http.MethodPatch && len(parts) == 4 && parts[1] == "restore":
		p, ok := f.people[parts[3]]
		if !ok || p["deletedAt"] == nil {
			return 404, errBody(404, "NotFoundException", "Record not found")
		}
		p["deletedAt"] = nil
		p["updatedAt"] = f.tick()
		return 200, map[string]any{"data": map[string]any{"restorePerson": p}}
	case r.Method == http.MethodDelete && len(parts) == 3 && parts[1] == "people":
		p, ok := f.people[parts[2]]
		soft := r.URL.Query().Get("soft_delete") == "true"
		if !ok || (soft && p["deletedAt"] != nil) {
			return 404, errBody(404, "NotFoundException", "Record not found")
		}
		if soft {
			p["deletedAt"] = f.tick()
			p["updatedAt"] = p["deletedAt"]
		} else {
			delete(f.people, parts[2])
		}
		return 200, map[string]any{"data": map[string]any{"deletePerson": map[string]any{"id": parts[2]}}}
	}
	return 404, errBody(404, "NotFoundException", "Cannot "+r.Method+" "+r.URL.Path)
}

func (f *fakeTwenty) createMany(body []map[string]any) (int, any) {
	emails := map[string]bool{}
	for _, p := range f.people {
		emails[primaryEmail(p)] = true
	}
	for _, rec := range body {
		id, _ := rec["id"].(string)
		if _, dup := f.people[id]; dup {
			return 400, errBody(400, "BadRequestException", "Record already exists")
		}
		if e := primaryEmail(rec); e != "" {
			if emails[e] {
				return 400, errBody(400, "BadRequestException", "A duplicate entry was detected")
			}
			emails[e] = true
		}
		if rec["jobTitle"] == "INVALID" {
			return 400, errBody(400, "BadRequestException", `invalid input value for enum "jobTitle": "INVALID"`)
		}
	}
	stamp := f.tick() // one batch, one updatedAt
	out := []any{}
	for _, rec := range body {
		p := map[string]any{"createdAt": stamp, "updatedAt": stamp, "deletedAt": nil, "position": 1,
			"updatedBy": map[string]any{"source": "API"}}
		for k, v := range rec {
			p[k] = v
		}
		if em, ok := p["emails"].(map[string]any); ok {
			if s, ok := em["primaryEmail"].(string); ok {
				em["primaryEmail"] = strings.ToLower(s)
			}
		}
		f.people[p["id"].(string)] = p
		out = append(out, p)
	}
	return 201, map[string]any{"data": map[string]any{"createPeople": out}}
}

func primaryEmail(p map[string]any) string {
	em, _ := p["emails"].(map[string]any)
	s, _ := em["primaryEmail"].(string)
	return strings.ToLower(s)
}

func (f *fakeTwenty) list(r *http.Request) (int, any) {
	q := r.URL.Query()
	filter := q.Get("filter")
	var pred func(map[string]any) bool = func(map[string]any) bool { return true }
	if filter != "" {
		var err error
		if pred, err = parseFakeFilter(filter); err != nil {
			return 400, errBody(400, "BadRequestException", err.Error())
		}
	}
	withDeleted := strings.Contains(filter, "deletedAt")
	var rows []map[string]any
	for _, p := range f.people {
		if (p["deletedAt"] == nil || withDeleted) && pred(p) {
			rows = append(rows, p)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i]["updatedAt"].(string), rows[j]["updatedAt"].(string)
		if a != b {
			return a < b
		}
		return rows[i]["id"].(string) < rows[j]["id"].(string)
	})
	if c := q.Get("starting_after"); c != "" {
		raw, _ := base64.StdEncoding.DecodeString(c)
		var cur struct{ UpdatedAt, ID string }
		_ = json.Unmarshal(raw, &cur)
		k := 0
		for k < len(rows) && (rows[k]["updatedAt"].(string) < cur.UpdatedAt ||
			(rows[k]["updatedAt"].(string) == cur.UpdatedAt && rows[k]["id"].(string) <= cur.ID)) {
			k++
		}
		rows = rows[k:]
	}
	limit := 60
	if l := q.Get("limit"); l != "" {
		limit, _ = strconv.Atoi(l)
	}
	limit = min(limit, f.maxLimit)
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	end := ""
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		b, _ := json.Marshal(map[string]string{"UpdatedAt": last["updatedAt"].(string), "ID": last["id"].(string)})
		end = base64.StdEncoding.EncodeToString(b)
	}
	list := make([]any, len(rows))
	for i, p := range rows {
		list[i] = p
	}
	return 200, map[string]any{"data": map[string]any{"people": list}, "totalCount": len(list),
		"pageInfo": map[string]any{"hasNextPage": more, "endCursor": end}}
}

// parseFakeFilter understands and(...), or(...) and field[op]:value with
// eq, gt, in and is, splitting terms on commas outside quotes, brackets and
// parentheses, and stripping quotes, like Twenty.
func parseFakeFilter(s string) (func(map[string]any) bool, error) {
	for _, conj := range []string{"and(", "or("} {
		if strings.HasPrefix(s, conj) && strings.HasSuffix(s, ")") {
			var preds []func(map[string]any) bool
			for _, term := range splitTerms(s[len(conj) : len(s)-1]) {
				p, err := parseFakeFilter(term)
				if err != nil {
					return nil, err
				}
				preds = append(preds, p)
			}
			and := conj == "and("
			return func(m map[string]any) bool {
				for _, p := range preds {
					if p(m) != and {
						return !and
					}
				}
				return and
			}, nil
		}
	}
	open := strings.Index(s, "[")
	cl := strings.Index(s, "]:")
	if open < 0 || cl < open {
		return nil, fmt.Errorf("'filter' invalid for '%s'. eg: price[gte]:10", s)
	}
	field, op, val := s[:open], s[open+1:cl], s[cl+2:]
	get := func(m map[string]any) any {
		var v any = m
		for _, p := range strings.Split(field, ".") {
			mm, _ := v.(map[string]any)
			v = mm[p]
		}
		return v
	}
	unq := func(v string) string {
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			return v[1 : len(v)-1]
		}
		return v
	}
	switch op {
	case "is":
		return func(m map[string]any) bool { return (get(m) == nil) == (val == "NULL") }, nil
	case "eq":
		return func(m map[string]any) bool { return fmt.Sprint(get(m)) == unq(val) }, nil
	case "gt":
		return func(m map[string]any) bool { s, ok := get(m).(string); return ok && s > unq(val) }, nil
	case "in":
		set := map[string]bool{}
		for _, v := range strings.Split(val[1:len(val)-1], ",") {
			set[unq(v)] = true
		}
		return func(m map[string]any) bool { s, ok := get(m).(string); return ok && set[s] }, nil
	}
	return nil, fmt.Errorf("comparator %s not supported", op)
}

func splitTerms(s string) []string {
	var out []string
	depth, brackets, quoted := 0, 0, false
	start := 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case '[':
			brackets++
		case ']':
			brackets--
		case '"':
			quoted = !quoted
		case ',':
			if depth == 0 && brackets == 0 && !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// rotatingResolver returns the current value of a secret that tests can
// change, and counts reads.
type rotatingResolver struct {
	mu    sync.Mutex
	value string
	reads int
}

func (r *rotatingResolver) Resolve(_ context.Context, ref secrets.Ref) (secrets.Value, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	if ref.Env == "" {
		return secrets.Value{}, errors.New("no such secret")
	}
	return secrets.New(r.value), nil
}

func (r *rotatingResolver) set(v string) {
	r.mu.Lock()
	r.value = v
	r.mu.Unlock()
}

// openTest opens a connection to url with fast retries.
func openTest(t *testing.T, url string, res secrets.Resolver, extra map[string]any) *Conn {
	t.Helper()
	cfg := map[string]any{
		"url":       url,
		"apiKey":    map[string]any{"env": "TWENTY_API_KEY"},
		"rateLimit": map[string]any{"requests": 10000, "per": "1s"},
		"retry":     map[string]any{"maxAttempts": 5, "initialBackoff": "1ms", "maxBackoff": "20ms", "maxElapsed": "20s"},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	c, err := OpenConn(connectors.OpenParams{Name: "crm", Config: cfg, Secrets: res})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func openPeople(t *testing.T, c *Conn) *Stream {
	t.Helper()
	s, err := c.OpenStream(context.Background(), "people")
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	return s
}

func person(id, email string) connectors.Change {
	return connectors.Change{Op: connectors.OpCreate, ID: id, Fields: map[string]any{
		"name":   map[string]any{"firstName": "Siti", "lastName": id[len(id)-4:]},
		"emails": map[string]any{"primaryEmail": email, "additionalEmails": nil},
	}}
}

func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
