package engine_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/functions"
	"github.com/kelompok/pipe/engine/state"
)

func first(r connectors.Record) any { return r.Fields["name"].(map[string]any)["firstName"] }

// conflictEnv syncs one member both ways, then changes it on both sides:
// the source's first name at t1, the sink's first name (and, when
// otherField, its job title) at t2.
func conflictEnv(t *testing.T, open func(testing.TB) state.Store, c config.Conflict, sinkLater bool, otherField bool) *env {
	p := members(config.Both)
	p.Conflict = c
	e := newEnv(t, open, p)
	e.src.S("members").Put(member("m1", "Rina", "rina@kelompok.id"))
	e.runOK(engine.RunParams{})
	id := engine.CreateID("members", config.SideSink, "m1")
	src := func() { update(t, e.src, "members", "m1", map[string]any{"first": "Rina-S", "last": "Source"}) }
	snk := func() {
		f := map[string]any{"name": map[string]any{"firstName": "Rina-K"}}
		if otherField {
			f["jobTitle"] = "Sekretaris"
		}
		update(t, e.snk, "people", id, f)
	}
	if sinkLater {
		src()
		snk()
	} else {
		snk()
		src()
	}
	return e
}

func TestConflictPolicies(t *testing.T) {
	cases := []struct {
		name       string
		conflict   config.Conflict
		sinkLater  bool
		wantFirst  string // on both sides after the run
		wantLast   string
		wantTitle  string
		wantStatus string
	}{
		// Record level: the winner's whole compared record wins.
		{"source of truth source", config.Conflict{Policy: config.ConflictSourceOfTruth, Side: "source"}, true, "Rina-S", "Source", "Anggota", state.RunSucceeded},
		{"source of truth sink", config.Conflict{Policy: config.ConflictSourceOfTruth, Side: "sink"}, false, "Rina-K", "Santoso", "Sekretaris", state.RunSucceeded},
		{"newest is sink", config.Conflict{Policy: config.ConflictNewest}, true, "Rina-K", "Santoso", "Sekretaris", state.RunSucceeded},
		{"newest is source", config.Conflict{Policy: config.ConflictNewest}, false, "Rina-S", "Source", "Anggota", state.RunSucceeded},
		// Merge: one-sided changes merge (last from the source, title from
		// the sink), the field changed on both falls back.
		{"merge fallback source", config.Conflict{Policy: config.ConflictMerge, Fallback: "source"}, true, "Rina-S", "Source", "Sekretaris", state.RunSucceeded},
		{"merge fallback sink", config.Conflict{Policy: config.ConflictMerge, Fallback: "sink"}, false, "Rina-K", "Source", "Sekretaris", state.RunSucceeded},
		{"merge fallback newest", config.Conflict{Policy: config.ConflictMerge, Fallback: "newest"}, true, "Rina-K", "Source", "Sekretaris", state.RunSucceeded},
		// Ownership overrides the policy for one field; with the owned field
		// out of the conflict, the one-sided changes merge.
		{"owner", config.Conflict{Policy: config.ConflictSourceOfTruth, Side: "source", Owner: map[string]string{"name.firstName": "sink"}}, true, "Rina-K", "Source", "Sekretaris", state.RunSucceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				e := conflictEnv(t, open, tc.conflict, tc.sinkLater, true)
				res := e.run(engine.RunParams{KeepPlan: true})[0]
				if res.Status != tc.wantStatus {
					t.Fatalf("status %s (%s) %+v", res.Status, res.Error, res.Counts)
				}
				s := e.src.S("members").All()["m1"]
				k := e.person("m1")
				if s.Fields["first"] != tc.wantFirst || first(k) != tc.wantFirst {
					t.Fatalf("first name: source %v sink %v, want %s; plan %+v", s.Fields["first"], first(k), tc.wantFirst, res.Plan)
				}
				if s.Fields["last"] != tc.wantLast || k.Fields["name"].(map[string]any)["lastName"] != tc.wantLast {
					t.Fatalf("last name: source %v sink %v, want %s", s.Fields["last"], k.Fields["name"], tc.wantLast)
				}
				if s.Fields["title"] != tc.wantTitle || k.Fields["jobTitle"] != tc.wantTitle {
					t.Fatalf("title: source %v sink %v, want %s", s.Fields["title"], k.Fields["jobTitle"], tc.wantTitle)
				}
				// Converged: the next run writes nothing (echoes suppressed).
				ws, wk := e.src.Writes(), e.snk.Writes()
				res = e.runOK(engine.RunParams{})
				if e.src.Writes() != ws || e.snk.Writes() != wk || res.Counts.Updated != 0 {
					t.Fatalf("rerun after the conflict wrote: %+v", res.Counts)
				}
			})
		})
	}
}

