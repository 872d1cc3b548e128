package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestCursorPagination(t *testing.T) {
	s, u := startSeeded(t, Config{})
	// 25 people in one batch share one updatedAt: the cursor must break ties on id.
	var rows []string
	for i := range 25 {
		rows = append(rows, fmt.Sprintf(`{"name":{"firstName":"P%02d"},"city":"Solo"}`, i))
	}
	if r := call(t, u, "POST", "/rest/batch/people", "["+strings.Join(rows, ",")+"]", nil); r.status != 201 {
		t.Fatal(r.body)
	}
	var want []string
	for _, r := range s.Records("people") {
		if r["deletedAt"] == nil {
			want = append(want, r["id"].(string))
		}
	}
	byUpdated := func(order string) []string {
		var got []string
		cursor := ""
		for pages := 0; pages < 20; pages++ {
			path := "/rest/people?limit=4&order_by=" + order
			if cursor != "" {
				path += "&starting_after=" + q(cursor)
			}
			r := call(t, u, "GET", path, "", nil)
			if r.status != 200 {
				t.Fatalf("%s: %s", path, r.body)
			}
			got = append(got, listIDs(t, r, "people")...)
			pi := r.json(t)["pageInfo"].(map[string]any)
			if pi["hasNextPage"] != true {
				return got
			}
			cursor = pi["endCursor"].(string)
		}
		t.Fatal("pagination did not end")
		return nil
	}
	got := byUpdated("updatedAt")
	sortedWant := append([]string(nil), want...)
	sortedGot := append([]string(nil), got...)
	sort.Strings(sortedWant)
	sort.Strings(sortedGot)
	if !reflect.DeepEqual(sortedGot, sortedWant) {
		t.Fatalf("walking pages by updatedAt saw %d ids, want %d (skips or repeats)", len(got), len(want))
	}
	// descending order is the exact reverse of ascending (id tie-breaker reversed too)
	desc := byUpdated("updatedAt[DescNullsLast],id[DescNullsLast]")
	for i := range got {
		if got[i] != desc[len(desc)-1-i] {
			t.Fatalf("descending walk is not the reverse of ascending at %d", i)
		}
	}

	// the cursor is base64 of JSON of the order-by values plus id
	r := call(t, u, "GET", "/rest/people?limit=1&order_by=updatedAt", "", nil)
	end := r.json(t)["pageInfo"].(map[string]any)["endCursor"].(string)
	raw, err := base64.StdEncoding.DecodeString(end)
	if err != nil {
		t.Fatalf("cursor %q is not base64: %v", end, err)
	}
	var cur map[string]any
	if err := json.Unmarshal(raw, &cur); err != nil || cur["id"] == nil || cur["updatedAt"] == nil {
		t.Fatalf("cursor JSON %s lacks id and updatedAt", raw)
	}

	// ending_before goes back one page
	page2 := call(t, u, "GET", "/rest/people?limit=4&order_by=updatedAt&starting_after="+q(end), "", nil)
	start2 := page2.json(t)["pageInfo"].(map[string]any)["startCursor"].(string)
	back := call(t, u, "GET", "/rest/people?limit=4&order_by=updatedAt&ending_before="+q(start2), "", nil)
	if ids := listIDs(t, back, "people"); len(ids) != 1 || ids[0] != got[0] {
		t.Fatalf("ending_before the 2nd page gave %v, want [%s]", ids, got[0])
	}

	// nulls first / last
	call(t, u, "POST", "/rest/companies", `{"name":"Nol"}`, nil)
	first := listIDs(t, call(t, u, "GET", "/rest/companies?order_by=employees[AscNullsFirst]", "", nil), "companies")
	last := listIDs(t, call(t, u, "GET", "/rest/companies?order_by=employees[AscNullsLast]", "", nil), "companies")
	if first[len(first)-1] != betaID || last[0] != betaID {
		t.Fatalf("nulls ordering: NullsFirst %v, NullsLast %v (beta has the only non-null)", first, last)
	}
	descFirst := listIDs(t, call(t, u, "GET", "/rest/companies?order_by=employees[DescNullsFirst]", "", nil), "companies")
	if descFirst[len(descFirst)-1] != betaID {
		t.Fatalf("DescNullsFirst: %v", descFirst)
	}
	byName := listIDs(t, call(t, u, "GET", "/rest/people?order_by=name.firstName[DescNullsLast]&filter="+q("city[in]:[Jakarta,Bandung]"), "", nil), "people")
	if !reflect.DeepEqual(byName, []string{citraID, budiID, aniID}) {
		t.Fatalf("order by composite sub-field: %v", byName)
	}
}

