package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/state"
)

// The first sync of the shipped pipelines: organizations -> companies,
// members -> people (pre-existing people linked by email, not duplicated,
// companyId resolved through the organizations links), events ->
// opportunities; claim status and date carried, national_id and the
// claimant never in Twenty nor in the audit; a rerun writes nothing.
func TestFirstSyncOfTheShippedPipelines(t *testing.T) {
	e := newEnv(t, options{preexisting: 8})
	preexisting := map[string]string{} // email -> person id
	for _, p := range e.twenty.Records("people") {
		preexisting[get(p, "emails.primaryEmail").(string)] = p["id"].(string)
	}
	if len(preexisting) != e.pre || e.pre == 0 {
		t.Fatalf("seeded %d pre-existing people, Twenty has %d", e.pre, len(preexisting))
	}

	first := e.run()
	for _, name := range []string{"organizations", "members", "events"} {
		if _, ok := first[name]; !ok {
			t.Fatalf("pipeline %s did not run (ran: %v)", name, first)
		}
	}
	if got := first["members"].Counts.Linked; got < e.pre {
		t.Errorf("members linked %d existing people, want at least the %d pre-existing", got, e.pre)
	}

	// People: one per pushed member, none duplicated by email, the
	// pre-existing ones kept (same id) and linked to their member.
	people := e.twenty.Records("people")
	byEmail := map[string]int{}
	for _, p := range people {
		if email, _ := get(p, "emails.primaryEmail").(string); email != "" {
			byEmail[strings.ToLower(email)]++
		}
	}
	for email, n := range byEmail {
		if n > 1 {
			t.Errorf("%d people share the email %q", n, email)
		}
	}
	rejected := first["members"].Counts.Rejected
	waiting := first["members"].Counts.Skipped
	if want := len(e.data.Members) - rejected - waiting; len(people) != want {
		t.Errorf("Twenty has %d people, want %d (%d members - %d rejected - %d skipped)", len(people), want, len(e.data.Members), rejected, waiting)
	}
	for _, m := range e.data.Members {
		if m.Email == nil {
			continue
		}
		email := strings.ToLower(strings.TrimSpace(*m.Email))
		if id, ok := preexisting[email]; ok {
			if got, linked := e.link("members", m.ID); !linked || got != id {
				t.Errorf("member %s (%s) linked to %q, want the pre-existing person %s", m.ID, email, got, id)
			}
		}
	}

	// Rejected members are the ones with an invalid email, with a reason.
	rejects, err := e.store.Rejects(e.ctx, "members")
	if err != nil {
		t.Fatal(err)
	}
	if len(rejects) != rejected {
		t.Errorf("%d rejects stored, run counted %d", len(rejects), rejected)
	}
	for _, d := range first["members"].Plan {
		if d.Action == state.ActionReject && d.Reason == "" {
			t.Errorf("reject of %s has no reason", d.SourceKey)
		}
	}

	// Companies carry claim status and date; companyId of people and
	// opportunities resolves through the organizations links.
	orgCompany := map[string]string{}
	for _, o := range e.data.Organizations {
		id, ok := e.link("organizations", o.ID)
		if !ok {
			t.Errorf("organization %s (%s) has no company", o.ID, o.Name)
			continue
		}
		orgCompany[o.ID] = id
		c, _ := e.twenty.Get("companies", id)
		if got := c["claimStatus"]; got != o.ClaimStatus {
			t.Errorf("company of %s: claimStatus %v, want %q", o.Name, got, o.ClaimStatus)
		}
		claimedAt, _ := c["claimedAt"].(string)
		switch {
		case o.ClaimedAt == nil && claimedAt != "":
			t.Errorf("company of unclaimed %s has claimedAt %q", o.Name, claimedAt)
		case o.ClaimedAt != nil:
			at, err := time.Parse(time.RFC3339Nano, claimedAt)
			if err != nil || !at.Equal(*o.ClaimedAt) {
				t.Errorf("company of %s: claimedAt %q, want %s", o.Name, claimedAt, o.ClaimedAt.Format(time.RFC3339Nano))
			}
		}
	}
	for _, m := range e.data.Members {
		if m.OrganizationID == nil {
			continue
		}
		if _, ok := e.link("members", m.ID); !ok {
			continue
		}
		if got, want := e.person(m.ID)["companyId"], orgCompany[*m.OrganizationID]; got != want {
			t.Errorf("person of member %s: companyId %v, want %s (the company of organization %s)", m.ID, got, want, *m.OrganizationID)
		}
	}
	nonDraft := 0
	for _, ev := range e.data.Events {
		id, ok := e.link("events", ev.ID)
		if ev.Status == "draft" {
			if ok {
				t.Errorf("draft event %s was pushed", ev.ID)
			}
			continue
		}
		nonDraft++
		if !ok {
			t.Errorf("event %s (%s) has no opportunity", ev.ID, ev.Status)
			continue
		}
		o, _ := e.twenty.Get("opportunities", id)
		if o["name"] != ev.Title || o["companyId"] != orgCompany[*ev.OrganizationID] {
			t.Errorf("opportunity of event %s: name %v companyId %v, want %q and %s", ev.ID, o["name"], o["companyId"], ev.Title, orgCompany[*ev.OrganizationID])
		}
	}
	if got := len(e.twenty.Records("opportunities")); got != nonDraft {
		t.Errorf("Twenty has %d opportunities, want %d (events not in draft)", got, nonDraft)
	}

	// Sensitive values: no NIK and no claimant id anywhere in Twenty or in
	// the audit trail.
	everything := asJSON(t, map[string]any{"people": people, "companies": e.twenty.Records("companies"), "opportunities": e.twenty.Records("opportunities")})
	runs, err := e.store.RunList(e.ctx, state.RunListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var audit []state.AuditEntry
	for _, r := range runs {
		entries, err := e.store.AuditList(e.ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		audit = append(audit, entries...)
	}
	if len(audit) == 0 {
		t.Fatal("the runs left no audit trail")
	}
	auditText := asJSON(t, audit)
	for _, m := range e.data.Members {
		if m.NationalID != nil && (strings.Contains(everything, *m.NationalID) || strings.Contains(auditText, *m.NationalID)) {
			t.Fatalf("the national_id of member %s left Kelompok", m.ID)
		}
	}
	if strings.Contains(auditText, "national_id") {
		t.Error("the audit trail names the national_id field")
	}
	for _, o := range e.data.Organizations {
		if o.ClaimedBy != nil && strings.Contains(asJSON(t, e.twenty.Records("companies")), *o.ClaimedBy) {
			t.Errorf("the claimant of %s is in Twenty", o.Name)
		}
	}

	// Nothing changed: the rerun writes nothing.
	if n := writes(e.run()); n != 0 {
		t.Errorf("the rerun wrote %d records", n)
	}
	// Polling only: no webhook was ever delivered.
	if d := e.twenty.Deliveries(); len(d) != 0 {
		t.Errorf("%d webhook deliveries; the tests poll only", len(d))
	}
}

// Edits on either side travel to the other on the next run, found by
// polling (no webhooks): Kelompok -> Twenty, and Twenty -> Kelompok for
// the members pipeline (direction both).
func TestPushAndPullChanges(t *testing.T) {
	e := newEnv(t, options{})
	e.run()
	m := e.syncedMember(0)

	// Push: a member's name changes in Kelompok.
	e.exec("UPDATE members SET full_name = $1, updated_at = now() WHERE id = $2", "Rina Kusumawati", m.ID)
	res := e.run("members")
	if res["members"].Counts.Updated != 1 {
		t.Errorf("push: %d updates, want 1 (%+v)", res["members"].Counts.Updated, res["members"].Counts)
	}
	p := e.person(m.ID)
	if get(p, "name.firstName") != "Rina" || get(p, "name.lastName") != "Kusumawati" {
		t.Errorf("push: person name is %v %v, want Rina Kusumawati", get(p, "name.firstName"), get(p, "name.lastName"))
	}

	// Pull: the person's job title changes in Twenty (as a user would).
	if _, err := e.twenty.Put("people", map[string]any{"id": p["id"], "jobTitle": "Bendahara Umum"}); err != nil {
		t.Fatal(err)
	}
	res = e.run("members")
	if res["members"].Counts.Updated != 1 {
		t.Errorf("pull: %d updates, want 1 (%+v)", res["members"].Counts.Updated, res["members"].Counts)
	}
	if got := e.memberText(m.ID, "position"); got == nil || *got != "Bendahara Umum" {
		t.Errorf("pull: member position is %v, want Bendahara Umum", got)
	}

	// Our own writes are not read back as changes.
	if n := writes(e.run()); n != 0 {
		t.Errorf("after push and pull, a rerun wrote %d records", n)
	}
	if d := e.twenty.Deliveries(); len(d) != 0 {
		t.Errorf("%d webhook deliveries; the tests poll only", len(d))
	}
}
