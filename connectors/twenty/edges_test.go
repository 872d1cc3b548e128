package twenty

// Edge tests that kill mutants the rest of the suite let through: each
// names the behaviour it pins and would fail if the code stopped doing it.

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
)

func TestLimiterBurst(t *testing.T) {
	for requests, want := range map[int]int{0: 1, 1: 1, 9: 1, 10: 1, 50: 5, 100: 10, 101: 10, 1000: 10, 100000: 10} {
		if got := limiterBurst(requests); got != want {
			t.Errorf("limiterBurst(%d) = %d, want %d", requests, got, want)
		}
	}
}

// TestRateLimiterPacesTheConnection: the limiter runs at requests/per with
// the small burst, and every stream of the connection shares it.
func TestRateLimiterPacesTheConnection(t *testing.T) {
	f := newFake(t)
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, map[string]any{
		"rateLimit": map[string]any{"requests": float64(1200), "per": "1m"}, // 20/s, burst 10
	})
	if got, want := float64(c.limiter.Limit()), 20.0; got != want {
		t.Errorf("limiter rate = %v/s, want %v/s (1200 per minute)", got, want)
	}
	if got := c.limiter.Burst(); got != 10 {
		t.Errorf("limiter burst = %d, want 10", got)
	}
	a := openPeople(t, c)
	b := openPeople(t, c)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, s := range []*Stream{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				if _, err := s.Read(context.Background(), connectors.ReadRequest{Limit: 1}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// 30 calls at 20/s after a burst of 10 (the metadata call used one
	// token) take at least (30+1-10)/20 s.
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("30 calls through a 20/s limiter took %v, want at least about 1s", el)
	}
}

// servePage answers a list request with the given records and page info.
func servePage(w http.ResponseWriter, recs []map[string]any, more bool, end string) {
	fakeJSON(w, 200, map[string]any{
		"data":     map[string]any{"people": recs},
		"pageInfo": map[string]any{"hasNextPage": more, "endCursor": end},
	})
}

func rawPerson(id, updated string) map[string]any {
	return map[string]any{"id": id, "updatedAt": updated, "createdAt": updated, "deletedAt": nil,
		"name": map[string]any{"firstName": "Siti", "lastName": "x"}}
}

// TestReadDropsRecordsAtOrBeforeTheCursor: a server that stores more
// precision than it prints hands back records at (or before) the cursor;
// they are dropped, and a page made only of them makes Read follow the
// page cursor rather than return an empty page that says More.
func TestReadDropsRecordsAtOrBeforeTheCursor(t *testing.T) {
	f := newFake(t)
	const at = "2026-03-01T09:00:00.000Z"
	var qmu sync.Mutex
	var queries []string
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method != http.MethodGet || r.URL.Path != "/rest/people" {
			return false
		}
		qmu.Lock()
		queries = append(queries, r.URL.RawQuery)
		qmu.Unlock()
		if r.URL.Query().Get("starting_after") == "" {
			servePage(w, []map[string]any{rawPerson(uuidN(1), "2026-03-01T08:59:59.999Z"), rawPerson(uuidN(5), at)}, true, "c1")
		} else {
			servePage(w, []map[string]any{rawPerson(uuidN(6), at), rawPerson(uuidN(7), "2026-03-01T09:00:00.001Z")}, false, "c2")
		}
		return true
	}
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, nil)
	s := openPeople(t, c)
	after := connectors.Position{UpdatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), ID: uuidN(5)}
	p, err := s.Read(context.Background(), connectors.ReadRequest{After: after, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	qmu.Lock()
	defer qmu.Unlock()
	var got []string
	for _, r := range p.Records {
		got = append(got, r.ID)
	}
	if !reflect.DeepEqual(got, []string{uuidN(6), uuidN(7)}) || p.More {
		t.Errorf("Read after %s = %v More=%v, want [%s %s] and no more", after.ID, got, p.More, uuidN(6), uuidN(7))
	}
	if len(queries) != 2 || !strings.Contains(queries[1], "starting_after=c1") {
		t.Errorf("queries = %v, want a second one following the page cursor c1", queries)
	}
	// The page size asked for is clamped to what Twenty accepts.
	if len(queries) > 0 && !strings.Contains(queries[0], "limit="+strconv.Itoa(MaxPageSize)+"&") && !strings.HasSuffix(queries[0], "limit="+strconv.Itoa(MaxPageSize)) {
		t.Errorf("query %q does not ask for limit=%d", queries[0], MaxPageSize)
	}
}

// TestLookupStopsWhenNoNextPage: a lookup page that says hasNextPage false
// is the last one, even when it carries an end cursor.
func TestLookupStopsWhenNoNextPage(t *testing.T) {
	f := newFake(t)
	var lists atomic.Int64
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method != http.MethodGet || r.URL.Path != "/rest/people" {
			return false
		}
		if lists.Add(1) > 3 { // a connector that ignores hasNextPage would loop: end it
			servePage(w, nil, false, "")
			return true
		}
		servePage(w, []map[string]any{rawPerson(uuidN(1), "2026-03-01T09:00:00.000Z")}, false, "end-cursor")
		return true
	}
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, nil)
	s := openPeople(t, c)
	got, err := s.Get(context.Background(), []string{uuidN(1)})
	if err != nil || len(got) != 1 {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if n := lists.Load(); n != 1 {
		t.Errorf("%d list calls for one page with hasNextPage false, want 1", n)
	}
}

