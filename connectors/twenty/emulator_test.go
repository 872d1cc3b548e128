package twenty_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/twenty"
	"github.com/kelompok/pipe/connectors/twenty/emulator"
	"github.com/kelompok/pipe/engine/secrets"
)

// keyResolver serves the API key from a variable tests can rotate.
type keyResolver struct {
	mu  sync.Mutex
	key string
}

func (r *keyResolver) Resolve(context.Context, secrets.Ref) (secrets.Value, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return secrets.New(r.key), nil
}

func (r *keyResolver) set(k string) { r.mu.Lock(); r.key = k; r.mu.Unlock() }

type env struct {
	emu  *emulator.Server
	conn *twenty.Conn
	keys *keyResolver
	url  string
}

// burst sends n GETs straight to the server, bypassing the connection's
// rate limiter and retries.
func (e *env) burst(n int) error {
	for range n {
		req, err := http.NewRequest(http.MethodGet, e.url+"/rest/people?limit=1", nil)
		if err != nil {
			return err
		}
		e.keys.mu.Lock()
		req.Header.Set("Authorization", "Bearer "+e.keys.key)
		e.keys.mu.Unlock()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
	}
	return nil
}

// newEnv starts an emulator on 127.0.0.1 (through handler wrappers, when
// given) and opens a connection to it.
func newEnv(t testing.TB, cfg emulator.Config, params map[string]any, wrap ...func(http.Handler) http.Handler) *env {
	t.Helper()
	if cfg.APIKeys == nil {
		cfg.APIKeys = []string{"key-1"}
	}
	if cfg.RateLimit == (emulator.RateLimit{}) {
		cfg.RateLimit.Disabled = true // tests that want the limiter set it
	}
	emu := emulator.New(cfg)
	h := emu.Handler()
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	p := map[string]any{
		"url":       srv.URL,
		"apiKey":    map[string]any{"env": "TWENTY_API_KEY"},
		"rateLimit": map[string]any{"requests": float64(100000), "per": "1s"},
		"batchSize": float64(60),
		"retry":     map[string]any{"maxAttempts": float64(6), "initialBackoff": "2ms", "maxBackoff": "50ms", "maxElapsed": "30s"},
	}
	for k, v := range params {
		p[k] = v
	}
	keys := &keyResolver{key: cfg.APIKeys[0]}
	c, err := twenty.OpenConn(connectors.OpenParams{Name: "crm", Config: p, Secrets: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &env{emu: emu, conn: c, keys: keys, url: srv.URL}
}

func (e *env) stream(t testing.TB, name string) connectors.Stream {
	t.Helper()
	s, err := e.conn.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pid(i int) string { return fmt.Sprintf("6a1e0000-0000-4000-8000-%012d", i) }

func newPerson(i int) connectors.Change {
	return connectors.Change{Op: connectors.OpCreate, ID: pid(i), Fields: map[string]any{
		"name":     map[string]any{"firstName": "Warga", "lastName": fmt.Sprint(i)},
		"emails":   map[string]any{"primaryEmail": fmt.Sprintf("warga%d@desa.id", i)},
		"jobTitle": "Anggota",
	}}
}

func mustWrite(t testing.TB, s connectors.Stream, changes []connectors.Change) []connectors.Result {
	t.Helper()
	res, err := s.Write(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("change %d (%s %s): %v", i, changes[i].Op, changes[i].ID, r.Err)
		}
	}
	return res
}

func readAll(t testing.TB, s connectors.Stream, limit int, deleted bool) []connectors.Record {
	t.Helper()
	var out []connectors.Record
	var after connectors.Position
	for range 1000 {
		page, err := s.Read(context.Background(), connectors.ReadRequest{After: after, Limit: limit, IncludeDeleted: deleted})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			if !after.Before(connectors.PositionOf(r)) {
				t.Fatalf("record %s (%v) does not sort after %v", r.ID, r.UpdatedAt, after)
			}
			after = connectors.PositionOf(r)
		}
		out = append(out, page.Records...)
		if !page.More {
			return out
		}
	}
	t.Fatal("more than 1000 pages")
	return nil
}

func TestEmulatorReadsWithTiesAndDeletes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		batchSize int
		limit     int
	}{
		{"pages inside one batch's timestamp", 200, 45},
		{"limit above the clamp", 60, 500},
		{"default limit", 150, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Config{}, map[string]any{"batchSize": float64(tt.batchSize)})
			s := e.stream(t, "people")
			var changes []connectors.Change
			for i := range 420 {
				changes = append(changes, newPerson(i))
			}
			mustWrite(t, s, changes)
			mustWrite(t, s, []connectors.Change{
				{Op: connectors.OpDelete, ID: pid(7)},
				{Op: connectors.OpDestroy, ID: pid(8)},
				{Op: connectors.OpUpdate, ID: pid(9), Fields: map[string]any{"city": "Yogyakarta"}},
			})
			live := readAll(t, s, tt.limit, false)
			all := readAll(t, s, tt.limit, true)
			if len(live) != 418 || len(all) != 419 {
				t.Fatalf("read %d live and %d with deleted, want 418 and 419", len(live), len(all))
			}
			seen := map[string]int{}
			deleted := 0
			for _, r := range all {
				seen[r.ID]++
				if r.Deleted {
					deleted++
					if r.ID != pid(7) {
						t.Errorf("%s is marked deleted", r.ID)
					}
				}
			}
			if deleted != 1 || len(seen) != 419 || seen[pid(8)] != 0 {
				t.Errorf("deleted=%d distinct=%d destroyed seen=%d", deleted, len(seen), seen[pid(8)])
			}
			// Incremental: reading after the end finds nothing new.
			last := connectors.PositionOf(all[len(all)-1])
			page, err := s.Read(context.Background(), connectors.ReadRequest{After: last, IncludeDeleted: true})
			if err != nil || len(page.Records) != 0 || page.More {
				t.Errorf("read after the end: %v %d %v", err, len(page.Records), page.More)
			}
		})
	}
}