func TestWritesIdsUniquesAndTimestamps(t *testing.T) {
	clock := newClock()
	s, u := startSeeded(t, Config{Clock: clock.Now})
	runSteps(t, u, []step{
		{name: "client id accepted", method: "POST", path: "/rest/people", body: `{"id":"` + newID + `","emails":{"primaryEmail":"eka@x.example"}}`, status: 201,
			has: []string{`"id":"` + newID + `"`}},
		{name: "reused id", method: "POST", path: "/rest/people", body: `{"id":"` + newID + `"}`, status: 400,
			has: []string{`"messages":["Record already exists"]`}},
		{name: "reused id in batch", method: "POST", path: "/rest/batch/people", body: `[{"id":"` + aniID + `"}]`, status: 400,
			has: []string{`Record already exists`}},
		{name: "duplicate email, other case", method: "POST", path: "/rest/people", body: `{"emails":{"primaryEmail":"ANI@acme.example"}}`, status: 400,
			has: []string{`"messages":["A duplicate entry was detected"]`, `"error":"BadRequestException"`}},
		{name: "email of a soft-deleted person is still taken", method: "POST", path: "/rest/people", body: `{"emails":{"primaryEmail":"dewi@acme.example"}}`, status: 400,
			has: []string{`A duplicate entry was detected`}},
		{name: "empty emails never collide", method: "POST", path: "/rest/batch/people", body: `[{"name":{"firstName":"X"}},{"name":{"firstName":"Y"}}]`, status: 201},
		{name: "duplicate domain after normalization", method: "POST", path: "/rest/companies", body: `{"domainName":{"primaryLinkUrl":"https://ACME.example/"}}`, status: 400,
			has: []string{`A duplicate entry was detected`}},
		{name: "update into a duplicate", method: "PATCH", path: "/rest/people/" + budiID, body: `{"emails":{"primaryEmail":"ani@acme.example"}}`, status: 400,
			has: []string{`A duplicate entry was detected`}},
		{name: "foreign key checked", method: "PATCH", path: "/rest/people/" + budiID, body: `{"companyId":"` + unusedID + `"}`, status: 400,
			has: []string{`foreign key`}},
		{name: "id cannot change", method: "PATCH", path: "/rest/people/" + budiID, body: `{"id":"` + unusedID + `"}`, status: 400},
	})

	// every write gets its own, strictly increasing updatedAt even with a frozen clock
	var stamps []string
	for i := range 3 {
		r := call(t, u, "PATCH", "/rest/people/"+aniID, fmt.Sprintf(`{"jobTitle":"v%d"}`, i), nil)
		stamps = append(stamps, r.json(t)["data"].(map[string]any)["updatePerson"].(map[string]any)["updatedAt"].(string))
	}
	if !(stamps[0] < stamps[1] && stamps[1] < stamps[2]) {
		t.Fatalf("updatedAt not strictly increasing: %v", stamps)
	}
	clock.Advance(3600e9)
	r := call(t, u, "PATCH", "/rest/people/"+aniID, `{"jobTitle":"later"}`, nil)
	if !strings.Contains(r.body, `"updatedAt":"2025-06-01T13:00:00.000Z"`) {
		t.Fatalf("updatedAt does not follow the injected clock: %s", r.body)
	}
	if !strings.Contains(r.body, `"createdAt":"2025-06-01T12:00:00.`) {
		t.Fatalf("createdAt changed on update: %s", r.body)
	}

	// a batch shares one createdAt/updatedAt
	r = call(t, u, "POST", "/rest/batch/people", `[{"city":"A"},{"city":"B"},{"city":"C"}]`, nil)
	created := r.json(t)["data"].(map[string]any)["createPeople"].([]any)
	for _, c := range created {
		m := c.(map[string]any)
		if m["updatedAt"] != created[0].(map[string]any)["updatedAt"] || m["createdAt"] != m["updatedAt"] {
			t.Fatalf("batch records do not share one timestamp: %s", r.body)
		}
	}
	_ = s
}

