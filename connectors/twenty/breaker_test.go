package twenty

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/internal/restartable"
)

// fakeClock drives a breaker's cool-down.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func updates(from, n int, title string) []connectors.Change {
	var out []connectors.Change
	for i := from; i < from+n; i++ {
		out = append(out, connectors.Change{Op: connectors.OpUpdate, ID: uuidN(i), Fields: map[string]any{"jobTitle": title}})
	}
	return out
}

// TestBreakerStopsCallsWhileTwentyIsDown: Twenty stops mid-run. The first
// call whose retries run out on refused connections opens the breaker and
// the whole Write fails with a *DownError naming the cause; from then on
// reads, lookups and writes fail at once without sending a request, even
// once the server is back, until the cool-down is over. A probe that
// finds the server still down keeps the breaker open for another
// cool-down; one that gets an answer closes it and calls go again.
func TestBreakerStopsCallsWhileTwentyIsDown(t *testing.T) {
	f := newFake(t)
	srv := restartable.New(t, http.HandlerFunc(f.serve))
	c := openTest(t, srv.URL(), &rotatingResolver{value: "key-1"}, map[string]any{
		"retry": map[string]any{"maxAttempts": 3, "initialBackoff": "1ms", "maxBackoff": "5ms", "maxElapsed": "20s", "coolDown": "30s"},
	})
	clock := &fakeClock{}
	c.breaker.now = clock.now
	s := openPeople(t, c)
	ctx := context.Background()
	createPeople(t, s, 1, 40)

	srv.Stop()
	before := c.Stats().Requests
	res, err := s.Write(ctx, updates(1, 40, "Bendahara"))
	var down *DownError
	if !errors.As(err, &down) || res != nil {
		t.Fatalf("Write with Twenty stopped = %v, %v; want the whole Write to fail with a *DownError", res, err)
	}
	for _, want := range []string{`connection "crm"`, "Twenty stopped answering", "gave up after 3 attempts", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The calls in flight (writeConcurrency) may each have spent attempts
	// before the first gave up; the other 36 records sent nothing.
	if n := c.Stats().Requests - before; n > writeConcurrency*3 {
		t.Errorf("%d requests for a Write of 40 updates with Twenty down, want at most %d (the calls in flight)", n, writeConcurrency*3)
	}

	// While down: every kind of call fails at once, with the same error,
	// and sends nothing, even with the server back.
	check := func(when string) {
		t.Helper()
		before := c.Stats()
		_, rerr := s.Read(ctx, connectors.ReadRequest{Limit: 10})
		_, gerr := s.Get(ctx, []string{uuidN(1)})
		_, werr := s.Write(ctx, []connectors.Change{person(uuidN(100), "baru@desa.id")})
		for _, e := range []error{rerr, gerr, werr} {
			var d *DownError
			if !errors.As(e, &d) || d != down {
				t.Errorf("%s: error = %v, want the breaker's *DownError", when, e)
			}
		}
		after := c.Stats()
		if n := after.Requests - before.Requests; n != 0 {
			t.Errorf("%s: %d requests sent while the breaker is open, want none", when, n)
		}
		if n := after.FailedFast - before.FailedFast; n != 3 {
			t.Errorf("%s: %d calls failed fast, want 3", when, n)
		}
	}
	check("down")

	// After the cool-down, with the server still down: one probe, one
	// request, and the breaker stays open for another cool-down.
	clock.advance(31 * time.Second)
	before = c.Stats().Requests
	_, err = s.Get(ctx, []string{uuidN(1)})
	if !errors.As(err, &down) {
		t.Fatalf("probe with Twenty still down: %v, want the *DownError", err)
	}
	if n := c.Stats().Requests - before; n != 1 {
		t.Errorf("the probe sent %d requests, want 1 (no retries)", n)
	}
	srv.Start()
	check("back, but within the new cool-down")

	// The next cool-down ends: the probe gets an answer and the
	// connection works again.
	clock.advance(31 * time.Second)
	got, err := s.Get(ctx, []string{uuidN(1), uuidN(2)})
	if err != nil || len(got) != 2 {
		t.Fatalf("after the cool-down with Twenty back: %d records, %v", len(got), err)
	}
	if _, d := c.breaker.open(); d != nil {
		t.Errorf("the breaker is still open after an answer: %v", d)
	}
	res, err = s.Write(ctx, updates(1, 40, "Bendahara"))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Errorf("update %d after recovery: %v", i, r.Err)
		}
	}
}