func TestEmulatorLookups(t *testing.T) {
	e := newEnv(t, emulator.Config{}, map[string]any{"batchSize": float64(200)})
	s := e.stream(t, "people")
	var changes []connectors.Change
	var ids, emails []string
	for i := range 300 {
		changes = append(changes, newPerson(i))
		ids = append(ids, pid(i))
		emails = append(emails, fmt.Sprintf("WARGA%d@Desa.ID", i))
	}
	mustWrite(t, s, changes)
	mustWrite(t, s, []connectors.Change{{Op: connectors.OpDelete, ID: pid(5)}})
	e.emu.ResetStats()
	got, err := s.Get(context.Background(), append(ids, pid(999)))
	if err != nil || len(got) != 300 {
		t.Fatalf("get: %v, %d records", err, len(got))
	}
	found, err := s.Find(context.Background(), "emails.primaryEmail", emails)
	if err != nil || len(found) != 300 {
		t.Fatalf("find: %v, %d records", err, len(found))
	}
	// A SELECT field is matched with unquoted values, as Twenty requires.
	opps := e.stream(t, "opportunities")
	mustWrite(t, opps, []connectors.Change{
		{Op: connectors.OpCreate, ID: pid(5001), Fields: map[string]any{"name": "Hibah desa", "stage": "MEETING"}},
		{Op: connectors.OpCreate, ID: pid(5002), Fields: map[string]any{"name": "Pelatihan", "stage": "NEW"}},
	})
	byStage, err := opps.Find(context.Background(), "stage", []string{"MEETING", "CUSTOMER"})
	if err != nil || len(byStage) != 1 || byStage[0].ID != pid(5001) {
		t.Fatalf("find by stage: %v %+v", err, byStage)
	}
	st := e.emu.Stats()
	if n := st.ByRoute["GET /rest/people"]; n < 4 {
		t.Errorf("%d list calls: lookups were not chunked", n)
	}
	if st.ByStatus[400] != 0 {
		t.Errorf("the emulator refused %d lookups", st.ByStatus[400])
	}
}

