package twenty

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/secrets"
)

func TestParseParams(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"url": "https://api.twenty.com/", "apiKey": map[string]any{"env": "K"}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		cfg     map[string]any
		wantErr string
		check   func(t *testing.T, p Params)
	}{
		{name: "defaults", cfg: base(nil), check: func(t *testing.T, p Params) {
			if p.URL != "https://api.twenty.com" || p.RateRequests != 100 || p.RatePer != time.Minute || p.BatchSize != 60 || p.Timeout != 30*time.Second {
				t.Errorf("defaults: %+v", p)
			}
		}},
		{name: "cloud rate and big batches", cfg: base(map[string]any{"rateLimit": map[string]any{"requests": float64(50), "per": "1m"}, "batchSize": float64(200), "timeout": float64(10)}),
			check: func(t *testing.T, p Params) {
				if p.RateRequests != 50 || p.BatchSize != 200 || p.Timeout != 10*time.Second {
					t.Errorf("got %+v", p)
				}
			}},
		{name: "custom fields map", cfg: base(map[string]any{"customFields": map[string]any{"people": map[string]any{"kelompokId": "TEXT", "joinedAt": "DATE_TIME"}}}),
			check: func(t *testing.T, p Params) {
				if len(p.CustomFields) != 2 || p.CustomFields[0].Name != "joinedAt" || p.CustomFields[1].Type != "TEXT" || p.CustomFields[1].Object != "people" {
					t.Errorf("custom fields: %+v", p.CustomFields)
				}
			}},
		{name: "literal key refused", cfg: map[string]any{"url": "http://x", "apiKey": "eyJhbGciOi.secret"}, wantErr: "apiKey must be a secret reference"},
		{name: "missing url and key", cfg: map[string]any{}, wantErr: "url is required"},
		{name: "batch too big", cfg: base(map[string]any{"batchSize": float64(201)}), wantErr: "batchSize must be between 1 and 200"},
		{name: "batch zero", cfg: base(map[string]any{"batchSize": float64(0)}), wantErr: "batchSize"},
		{name: "bad period", cfg: base(map[string]any{"rateLimit": map[string]any{"per": "soon"}}), wantErr: "rateLimit.per"},
		{name: "not a url", cfg: base(map[string]any{"url": "api.twenty.com"}), wantErr: "not an http(s) base URL"},
		{name: "empty ref", cfg: base(map[string]any{"apiKey": map[string]any{}}), wantErr: "empty secret reference"},
		{name: "unknown retry option", cfg: base(map[string]any{"retry": map[string]any{"forever": true}}), wantErr: "retry.forever"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseParams(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "eyJhbGciOi") {
					t.Fatalf("error repeats the literal key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestChunkValues(t *testing.T) {
	var ids []string
	for i := range 500 {
		ids = append(ids, uuidN(i))
	}
	messy := []string{"o'brien@desa.id", "a,b@x.id", "siti@x.id", "(x)@y.id", "", `q"uote@x.id`}
	tests := []struct {
		name     string
		values   []string
		quote    bool
		budget   int
		want     []string // values that must appear
		wantSkip []string
		minParts int
	}{
		{name: "ids across chunks", values: ids, quote: true, budget: 4000, want: ids, minParts: 5},
		{name: "one chunk", values: ids[:3], quote: true, budget: 4000, want: ids[:3], minParts: 1},
		{name: "messy emails", values: messy, quote: true, budget: 4000, want: []string{"o'brien@desa.id", "siti@x.id", `q"uote@x.id`}, wantSkip: []string{"a,b@x.id", "(x)@y.id"}, minParts: 1},
		{name: "enum unquoted", values: []string{"NEW", "MEETING"}, quote: false, budget: 4000, want: []string{"NEW", "MEETING"}, minParts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := chunkValues("id", tt.values, tt.quote, tt.budget)
			if len(parts) < tt.minParts {
				t.Fatalf("%d chunks, want at least %d", len(parts), tt.minParts)
			}
			all := strings.Join(parts, "\n")
			for _, p := range parts {
				if n := len(url.QueryEscape(p)); n > tt.budget {
					t.Errorf("chunk encodes to %d bytes, budget %d", n, tt.budget)
				}
				if !strings.HasPrefix(p, "and("+deletedTerm+",id[in]:[") || !strings.HasSuffix(p, "])") {
					t.Errorf("chunk shape: %.80s", p)
				}
			}
			for _, v := range tt.want {
				item := v
				if tt.quote {
					item = `"` + v + `"`
				}
				if strings.Count(all, item) != 1 {
					t.Errorf("value %q appears %d times", v, strings.Count(all, item))
				}
			}
			for _, v := range tt.wantSkip {
				if strings.Contains(all, v) {
					t.Errorf("unsafe value %q was sent", v)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"Thu, 01 Jan 2026 00:00:10 GMT", 10 * time.Second, true},
		{"Wed, 31 Dec 2025 23:59:00 GMT", 0, true},
		{"soon", 0, false},
		{"-1", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 3, 1, 9, 0, 0, 123000000, time.UTC)
	for _, in := range []string{"2026-03-01T09:00:00.123Z", "2026-03-01T16:00:00.123+07:00", "2026-03-01 09:00:00.123+00"} {
		got, err := parseTime(in)
		if in == "2026-03-01 09:00:00.123+00" {
			// Postgres's short offset is not RFC 3339; it must fail loudly.
			if err == nil {
				t.Errorf("parseTime(%q) accepted a non-RFC 3339 offset", in)
			}
			continue
		}
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v", in, got, err)
		}
	}
	if got, err := parseTime("2026-03-01T09:00:00Z"); err != nil || !got.Equal(want.Truncate(time.Second)) {
		t.Errorf("without fraction: %v %v", got, err)
	}
}

// createPeople pushes n people through Write and fails the test on any
// error.
func createPeople(t *testing.T, s *Stream, from, n int) []connectors.Change {
	t.Helper()
	var changes []connectors.Change
	for i := from; i < from+n; i++ {
		changes = append(changes, person(uuidN(i), fmt.Sprintf("Warga%d@Desa.ID", i)))
	}
	res, err := s.Write(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("create %d: %v", i, r.Err)
		}
	}
	return changes
}

func TestReadPaginatesThroughTies(t *testing.T) {
	tests := []struct {
		name      string
		serverMax int // the server's clamp
		batchSize int // records per batch = records sharing one updatedAt
		limit     int
	}{
		{"old server clamps to 60", 60, 100, 200},
		{"current server", 200, 200, 200},
		{"small pages inside one tie", 200, 200, 7},
		{"default limit", 60, 37, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.maxLimit = tt.serverMax
			c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, map[string]any{"batchSize": float64(tt.batchSize)})
			s := openPeople(t, c)
			createPeople(t, s, 0, 250)
			// An update moves one record to the end of the order.
			if res, err := s.Write(context.Background(), []connectors.Change{{Op: connectors.OpUpdate, ID: uuidN(3), Fields: map[string]any{"jobTitle": "Ketua"}}}); err != nil || res[0].Err != nil {
				t.Fatalf("update: %v %v", err, res)
			}
			var got []connectors.Record
			var after connectors.Position
			for pages := 0; ; pages++ {
				if pages > 300 {
					t.Fatal("no end to the pages")
				}
				page, err := s.Read(context.Background(), connectors.ReadRequest{After: after, Limit: tt.limit})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page.Records {
					if !after.Before(connectors.PositionOf(r)) {
						t.Fatalf("record %s at %v is not after %v", r.ID, r.UpdatedAt, after)
					}
					after = connectors.PositionOf(r)
				}
				got = append(got, page.Records...)
				if !page.More {
					break
				}
			}
			if len(got) != 250 {
				t.Fatalf("read %d records, want 250", len(got))
			}
			seen := map[string]bool{}
			for _, r := range got {
				if seen[r.ID] {
					t.Fatalf("record %s read twice", r.ID)
				}
				seen[r.ID] = true
			}
			if last := got[len(got)-1]; last.ID != uuidN(3) || last.Fields["jobTitle"] != "Ketua" {
				t.Errorf("the updated record should come last, got %s %v", last.ID, last.Fields["jobTitle"])
			}
			// Nested composites, housekeeping dropped, emails as stored.
			r := got[0]
			if _, ok := r.Fields["position"]; ok {
				t.Error("position should be dropped")
			}
			if _, ok := r.Fields["updatedBy"]; ok {
				t.Error("updatedBy should be dropped")
			}
			em, _ := r.Fields["emails"].(map[string]any)
			if em == nil || !strings.HasSuffix(em["primaryEmail"].(string), "@desa.id") {
				t.Errorf("emails: %#v", r.Fields["emails"])
			}
			if _, ok := r.Fields["createdAt"].(time.Time); !ok {
				t.Errorf("createdAt is %T, want time.Time", r.Fields["createdAt"])
			}
		})
	}
}

func TestReadSoftDeleted(t *testing.T) {
	f := newFake(t)
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, nil)
	s := openPeople(t, c)
	createPeople(t, s, 0, 5)
	res, err := s.Write(context.Background(), []connectors.Change{{Op: connectors.OpDelete, ID: uuidN(1)}, {Op: connectors.OpDelete, ID: uuidN(4)}})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("delete: %v %+v", err, res)
	}
	for _, tt := range []struct {
		include     bool
		want, wantD int
	}{{false, 3, 0}, {true, 5, 2}} {
		page, err := s.Read(context.Background(), connectors.ReadRequest{IncludeDeleted: tt.include})
		if err != nil {
			t.Fatal(err)
		}
		deleted := 0
		for _, r := range page.Records {
			if r.Deleted {
				deleted++
				if _, ok := r.Fields["deletedAt"].(time.Time); !ok {
					t.Errorf("deletedAt of %s is %T", r.ID, r.Fields["deletedAt"])
				}
			}
		}
		if len(page.Records) != tt.want || deleted != tt.wantD {
			t.Errorf("include=%v: %d records, %d deleted; want %d, %d", tt.include, len(page.Records), deleted, tt.want, tt.wantD)
		}
	}
	// Soft-deleted records are found by Get and Find.
	got, err := s.Get(context.Background(), []string{uuidN(1), uuidN(2), uuidN(99)})
	if err != nil || len(got) != 2 {
		t.Fatalf("get: %v, %d records", err, len(got))
	}
	found, err := s.Find(context.Background(), "emails.primaryEmail", []string{"WARGA4@desa.id"})
	if err != nil || len(found) != 1 || !found[0].Deleted {
		t.Fatalf("find deleted: %v %+v", err, found)
	}
}