// TestBreakerEndsCallsWaitingToRetry: a call waiting between retries (here
// an hour, as a proxy's Retry-After asked) ends as soon as another call
// finds Twenty down, without sending its next request.
func TestBreakerEndsCallsWaitingToRetry(t *testing.T) {
	f := newFake(t)
	var patches, lists atomic.Int64
	waiting := make(chan struct{})
	f.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		switch {
		case r.Method == http.MethodPatch:
			if patches.Add(1) == 1 {
				defer close(waiting)
			}
			w.Header().Set("Retry-After", "3600")
			fakeError(w, 429, "TooManyRequestsException", "slow down")
			return true
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/people"):
			lists.Add(1)
			hangUp(w)
			return true
		}
		return false
	}
	c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, map[string]any{
		"retry": map[string]any{"maxAttempts": 3, "initialBackoff": "1ms", "maxBackoff": "5ms", "maxElapsed": "2h"},
	})
	s := openPeople(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // safety only
	defer cancel()

	type outcome struct {
		res []connectors.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := s.Write(ctx, updates(1, 1, "Ketua"))
		done <- outcome{res, err}
	}()
	<-waiting // the update got its 429 and waits an hour to retry

	_, err := s.Read(ctx, connectors.ReadRequest{Limit: 10})
	var down *DownError
	if !errors.As(err, &down) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("read with no answer: %v, want the *DownError after 3 attempts", err)
	}
	select {
	case o := <-done:
		var d *DownError
		if !errors.As(o.err, &d) || d != down {
			t.Errorf("the waiting Write ended with %v, %+v; want the breaker's *DownError", o.err, o.res)
		}
	case <-ctx.Done():
		t.Fatal("the Write waiting to retry did not end when the breaker opened")
	}
	if n := patches.Load(); n != 1 {
		t.Errorf("the waiting update sent %d requests, want 1 (none after the breaker opened)", n)
	}
	if n := lists.Load(); n < 3 {
		t.Errorf("the server saw %d reads, want the 3 attempts", n)
	}
}

