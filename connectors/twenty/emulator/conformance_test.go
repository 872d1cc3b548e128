package emulator

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestRoutesAndEnvelopes(t *testing.T) {
	_, u := startSeeded(t, Config{})
	runSteps(t, u, []step{
		{name: "list envelope", method: "GET", path: "/rest/people", status: 200,
			has: []string{`"data":{"people":[`, `"totalCount":3`, `"pageInfo":{"endCursor":"`, `"hasNextPage":false`, `"startCursor":"`}},
		{name: "get envelope", method: "GET", path: "/rest/people/" + aniID, status: 200,
			has: []string{`{"data":{"person":{`, `"id":"` + aniID + `"`, `"firstName":"Ani"`}},
		{name: "get unknown id", method: "GET", path: "/rest/people/" + unusedID, status: 404,
			has: []string{`"statusCode":404`, `"error":"NotFoundException"`, `"messages":["Record not found"]`}},
		{name: "get soft-deleted id", method: "GET", path: "/rest/people/" + dewiID, status: 404},
		{name: "get malformed id", method: "GET", path: "/rest/people/not-a-uuid", status: 400,
			has: []string{`invalid input syntax for type uuid`}},
		{name: "singular name", method: "GET", path: "/rest/person", status: 400,
			has: []string{`"messages":["object 'person' not found. Did you mean 'people'?"]`, `"statusCode":400`}},
		{name: "singular name on batch", method: "POST", path: "/rest/batch/company", body: `[]`, status: 400,
			has: []string{`Did you mean 'companies'?`}},
		{name: "unknown object", method: "GET", path: "/rest/widgets", status: 400, has: []string{`object 'widgets' not found`}},
		{name: "create envelope", method: "POST", path: "/rest/people", status: 201,
			body: `{"id":"` + newID + `","name":{"firstName":"Eka"}}`,
			has:  []string{`{"data":{"createPerson":{`, `"id":"` + newID + `"`}},
		{name: "update envelope", method: "PATCH", path: "/rest/people/" + newID, status: 200,
			body: `{"jobTitle":"Lead"}`, has: []string{`{"data":{"updatePerson":{`, `"jobTitle":"Lead"`, `"firstName":"Eka"`}},
		{name: "PUT is PATCH", method: "PUT", path: "/rest/people/" + newID, status: 200,
			body: `{"city":"Medan"}`, has: []string{`"updatePerson"`, `"city":"Medan"`, `"jobTitle":"Lead"`}},
		{name: "update unknown", method: "PATCH", path: "/rest/people/" + unusedID, body: `{"city":"X"}`, status: 404,
			has: []string{`Record not found`}},
		{name: "delete envelope", method: "DELETE", path: "/rest/people/" + newID, status: 200,
			has: []string{`{"data":{"deletePerson":{"id":"` + newID + `"}}}`}},
		{name: "batch envelope", method: "POST", path: "/rest/batch/companies", status: 201,
			body: `[{"name":"Gamma"},{"name":"Delta"}]`, has: []string{`{"data":{"createCompanies":[{`, `"name":"Gamma"`, `"name":"Delta"`}},
		{name: "note target envelope", method: "POST", path: "/rest/noteTargets", status: 400,
			body: `{"noteId":"` + unusedID + `"}`, has: []string{`foreign key`}},
		{name: "unknown route", method: "GET", path: "/rest/people/" + aniID + "/extra", status: 404,
			has: []string{`Cannot GET`}},
		{name: "not under /rest", method: "GET", path: "/graphql", status: 404},
		{name: "body not JSON", method: "POST", path: "/rest/people", body: `{nope`, status: 400, has: []string{`not valid JSON`}},
		{name: "batch body not an array", method: "POST", path: "/rest/batch/people", body: `{"name":{}}`, status: 400},
	})
}

