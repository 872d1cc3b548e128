package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	s, u := startSeeded(t, Config{APIKeys: []string{"old-key"}, ExpiredAPIKeys: []string{"stale-key"}})
	auth := func(v string) map[string]string { return map[string]string{"Authorization": v} }
	runSteps(t, u, []step{
		{name: "no token", method: "GET", path: "/rest/people", headers: auth("-"), status: 403,
			has: []string{`"code":"FORBIDDEN_EXCEPTION"`, `"messages":["Missing authentication token"]`, `"statusCode":403`}},
		{name: "empty bearer", method: "GET", path: "/rest/people", headers: auth("Bearer "), status: 403},
		{name: "wrong token", method: "GET", path: "/rest/people", headers: auth("Bearer nope"), status: 401,
			has: []string{`"code":"UNAUTHENTICATED"`, `"messages":["Token invalid."]`}},
		{name: "expired token", method: "GET", path: "/rest/people", headers: auth("Bearer stale-key"), status: 401,
			has: []string{`"messages":["Token has expired."]`}},
		{name: "good token", method: "GET", path: "/rest/people", headers: auth("Bearer old-key"), status: 200},
		{name: "metadata needs a token too", method: "GET", path: "/rest/metadata/objects", headers: auth("-"), status: 403},
	})
	s.SetAPIKeys("new-key")
	runSteps(t, u, []step{
		{name: "rotated out", method: "GET", path: "/rest/people", headers: auth("Bearer old-key"), status: 401, has: []string{`Token invalid.`}},
		{name: "rotated in", method: "GET", path: "/rest/people", headers: auth("Bearer new-key"), status: 200},
	})
	s.ExpireAPIKeys("new-key")
	runSteps(t, u, []step{
		{name: "expired at run time", method: "GET", path: "/rest/people", headers: auth("Bearer new-key"), status: 401, has: []string{`Token has expired.`}},
	})
	open := New(Config{})
	ou := open.Start()
	defer open.Close()
	runSteps(t, ou, []step{
		{name: "no keys configured: any token", method: "GET", path: "/rest/people", headers: auth("Bearer whatever"), status: 200},
		{name: "no keys configured: still 403 without one", method: "GET", path: "/rest/people", headers: auth("-"), status: 403},
	})
}

