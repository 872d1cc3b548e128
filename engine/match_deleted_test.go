package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// person is a sink record with a first name and an e-mail.
func person(id, first, email string, deleted bool) connectors.Record {
	return connectors.Record{ID: id, Deleted: deleted, Fields: map[string]any{
		"name":   map[string]any{"firstName": first, "lastName": "Santoso"},
		"emails": map[string]any{"primaryEmail": email},
	}}
}

var deletePolicies = []string{config.DeletePropagate, config.DeleteIgnore, config.DeleteSoft}

// eachDeletePolicy runs f, on each store, with a both-way members pipeline
// under each of the delete policies.
func eachDeletePolicy(t *testing.T, policies []string, f func(t *testing.T, e *env)) {
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				p := members(config.Both)
				p.Delete = config.Delete{Policy: policy}
				f(t, newEnv(t, open, p))
			})
		})
	}
}

// checkUntouched fails unless the record id of stream is still there,
// soft-deleted, with the given first name under the field path.
func checkUntouched(t *testing.T, s map[string]connectors.Record, id, path, first string, plan []engine.Decision) {
	t.Helper()
	r, ok := s[id]
	if !ok {
		t.Fatalf("deleted record %s was destroyed; plan %+v", id, plan)
	}
	if !r.Deleted {
		t.Fatalf("deleted record %s was restored: %+v; plan %+v", id, r.Fields, plan)
	}
	if got, _ := get(r.Fields, path); got != first {
		t.Fatalf("deleted record %s was written: %s = %v; plan %+v", id, path, got, plan)
	}
}

// checkSettled fails when a --full run writes anything or leaves rejects.
func checkSettled(t *testing.T, e *env) {
	t.Helper()
	ws, wk := e.src.Writes(), e.snk.Writes()
	res := e.runOK(engine.RunParams{Full: true, KeepPlan: true})
	if e.src.Writes() != ws || e.snk.Writes() != wk {
		t.Fatalf("a --full run after the match wrote; plan %+v", res.Plan)
	}
	if rj, _ := e.store.Rejects(context.Background(), "members"); len(rj) != 0 {
		t.Fatalf("rejects left: %+v", rj)
	}
}

// TestNewRecordNeverMatchesADeletedOne: a new (unlinked) source record whose
// identity value equals that of a soft-deleted, never synced sink record is
// created on the sink as a new record, whatever the delete policy: the
// deleted record is no match (it would delete the new record under
// propagate and soft, and hide it from the sink under ignore).
func TestNewRecordNeverMatchesADeletedOne(t *testing.T) {
	eachDeletePolicy(t, deletePolicies, func(t *testing.T, e *env) {
		e.src.S("members").Put(member("m1", "Ani", "ani@kelompok.id"))
		e.snk.S("people").Put(person("p-old", "Budi (old)", "budi@kelompok.id", true))
		e.runOK(engine.RunParams{})
		// A new member with the deleted person's e-mail joins.
		e.src.S("members").Put(member("m2", "Budi Baru", "budi@kelompok.id"))
		res := e.runOK(engine.RunParams{KeepPlan: true})
		m, ok := e.src.S("members").All()["m2"]
		if !ok || m.Deleted {
			t.Fatalf("new member m2 lost (present %v, deleted %v); plan %+v", ok, m.Deleted, res.Plan)
		}
		checkUntouched(t, e.snk.S("people").All(), "p-old", "name.firstName", "Budi (old)", res.Plan)
		links, _ := e.store.LinksBySource(context.Background(), "members", []string{"m2"})
		id := engine.CreateID("members", config.SideSink, "m2")
		if links["m2"].SinkKey != id {
			t.Fatalf("m2 linked to %q, want the created %s; plan %+v", links["m2"].SinkKey, id, res.Plan)
		}
		if got := e.person("m2"); got.Deleted || first(got) != "Budi Baru" {
			t.Fatalf("created person %+v", got)
		}
		if res.Counts.Created != 1 || res.Counts.Deleted != 0 || res.Counts.Linked != 0 {
			t.Fatalf("counts %+v; plan %+v", res.Counts, res.Plan)
		}
		checkSettled(t, e)
	})
}

// TestNewSinkRecordNeverMatchesADeletedSource is the same from the sink: a
// new person is created in the source, not matched to a deleted member.
func TestNewSinkRecordNeverMatchesADeletedSource(t *testing.T) {
	eachDeletePolicy(t, deletePolicies, func(t *testing.T, e *env) {
		old := member("m-old", "Budi (old)", "budi@kelompok.id")
		old.Deleted = true
		e.src.S("members").Put(member("m1", "Ani", "ani@kelompok.id"), old)
		e.runOK(engine.RunParams{})
		e.snk.S("people").Put(person("p-new", "Budi Baru", "budi@kelompok.id", false))
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if r, ok := e.snk.S("people").All()["p-new"]; !ok || r.Deleted {
			t.Fatalf("new person p-new lost (present %v, deleted %v); plan %+v", ok, r.Deleted, res.Plan)
		}
		checkUntouched(t, e.src.S("members").All(), "m-old", "first", "Budi (old)", res.Plan)
		links, _ := e.store.LinksBySink(context.Background(), "members", []string{"p-new"})
		id := engine.CreateID("members", config.SideSource, "p-new")
		if links["p-new"].SourceKey != id {
			t.Fatalf("p-new linked to %q, want the created %s; plan %+v", links["p-new"].SourceKey, id, res.Plan)
		}
		if got, ok := e.src.S("members").All()[id]; !ok || got.Deleted || got.Fields["first"] != "Budi Baru" {
			t.Fatalf("created member %+v (present %v)", got, ok)
		}
		checkSettled(t, e)
	})
}