func TestBatchAtomicityAndLimit(t *testing.T) {
	s, u := startSeeded(t, Config{BatchLimit: 3})
	before := len(s.Records("people"))
	runSteps(t, u, []step{
		{name: "one bad record fails the batch", method: "POST", path: "/rest/batch/people", status: 400,
			body: `[{"id":"` + newID + `","city":"ok"},{"emails":{"primaryEmail":"budi@beta.example"}}]`,
			has:  []string{`A duplicate entry was detected`}},
		{name: "duplicate inside the batch", method: "POST", path: "/rest/batch/people", status: 400,
			body: `[{"emails":{"primaryEmail":"z@z.example"}},{"emails":{"primaryEmail":"Z@z.example"}}]`,
			has:  []string{`A duplicate entry was detected`}},
		{name: "bad field in the last record", method: "POST", path: "/rest/batch/people", status: 400,
			body: `[{"city":"a"},{"city":"b"},{"city":3}]`},
		{name: "over the batch limit", method: "POST", path: "/rest/batch/people", status: 400,
			body: `[{},{},{},{}]`, has: []string{`Maximum number of records to upsert is 3`}},
		{name: "first record of the failed batch was not written", method: "GET", path: "/rest/people/" + newID, status: 404},
		{name: "at the limit", method: "POST", path: "/rest/batch/people", status: 201, body: `[{},{},{}]`},
	})
	if got := len(s.Records("people")); got != before+3 {
		t.Fatalf("people after failed batches and one good batch: %d, want %d", got, before+3)
	}
	// the unique index was rolled back too: z@z.example is free
	if r := call(t, u, "POST", "/rest/people", `{"emails":{"primaryEmail":"z@z.example"}}`, nil); r.status != 201 {
		t.Fatalf("email of a rolled-back batch record is still taken: %s", r.body)
	}
}

func TestUpsert(t *testing.T) {
	s, u := startSeeded(t, Config{})
	runSteps(t, u, []step{
		{name: "upsert matches on unique email and updates", method: "POST", path: "/rest/people?upsert=true", status: 201,
			body: `{"emails":{"primaryEmail":"ANI@acme.example"},"jobTitle":"CEO"}`,
			has:  []string{`"createPerson"`, `"id":"` + aniID + `"`, `"jobTitle":"CEO"`, `"firstName":"Ani"`}},
		{name: "upsert matches on id", method: "POST", path: "/rest/people?upsert=true", status: 201,
			body: `{"id":"` + budiID + `","city":"Bogor"}`, has: []string{`"id":"` + budiID + `"`, `"city":"Bogor"`}},
		{name: "upsert restores a soft-deleted match", method: "POST", path: "/rest/people?upsert=true", status: 201,
			body: `{"emails":{"primaryEmail":"dewi@acme.example"},"city":"Depok"}`,
			has:  []string{`"id":"` + dewiID + `"`, `"deletedAt":null`, `"city":"Depok"`}},
		{name: "upsert without a match creates", method: "POST", path: "/rest/people?upsert=true", status: 201,
			body: `{"id":"` + newID + `","emails":{"primaryEmail":"new@x.example"}}`, has: []string{`"id":"` + newID + `"`}},
		{name: "two matches conflict", method: "POST", path: "/rest/people?upsert=true", status: 400,
			body: `{"id":"` + budiID + `","emails":{"primaryEmail":"ani@acme.example"}}`,
			has:  []string{`UPSERT_MULTIPLE_MATCHING_RECORDS_CONFLICT`}},
		{name: "batch upsert mixes updates and creates", method: "POST", path: "/rest/batch/companies?upsert=true", status: 201,
			body: `[{"domainName":{"primaryLinkUrl":"https://Acme.example/"},"employees":7},{"name":"Fresh"}]`,
			has:  []string{`"createCompanies"`, `"id":"` + acmeID + `"`, `"employees":7`, `"name":"Fresh"`}},
		{name: "batch upsert is atomic", method: "POST", path: "/rest/batch/companies?upsert=true", status: 400,
			body: `[{"domainName":{"primaryLinkUrl":"https://beta.example"},"employees":99},{"employees":"x"}]`},
	})
	if b, _ := s.Get("companies", betaID); b["employees"] != 50.0 {
		t.Fatalf("failed batch upsert changed beta: employees=%v", b["employees"])
	}
	if d, _ := s.Get("people", dewiID); d["deletedAt"] != nil {
		t.Fatalf("upsert did not restore dewi")
	}
}