func TestRateLimit(t *testing.T) {
	clock := newClock()
	s, u := startSeeded(t, Config{Clock: clock.Now, RateLimit: RateLimit{ShortLimit: 3, ShortWindow: time.Second, LongLimit: 5, LongWindow: time.Minute}})
	get := func() response { return call(t, u, "GET", "/rest/companies", "", nil) }
	for i := range 3 {
		if r := get(); r.status != 200 {
			t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := get()
	if r.status != 429 || !strings.Contains(r.body, `Limit reached (3 tokens per 1000 ms)`) {
		t.Fatalf("short bucket: %d %s", r.status, r.body)
	}
	if r.header.Get("Retry-After") != "" {
		t.Fatal("Twenty sends no Retry-After header")
	}
	clock.Advance(time.Second) // short bucket refilled; long bucket has 2 tokens left
	for range 2 {
		if r := get(); r.status != 200 {
			t.Fatalf("after refill: %d %s", r.status, r.body)
		}
	}
	r = get()
	if r.status != 429 || !strings.Contains(r.body, `Limit reached (5 tokens per 60000 ms)`) {
		t.Fatalf("long bucket: %d %s", r.status, r.body)
	}
	// a batch costs one token, like any request
	clock.Advance(time.Minute)
	if r := call(t, u, "POST", "/rest/batch/people", `[{},{},{},{},{},{}]`, nil); r.status != 201 {
		t.Fatalf("batch after refill: %d %s", r.status, r.body)
	}
	// unauthenticated requests do not spend tokens
	for range 10 {
		call(t, u, "GET", "/rest/companies", "", map[string]string{"Authorization": "-"})
	}
	if r := get(); r.status != 200 {
		t.Fatalf("unauthenticated requests spent tokens: %d", r.status)
	}
	if st := s.Stats(); st.ByStatus[429] != 2 || st.ByRouteStatus["GET /rest/companies 429"] != 2 {
		t.Fatalf("stats: %+v", st)
	}
	// disabled: no limit at all
	_, du := startSeeded(t, Config{RateLimit: RateLimit{Disabled: true, ShortLimit: 1, ShortWindow: time.Hour}})
	for i := range 5 {
		if r := call(t, du, "GET", "/rest/companies", "", nil); r.status != 200 {
			t.Fatalf("disabled limiter, request %d: %d", i, r.status)
		}
	}
}

func TestFaultsScripted(t *testing.T) {
	s, u := startSeeded(t, Config{Faults: Faults{Script: []ScriptedFault{
		{On: Writes, Nth: 2, Kind: FaultError},
		{On: Writes, Nth: 3, Kind: FaultErrorAfterApply},
		{On: Writes, Nth: 4, Kind: FaultRateLimit},
		{Route: "POST /rest/people", Nth: 5, Kind: FaultDropAfterApply},
		{On: Reads, Nth: 2, Kind: FaultDrop},
	}}})
	create := func(id string) (response, error) {
		req, _ := http.NewRequest("POST", u+"/rest/people", strings.NewReader(`{"id":"`+id+`"}`))
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return response{}, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{status: resp.StatusCode, body: string(b)}, nil
	}
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-0000000001%02d", i)
	}
	want := []struct {
		status  int
		dropped bool
		stored  bool
	}{
		{201, false, true},  // write 1
		{500, false, false}, // write 2: error before applying
		{500, false, true},  // write 3: applied, then 500
		{429, false, false}, // write 4: injected 429
		{0, true, true},     // write 5 = 5th POST /rest/people: applied, then dropped
		{201, false, true},
	}
	for i, w := range want {
		r, err := create(ids[i])
		if w.dropped {
			if err == nil {
				t.Fatalf("write %d: want a dropped connection, got %d", i+1, r.status)
			}
		} else if err != nil || r.status != w.status {
			t.Fatalf("write %d: got %d %v, want %d", i+1, r.status, err, w.status)
		}
		if _, ok := s.Get("people", ids[i]); ok != w.stored {
			t.Fatalf("write %d: stored=%v, want %v", i+1, ok, w.stored)
		}
	}
	if r := call(t, u, "GET", "/rest/people", "", nil); r.status != 200 {
		t.Fatalf("read 1: %d", r.status)
	}
	// a fresh connection: Go's transport silently retries an idempotent
	// request whose reused keep-alive connection was closed
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest("GET", u+"/rest/people", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	if resp, err := fresh.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("read 2: want a dropped connection, got %d", resp.StatusCode)
	}
	st := s.Stats()
	if st.Faults[FaultError] != 1 || st.Faults[FaultErrorAfterApply] != 1 || st.Faults[FaultRateLimit] != 1 ||
		st.Faults[FaultDropAfterApply] != 1 || st.Faults[FaultDrop] != 1 {
		t.Fatalf("fault counters: %v", st.Faults)
	}
	if st.ByRouteStatus["POST /rest/people 0"] != 1 || st.ByRouteStatus["POST /rest/people 201"] != 2 {
		t.Fatalf("route counters: %v", st.ByRouteStatus)
	}
}

func TestFaultsRandomAreSeeded(t *testing.T) {
	run := func(seed int64) []int {
		s, u := startSeeded(t, Config{Faults: Faults{Seed: seed, ErrorRate: 0.2, RateLimitRate: 0.2}})
		var got []int
		for range 40 {
			got = append(got, call(t, u, "GET", "/rest/companies", "", nil).status)
		}
		st := s.Stats()
		if st.ByStatus[500] == 0 || st.ByStatus[429] == 0 || st.ByStatus[200] == 0 {
			t.Fatalf("seed %d: 40 requests at 20%%+20%% faults gave %v", seed, st.ByStatus)
		}
		return got
	}
	a, b, c := run(7), run(7), run(8)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatalf("different seeds gave the same 40 outcomes: %v", a)
	}
}