func TestRecordShapeAndDefaults(t *testing.T) {
	_, u := startSeeded(t, Config{})
	runSteps(t, u, []step{
		{name: "composite defaults on create", method: "POST", path: "/rest/people", body: `{"id":"` + newID + `"}`, status: 201,
			has: []string{
				`"emails":{"additionalEmails":null,"primaryEmail":""}`,
				`"name":{"firstName":"","lastName":""}`,
				`"phones":{"additionalPhones":null,"primaryPhoneCallingCode":"","primaryPhoneCountryCode":"","primaryPhoneNumber":""}`,
				`"linkedinLink":{"primaryLinkLabel":"","primaryLinkUrl":"","secondaryLinks":null}`,
				`"createdBy":{"context":{},"name":"API","source":"API","workspaceMemberId":null}`,
				`"updatedBy":{"context":{},"name":"API","source":"API","workspaceMemberId":null}`,
				`"deletedAt":null`, `"companyId":null`, `"jobTitle":""`, `"position":`,
				`"createdAt":"2025-06-01T12:00:00.`, `"updatedAt":"2025-06-01T12:00:00.`,
			}},
		{name: "company defaults", method: "POST", path: "/rest/companies", body: `{"name":"Kopi"}`, status: 201,
			has: []string{`"idealCustomerProfile":false`, `"employees":null`,
				`"annualRecurringRevenue":{"amountMicros":null,"currencyCode":""}`,
				`"address":{"addressCity":"","addressCountry":"","addressLat":null,"addressLng":null,"addressPostcode":"","addressState":"","addressStreet1":"","addressStreet2":""}`}},
		{name: "opportunity stage default NEW", method: "POST", path: "/rest/opportunities", body: `{"name":"X"}`, status: 201,
			has: []string{`"stage":"NEW"`, `"amount":{"amountMicros":null,"currencyCode":""}`, `"closeDate":null`}},
		{name: "bad enum value", method: "POST", path: "/rest/opportunities", body: `{"name":"X","stage":"WON"}`, status: 400,
			has: []string{`invalid input value for enum opportunity_stage_enum: \"WON\"`}},
		{name: "task status default", method: "POST", path: "/rest/tasks", body: `{"title":"Call"}`, status: 201,
			has: []string{`"status":"TODO"`, `"bodyV2":{"blocknote":null,"markdown":null}`}},
		{name: "email stored lower-cased", method: "POST", path: "/rest/people", body: `{"emails":{"primaryEmail":"Eko@Mail.EXAMPLE","additionalEmails":["X@Y.EXAMPLE"]}}`, status: 201,
			has: []string{`"primaryEmail":"eko@mail.example"`, `"additionalEmails":["x@y.example"]`}},
		{name: "link url normalized", method: "POST", path: "/rest/companies", body: `{"domainName":{"primaryLinkUrl":"HTTPS://Kopi.Example/Shop/"}}`, status: 201,
			has: []string{`"primaryLinkUrl":"https://kopi.example/Shop"`}},
		{name: "date-time normalized", method: "PATCH", path: "/rest/opportunities/" + pilotID, body: `{"closeDate":"2025-07-01T09:30:00+07:00"}`, status: 200,
			has: []string{`"closeDate":"2025-07-01T02:30:00.000Z"`}},
		{name: "currency micros as string", method: "PATCH", path: "/rest/opportunities/" + pilotID, body: `{"amount":{"amountMicros":"2500000"}}`, status: 200,
			has: []string{`"amount":{"amountMicros":2500000,"currencyCode":"IDR"}`}},
		{name: "composite update merges sub-fields", method: "PATCH", path: "/rest/people/" + aniID, body: `{"name":{"lastName":"W."}}`, status: 200,
			has: []string{`"name":{"firstName":"Ani","lastName":"W."}`}},
		{name: "unknown field", method: "POST", path: "/rest/people", body: `{"nickname":"x"}`, status: 400,
			has: []string{`Object person doesn't have any \"nickname\" field.`}},
		{name: "unknown composite sub-field", method: "POST", path: "/rest/people", body: `{"emails":{"primary":"x"}}`, status: 400},
		{name: "wrong type", method: "POST", path: "/rest/companies", body: `{"employees":"many"}`, status: 400, has: []string{`expected a number`}},
		{name: "bad date", method: "POST", path: "/rest/opportunities", body: `{"closeDate":"next week"}`, status: 400,
			has: []string{`invalid input syntax for type timestamp`}},
		{name: "legacy target column names", method: "POST", path: "/rest/noteTargets", status: 201,
			body: `{"personId":"` + aniID + `"}`, has: []string{`"targetPersonId":"` + aniID + `"`}},
		{name: "depth 1 adds relations", method: "GET", path: "/rest/people/" + aniID + "?depth=1", status: 200,
			has: []string{`"company":{`, `"name":"Acme"`}},
		{name: "depth 1 one-to-many", method: "GET", path: "/rest/companies/" + acmeID + "?depth=1", status: 200,
			has: []string{`"people":[{`, `"opportunities":[{`}},
		{name: "depth 0 has ids only", method: "GET", path: "/rest/people/" + aniID, status: 200,
			has: []string{`"companyId":"` + acmeID + `"`}, hasNot: []string{`"company":{`}},
		{name: "depth 2 refused", method: "GET", path: "/rest/people?depth=2", status: 400, has: []string{`depth`}},
	})
}