func TestEmulatorErrors(t *testing.T) {
	e := newEnv(t, emulator.Config{}, map[string]any{"batchSize": float64(50)})
	s := e.stream(t, "people")
	ctx := context.Background()
	mustWrite(t, s, []connectors.Change{newPerson(1000)})

	t.Run("batch split around a duplicate email", func(t *testing.T) {
		var changes []connectors.Change
		for i := range 50 {
			changes = append(changes, newPerson(i))
		}
		changes[31].Fields["emails"] = map[string]any{"primaryEmail": "Warga1000@desa.id"}
		res, err := s.Write(ctx, changes)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if i == 31 {
				var re *connectors.RecordError
				if !errors.As(r.Err, &re) || !strings.Contains(re.Reason, "duplicate entry") {
					t.Errorf("record 31: %v", r.Err)
				}
			} else if r.Err != nil {
				t.Errorf("record %d: %v", i, r.Err)
			}
		}
		if n := len(e.emu.Records("people")); n != 50 {
			t.Errorf("%d people, want 50", n)
		}
	})
	t.Run("update of a missing record", func(t *testing.T) {
		res, err := s.Write(ctx, []connectors.Change{{Op: connectors.OpUpdate, ID: pid(4242), Fields: map[string]any{"city": "Medan"}}})
		if err != nil || !errors.Is(res[0].Err, connectors.ErrNotFound) {
			t.Errorf("got %v %v", err, res[0].Err)
		}
	})
	t.Run("restore", func(t *testing.T) {
		mustWrite(t, s, []connectors.Change{{Op: connectors.OpDelete, ID: pid(2)}})
		res := mustWrite(t, s, []connectors.Change{{Op: connectors.OpRestore, ID: pid(2)}})
		if res[0].Record == nil || res[0].Record.Deleted {
			t.Errorf("restored: %+v", res[0].Record)
		}
	})
	t.Run("ambiguous failures after apply", func(t *testing.T) {
		e.emu.SetFaults(emulator.Faults{Script: []emulator.ScriptedFault{
			{Route: "POST /rest/batch/people", Nth: 1, Kind: emulator.FaultErrorAfterApply},
			{Route: "POST /rest/batch/people", Nth: 3, Kind: emulator.FaultDropAfterApply},
		}})
		defer e.emu.SetFaults(emulator.Faults{})
		var changes []connectors.Change
		for i := 100; i < 200; i++ {
			changes = append(changes, newPerson(i))
		}
		res := mustWrite(t, s, changes)
		for i, r := range res {
			if r.Record == nil || r.Record.ID != changes[i].ID {
				t.Fatalf("result %d has no record: %+v", i, r)
			}
		}
		if n := len(e.emu.Records("people")); n != 150 {
			t.Errorf("%d people, want 150 (no duplicates)", n)
		}
	})
	t.Run("key rotation", func(t *testing.T) {
		e.emu.SetAPIKeys("key-2")
		e.keys.set("key-2")
		if _, err := s.Get(ctx, []string{pid(1)}); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
		e.emu.SetAPIKeys("key-3")
		_, err := s.Get(ctx, []string{pid(1)})
		var ae *twenty.AuthError
		if !errors.As(err, &ae) || strings.Contains(err.Error(), "key-2") || !strings.Contains(err.Error(), `"crm"`) {
			t.Errorf("revoked key: %v", err)
		}
		e.emu.SetAPIKeys("key-2")
	})
}

func TestEmulatorRateLimitWithoutRetryAfter(t *testing.T) {
	// A tiny short bucket and a client that ignores it: every 429 is
	// retried with backoff, and nothing fails.
	var changes []connectors.Change
	for i := range 40 {
		changes = append(changes, connectors.Change{Op: connectors.OpCreate, ID: pid(i), Fields: newPerson(i).Fields})
	}
	// 40 creates in batches of 1 -> 40 calls against 5 per 200 ms.
	e2 := newEnv(t, emulator.Config{RateLimit: emulator.RateLimit{ShortLimit: 5, ShortWindow: 200 * time.Millisecond, LongLimit: 1000, LongWindow: time.Minute}}, map[string]any{"batchSize": float64(1)})
	s := e2.stream(t, "people")
	mustWrite(t, s, changes)
	if st := e2.conn.Stats(); st.RateLimited == 0 {
		t.Errorf("expected 429s, saw none: %+v", st)
	}
	if got := e2.emu.Stats().ByStatus[429]; got == 0 {
		t.Errorf("emulator sent no 429")
	}
	if n := len(e2.emu.Records("people")); n != 40 {
		t.Errorf("%d people, want 40", n)
	}
}