func TestLookupsAreChunked(t *testing.T) {
	f := newFake(t)
	f.maxLimit = 60
	longest := 0
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if len(r.URL.RawQuery) > longest {
			longest = len(r.URL.RawQuery)
		}
		return false
	}
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, map[string]any{"batchSize": float64(200)})
	s := openPeople(t, c)
	createPeople(t, s, 0, 400)
	var ids, emails []string
	for i := range 400 {
		ids = append(ids, uuidN(i))
		emails = append(emails, fmt.Sprintf("  warga%d@DESA.id ", i))
	}
	ids = append(ids, uuidN(1000)) // absent
	emails = append(emails, "nobody@desa.id")

	tests := []struct {
		name   string
		lookup func() ([]connectors.Record, error)
	}{
		{"get by id", func() ([]connectors.Record, error) { return s.Get(context.Background(), ids) }},
		{"find by email", func() ([]connectors.Record, error) {
			return s.Find(context.Background(), "emails.primaryEmail", emails)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.Stats().Requests
			got, err := tt.lookup()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 400 {
				t.Fatalf("found %d, want 400", len(got))
			}
			calls := c.Stats().Requests - before
			// 400 ids need several chunks, and a clamp to 60 needs pages.
			if calls < 7 {
				t.Errorf("only %d calls: chunking or paging did not happen", calls)
			}
			if longest > maxQueryBytes+200 {
				t.Errorf("a query was %d bytes long", longest)
			}
		})
	}
}

