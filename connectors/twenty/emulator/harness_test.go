package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "test-key"

// Ids of the records in testdata/seed.json.
const (
	acmeID   = "00000000-0000-4000-8000-0000000000c1"
	betaID   = "00000000-0000-4000-8000-0000000000c2"
	aniID    = "00000000-0000-4000-8000-0000000000a1"
	budiID   = "00000000-0000-4000-8000-0000000000a2"
	citraID  = "00000000-0000-4000-8000-0000000000a3"
	dewiID   = "00000000-0000-4000-8000-0000000000a4"
	pilotID  = "00000000-0000-4000-8000-0000000000b1"
	renewID  = "00000000-0000-4000-8000-0000000000b2"
	newID    = "00000000-0000-4000-8000-0000000000e1"
	unusedID = "00000000-0000-4000-8000-0000000000ff"
)

// fakeClock is a settable clock for deterministic timestamps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

// startSeeded starts an emulator on 127.0.0.1 loaded with testdata/seed.json.
func startSeeded(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.APIKeys == nil {
		cfg.APIKeys = []string{testKey}
	}
	if cfg.Clock == nil {
		cfg.Clock = newClock().Now
	}
	if !cfg.RateLimit.Disabled && cfg.RateLimit.ShortLimit == 0 {
		cfg.RateLimit.Disabled = true
	}
	s := New(cfg)
	if err := s.LoadSeedFile("testdata/seed.json"); err != nil {
		t.Fatal(err)
	}
	u := s.Start()
	t.Cleanup(func() { _ = s.Close() })
	return s, u
}

// response is what a step got back.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) jsonB(t testing.TB) map[string]any { return r.json(t) }

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, r.body)
	}
	return m
}

// call sends one request with the test key unless headers say otherwise
// (an "Authorization" entry of "-" sends none).
func call(t testing.TB, base, method, path, body string, headers map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if k == "Authorization" && v == "-" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// step is one row of a conformance table.
type step struct {
	name    string
	method  string
	path    string
	body    string
	headers map[string]string
	status  int
	has     []string // body fragments that must appear
	hasNot  []string // body fragments that must not appear
}

// runSteps runs the rows in order against one server (later rows see the
// writes of earlier ones).
func runSteps(t *testing.T, base string, steps []step) {
	t.Helper()
	for _, st := range steps {
		got := call(t, base, st.method, st.path, st.body, st.headers)
		if got.status != st.status {
			t.Errorf("%s: %s %s: status %d, want %d\n%s", st.name, st.method, st.path, got.status, st.status, got.body)
			continue
		}
		for _, frag := range st.has {
			if !strings.Contains(got.body, frag) {
				t.Errorf("%s: %s %s: body lacks %s\n%s", st.name, st.method, st.path, frag, got.body)
			}
		}
		for _, frag := range st.hasNot {
			if strings.Contains(got.body, frag) {
				t.Errorf("%s: %s %s: body has %s\n%s", st.name, st.method, st.path, frag, got.body)
			}
		}
	}
}

// listIDs returns the ids of a list response, in order.
func listIDs(t *testing.T, r response, plural string) []string {
	t.Helper()
	m := r.json(t)
	data, _ := m["data"].(map[string]any)
	rows, _ := data[plural].([]any)
	ids := make([]string, 0, len(rows))
	for _, row := range rows {
		ids = append(ids, row.(map[string]any)["id"].(string))
	}
	return ids
}

func callB(b *testing.B, base, method, path, body string) response {
	return call(b, base, method, path, body, nil)
}