func q(s string) string { return url.QueryEscape(s) }

func TestListFilters(t *testing.T) {
	_, u := startSeeded(t, Config{})
	cases := []struct {
		name   string
		plural string
		filter string
		want   []string // ids, in default (position) order
		status int
		msg    string
	}{
		{"eq text", "people", `city[eq]:Jakarta`, []string{aniID, citraID}, 200, ""},
		{"quotes stripped", "people", `city[eq]:"Jakarta"`, []string{aniID, citraID}, 200, ""},
		{"neq", "people", `city[neq]:Jakarta`, []string{budiID}, 200, ""},
		{"comma is AND", "people", `city[eq]:Jakarta,jobTitle[eq]:CTO`, []string{citraID}, 200, ""},
		{"and()", "people", `and(city[eq]:Jakarta,jobTitle[eq]:CTO)`, []string{citraID}, 200, ""},
		{"or()", "people", `or(city[eq]:Bandung,jobTitle[eq]:CTO)`, []string{budiID, citraID}, 200, ""},
		{"not()", "people", `not(city[eq]:Jakarta)`, []string{budiID}, 200, ""},
		{"nested", "people", `or(and(city[eq]:Jakarta,not(jobTitle[eq]:CTO)),city[eq]:Bandung)`, []string{aniID, budiID}, 200, ""},
		{"in", "people", `city[in]:[Bandung,"Medan"]`, []string{budiID}, 200, ""},
		{"composite dot path", "people", `emails.primaryEmail[eq]:"ani@acme.example"`, []string{aniID}, 200, ""},
		{"emails are lower-cased so upper case finds nothing", "people", `emails.primaryEmail[eq]:"ANI@ACME.EXAMPLE"`, nil, 200, ""},
		{"containsAny on array sub-field", "people", `emails.additionalEmails[containsAny]:["ani.w@gmail.example"]`, []string{aniID}, 200, ""},
		{"containsExactly", "people", `emails.additionalEmails[containsExactly]:["ani.w@gmail.example"]`, []string{aniID}, 200, ""},
		{"is NULL", "people", `companyId[is]:NULL`, []string{citraID}, 200, ""},
		{"is NOT_NULL", "people", `companyId[is]:NOT_NULL`, []string{aniID, budiID}, 200, ""},
		{"gt number", "companies", `employees[gt]:10`, []string{betaID}, 200, ""},
		{"NULL never matches neq", "companies", `employees[neq]:50`, nil, 200, ""},
		{"NULL never matches not()", "companies", `not(employees[eq]:50)`, nil, 200, ""},
		{"lte date", "opportunities", `closeDate[lte]:"2025-03-01T00:00:00Z"`, []string{renewID}, 200, ""},
		{"gte date-time", "people", `createdAt[gte]:"2000-01-01T00:00:00.000Z"`, []string{aniID, budiID, citraID}, 200, ""},
		{"startsWith", "companies", `name[startsWith]:Bet`, []string{betaID}, 200, ""},
		{"endsWith", "companies", `name[endsWith]:"Koperasi"`, []string{betaID}, 200, ""},
		{"like is case-sensitive", "companies", `name[like]:"%cme"`, []string{acmeID}, 200, ""},
		{"like misses other case", "companies", `name[like]:"%CME"`, nil, 200, ""},
		{"ilike", "companies", `name[ilike]:"%CME%"`, []string{acmeID}, 200, ""},
		{"boolean", "companies", `idealCustomerProfile[eq]:true`, []string{betaID}, 200, ""},
		{"enum unquoted", "opportunities", `stage[eq]:MEETING`, []string{renewID}, 200, ""},
		{"enum in", "opportunities", `stage[in]:[NEW,MEETING]`, []string{pilotID, renewID}, 200, ""},
		{"enum quoted is a 400", "opportunities", `stage[eq]:"NEW"`, nil, 400, `invalid input value for enum opportunity_stage_enum`},
		{"unknown enum value", "opportunities", `stage[eq]:WON`, nil, 400, `invalid input value for enum`},
		{"uuid eq", "people", `id[eq]:` + budiID, []string{budiID}, 200, ""},
		{"bad uuid", "people", `id[eq]:42`, nil, 400, `invalid input syntax for type uuid`},
		{"soft-deleted excluded", "people", `emails.primaryEmail[eq]:"dewi@acme.example"`, nil, 200, ""},
		{"deletedAt mentioned includes soft-deleted", "people", `deletedAt[is]:NOT_NULL`, []string{dewiID}, 200, ""},
		{"deletedAt in or() includes all", "people", `or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL)`, []string{aniID, budiID, citraID, dewiID}, 200, ""},
		{"unknown field", "people", `nickname[eq]:x`, nil, 400, `field 'nickname' does not exist in 'person' object`},
		{"unknown operator", "people", `city[contains]:x`, nil, 400, `unknown operator`},
		{"composite without sub-field", "people", `emails[eq]:x`, nil, 400, `needs a sub-field`},
		{"missing colon", "people", `city[eq]Jakarta`, nil, 400, `Invalid filter`},
		{"unbalanced", "people", `or(city[eq]:Jakarta`, nil, 400, `missing ')'`},
		{"bad number", "companies", `employees[gt]:many`, nil, 400, `double precision`},
		{"is takes NULL", "people", `city[is]:Jakarta`, nil, 400, `NULL or NOT_NULL`},
		{"in takes a list", "people", `city[in]:Jakarta`, nil, 400, `takes a list`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, u, "GET", "/rest/"+c.plural+"?filter="+q(c.filter), "", nil)
			if r.status != c.status {
				t.Fatalf("filter %s: status %d, want %d: %s", c.filter, r.status, c.status, r.body)
			}
			if c.status != 200 {
				if !strings.Contains(r.body, c.msg) || !strings.Contains(r.body, `"statusCode":400`) {
					t.Fatalf("filter %s: body %s lacks %q", c.filter, r.body, c.msg)
				}
				return
			}
			got := listIDs(t, r, c.plural)
			if len(got) != len(c.want) || (len(got) > 0 && !reflect.DeepEqual(got, c.want)) {
				t.Fatalf("filter %s: got %v, want %v", c.filter, got, c.want)
			}
			if tc := r.json(t)["totalCount"].(float64); int(tc) != len(c.want) {
				t.Fatalf("filter %s: totalCount %v, want %d", c.filter, tc, len(c.want))
			}
		})
	}
}