func TestEmulatorEnsureField(t *testing.T) {
	e := newEnv(t, emulator.Config{}, nil)
	ctx := context.Background()
	for i, want := range []bool{true, false} {
		created, err := e.conn.EnsureField(ctx, "people", "kelompokId", "Kelompok ID")
		if err != nil || created != want {
			t.Fatalf("call %d: created=%v err=%v, want %v", i+1, created, err, want)
		}
	}
	if _, err := e.conn.EnsureField(ctx, "person", "kelompokId", ""); err == nil || !strings.Contains(err.Error(), "people") {
		t.Errorf("singular object: %v", err)
	}
	// The new field is usable right away: write and look up by it.
	s := e.stream(t, "people")
	ch := newPerson(1)
	ch.Fields["kelompokId"] = "m-0001"
	mustWrite(t, s, []connectors.Change{ch})
	found, err := s.Find(ctx, "kelompokId", []string{"m-0001", "m-0002"})
	if err != nil || len(found) != 1 || found[0].Fields["kelompokId"] != "m-0001" {
		t.Fatalf("find by custom field: %v %+v", err, found)
	}
}

// timeouts wraps a handler so that every nth request is answered only
// after delay (longer than the client's timeout) and then applied: the
// client sees a timeout although the write went through.
func timeouts(every int, delay time.Duration) func(http.Handler) http.Handler {
	var n atomic.Int64
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1)%int64(every) == 0 {
				time.Sleep(delay)
			}
			h.ServeHTTP(w, r)
		})
	}
}

// pushPeople does what a sync run does for new people: identity lookup by
// email in batches, then creates with deterministic ids for the unmatched.
// A failed lookup leaves its records for the next push, as a run would.
// It returns the number of creates sent and of records not yet confirmed.
func pushPeople(ctx context.Context, s connectors.Stream, people []connectors.Change, lookupBatch int) (sent, pending int, err error) {
	for start := 0; start < len(people); start += lookupBatch {
		chunk := people[start:min(start+lookupBatch, len(people))]
		emails := make([]string, len(chunk))
		for i, ch := range chunk {
			emails[i] = ch.Fields["emails"].(map[string]any)["primaryEmail"].(string)
		}
		found, err := s.Find(ctx, "emails.primaryEmail", emails)
		if err != nil {
			var ae *twenty.AuthError
			if errors.As(err, &ae) || ctx.Err() != nil {
				return sent, 0, err
			}
			pending += len(chunk) // lookup failed: try these on the next push
			continue
		}
		have := map[string]bool{}
		for _, r := range found {
			have[r.Fields["emails"].(map[string]any)["primaryEmail"].(string)] = true
		}
		var creates []connectors.Change
		for i, ch := range chunk {
			if !have[strings.ToLower(emails[i])] {
				creates = append(creates, ch)
			}
		}
		if len(creates) == 0 {
			continue
		}
		sent += len(creates)
		res, err := s.Write(ctx, creates)
		if err != nil {
			return sent, 0, err
		}
		for _, r := range res {
			if r.Err != nil {
				pending++
			}
		}
	}
	return sent, pending, nil
}

func TestEmulatorConvergesUnderFaults(t *testing.T) {
	const n = 1000
	// 7.5% injected by the emulator + 2.5% timeouts = 10% of requests fail.
	e := newEnv(t, emulator.Config{Faults: emulator.Faults{
		Seed: 7, ErrorRate: 0.025, ErrorAfterApplyRate: 0.025, RateLimitRate: 0.015, DropRate: 0.01,
	}}, map[string]any{
		"batchSize": float64(10),
		"timeout":   "300ms",
		"retry":     map[string]any{"maxAttempts": float64(3), "initialBackoff": "1ms", "maxBackoff": "5ms"},
	}, timeouts(40, 400*time.Millisecond))
	s := e.stream(t, "people")
	var people []connectors.Change
	for i := range n {
		people = append(people, newPerson(i))
	}
	ctx := context.Background()
	rounds := 0
	for {
		rounds++
		if rounds > 10 {
			t.Fatal("no convergence after 10 pushes")
		}
		_, pending, err := pushPeople(ctx, s, people, 50)
		if err == nil && pending == 0 {
			break
		}
		t.Logf("push %d: %d records pending, err=%v", rounds, pending, err)
	}
	st := e.emu.Stats()
	// Pushing the same records again finds them all and creates nothing.
	e.emu.SetFaults(emulator.Faults{})
	if sent, pending, err := pushPeople(ctx, s, people, 50); err != nil || pending != 0 || sent != 0 {
		t.Fatalf("second push: %d creates sent, %d pending, %v", sent, pending, err)
	}
	recs := e.emu.Records("people")
	ids, emails := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		ids[r["id"].(string)] = true
		emails[r["emails"].(map[string]any)["primaryEmail"].(string)] = true
	}
	if len(recs) != n || len(ids) != n || len(emails) != n {
		t.Fatalf("%d records, %d ids, %d emails; want %d of each", len(recs), len(ids), len(emails), n)
	}
	for _, p := range people {
		if !ids[p.ID] {
			t.Fatalf("%s lost", p.ID)
		}
	}
	fired := 0
	for _, k := range st.Faults {
		fired += k
	}
	if fired < 5 || e.conn.Stats().NetworkErrors == 0 {
		t.Errorf("too few faults fired to prove anything: %v, client %+v", st.Faults, e.conn.Stats())
	}
	t.Logf("converged in %d pushes; faults %v; client %+v", rounds, st.Faults, e.conn.Stats())
}