// TestBreakerTripsOnlyOnUnreachable: a call that runs out of retries on
// 429s (Twenty is up, only busy), on 500s (Twenty's own answer to that
// request) or that is refused with a 4xx leaves the breaker closed: the
// next calls go to the server. Refused connections, resets, timeouts and
// a proxy's 502/503/504 open it.
func TestBreakerTripsOnlyOnUnreachable(t *testing.T) {
	tests := []struct {
		name  string
		fault func(w http.ResponseWriter)
		trip  bool
	}{
		{"429 storm", func(w http.ResponseWriter) { fakeError(w, 429, "TooManyRequestsException", "Limit reached") }, false},
		{"429 storm with Retry-After", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			fakeError(w, 429, "TooManyRequestsException", "Limit reached")
		}, false},
		{"persistent 500", func(w http.ResponseWriter) { fakeError(w, 500, "InternalServerError", "boom") }, false},
		{"400", func(w http.ResponseWriter) { fakeError(w, 400, "BadRequestException", "invalid jobTitle") }, false},
		{"404", func(w http.ResponseWriter) { fakeError(w, 404, "NotFoundException", "Record not found") }, false},
		{"502 from a proxy", func(w http.ResponseWriter) { fakeError(w, 502, "Bad Gateway", "upstream down") }, true},
		{"503 from a proxy", func(w http.ResponseWriter) { fakeError(w, 503, "Service Unavailable", "no healthy upstream") }, true},
		{"504 from a proxy", func(w http.ResponseWriter) { fakeError(w, 504, "Gateway Timeout", "upstream timed out") }, true},
		{"reset", hangUp, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			faulty := f.failPatches(tt.fault)
			c := openTest(t, f.srv.URL, &rotatingResolver{value: "key-1"}, map[string]any{
				"retry": map[string]any{"maxAttempts": 3, "initialBackoff": "1ms", "maxBackoff": "5ms", "maxElapsed": "200ms"},
			})
			s := openPeople(t, c)
			ctx := context.Background()
			createPeople(t, s, 1, 4)
			faulty.Store(true)

			// Several rounds: a storm is more than one call's budget.
			for round := range 3 {
				res, err := s.Write(ctx, updates(1, 4, fmt.Sprint("Ketua ", round)))
				var down *DownError
				if tt.trip {
					if !errors.As(err, &down) {
						t.Fatalf("Write = %v, %v; want a *DownError", res, err)
					}
					break
				}
				if err != nil {
					t.Fatalf("round %d: the whole Write failed: %v", round, err)
				}
				for i, r := range res {
					if r.Err == nil || errors.As(r.Err, &down) {
						t.Errorf("round %d, update %d: %v, want a per-record error", round, i, r.Err)
					}
				}
			}
			_, d := c.breaker.open()
			if (d != nil) != tt.trip {
				t.Fatalf("breaker open = %v, want %v", d, tt.trip)
			}
			before := c.Stats()
			_, err := s.Get(ctx, []string{uuidN(1)})
			sent := c.Stats().Requests - before.Requests
			if tt.trip {
				if err == nil || sent != 0 {
					t.Errorf("a lookup after the breaker opened: %v, %d requests; want the *DownError and none", err, sent)
				}
				return
			}
			if err != nil || sent != 1 || c.Stats().FailedFast != 0 {
				t.Errorf("a lookup after the failures: %v, %d requests, %d failed fast; want it sent and answered",
					err, sent, c.Stats().FailedFast)
			}
		})
	}
}

// TestBreakerProbeIsExclusive: once the cool-down is over exactly one call
// probes while the others still fail at once; a probe given back without
// an outcome (its context ended) lets the next call probe; an answer
// closes the breaker and arms a fresh channel for the next trip. An open
// breaker keeps its first cause and time.
func TestBreakerProbeIsExclusive(t *testing.T) {
	clock := &fakeClock{}
	b := newBreaker("crm", 30*time.Second)
	b.now = clock.now
	if probe, err := b.allow(); probe || err != nil {
		t.Fatalf("closed breaker: probe %v, %v", probe, err)
	}
	tripped, _ := b.open()
	first := errors.New("first cause")
	down, opened := b.trip(first)
	if !opened || !errors.Is(down, first) {
		t.Fatalf("trip = %v, %v; want it opened, wrapping the cause", down, opened)
	}
	select {
	case <-tripped:
	default:
		t.Fatal("the trip did not wake the calls waiting to retry")
	}
	if d, again := b.trip(errors.New("second cause")); again || d != down {
		t.Fatalf("a second trip = %v, %v; want the first DownError kept", d, again)
	}
	if _, err := b.allow(); err != down {
		t.Fatalf("within the cool-down: %v, want the DownError", err)
	}

	clock.advance(31 * time.Second)
	if probe, err := b.allow(); !probe || err != nil {
		t.Fatalf("after the cool-down: probe %v, %v; want this call to probe", probe, err)
	}
	if probe, err := b.allow(); probe || err != down {
		t.Fatalf("while the probe is in flight: probe %v, %v; want the DownError", probe, err)
	}
	b.release()
	if probe, err := b.allow(); !probe || err != nil {
		t.Fatalf("after the probe was given back: probe %v, %v; want the next call to probe", probe, err)
	}
	if !b.answered() {
		t.Fatal("answered did not report the breaker open")
	}
	if probe, err := b.allow(); probe || err != nil {
		t.Fatalf("after an answer: probe %v, %v; want the breaker closed", probe, err)
	}
	tripped, d := b.open()
	if d != nil {
		t.Fatalf("after an answer: open reports %v", d)
	}
	select {
	case <-tripped:
		t.Fatal("the channel of a closed breaker is already closed")
	default:
	}
}
