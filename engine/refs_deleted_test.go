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

// orgEnv is the organizations pipeline (kelompok.orgs -> crm.companies,
// delete policy orgDelete) and members, whose companyId is
// ref("organizations", org) and which waits for unresolved refs.
func orgEnv(t *testing.T, open func(testing.TB) state.Store, orgDelete string, direction string) *env {
	t.Helper()
	orgs := members(config.Push)
	orgs.Name = "organizations"
	orgs.Source.Stream, orgs.Sink.Stream = "orgs", "companies"
	orgs.Match = nil
	orgs.Push = &config.Mapping{Fields: []config.FieldMapping{{Target: "name", Expr: "name"}}}
	orgs.Delete = config.Delete{Policy: orgDelete}
	mem := members(direction)
	mem.Unresolved = "wait"
	if mem.Push != nil {
		mem.Push.Fields = append(mem.Push.Fields, config.FieldMapping{Target: "companyId", Expr: "org"})
	}
	if mem.Pull != nil {
		// The pull mapping's target is named companyId too, so that refFake
		// makes it ref("organizations", <the person's companyId>): a key of
		// the organizations pipeline's sink.
		mem.Pull.Fields = append(mem.Pull.Fields, config.FieldMapping{Target: "companyId", Expr: "companyId"})
	}
	e := newEnv(t, open, orgs, mem)
	eng, err := engine.New(engine.Config{Config: e.cfg, Store: e.store, Registry: registryOf(e), Mappers: refFake{}, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
	return e
}

func (e *env) memberOf(id, first, org string) connectors.Record {
	m := member(id, first, first+"@kelompok.id")
	m.Fields["org"] = org
	return m
}

// reject returns the open reject of members for a key read from side.
func (e *env) reject(side, key string) state.Reject {
	e.t.Helper()
	list := e.rejects()
	for _, rj := range list {
		if rj.Side == side && rj.Key == key {
			return rj
		}
	}
	e.t.Fatalf("no open reject of members for %s key %s (open: %+v)", side, key, list)
	return state.Reject{}
}

func (e *env) runMembers() engine.Result {
	e.t.Helper()
	return e.run(engine.RunParams{Pipelines: []string{"members"}})[0]
}

func restore(t testing.TB, s connectors.Stream, id string) {
	t.Helper()
	res, err := s.Write(context.Background(), []connectors.Change{{Op: connectors.OpRestore, ID: id}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("restore %s: %v %v", id, err, res[0].Err)
	}
}

// checkLinked: a run of members after the organization is back creates the
// member, pointing at the organization's company, and clears its reject.
func (e *env) checkLinked(key, org string) {
	e.t.Helper()
	res := e.runMembers()
	if res.Status != state.RunSucceeded || res.Counts.Created != 1 {
		e.t.Fatalf("run after the organization is back: %s %s %+v", res.Status, res.Error, res.Counts)
	}
	if got, want := e.person(key).Fields["companyId"], engine.CreateID("organizations", config.SideSink, org); got != want {
		e.t.Fatalf("companyId = %v, want %v", got, want)
	}
	if list := e.rejects(); len(list) != 0 {
		e.t.Fatalf("rejects left: %+v", list)
	}
}

// TestRefToDestroyedOrganizationRejects: an organization synced, then
// deleted on the source and destroyed in the CRM (delete policy
// propagate, which removes its link): a member that refers to it would wait
// for a link that never comes. It is rejected, saying why, and the run is
// partial; once the organization is restored and synced again, the member
// is created.
func TestRefToDestroyedOrganizationRejects(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := orgEnv(t, open, config.DeletePropagate, config.Push)
		e.src.S("orgs").Put(connectors.Record{ID: "o1", Fields: map[string]any{"name": "Kelompok Tani"}})
		e.runOK(engine.RunParams{Pipelines: []string{"organizations"}})
		del(t, e.src, "orgs", "o1")
		if res := e.runOK(engine.RunParams{Pipelines: []string{"organizations"}}); res.Counts.Deleted != 1 || e.snk.S("companies").Len() != 0 {
			t.Fatalf("organization delete: %+v, %d companies", res.Counts, e.snk.S("companies").Len())
		}
		e.src.S("members").Put(e.memberOf("m1", "Ani", "o1"), member("m2", "Eko", "eko@kelompok.id"))
		res := e.runMembers()
		if res.Status != state.RunPartial || res.Counts.Rejected != 1 || res.Counts.Skipped != 0 || res.Counts.Created != 1 {
			t.Fatalf("run: %s %+v", res.Status, res.Counts)
		}
		want := "refers to organizations source key o1, which is deleted there: change the reference or restore that record (retried on later runs)"
		if rj := e.reject(config.SideSource, "m1"); rj.Reason != want {
			t.Fatalf("reason = %q, want %q", rj.Reason, want)
		}
		// Still deleted: still rejected, still saying why.
		if res := e.runMembers(); res.Status != state.RunPartial || res.Counts.Rejected != 1 {
			t.Fatalf("second run: %s %+v", res.Status, res.Counts)
		}
		restore(t, e.src.S("orgs"), "o1")
		if res := e.runOK(engine.RunParams{Pipelines: []string{"organizations"}}); res.Counts.Created != 1 {
			t.Fatalf("organization restore: %+v", res.Counts)
		}
		e.checkLinked("m1", "o1")
	})
}

// TestRefToSoftDeletedOrganizationRejects: an organization soft-deleted
// before it was ever synced has no link and never will: a member that
// refers to it is rejected, even with unresolved "wait". Restored, the
// organization is synced and the member follows.
func TestRefToSoftDeletedOrganizationRejects(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := orgEnv(t, open, config.DeleteSoft, config.Push)
		e.src.S("orgs").Put(connectors.Record{ID: "o1", Deleted: true, Fields: map[string]any{"name": "Kelompok Tani"}})
		e.src.S("members").Put(e.memberOf("m1", "Ani", "o1"))
		if res := e.runOK(engine.RunParams{Pipelines: []string{"organizations"}}); res.Counts.Created != 0 || res.Counts.Skipped != 1 {
			t.Fatalf("organizations: %+v", res.Counts)
		}
		if m := e.runMembers(); m.Status != state.RunPartial || m.Counts.Rejected != 1 || m.Counts.Skipped != 0 {
			t.Fatalf("members: %s %+v", m.Status, m.Counts)
		}
		if rj := e.reject(config.SideSource, "m1"); !strings.HasPrefix(rj.Reason, "refers to organizations source key o1, which is deleted there") {
			t.Fatalf("reason = %q", rj.Reason)
		}
		restore(t, e.src.S("orgs"), "o1")
		e.runOK(engine.RunParams{Pipelines: []string{"organizations"}})
		e.checkLinked("m1", "o1")
	})
}