// TestRecreatedRecordIsCreatedAgain: a member deleted (the delete
// propagated to the person) and then re-created by the user with the same
// e-mail gets a new person; the deleted pair stays deleted. (Under soft the
// old person is kept soft-deleted and linked to m1, and used to be a
// candidate; under propagate it is destroyed, so this case checks that the
// outcome is the same.)
func TestRecreatedRecordIsCreatedAgain(t *testing.T) {
	eachDeletePolicy(t, []string{config.DeletePropagate, config.DeleteSoft}, func(t *testing.T, e *env) {
		e.src.S("members").Put(member("m1", "Budi", "budi@kelompok.id"))
		e.runOK(engine.RunParams{})
		oldID := engine.CreateID("members", config.SideSink, "m1")
		del(t, e.src, "members", "m1")
		e.runOK(engine.RunParams{})
		if r, ok := e.snk.S("people").All()[oldID]; ok && !r.Deleted {
			t.Fatalf("the delete of m1 did not reach its person: %+v", r)
		}
		e.src.S("members").Put(member("m2", "Budi Lagi", "budi@kelompok.id"))
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if m, ok := e.src.S("members").All()["m2"]; !ok || m.Deleted {
			t.Fatalf("re-created member m2 lost; plan %+v", res.Plan)
		}
		if r, ok := e.snk.S("people").All()[oldID]; ok && !r.Deleted {
			t.Fatalf("the old person was restored: %+v; plan %+v", r, res.Plan)
		}
		if got := e.person("m2"); got.Deleted || first(got) != "Budi Lagi" {
			t.Fatalf("created person %+v; plan %+v", got, res.Plan)
		}
		checkSettled(t, e)
	})
}

// TestDeletedCandidatesAreNoAmbiguity: deleted candidates are not counted:
// one deleted and one live candidate link the live one; only deleted
// candidates create; two live candidates (and a deleted one) are still
// ambiguous, and the reject names the live ones only.
func TestDeletedCandidatesAreNoAmbiguity(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.Delete = config.Delete{Policy: config.DeletePropagate}
		e := newEnv(t, open, p)
		e.src.S("members").Put(
			member("m1", "Budi", "budi@kelompok.id"),
			member("m2", "Dewi", "dewi@kelompok.id"),
			member("m3", "Agus", "agus@kelompok.id"),
		)
		e.snk.S("people").Put(
			// m1: one deleted, one live
			person("p-budi-old", "Budi (old)", "budi@kelompok.id", true),
			person("p-budi", "Budi", "budi@kelompok.id", false),
			// m2: two deleted
			person("p-dewi-1", "Dewi (1)", "dewi@kelompok.id", true),
			person("p-dewi-2", "Dewi (2)", "dewi@kelompok.id", true),
			// m3: a deleted and two live
			person("p-agus-old", "Agus (old)", "agus@kelompok.id", true),
			person("p-agus-1", "Agus", "agus@kelompok.id", false),
			person("p-agus-2", "Agus", "agus@kelompok.id", false),
		)
		res := e.run(engine.RunParams{KeepPlan: true})[0]
		links, _ := e.store.LinksBySource(context.Background(), "members", []string{"m1", "m2", "m3"})
		if links["m1"].SinkKey != "p-budi" {
			t.Fatalf("m1 linked to %q, want p-budi; plan %+v", links["m1"].SinkKey, res.Plan)
		}
		if id := engine.CreateID("members", config.SideSink, "m2"); links["m2"].SinkKey != id {
			t.Fatalf("m2 linked to %q, want the created %s; plan %+v", links["m2"].SinkKey, id, res.Plan)
		}
		if _, ok := links["m3"]; ok {
			t.Fatalf("m3 linked: %+v", links["m3"])
		}
		// m3 is ambiguous between the two live persons only; reading the
		// sink, each of them is refused for matching m3, which the other
		// claims too. No reject names a deleted person.
		rejects, _ := e.store.Rejects(context.Background(), "members")
		want := map[string]string{
			"m3":       `ambiguous match: 2 sink records have emails.primaryEmail = "agus@kelompok.id" (p-agus-1, p-agus-2)`,
			"p-agus-1": "ambiguous match: source record m3 matches 2 sink records (p-agus-1, p-agus-2)",
			"p-agus-2": "ambiguous match: source record m3 matches 2 sink records (p-agus-1, p-agus-2)",
		}
		if len(rejects) != len(want) {
			t.Fatalf("rejects = %+v", rejects)
		}
		for _, rj := range rejects {
			if !strings.Contains(rj.Reason, want[rj.Key]) || strings.Contains(rj.Reason, "old") || strings.Contains(rj.Reason, "dewi") {
				t.Fatalf("reject of %s: %q", rj.Key, rj.Reason)
			}
		}
		all := e.snk.S("people").All()
		for id, first := range map[string]string{"p-budi-old": "Budi (old)", "p-dewi-1": "Dewi (1)", "p-dewi-2": "Dewi (2)", "p-agus-old": "Agus (old)"} {
			checkUntouched(t, all, id, "name.firstName", first, res.Plan)
		}
		for _, id := range []string{"m1", "m2", "m3"} {
			if m, ok := e.src.S("members").All()[id]; !ok || m.Deleted {
				t.Fatalf("member %s lost; plan %+v", id, res.Plan)
			}
		}
		if res.Counts.Created != 1 || res.Counts.Deleted != 0 || res.Counts.Rejected != 3 {
			t.Fatalf("counts %+v; plan %+v", res.Counts, res.Plan)
		}
	})
}