func TestManualConflictIsHeldUntilResolved(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := conflictEnv(t, open, config.Conflict{Policy: config.ConflictManual}, true, false)
		ws, wk := e.src.Writes(), e.snk.Writes()
		res := e.run(engine.RunParams{})[0]
		if res.Counts.Conflicts != 1 || e.src.Writes() != ws || e.snk.Writes() != wk {
			t.Fatalf("manual run: %+v, writes %d/%d", res.Counts, e.src.Writes()-ws, e.snk.Writes()-wk)
		}
		cs, _ := e.store.Conflicts(context.Background(), "members", false)
		if len(cs) != 1 || cs[0].Fields[0] != "name.firstName" || cs[0].Source["name.firstName"] != "Rina-S" || cs[0].Sink["name.firstName"] != "Rina-K" {
			t.Fatalf("conflicts = %+v", cs)
		}
		// Held: another run does not write either.
		e.run(engine.RunParams{})
		if e.src.Writes() != ws || e.snk.Writes() != wk {
			t.Fatal("held pair written")
		}
		if err := e.store.ConflictResolve(context.Background(), cs[0].ID, state.TakeSink); err != nil {
			t.Fatal(err)
		}
		res = e.runOK(engine.RunParams{})
		if s := e.src.S("members").All()["m1"]; s.Fields["first"] != "Rina-K" || s.Fields["last"] != "Santoso" {
			t.Fatalf("after resolving for the sink, source = %+v (%+v)", s.Fields, res.Counts)
		}
		cs, _ = e.store.Conflicts(context.Background(), "members", true)
		if cs[0].AppliedAt == nil {
			t.Fatal("resolution not marked applied")
		}
		ws, wk = e.src.Writes(), e.snk.Writes()
		e.runOK(engine.RunParams{})
		if e.src.Writes() != ws || e.snk.Writes() != wk {
			t.Fatal("resolution applied twice")
		}
	})
}

func TestBothWaysCreatesAndEchoSuppression(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Both))
		e.seed(20)
		e.snk.S("people").Put(connectors.Record{ID: "p-new", Fields: map[string]any{
			"name": map[string]any{"firstName": "Wati", "lastName": "Lubis"}, "emails": map[string]any{"primaryEmail": "wati@crm.id"}, "jobTitle": "Relawan"}})
		res := e.runOK(engine.RunParams{})
		if res.Counts.Created != 21 {
			t.Fatalf("first run: %+v", res.Counts)
		}
		id := engine.CreateID("members", config.SideSource, "p-new")
		if got := e.src.S("members").All()[id]; got.Fields["first"] != "Wati" || got.Fields["email"] != "wati@crm.id" {
			t.Fatalf("pulled member = %+v", got)
		}
		// The second run reads our own writes on both sides and skips them.
		ws, wk := e.src.Writes(), e.snk.Writes()
		res = e.runOK(engine.RunParams{})
		if e.src.Writes() != ws || e.snk.Writes() != wk || res.Counts.Updated+res.Counts.Created != 0 {
			t.Fatalf("echo run wrote: %+v", res.Counts)
		}
		// A sink edit flows back to the source and is not echoed again.
		update(t, e.snk, "people", engine.CreateID("members", config.SideSink, "m00002"), map[string]any{"jobTitle": "Koordinator"})
		res = e.runOK(engine.RunParams{})
		if res.Counts.Updated != 1 || e.src.S("members").All()["m00002"].Fields["title"] != "Koordinator" {
			t.Fatalf("pull of a sink edit: %+v", res.Counts)
		}
		ws, wk = e.src.Writes(), e.snk.Writes()
		e.runOK(engine.RunParams{})
		e.runOK(engine.RunParams{})
		if e.src.Writes() != ws || e.snk.Writes() != wk {
			t.Fatalf("echo of the pulled edit written back: %d/%d", e.src.Writes()-ws, e.snk.Writes()-wk)
		}
	})
}

func TestPullOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Pull))
		e.snk.S("people").Put(connectors.Record{ID: "p1", Fields: map[string]any{
			"name": map[string]any{"firstName": "Joko"}, "emails": map[string]any{"primaryEmail": "joko@crm.id"}}})
		e.src.S("members").Put(member("m-untouched", "Ani", "ani@kelompok.id"))
		res := e.runOK(engine.RunParams{})
		if res.Counts.Created != 1 || e.src.S("members").Len() != 2 {
			t.Fatalf("pull run: %+v", res.Counts)
		}
		if e.snk.Writes() != 0 {
			t.Fatal("a pull-only pipeline wrote to the sink")
		}
		update(t, e.snk, "people", "p1", map[string]any{"jobTitle": "Bendahara"})
		res = e.runOK(engine.RunParams{})
		got := e.src.S("members").All()[engine.CreateID("members", config.SideSource, "p1")]
		if res.Counts.Updated != 1 || got.Fields["title"] != "Bendahara" {
			t.Fatalf("pull update: %+v %+v", res.Counts, got.Fields)
		}
	})
}

func TestDependentsRunAfterTheirDependencies(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		orgs := members(config.Push)
		orgs.Name = "organizations"
		orgs.Source.Stream, orgs.Sink.Stream = "orgs", "companies"
		orgs.Match = nil
		orgs.Push = &config.Mapping{Fields: []config.FieldMapping{{Target: "name", Expr: "name"}}}
		mem := members(config.Push)
		mem.DependsOn = []string{"organizations"}
		mem.Push.Fields = append(mem.Push.Fields, config.FieldMapping{Target: "companyId", Expr: "org"})
		e := newEnv(t, open, orgs, mem)
		e.eng.Close()
		refMappers := refFake{}
		eng, err := engine.New(engine.Config{Config: e.cfg, Store: e.store, Registry: registryOf(e), Mappers: refMappers, Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		e.eng = eng
		e.src.S("orgs").Put(connectors.Record{ID: "o1", Fields: map[string]any{"name": "Kelompok Tani"}})
		m := member("m1", "Ani", "ani@kelompok.id")
		m.Fields["org"] = "o1"
		e.src.S("members").Put(m)
		// The members' ref to o1 only resolves if organizations ran first.
		res := e.run(engine.RunParams{All: true})
		for _, r := range res {
			if r.Status != state.RunSucceeded {
				t.Fatalf("%s: %s %s %+v", r.Pipeline, r.Status, r.Error, r.Counts)
			}
		}
		orgID := engine.CreateID("organizations", config.SideSink, "o1")
		if got := e.person("m1").Fields["companyId"]; got != orgID {
			t.Fatalf("companyId = %v, want %s", got, orgID)
		}
		// A failing dependency skips its dependents.
		e.snk.SetOptions(memoryHook(func(int, connectors.Change) error { return errors.New("CRM is down") }, e.clock.Now))
		e.src.S("orgs").Put(connectors.Record{ID: "o2", Fields: map[string]any{"name": "Kelompok Nelayan"}})
		res = e.run(engine.RunParams{All: true})
		// Results come in run order: the dependency first.
		if res[1].Pipeline != "members" || res[1].Status != engine.StatusSkipped || !strings.Contains(res[1].Error, "organizations") ||
			res[0].Pipeline != "organizations" || res[0].Status != state.RunFailed {
			t.Fatalf("results = %+v", res)
		}
	})
}