// TestRefToMissingOrganizationRejects: a member referring to an
// organization that does not exist at all is rejected, saying so; created,
// the organization is synced and the member follows.
func TestRefToMissingOrganizationRejects(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := orgEnv(t, open, config.DeletePropagate, config.Push)
		e.src.S("members").Put(e.memberOf("m1", "Ani", "o9"))
		res := e.runMembers()
		if res.Status != state.RunPartial || res.Counts.Rejected != 1 {
			t.Fatalf("run: %s %+v", res.Status, res.Counts)
		}
		want := "refers to organizations source key o9, which does not exist there: change the reference or restore that record (retried on later runs)"
		if rj := e.reject(config.SideSource, "m1"); rj.Reason != want {
			t.Fatalf("reason = %q, want %q", rj.Reason, want)
		}
		e.src.S("orgs").Put(connectors.Record{ID: "o9", Fields: map[string]any{"name": "Kelompok Nelayan"}})
		e.runOK(engine.RunParams{Pipelines: []string{"organizations"}})
		e.checkLinked("m1", "o9")
	})
}

// TestRefToRejectedOrganizationWaitsSayingWhy: an organization its pipeline
// refused (a mapping error) has no link; a member referring to it waits, as
// unresolved "wait" says, and its reason carries the organization's reject.
// With unresolved "reject" it is rejected with the same explanation. Once
// the organization is fixed, the member is created.
func TestRefToRejectedOrganizationWaitsSayingWhy(t *testing.T) {
	for _, mode := range []string{"wait", "reject"} {
		t.Run(mode, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				e := orgEnv(t, open, config.DeletePropagate, config.Push)
				e.cfg.Pipelines["members"].Unresolved = mode
				e.src.S("orgs").Put(connectors.Record{ID: "o1", Fields: map[string]any{"name": "Kelompok Tani", "invalid": true}})
				e.src.S("members").Put(e.memberOf("m1", "Ani", "o1"))
				if res := e.run(engine.RunParams{Pipelines: []string{"organizations"}})[0]; res.Status != state.RunPartial || res.Counts.Rejected != 1 {
					t.Fatalf("organizations: %s %+v", res.Status, res.Counts)
				}
				res := e.runMembers()
				what := "organizations has not linked source key o1: it was rejected there (push mapping: invalid value in field email)"
				want := "waiting: " + what + " (retried on the next run)"
				if mode == "wait" {
					if res.Status != state.RunSucceeded || res.Counts.Skipped != 1 || res.Counts.Rejected != 0 {
						t.Fatalf("members: %s %+v", res.Status, res.Counts)
					}
				} else {
					want = what
					if res.Status != state.RunPartial || res.Counts.Rejected != 1 {
						t.Fatalf("members: %s %+v", res.Status, res.Counts)
					}
				}
				if rj := e.reject(config.SideSource, "m1"); rj.Reason != want {
					t.Fatalf("reason = %q, want %q", rj.Reason, want)
				}
				update(t, e.src, "orgs", "o1", map[string]any{"invalid": false})
				e.runOK(engine.RunParams{Pipelines: []string{"organizations"}})
				e.checkLinked("m1", "o1")
			})
		})
	}
}