func TestListLimitsAndErrors(t *testing.T) {
	s, u := startSeeded(t, Config{})
	var batch []string
	for i := range 250 {
		batch = append(batch, fmt.Sprintf(`{"name":"C%03d"}`, i))
	}
	// 250 more companies, in two batches within the 200 limit
	call(t, u, "POST", "/rest/batch/companies", "["+strings.Join(batch[:200], ",")+"]", nil)
	call(t, u, "POST", "/rest/batch/companies", "["+strings.Join(batch[200:], ",")+"]", nil)
	if n := len(s.Records("companies")); n != 252 {
		t.Fatalf("companies stored: %d, want 252", n)
	}
	for _, c := range []struct {
		query string
		rows  int
		next  bool
	}{
		{"", 60, true},       // default limit 60
		{"limit=5", 5, true}, // explicit
		{"limit=200", 200, true},
		{"limit=1000", 200, true}, // clamped silently
		{"limit=0", 0, true},
	} {
		r := call(t, u, "GET", "/rest/companies?"+c.query, "", nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", c.query, r.status, r.body)
		}
		m := r.json(t)
		if got := len(listIDs(t, r, "companies")); got != c.rows {
			t.Errorf("%s: %d rows, want %d", c.query, got, c.rows)
		}
		if m["totalCount"].(float64) != 252 {
			t.Errorf("%s: totalCount %v", c.query, m["totalCount"])
		}
		if m["pageInfo"].(map[string]any)["hasNextPage"] != c.next {
			t.Errorf("%s: hasNextPage %v", c.query, m["pageInfo"])
		}
	}
	runSteps(t, u, []step{
		{name: "negative limit", method: "GET", path: "/rest/companies?limit=-1", status: 400, has: []string{"limit"}},
		{name: "limit not a number", method: "GET", path: "/rest/companies?limit=ten", status: 400, has: []string{"limit"}},
		{name: "depth not a number", method: "GET", path: "/rest/companies?depth=x", status: 400, has: []string{"depth"}},
		{name: "both cursors", method: "GET", path: "/rest/companies?starting_after=eyJpZCI6IngifQ%3D%3D&ending_before=eyJpZCI6IngifQ%3D%3D", status: 400,
			has: []string{"starting_after and ending_before cannot be used together"}},
		{name: "garbage cursor", method: "GET", path: "/rest/companies?starting_after=%25%25", status: 400, has: []string{"Invalid cursor"}},
		{name: "bad direction", method: "GET", path: "/rest/companies?order_by=name[Up]", status: 400, has: []string{"direction"}},
		{name: "order by unknown field", method: "GET", path: "/rest/companies?order_by=size", status: 400, has: []string{"does not exist"}},
	})
}