func TestBatchSplitsAroundBadRecords(t *testing.T) {
	f := newFake(t)
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, map[string]any{"batchSize": float64(20)})
	s := openPeople(t, c)
	createPeople(t, s, 900, 1) // warga900@desa.id exists
	var changes []connectors.Change
	for i := range 20 {
		changes = append(changes, person(uuidN(i), fmt.Sprintf("warga%d@desa.id", i)))
	}
	changes[4].Fields["jobTitle"] = "INVALID"
	changes[13].Fields["emails"] = map[string]any{"primaryEmail": "WARGA900@desa.id"}
	changes[17].ID = ""
	res, err := s.Write(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	wantReason := map[int]string{4: "invalid input value for enum", 13: "A duplicate entry was detected", 17: "needs a client id"}
	for i, r := range res {
		if want, bad := wantReason[i]; bad {
			var re *connectors.RecordError
			if !errors.As(r.Err, &re) || !strings.Contains(re.Reason, want) {
				t.Errorf("record %d: err %v, want a RecordError with %q", i, r.Err, want)
			}
			continue
		}
		if r.Err != nil || r.Record == nil || r.Record.ID != changes[i].ID {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	f.mu.Lock()
	n := len(f.people)
	f.mu.Unlock()
	if n != 1+17 {
		t.Errorf("%d people stored, want 18", n)
	}
}

func TestAuthRotation(t *testing.T) {
	f := newFake(t)
	res := &rotatingResolver{value: "key-1"}
	c := openTest(t, f.srv.URL, res, nil)
	s := openPeople(t, c)
	ctx := context.Background()
	if _, err := s.Read(ctx, connectors.ReadRequest{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		serverKey   string
		secretValue string
		wantAuthErr bool
		wantRereads int64
	}{
		{"rotated key is re-read once", "key-2", "key-2", false, 1},
		{"still valid, no re-read", "key-2", "key-2", false, 1},
		{"revoked key fails with auth error", "key-3", "key-2", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			f.key = tt.serverKey
			f.mu.Unlock()
			res.set(tt.secretValue)
			_, err := s.Read(ctx, connectors.ReadRequest{})
			var ae *AuthError
			if tt.wantAuthErr != errors.As(err, &ae) {
				t.Fatalf("err = %v", err)
			}
			if got := c.Stats().AuthRereads; got != tt.wantRereads {
				t.Errorf("re-reads = %d, want %d", got, tt.wantRereads)
			}
			if ae != nil {
				msg := ae.Error()
				if !strings.Contains(msg, `"crm"`) || !strings.Contains(msg, "env:TWENTY_API_KEY") || strings.Contains(msg, tt.secretValue) {
					t.Errorf("auth error must name the connection and the reference, never the key: %s", msg)
				}
				// A write fails as a whole, not per record.
				if _, werr := s.Write(ctx, []connectors.Change{person(uuidN(1), "x@y.id")}); !errors.As(werr, &ae) {
					t.Errorf("write with a refused key: %v", werr)
				}
			}
		})
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	tests := []struct {
		name  string
		fault func(w http.ResponseWriter, r *http.Request, n int) bool
		check func(t *testing.T, st Stats)
	}{
		{"429 without Retry-After", func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n <= 3 {
				fakeError(w, 429, "TooManyRequestsException", "Limit reached (100 tokens per 60000 ms)")
				return true
			}
			return false
		}, func(t *testing.T, st Stats) {
			if st.RateLimited != 3 {
				t.Errorf("429s seen = %d, want 3", st.RateLimited)
			}
		}},
		{"429 with Retry-After from a proxy", func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 1 {
				w.Header().Set("Retry-After", "0")
				fakeError(w, 429, "TooManyRequestsException", "slow down")
				return true
			}
			return false
		}, func(t *testing.T, st Stats) {
			if st.RateLimited != 1 {
				t.Errorf("429s seen = %d, want 1", st.RateLimited)
			}
		}},
		{"5xx", func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n <= 2 {
				fakeError(w, 503, "ServiceUnavailable", "upstream busy")
				return true
			}
			return false
		}, func(t *testing.T, st Stats) {
			if st.ServerErrors != 2 {
				t.Errorf("5xx seen = %d, want 2", st.ServerErrors)
			}
		}},
		{"timeout", func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 1 {
				select {
				case <-r.Context().Done():
				case <-time.After(2 * time.Second):
				}
				return true
			}
			return false
		}, func(t *testing.T, st Stats) {
			if st.NetworkErrors != 1 {
				t.Errorf("timeouts seen = %d, want 1", st.NetworkErrors)
			}
		}},
		{"connection reset", func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n <= 2 {
				hangUp(w)
				return true
			}
			return false
		}, func(t *testing.T, st Stats) {
			if st.NetworkErrors != 2 {
				t.Errorf("network errors = %d, want 2", st.NetworkErrors)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			var posts atomic.Int64
			f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.Method != http.MethodPost {
					return false
				}
				return tt.fault(w, r, int(posts.Add(1)))
			}
			c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, map[string]any{"timeout": "200ms"})
			s := openPeople(t, c)
			res, err := s.Write(context.Background(), []connectors.Change{person(uuidN(1), "a@desa.id"), person(uuidN(2), "b@desa.id")})
			if err != nil || res[0].Err != nil || res[1].Err != nil {
				t.Fatalf("write: %v %+v", err, res)
			}
			tt.check(t, c.Stats())
			f.mu.Lock()
			n := len(f.people)
			f.mu.Unlock()
			if n != 2 {
				t.Errorf("%d people stored, want 2", n)
			}
		})
	}
}