// TestPulledRefToDeletedCompanyRejects: in a both-way members pipeline, a
// person created in the CRM whose companyId is a company deleted there
// (the pull mapping's ref, resolved while deciding) is rejected, naming
// the company as a sink key of organizations.
func TestPulledRefToDeletedCompanyRejects(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := orgEnv(t, open, config.DeleteSoft, config.Both)
		e.snk.S("companies").Put(connectors.Record{ID: "c1", Deleted: true, Fields: map[string]any{"name": "Kelompok Tani"}})
		e.snk.S("people").Put(connectors.Record{ID: "p1", Fields: map[string]any{
			"name": map[string]any{"firstName": "Sari"}, "emails": map[string]any{"primaryEmail": "sari@crm.id"}, "companyId": "c1"}})
		res := e.runMembers()
		if res.Status != state.RunPartial || res.Counts.Rejected != 1 || res.Counts.Skipped != 0 {
			t.Fatalf("run: %s %+v", res.Status, res.Counts)
		}
		want := "refers to organizations sink key c1, which is deleted there: change the reference or restore that record (retried on later runs)"
		if rj := e.reject(config.SideSink, "p1"); rj.Reason != want {
			t.Fatalf("reason = %q, want %q", rj.Reason, want)
		}
	})
}

// TestRefToOrganizationLeftUnlinkedRejects: an organization whose company
// was destroyed in the CRM, with delete policy ignore, is left unlinked
// until it changes: a member that refers to it would wait forever. It is
// rejected, saying why; once the organization changes and is synced again,
// the member follows.
func TestRefToOrganizationLeftUnlinkedRejects(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := orgEnv(t, open, config.DeleteIgnore, config.Push)
		e.src.S("orgs").Put(connectors.Record{ID: "o1", Fields: map[string]any{"name": "Kelompok Tani"}})
		e.runOK(engine.RunParams{Pipelines: []string{"organizations"}})
		company := engine.CreateID("organizations", config.SideSink, "o1")
		destroy(t, e.snk.S("companies"), company)
		// The organization's pair is read (it changed) and found without
		// its company: left unlinked.
		update(t, e.src, "orgs", "o1", map[string]any{"name": "Kelompok Tani Makmur"})
		e.runOK(engine.RunParams{Pipelines: []string{"organizations"}})
		if e.snk.S("companies").Len() != 0 {
			t.Fatalf("the destroyed company was created again")
		}
		e.src.S("members").Put(e.memberOf("m1", "Ani", "o1"))
		res := e.runMembers()
		if res.Status != state.RunPartial || res.Counts.Rejected != 1 {
			t.Fatalf("run: %s %+v", res.Status, res.Counts)
		}
		want := "refers to organizations source key o1, which organizations left unlinked when its sink partner was deleted: " +
			"it is synced again when it changes (retried on later runs)"
		if rj := e.reject(config.SideSource, "m1"); rj.Reason != want {
			t.Fatalf("reason = %q, want %q", rj.Reason, want)
		}
		update(t, e.src, "orgs", "o1", map[string]any{"name": "Kelompok Tani Sejahtera"})
		if res := e.runOK(engine.RunParams{Pipelines: []string{"organizations"}}); res.Counts.Created != 1 {
			t.Fatalf("organization changed: %+v", res.Counts)
		}
		e.checkLinked("m1", "o1")
	})
}