func TestEmulatorWebhooksVerifyAndDecode(t *testing.T) {
	type got struct {
		err error
		ev  twenty.Event
	}
	received := make(chan got, 10)
	secret := []byte("whsec-test")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := twenty.VerifyWebhook(secret, r.Header, body, time.Now(), 5*time.Minute)
		var ev twenty.Event
		if err == nil {
			ev, err = twenty.DecodeWebhook(body)
		}
		received <- got{err, ev}
	}))
	defer target.Close()
	e := newEnv(t, emulator.Config{}, nil)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/rest/metadata/webhooks",
		strings.NewReader(`{"targetUrl":"`+target.URL+`","operations":["person.*"],"secret":"whsec-test"}`))
	req.Header.Set("Authorization", "Bearer key-1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("register webhook: %v %v", err, resp)
	}
	_ = resp.Body.Close()
	s := e.stream(t, "people")
	mustWrite(t, s, []connectors.Change{newPerson(1)})
	mustWrite(t, s, []connectors.Change{{Op: connectors.OpUpdate, ID: pid(1), Fields: map[string]any{"city": "Makassar"}}})
	mustWrite(t, s, []connectors.Change{{Op: connectors.OpDelete, ID: pid(1)}})
	var actions []string
	for range 3 {
		select {
		case g := <-received:
			if g.err != nil {
				t.Fatalf("delivery: %v", g.err)
			}
			if g.ev.Object != "person" || g.ev.RecordID != pid(1) {
				t.Errorf("event %+v", g.ev)
			}
			actions = append(actions, g.ev.Action)
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d deliveries", len(actions))
		}
	}
	sort.Strings(actions)
	if strings.Join(actions, ",") != "created,deleted,updated" {
		t.Errorf("actions %v", actions)
	}
}

// The shipped configuration's Twenty connection opens through the registry
// with the params the config loader produces.
func TestShippedConnectionOpens(t *testing.T) {
	cfg, err := config.Load(context.Background(), "../../pipelines")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, cc := range cfg.Connections {
		if cc.Kind != "twenty" {
			continue
		}
		n++
		c, err := connectors.Default.Open(context.Background(), "twenty", connectors.OpenParams{Name: cc.Name, Config: cc.Params, Secrets: &keyResolver{key: "k"}})
		if err != nil {
			t.Fatalf("%s: %v", cc.Name, err)
		}
		if d, ok := c.(connectors.Describer); !ok || !d.Capabilities().ClientIDs || !d.Capabilities().SoftDelete {
			t.Errorf("%s: capabilities not reported", cc.Name)
		}
		_ = c.Close()
	}
	if n == 0 {
		t.Fatal("no twenty connection in pipelines/")
	}
}

// TestEmulatorReadFromATime: a position with a time and no id (the
// engine's look-back window) reads every record stamped at that time or
// later, ties included, through updatedAt[gte].
func TestEmulatorReadFromATime(t *testing.T) {
	e := newEnv(t, emulator.Config{}, map[string]any{"batchSize": float64(10)})
	s := e.stream(t, "people")
	for i := range 30 {
		mustWrite(t, s, []connectors.Change{newPerson(i)})
	}
	all := readAll(t, s, 0, false)
	if len(all) != 30 {
		t.Fatalf("read %d people, want 30", len(all))
	}
	from := all[12].UpdatedAt
	var want []string
	for _, r := range all {
		if !r.UpdatedAt.Before(from) {
			want = append(want, r.ID)
		}
	}
	p, err := s.Read(context.Background(), connectors.ReadRequest{After: connectors.Position{UpdatedAt: from}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Records {
		got = append(got, r.ID)
	}
	if len(want) < 18 || !reflect.DeepEqual(got, want) {
		t.Errorf("read from %s: got %d records %v, want %d %v", from, len(got), got, len(want), want)
	}
}