func TestFaultLatency(t *testing.T) {
	_, u := startSeeded(t, Config{Faults: Faults{Latency: 300 * time.Millisecond}})
	client := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ := http.NewRequest("GET", u+"/rest/people", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a client timeout shorter than the injected latency should fail")
	}
}

func TestMetadataAndCustomFields(t *testing.T) {
	s, u := startSeeded(t, Config{})
	r := call(t, u, "GET", "/rest/metadata/objects", "", nil)
	if r.status != 200 {
		t.Fatal(r.body)
	}
	var meta struct {
		Data struct {
			Objects []struct {
				ID, NameSingular, NamePlural string
				Fields                       []map[string]any
			}
		}
	}
	if err := json.Unmarshal([]byte(r.body), &meta); err != nil {
		t.Fatal(err)
	}
	objID := map[string]string{}
	for _, o := range meta.Data.Objects {
		objID[o.NameSingular] = o.ID
		if o.NameSingular == "person" {
			seen := map[string]any{}
			for _, f := range o.Fields {
				seen[f["name"].(string)] = f["type"]
			}
			for name, typ := range map[string]string{"name": "FULL_NAME", "emails": "EMAILS", "phones": "PHONES",
				"companyId": "UUID", "company": "RELATION", "createdBy": "ACTOR", "position": "POSITION"} {
				if seen[name] != typ {
					t.Errorf("person.%s: type %v, want %s", name, seen[name], typ)
				}
			}
		}
	}
	for _, want := range []string{"person", "company", "opportunity", "note", "noteTarget", "task", "taskTarget"} {
		if objID[want] == "" {
			t.Errorf("metadata lacks %s", want)
		}
	}
	field := func(body string) response { return call(t, u, "POST", "/rest/metadata/fields", body, nil) }
	kel := `{"objectMetadataId":"` + objID["person"] + `","type":"TEXT","name":"kelompokId","label":"Kelompok ID","isNullable":true,"isUnique":true}`
	r = field(kel)
	if r.status != 201 || !strings.Contains(r.body, `{"data":{"createOneField":{`) || !strings.Contains(r.body, `"isUnique":true`) ||
		!strings.Contains(r.body, `"isCustom":true`) {
		t.Fatalf("create field: %d %s", r.status, r.body)
	}
	runSteps(t, u, []step{
		{name: "same field again", method: "POST", path: "/rest/metadata/fields", body: kel, status: 400, has: []string{`not available`}},
		{name: "unknown object", method: "POST", path: "/rest/metadata/fields", status: 404,
			body: `{"objectMetadataId":"` + unusedID + `","type":"TEXT","name":"x","label":"X"}`},
		{name: "bad name", method: "POST", path: "/rest/metadata/fields", status: 400,
			body: `{"objectMetadataId":"` + objID["person"] + `","type":"TEXT","name":"Kelompok-ID","label":"X"}`},
		{name: "bad type", method: "POST", path: "/rest/metadata/fields", status: 400,
			body: `{"objectMetadataId":"` + objID["person"] + `","type":"BLOB","name":"blob","label":"X"}`},
		{name: "existing records get the default", method: "GET", path: "/rest/people/" + aniID, status: 200, has: []string{`"kelompokId":null`}},
		{name: "custom field listed", method: "GET", path: "/rest/metadata/objects", status: 200, has: []string{`"name":"kelompokId"`}},
		{name: "write the custom field", method: "PATCH", path: "/rest/people/" + aniID, body: `{"kelompokId":"m-1"}`, status: 200, has: []string{`"kelompokId":"m-1"`}},
		{name: "filter on it", method: "GET", path: "/rest/people?filter=" + q(`kelompokId[eq]:"m-1"`), status: 200, has: []string{aniID, `"totalCount":1`}},
		{name: "unique custom field", method: "PATCH", path: "/rest/people/" + budiID, body: `{"kelompokId":"m-1"}`, status: 400, has: []string{`A duplicate entry was detected`}},
		{name: "upsert matches the custom unique field", method: "POST", path: "/rest/people?upsert=true", body: `{"kelompokId":"m-1","city":"Solo"}`, status: 201,
			has: []string{`"id":"` + aniID + `"`, `"city":"Solo"`}},
	})
	if p, _ := s.Get("people", citraID); p["kelompokId"] != nil {
		t.Fatalf("citra kelompokId: %v", p["kelompokId"])
	}
}