func TestPersistent5xxIsTransientPerRecord(t *testing.T) {
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPost {
			fakeError(w, 500, "InternalServerError", "boom")
			return true
		}
		return false
	}
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, nil)
	s := openPeople(t, c)
	res, err := s.Write(context.Background(), []connectors.Change{person(uuidN(1), "a@desa.id")})
	if err != nil {
		t.Fatalf("a server failure must not fail the whole call: %v", err)
	}
	if res[0].Err == nil || connectors.IsRecordError(res[0].Err) || !strings.Contains(res[0].Err.Error(), "gave up after 5 attempts") {
		t.Errorf("want a transient error after 5 attempts, got %v", res[0].Err)
	}
}

func TestAmbiguousCreateIsRecognised(t *testing.T) {
	f := newFake(t)
	// The write is applied, then the answer is lost (a 502 from a proxy).
	failed := 0
	f.after = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPost && failed == 0 {
			failed++
			fakeError(w, 502, "Bad Gateway", "upstream closed")
			return true
		}
		return false
	}
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, nil)
	s := openPeople(t, c)
	changes := []connectors.Change{person(uuidN(1), "a@desa.id"), person(uuidN(2), "b@desa.id")}
	res, err := s.Write(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.Record == nil || r.Record.ID != changes[i].ID {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.people) != 2 {
		t.Errorf("%d people, want 2 (no duplicate)", len(f.people))
	}
	posts := 0
	for _, call := range f.calls {
		if strings.HasPrefix(call, "POST") {
			posts++
		}
	}
	if posts != 2 {
		t.Errorf("%d POSTs, want 2 (the lost one and the retry)", posts)
	}
}