func TestUnresolvedRefWaitsThenResolves(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		orgs := members(config.Push)
		orgs.Name = "organizations"
		orgs.Source.Stream, orgs.Sink.Stream = "orgs", "companies"
		orgs.Match = nil
		orgs.Push = &config.Mapping{Fields: []config.FieldMapping{{Target: "name", Expr: "name"}}}
		mem := members(config.Push)
		mem.Unresolved = "wait"
		mem.Push.Fields = append(mem.Push.Fields, config.FieldMapping{Target: "companyId", Expr: "org"})
		e := newEnv(t, open, orgs, mem)
		eng, _ := engine.New(engine.Config{Config: e.cfg, Store: e.store, Registry: registryOf(e), Mappers: refFake{}, Now: e.clock.Now})
		e.eng = eng
		e.src.S("orgs").Put(connectors.Record{ID: "o1", Fields: map[string]any{"name": "Kelompok Tani"}})
		m := member("m1", "Ani", "ani@kelompok.id")
		m.Fields["org"] = "o1"
		e.src.S("members").Put(m, member("m2", "Eko", "eko@kelompok.id"))
		res := e.run(engine.RunParams{Pipelines: []string{"members"}})[0]
		if res.Counts.Created != 1 || res.Counts.Skipped != 1 || res.Status != state.RunSucceeded {
			t.Fatalf("waiting run: %s %+v", res.Status, res.Counts)
		}
		e.runOK(engine.RunParams{Pipelines: []string{"organizations"}})
		res = e.runOK(engine.RunParams{Pipelines: []string{"members"}})
		if res.Counts.Created != 1 || e.person("m1").Fields["companyId"] != engine.CreateID("organizations", config.SideSink, "o1") {
			t.Fatalf("after organizations ran: %+v", res.Counts)
		}
	})
}

// refFake maps like fakeMappers, except that a target named companyId gets
// ref("organizations", value).
type refFake struct{ fakeMappers }

type refMapper struct{ fakeMapper }

func (refFake) Mapper(p *config.Pipeline, m *config.Mapping) (engine.Mapper, error) {
	return refMapper{fakeMapper{m}}, nil
}

func (f refMapper) Map(rec connectors.Record) (map[string]any, error) {
	out, err := f.fakeMapper.Map(rec)
	if err == nil {
		if v, ok := out["companyId"].(string); ok {
			out["companyId"] = functions.Ref{Pipeline: "organizations", Key: v}
		}
	}
	return out, err
}

func registryOf(e *env) *connectors.Registry {
	reg := &connectors.Registry{}
	reg.Register("memory", func(_ context.Context, p connectors.OpenParams) (connectors.Connection, error) {
		if p.Name == "kelompok" {
			return e.src, nil
		}
		return e.snk, nil
	})
	return reg
}

func TestCrashDuringPullCreatesAndLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Both))
		for i := range 50 {
			e.snk.S("people").Put(connectors.Record{ID: "p" + strconv.Itoa(i), Fields: map[string]any{
				"name": map[string]any{"firstName": "Orang" + strconv.Itoa(i)}, "emails": map[string]any{"primaryEmail": "o" + strconv.Itoa(i) + "@crm.id"}}})
		}
		// --limit reads 20 records only.
		if res := e.runOK(engine.RunParams{Limit: 20}); res.Counts.Created != 20 {
			t.Fatalf("limited run: %+v", res.Counts)
		}
		e.src.SetOptions(memoryHook(func(n int, _ connectors.Change) error {
			if n == 37 {
				return errors.New("simulated crash")
			}
			return nil
		}, e.clock.Now))
		if res := e.run(engine.RunParams{})[0]; res.Status != state.RunFailed {
			t.Fatalf("interrupted run: %s", res.Status)
		}
		e.src.SetOptions(memoryHook(nil, e.clock.Now))
		e.runOK(engine.RunParams{})
		got := e.src.S("members").All()
		if len(got) != 50 || e.linkCount() != 50 {
			t.Fatalf("%d members, %d links, want 50", len(got), e.linkCount())
		}
		for i := range 50 {
			m, ok := got[engine.CreateID("members", config.SideSource, "p"+strconv.Itoa(i))]
			if !ok || m.Fields["first"] != "Orang"+strconv.Itoa(i) {
				t.Fatalf("member for p%d: %+v", i, m)
			}
		}
		ws, wk := e.src.Writes(), e.snk.Writes()
		e.runOK(engine.RunParams{})
		if e.src.Writes() != ws || e.snk.Writes() != wk {
			t.Fatal("the run after recovery wrote")
		}
	})
}