// hookSink records webhook deliveries.
type hookSink struct {
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.got = append(h.got, r)
	h.body = append(h.body, b)
	h.mu.Unlock()
	if strings.Contains(r.URL.Path, "fail") {
		w.WriteHeader(500)
	}
}

func TestWebhooks(t *testing.T) {
	clock := newClock()
	s, u := startSeeded(t, Config{Clock: clock.Now})
	sink := &hookSink{}
	target := httptest.NewServer(sink)
	defer target.Close()
	runSteps(t, u, []step{
		{name: "register (metadata route)", method: "POST", path: "/rest/metadata/webhooks", status: 201,
			body: `{"targetUrl":"` + target.URL + `/all","secret":"s3cret"}`,
			has:  []string{`"createWebhook":{`, `"operations":["*.*"]`}},
		{name: "register (older route)", method: "POST", path: "/rest/webhooks", status: 201,
			body: `{"targetUrl":"` + target.URL + `/fail","operations":["person.updated","*.deleted"]}`},
		{name: "bad target", method: "POST", path: "/rest/webhooks", status: 400, body: `{"targetUrl":"ftp://x"}`},
		{name: "bad operation", method: "POST", path: "/rest/webhooks", status: 400, body: `{"targetUrl":"http://x.example","operations":["created"]}`},
		{name: "list", method: "GET", path: "/rest/metadata/webhooks", status: 200, has: []string{`"webhooks":[`, `/fail`}},
		{name: "update fires", method: "PATCH", path: "/rest/people/" + aniID, body: `{"city":"Solo","jobTitle":""}`, status: 200},
		{name: "create fires", method: "POST", path: "/rest/companies", body: `{"name":"Hook"}`, status: 201},
		{name: "delete fires", method: "DELETE", path: "/rest/people/" + budiID, status: 200},
	})
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// /all: person.updated, company.created, person.deleted; /fail: person.updated, person.deleted
	if len(sink.got) != 5 {
		t.Fatalf("deliveries: %d, want 5", len(sink.got))
	}
	var sawUpdate bool
	for i, req := range sink.got {
		var ev map[string]any
		if err := json.Unmarshal(sink.body[i], &ev); err != nil {
			t.Fatalf("webhook body: %v", err)
		}
		for _, k := range []string{"targetUrl", "eventName", "objectMetadata", "workspaceId", "webhookId", "eventDate", "record"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("webhook body lacks %s: %s", k, sink.body[i])
			}
		}
		if req.URL.Path == "/fail" {
			if req.Header.Get("X-Twenty-Webhook-Signature") != "" {
				t.Error("a webhook without a secret must not be signed")
			}
			continue
		}
		ts := req.Header.Get("X-Twenty-Webhook-Timestamp")
		if ts != fmt.Sprint(clock.Now().UnixMilli()) || req.Header.Get("X-Twenty-Webhook-Nonce") == "" {
			t.Errorf("timestamp %q / nonce %q", ts, req.Header.Get("X-Twenty-Webhook-Nonce"))
		}
		if got, want := req.Header.Get("X-Twenty-Webhook-Signature"), Sign("s3cret", ts, sink.body[i]); got != want || len(got) != 64 {
			t.Errorf("signature %q, want %q", got, want)
		}
		if ev["eventName"] == "person.deleted" {
			if rec := ev["record"].(map[string]any); rec["id"] != budiID || rec["deletedAt"] != nil {
				t.Errorf("a delete event carries the record before the delete: %v", rec)
			}
		}
		if ev["eventName"] == "person.updated" {
			sawUpdate = true
			if fmt.Sprint(ev["updatedFields"]) != "[city]" {
				t.Errorf("updatedFields %v, want [city] (jobTitle did not change)", ev["updatedFields"])
			}
			rec := ev["record"].(map[string]any)
			if rec["city"] != "Solo" || ev["objectMetadata"].(map[string]any)["nameSingular"] != "person" {
				t.Errorf("record after the change: %v", ev)
			}
		}
	}
	if !sawUpdate {
		t.Error("no person.updated delivery")
	}
	// failed deliveries are not retried
	fails := 0
	for _, d := range s.Deliveries() {
		if d.Status == 500 {
			fails++
		}
	}
	if fails != 2 {
		t.Errorf("failed deliveries recorded: %d, want 2 (no retries)", fails)
	}
}