func TestUpdateDeleteRestore(t *testing.T) {
	f := newFake(t)
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, nil)
	s := openPeople(t, c)
	createPeople(t, s, 0, 3)
	ctx := context.Background()
	tests := []struct {
		name     string
		change   connectors.Change
		notFound bool
		check    func(t *testing.T, r connectors.Result)
	}{
		{"update sends only the changed fields", connectors.Change{Op: connectors.OpUpdate, ID: uuidN(0), Fields: map[string]any{"city": "Bandung"}}, false,
			func(t *testing.T, r connectors.Result) {
				if r.Record == nil || r.Record.Fields["city"] != "Bandung" || r.Record.Fields["name"] == nil {
					t.Errorf("record after update: %+v", r.Record)
				}
			}},
		{"update of a missing record", connectors.Change{Op: connectors.OpUpdate, ID: uuidN(77), Fields: map[string]any{"city": "X"}}, true, nil},
		{"soft delete", connectors.Change{Op: connectors.OpDelete, ID: uuidN(1)}, false, nil},
		{"soft delete again is done", connectors.Change{Op: connectors.OpDelete, ID: uuidN(1)}, false, nil},
		{"update of a soft-deleted record", connectors.Change{Op: connectors.OpUpdate, ID: uuidN(1), Fields: map[string]any{"city": "X"}}, true, nil},
		{"restore", connectors.Change{Op: connectors.OpRestore, ID: uuidN(1)}, false, func(t *testing.T, r connectors.Result) {
			if r.Record == nil || r.Record.Deleted {
				t.Errorf("restored record: %+v", r.Record)
			}
		}},
		{"soft delete before a restore with fields", connectors.Change{Op: connectors.OpDelete, ID: uuidN(0)}, false, nil},
		{"restore with fields applies them", connectors.Change{Op: connectors.OpRestore, ID: uuidN(0), Fields: map[string]any{"jobTitle": "Sekretaris"}}, false, func(t *testing.T, r connectors.Result) {
			if r.Record == nil || r.Record.Deleted || r.Record.Fields["jobTitle"] != "Sekretaris" || r.Record.Fields["city"] != "Bandung" {
				t.Errorf("record restored with fields: %+v", r.Record)
			}
		}},
		{"destroy", connectors.Change{Op: connectors.OpDestroy, ID: uuidN(2)}, false, nil},
		{"restore of a destroyed record", connectors.Change{Op: connectors.OpRestore, ID: uuidN(2)}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Write(ctx, []connectors.Change{tt.change})
			if err != nil {
				t.Fatal(err)
			}
			if got := errors.Is(res[0].Err, connectors.ErrNotFound); got != tt.notFound {
				t.Fatalf("err = %v, want not-found %v", res[0].Err, tt.notFound)
			}
			if !tt.notFound && res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			if tt.check != nil {
				tt.check(t, res[0])
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.people[uuidN(2)]; ok {
		t.Error("destroyed record still stored")
	}
	if p := f.people[uuidN(1)]; p == nil || p["deletedAt"] != nil {
		t.Error("restored record should be live")
	}
	if p := f.people[uuidN(0)]; p == nil || p["deletedAt"] != nil || p["jobTitle"] != "Sekretaris" {
		t.Errorf("record restored with fields: %v", p)
	}
}

func TestStreamNames(t *testing.T) {
	f := newFake(t)
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, nil)
	for _, tt := range []struct{ name, wantErr string }{
		{"people", ""},
		{"person", "Did you mean 'people'?"},
		{"widgets", "has no object"},
		{"people/../x", "not a Twenty object name"},
	} {
		_, err := c.Stream(context.Background(), tt.name)
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Stream(%q) error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestOfflineCatalogFallback(t *testing.T) {
	// A key allowed records but not the data model: the metadata is
	// refused (403, as Twenty answers), streams of the built-in catalog
	// still open, and nothing else is asked of the server here.
	var metadataCalls, otherCalls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rest/metadata/objects" {
			otherCalls.Add(1)
			http.NotFound(w, r)
			return
		}
		metadataCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"statusCode":403,"error":"Forbidden","messages":["API key has no access to the data model"]}`))
	}))
	t.Cleanup(srv.Close)
	c := openTest(t, srv.URL, &rotatingResolver{value: "k"}, map[string]any{
		"retry":        map[string]any{"maxAttempts": 1},
		"customFields": map[string]any{"people": map[string]any{"kelompokId": "TEXT"}},
	})
	s, err := c.OpenStream(context.Background(), "opportunities")
	if err != nil {
		t.Fatal(err)
	}
	if s.obj.fieldType("stage") != "SELECT" || !isEnumPath(s.obj, "stage") {
		t.Errorf("offline catalog lacks opportunity.stage as SELECT: %+v", s.obj.Field("stage"))
	}
	p, err := c.OpenStream(context.Background(), "people")
	if err != nil || p.obj.Field("kelompokId") == nil {
		t.Errorf("declared custom field missing offline: %v", err)
	}
	if _, err := c.Stream(context.Background(), "person"); err == nil || !strings.Contains(err.Error(), "people") {
		t.Errorf("singular name offline: %v", err)
	}
	// The 403 is asked twice (the key is read again once), and the
	// refusal is remembered: the later streams did not ask again.
	if n := metadataCalls.Load(); n != 2 || otherCalls.Load() != 0 {
		t.Errorf("metadata asked %d times, other paths %d: want 2 and 0", n, otherCalls.Load())
	}
}

// TestUnreachableServerFailsOpenStream: when the server does not answer at
// all, opening a stream fails with the reason as soon as the metadata
// call's retries run out, rather than standing in the built-in catalog and
// making the first read wait through the same retries again.
func TestUnreachableServerFailsOpenStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	c := openTest(t, "http://"+addr, &rotatingResolver{value: "k"}, map[string]any{
		"retry": map[string]any{"maxAttempts": 2, "initialBackoff": "1ms", "maxBackoff": "1ms"},
	})
	for range 2 { // the second open answers from the remembered failure
		_, err := c.OpenStream(context.Background(), "people")
		if err == nil {
			t.Fatal("OpenStream succeeded with nothing listening")
		}
		for _, want := range []string{`connection "crm"`, "Twenty does not answer", "check the connection's url", "gave up after 2 attempts", "connection refused"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	}
	if n := c.stats.requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2 (one call's attempts; the second open must not retry again)", n)
	}
}

// cachingResolver caches the first value it reads, like secrets.Vault,
// until Forget is called.
type cachingResolver struct {
	rotatingResolver
	cached string
}

func (r *cachingResolver) Resolve(ctx context.Context, ref secrets.Ref) (secrets.Value, error) {
	if r.cached == "" {
		v, err := r.rotatingResolver.Resolve(ctx, ref)
		if err != nil {
			return v, err
		}
		r.cached = v.Reveal()
	}
	return secrets.New(r.cached), nil
}

func (r *cachingResolver) Forget() { r.cached = "" }

func TestAuthRotationBypassesSecretCache(t *testing.T) {
	f := newFake(t)
	res := &cachingResolver{rotatingResolver: rotatingResolver{value: "key-1"}}
	for _, resolver := range []secrets.Resolver{res, secrets.Chain{Env: res}} {
		res.cached = ""
		res.set("key-1")
		f.mu.Lock()
		f.key = "key-1"
		f.mu.Unlock()
		c := openTest(t, f.srv.URL, resolver, nil)
		s := openPeople(t, c)
		f.mu.Lock()
		f.key = "key-2"
		f.mu.Unlock()
		res.set("key-2")
		if _, err := s.Get(context.Background(), []string{uuidN(1)}); err != nil {
			t.Errorf("%T: the cached old key was used again: %v", resolver, err)
		}
	}
}

// TestUnreachableServerIsReportedAtOnce: with nothing listening, a call
// retries (a restarting server comes back) and then gives up naming the
// cause; the first failure is logged as a warning right away, once per
// call, so a user is not left waiting in silence.
func TestUnreachableServerIsReportedAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	_ = ln.Close() // connection refused from now on
	var logs bytes.Buffer
	c, err := OpenConn(connectors.OpenParams{Name: "crm", Secrets: &rotatingResolver{value: "key-1"},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Config: map[string]any{
			"url": base, "apiKey": map[string]any{"env": "TWENTY_API_KEY"},
			"retry": map[string]any{"maxAttempts": 3, "initialBackoff": "1ms", "maxBackoff": "5ms", "maxElapsed": "10s"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.call(context.Background(), http.MethodGet, "/rest/people", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("error = %v, want it to give up after 3 attempts and name the refused connection", err)
	}
	if n := strings.Count(logs.String(), "Twenty call failed; retrying"); n != 1 || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("want one warning for the call, got %d:\n%s", n, logs.String())
	}
}