func TestDeleteRestoreAndBulk(t *testing.T) {
	s, u := startSeeded(t, Config{MaxAffectedRecords: 2})
	runSteps(t, u, []step{
		{name: "soft delete", method: "DELETE", path: "/rest/people/" + budiID, status: 200, has: []string{`"deletePerson":{"id":"` + budiID + `"}`}},
		{name: "soft-deleted hidden from get", method: "GET", path: "/rest/people/" + budiID, status: 404},
		{name: "soft-deleted hidden from list", method: "GET", path: "/rest/people", status: 200, hasNot: []string{budiID}},
		{name: "soft-deleted listed with a deletedAt filter", method: "GET", path: "/rest/people?filter=" + q("deletedAt[is]:NOT_NULL"), status: 200,
			has: []string{budiID, dewiID}},
		{name: "soft delete twice", method: "DELETE", path: "/rest/people/" + budiID, status: 404},
		{name: "update a soft-deleted record", method: "PATCH", path: "/rest/people/" + budiID, body: `{"city":"x"}`, status: 404},
		{name: "restore", method: "PATCH", path: "/rest/restore/people/" + budiID, status: 200,
			has: []string{`"restorePerson":{`, `"deletedAt":null`, `"id":"` + budiID + `"`}},
		{name: "restored is visible", method: "GET", path: "/rest/people/" + budiID, status: 200},
		{name: "restore unknown", method: "PATCH", path: "/rest/restore/people/" + unusedID, status: 404},
		{name: "hard delete a company", method: "DELETE", path: "/rest/companies/" + acmeID + "?soft_delete=false", status: 200,
			has: []string{`"deleteCompany":{"id":"` + acmeID + `"}`}},
		{name: "hard-deleted company is gone", method: "GET", path: "/rest/companies/" + acmeID + "?filter=" + q("deletedAt[is]:NOT_NULL"), status: 404},
		{name: "people.companyId nulled", method: "GET", path: "/rest/people/" + aniID, status: 200, has: []string{`"companyId":null`}},
		{name: "opportunity.companyId nulled", method: "GET", path: "/rest/opportunities/" + pilotID, status: 200, has: []string{`"companyId":null`}},
		{name: "hard delete of a soft-deleted person", method: "DELETE", path: "/rest/people/" + dewiID + "?soft_delete=false", status: 200},
		{name: "its email is free again", method: "POST", path: "/rest/people", body: `{"emails":{"primaryEmail":"dewi@acme.example"}}`, status: 201},
		{name: "bulk update needs a filter", method: "PATCH", path: "/rest/people", body: `{"city":"x"}`, status: 400, has: []string{`filter is required`}},
		{name: "bulk update capped", method: "PATCH", path: "/rest/people?filter=" + q("city[in]:[Jakarta,Bandung]"), body: `{"jobTitle":"Member"}`, status: 200,
			has: []string{`"updatePeople":[`}},
		{name: "bulk delete", method: "DELETE", path: "/rest/people?filter=" + q("jobTitle[eq]:Member"), status: 200,
			has: []string{`"deletePeople":[{"id":"`}},
		{name: "bulk delete needs a filter", method: "DELETE", path: "/rest/people", status: 400},
	})
	members := 0
	for _, r := range s.Records("people") {
		if r["jobTitle"] == "Member" {
			members++
			if r["deletedAt"] == nil {
				t.Errorf("bulk delete left %v", r["id"])
			}
		}
	}
	if members != 2 {
		t.Fatalf("bulk update touched %d records, want the cap of 2 (3 matched)", members)
	}
}

func TestRecordsPutAndSeed(t *testing.T) {
	s, u := startSeeded(t, Config{})
	ani, ok := s.Get("people", aniID)
	if !ok {
		t.Fatal("seeded person missing")
	}
	latest := ""
	for _, r := range s.Records("people") {
		latest = max(latest, r["updatedAt"].(string))
	}
	out, err := s.Put("people", map[string]any{"id": aniID, "city": "Surabaya"})
	if err != nil {
		t.Fatal(err)
	}
	if out["updatedAt"].(string) <= ani["updatedAt"].(string) || out["city"] != "Surabaya" {
		t.Fatalf("Put did not bump updatedAt or set the field: %v", out)
	}
	if out["updatedBy"].(map[string]any)["source"] != "MANUAL" {
		t.Fatalf("a UI edit should be MANUAL: %v", out["updatedBy"])
	}
	r := call(t, u, "GET", "/rest/people?filter="+q(`updatedAt[gt]:"`+latest+`"`), "", nil)
	if ids := listIDs(t, r, "people"); !reflect.DeepEqual(ids, []string{aniID}) {
		t.Fatalf("incremental read after Put: %v", ids)
	}
	if _, err := s.Put("people", map[string]any{"emails": map[string]any{"primaryEmail": "budi@beta.example"}}); err == nil ||
		!strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("Put of a duplicate email: %v", err)
	}
	if err := s.Seed(map[string][]map[string]any{"person": {{}}}); err == nil || !strings.Contains(err.Error(), `"people"`) {
		t.Fatalf("seeding a singular name: %v", err)
	}
	snap := s.Records("people")
	snap[0]["city"] = "changed"
	if again := s.Records("people"); again[0]["city"] == "changed" {
		t.Fatal("Records is not a snapshot")
	}
	if d, _ := s.Get("people", dewiID); d["deletedAt"] != "2025-01-01T00:00:00.000Z" {
		t.Fatalf("seed deletedAt not kept: %v", d["deletedAt"])
	}
}