func TestChunkValuesSkipsBrackets(t *testing.T) {
	parts := chunkValues("emails.primaryEmail", []string{"a]b@x.id", "[c@x.id", "ok@x.id"}, true, 4000)
	if len(parts) != 1 {
		t.Fatalf("chunks = %v", parts)
	}
	if want := "and(" + deletedTerm + `,emails.primaryEmail[in]:["ok@x.id"])`; parts[0] != want {
		t.Errorf("chunk = %s\nwant %s (values with brackets cannot be carried by the [in] list)", parts[0], want)
	}
}

// TestDecodeRecordValues: numbers inside lists and composites become int64
// or float64, DATE_TIME fields and the timestamps become UTC times, nested
// related records are dropped while relation ids stay.
func TestDecodeRecordValues(t *testing.T) {
	s := &Stream{obj: &Object{NamePlural: "people", Fields: []Field{
		{Name: "lastContact", Type: "DATE_TIME"},
		{Name: "company", Type: "RELATION"},
		{Name: "companyId", Type: "UUID"},
	}}}
	r, err := s.decodeRecord([]byte(`{"id": "p-1", "updatedAt": "2026-03-01T16:00:00.123+07:00",
		"createdAt": "2026-03-01T09:00:00Z", "deletedAt": null,
		"lastContact": "2026-02-01T10:00:00.000+07:00", "scores": [1, 2.5, {"n": 3}],
		"amount": {"amountMicros": 1500000, "currencyCode": "IDR"},
		"company": {"id": "c-1", "name": "Koperasi"}, "companyId": "c-1", "position": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.UpdatedAt.Location() != time.UTC || !r.UpdatedAt.Equal(time.Date(2026, 3, 1, 9, 0, 0, 123e6, time.UTC)) {
		t.Errorf("UpdatedAt = %v, want 2026-03-01 09:00:00.123 UTC", r.UpdatedAt)
	}
	if lc, ok := r.Fields["lastContact"].(time.Time); !ok || lc.Location() != time.UTC || !lc.Equal(time.Date(2026, 2, 1, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("lastContact (DATE_TIME) = %#v, want a UTC time.Time", r.Fields["lastContact"])
	}
	if want := []any{int64(1), 2.5, map[string]any{"n": int64(3)}}; !reflect.DeepEqual(r.Fields["scores"], want) {
		t.Errorf("scores = %#v, want %#v", r.Fields["scores"], want)
	}
	if want := map[string]any{"amountMicros": int64(1500000), "currencyCode": "IDR"}; !reflect.DeepEqual(r.Fields["amount"], want) {
		t.Errorf("amount = %#v, want %#v", r.Fields["amount"], want)
	}
	if _, ok := r.Fields["company"]; ok {
		t.Errorf("the nested company record was kept: %v", r.Fields["company"])
	}
	if _, ok := r.Fields["position"]; ok {
		t.Errorf("position was kept")
	}
	if r.Fields["companyId"] != "c-1" {
		t.Errorf("companyId = %v, want c-1", r.Fields["companyId"])
	}
}

func TestParseTimeIsUTC(t *testing.T) {
	for _, in := range []string{"2026-03-01T16:00:00.123+07:00", "2026-03-01T09:00:00.123Z", "2026-03-01T09:00:00.123"} {
		got, err := parseTime(in)
		if err != nil || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v (%v), %v; want a UTC time", in, got, got.Location(), err)
		}
	}
}

// TestMissingTokenIsAnAuthError: Twenty answers a request without a
// token with 403, not 401; the connector treats it as a refused key (one
// re-read, then an AuthError naming the reference), not as a plain 4xx.
func TestMissingTokenIsAnAuthError(t *testing.T) {
	f := newFake(t)
	c := openTest(t, f.srv.URL, &rotatingResolver{value: ""}, nil)
	s := &Stream{conn: c, obj: &Object{NamePlural: "people"}}
	_, err := s.Read(context.Background(), connectors.ReadRequest{})
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Fatalf("read without a token: err = %v, want an AuthError with status 403", err)
	}
	if got := c.Stats().AuthRereads; got != 1 {
		t.Errorf("re-reads = %d, want 1", got)
	}
	if !strings.Contains(ae.Error(), "env:TWENTY_API_KEY") {
		t.Errorf("auth error does not name the key's reference: %v", ae)
	}
}

// TestRetryAfterIsHonoured: a 429 with Retry-After: 1 makes the call wait
// about a second (plus up to 10% jitter), not only the jitter.
func TestRetryAfterIsHonoured(t *testing.T) {
	f := newFake(t)
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodGet && r.URL.Path == "/rest/people" && r.URL.Query().Get("limit") == "7" && n <= 3 {
			w.Header().Set("Retry-After", "1")
			fakeError(w, 429, "TooManyRequestsException", "slow down")
			return true
		}
		return false
	}
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, nil)
	s := openPeople(t, c)
	start := time.Now()
	if _, err := s.Read(context.Background(), connectors.ReadRequest{Limit: 7}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 950*time.Millisecond {
		t.Errorf("a 429 with Retry-After: 1 was retried after %v, want about 1s", el)
	}
	if got := c.Stats().RateLimited; got < 1 {
		t.Errorf("RateLimited = %d, want at least 1", got)
	}
}

// TestConcurrentAuthFailuresRereadOnce: calls refused together with the
// same old key re-read the secret once between them, not once each.
func TestConcurrentAuthFailuresRereadOnce(t *testing.T) {
	f := newFake(t)
	res := &rotatingResolver{value: "key-1"}
	c := openTest(t, f.srv.URL, res, nil)
	s := openPeople(t, c)
	const callers = 6
	var arrived sync.WaitGroup
	arrived.Add(callers)
	var gate sync.Once
	var mu sync.Mutex
	held := 0
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method != http.MethodGet || r.URL.Path != "/rest/people" || r.Header.Get("Authorization") != "Bearer key-1" {
			return false
		}
		mu.Lock()
		held++
		first := held <= callers
		mu.Unlock()
		if first {
			// Hold the first requests until all callers sent theirs
			// with the old key, so all of them are refused.
			arrived.Done()
			arrived.Wait()
			gate.Do(func() {
				f.mu.Lock()
				f.key = "key-2"
				f.mu.Unlock()
				res.set("key-2")
			})
		}
		return false
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Read(context.Background(), connectors.ReadRequest{Limit: 1})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Stats().AuthRereads; got != 1 {
		t.Errorf("re-reads = %d for %d calls refused together, want 1", got, callers)
	}
}

// TestWriteOneEdges: destroying a record that is gone is done; an update
// with no changed fields sends nothing; an update still rate-limited when
// the retry budget runs out is transient, not a refused record.
func TestWriteOneEdges(t *testing.T) {
	f := newFake(t)
	limited := f.failPatches(func(w http.ResponseWriter) { fakeError(w, 429, "TooManyRequestsException", "Limit reached") })
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, map[string]any{
		"retry": map[string]any{"maxAttempts": 3, "initialBackoff": "1ms", "maxBackoff": "5ms", "maxElapsed": "300ms"},
	})
	s := openPeople(t, c)
	ctx := context.Background()
	createPeople(t, s, 1, 1)

	res, err := s.Write(ctx, []connectors.Change{{Op: connectors.OpDestroy, ID: uuidN(99)}})
	if err != nil || res[0].Err != nil {
		t.Errorf("destroy of a missing record: %v, %v; want success (already gone)", err, res[0].Err)
	}

	before := c.Stats().Requests
	res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpUpdate, ID: uuidN(1), Fields: map[string]any{}}})
	if err != nil || res[0].Err != nil {
		t.Errorf("empty update: %v, %v", err, res[0].Err)
	}
	if n := c.Stats().Requests - before; n != 0 {
		t.Errorf("an update without fields sent %d requests, want none", n)
	}

	limited.Store(true)
	res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpUpdate, ID: uuidN(1), Fields: map[string]any{"jobTitle": "Ketua"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err == nil || connectors.IsRecordError(res[0].Err) {
		t.Errorf("update still rate-limited after the retries: err = %v, want a transient (non-RecordError) error", res[0].Err)
	}
}