func TestWebhookSafeMode(t *testing.T) {
	s, u := startSeeded(t, Config{OutboundSafeMode: true})
	sink := &hookSink{}
	target := httptest.NewServer(sink)
	defer target.Close()
	call(t, u, "POST", "/rest/webhooks", `{"targetUrl":"`+target.URL+`"}`, nil)
	call(t, u, "POST", "/rest/companies", `{"name":"x"}`, nil)
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := s.Deliveries()
	if len(d) != 1 || !strings.Contains(d[0].Err, "safe mode") || len(sink.got) != 0 {
		t.Fatalf("safe mode should block 127.0.0.1: %+v", d)
	}
}

func TestWebhookActionsAndTimeout(t *testing.T) {
	s, u := startSeeded(t, Config{WebhookTimeout: 100 * time.Millisecond})
	sink := &hookSink{}
	target := httptest.NewServer(sink)
	defer target.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)
	call(t, u, "POST", "/rest/webhooks", `{"targetUrl":"`+target.URL+`","operations":["*.restored","*.destroyed","*.upserted","company.*"]}`, nil)
	call(t, u, "POST", "/rest/webhooks", `{"targetUrl":"`+slow.URL+`","operations":["note.created"]}`, nil)
	runSteps(t, u, []step{
		{name: "restore", method: "PATCH", path: "/rest/restore/people/" + dewiID, status: 200},
		{name: "upsert", method: "POST", path: "/rest/people?upsert=true", body: `{"id":"` + aniID + `","city":"Solo"}`, status: 201},
		{name: "destroy", method: "DELETE", path: "/rest/people/" + citraID + "?soft_delete=false", status: 200},
		{name: "person.created is not subscribed", method: "POST", path: "/rest/people", body: `{}`, status: 201},
		{name: "company.updated is", method: "PATCH", path: "/rest/companies/" + acmeID, body: `{"employees":3}`, status: 200},
		{name: "slow target", method: "POST", path: "/rest/notes", body: `{"title":"n"}`, status: 201},
	})
	if err := s.WaitWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range s.Deliveries() {
		names[d.EventName] = true
		if d.EventName == "note.created" && (d.Status != 0 || d.Err == "") {
			t.Errorf("a delivery slower than the timeout should fail: %+v", d)
		}
	}
	for _, want := range []string{"person.restored", "person.upserted", "person.destroyed", "company.updated", "note.created"} {
		if !names[want] {
			t.Errorf("no %s delivery (got %v)", want, names)
		}
	}
	if names["person.created"] {
		t.Error("person.created delivered to a webhook that did not subscribe to it")
	}
}
