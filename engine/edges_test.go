package engine_test

// Edge cases of the conflict, delete, echo, identity and sensitive-field
// rules, each written to fail when one condition of the rule is dropped or
// inverted (found by hand mutation of decide.go, apply.go, pair.go and
// run.go: the tests around them passed with the condition broken).

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// TestCreateIDIsStable: the ids of creates are written to the other system
// and looked up again by a later run (intents recovery), possibly by a newer
// binary: they must not change, and must differ per pipeline and per side.
func TestCreateIDIsStable(t *testing.T) {
	for _, tc := range []struct{ pipeline, side, key, want string }{
		{"members", config.SideSink, "m1", "b564dc79-5ad0-5df2-a37a-c17a6ad5f198"},
	} {
		if got := engine.CreateID(tc.pipeline, tc.side, tc.key); got != tc.want {
			t.Errorf("CreateID(%q, %q, %q) = %s, want %s", tc.pipeline, tc.side, tc.key, got, tc.want)
		}
	}
	ids := map[string]string{}
	for _, c := range [][3]string{
		{"members", config.SideSink, "m1"}, {"members", config.SideSource, "m1"},
		{"organizations", config.SideSink, "m1"}, {"members", config.SideSink, "m2"},
	} {
		id := engine.CreateID(c[0], c[1], c[2])
		if id != engine.CreateID(c[0], c[1], c[2]) {
			t.Fatalf("CreateID%v is not deterministic", c)
		}
		if prev, dup := ids[id]; dup {
			t.Fatalf("CreateID%v = CreateID%s = %s", c, prev, id)
		}
		ids[id] = fmt.Sprint(c)
	}
}

// sameTime replaces m1 on the source and its person on the sink with
// changed first names, both updated at the same instant.
func sameTime(t *testing.T, e *env, srcKey string) {
	t.Helper()
	at := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC) // after every clock tick of the setup
	s := e.src.S("members").All()[srcKey]
	s.Fields["first"], s.UpdatedAt = "Rina-S", at
	k := e.person(srcKey)
	k.Fields["name"].(map[string]any)["firstName"], k.UpdatedAt = "Rina-K", at
	e.src.S("members").Put(s)
	e.snk.S("people").Put(k)
}

// TestNewestTieBreaksOnTheGreaterID: under newest, equal updatedAt values
// go to the record with the greater id.
func TestNewestTieBreaksOnTheGreaterID(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		for _, srcKey := range []string{"m1", "0"} {
			p := members(config.Both)
			p.Conflict = config.Conflict{Policy: config.ConflictNewest}
			e := newEnv(t, open, p)
			e.src.S("members").Put(member(srcKey, "Rina", "rina@kelompok.id"))
			e.runOK(engine.RunParams{})
			sinkID := engine.CreateID("members", config.SideSink, srcKey)
			want := "Rina-S"
			if sinkID > srcKey {
				want = "Rina-K"
			}
			if srcKey == "0" && want != "Rina-K" || srcKey == "m1" && want != "Rina-S" {
				t.Fatalf("test setup: sink id %s does not order as expected against %s", sinkID, srcKey)
			}
			sameTime(t, e, srcKey)
			res := e.runOK(engine.RunParams{KeepPlan: true})
			s, k := e.src.S("members").All()[srcKey], e.person(srcKey)
			if s.Fields["first"] != want || first(k) != want {
				t.Fatalf("source %s vs sink %s at the same time: first names %v / %v, want %s (greater id wins); plan %+v",
					srcKey, sinkID, s.Fields["first"], first(k), want, res.Plan)
			}
		}
	})
}

// TestConflictPolicyEdges: the merge fallbacks the main table does not
// reach, and a field changed on both sides to the same value, which is no
// conflict.
func TestConflictPolicyEdges(t *testing.T) {
	t.Run("merge fallback newest, source later", func(t *testing.T) {
		eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
			e := conflictEnv(t, open, config.Conflict{Policy: config.ConflictMerge, Fallback: "newest"}, false, true)
			e.runOK(engine.RunParams{})
			s, k := e.src.S("members").All()["m1"], e.person("m1")
			if s.Fields["first"] != "Rina-S" || first(k) != "Rina-S" || s.Fields["title"] != "Sekretaris" || k.Fields["jobTitle"] != "Sekretaris" {
				t.Fatalf("source %+v sink %+v: want first Rina-S (newer) and title Sekretaris (one-sided)", s.Fields, k.Fields)
			}
		})
	})
	// Both sides set the first name to the same value; only the sink
	// changed the title. Nothing conflicts: under a record-level policy the
	// source must not win the title back, and manual must not hold.
	for _, c := range []config.Conflict{
		{Policy: config.ConflictSourceOfTruth, Side: config.SideSource},
		{Policy: config.ConflictManual},
	} {
		t.Run("same value on both sides, "+c.Policy, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				p := members(config.Both)
				p.Conflict = c
				e := newEnv(t, open, p)
				e.src.S("members").Put(member("m1", "Rina", "rina@kelompok.id"))
				e.runOK(engine.RunParams{})
				update(t, e.src, "members", "m1", map[string]any{"first": "Rina-X"})
				update(t, e.snk, "people", engine.CreateID("members", config.SideSink, "m1"),
					map[string]any{"name": map[string]any{"firstName": "Rina-X"}, "jobTitle": "Sekretaris"})
				res := e.runOK(engine.RunParams{KeepPlan: true})
				s, k := e.src.S("members").All()["m1"], e.person("m1")
				if res.Counts.Conflicts != 0 || s.Fields["title"] != "Sekretaris" || k.Fields["jobTitle"] != "Sekretaris" || first(k) != "Rina-X" {
					t.Fatalf("counts %+v, source %+v, sink %+v; plan %+v", res.Counts, s.Fields, k.Fields, res.Plan)
				}
			})
		})
	}
	// merge with fallback manual holds a field changed on both sides; the
	// resolution decides that field and the one-sided changes still merge.
	// An empty fallback (a config built in Go) is manual, as in the schema.
	for _, fallback := range []string{config.ConflictManual, ""} {
		t.Run("merge fallback "+cmp.Or(fallback, "unset"), func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				e := conflictEnv(t, open, config.Conflict{Policy: config.ConflictMerge, Fallback: fallback}, true, true)
				ws, wk := e.src.Writes(), e.snk.Writes()
				res := e.run(engine.RunParams{})[0]
				if res.Counts.Conflicts != 1 || e.src.Writes() != ws || e.snk.Writes() != wk {
					t.Fatalf("merge/manual run: %+v, writes %d/%d", res.Counts, e.src.Writes()-ws, e.snk.Writes()-wk)
				}
				cs, _ := e.store.Conflicts(context.Background(), "members", false)
				if len(cs) != 1 || strings.Join(cs[0].Fields, ",") != "name.firstName" {
					t.Fatalf("conflicts = %+v", cs)
				}
				if err := e.store.ConflictResolve(context.Background(), cs[0].ID, state.TakeSink); err != nil {
					t.Fatal(err)
				}
				res = e.runOK(engine.RunParams{KeepPlan: true})
				s, k := e.src.S("members").All()["m1"], e.person("m1")
				if s.Fields["first"] != "Rina-K" || first(k) != "Rina-K" || s.Fields["last"] != "Source" ||
					k.Fields["name"].(map[string]any)["lastName"] != "Source" || s.Fields["title"] != "Sekretaris" {
					t.Fatalf("after taking the sink: source %+v sink %+v; plan %+v", s.Fields, k.Fields, res.Plan)
				}
			})
		})
	}
	// A resolution is a person's decision: it wins over the policy in force
	// when it is applied (here the policy changed after the conflict was held).
	t.Run("resolution overrides source_of_truth", func(t *testing.T) {
		eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
			e := conflictEnv(t, open, config.Conflict{Policy: config.ConflictManual}, true, false)
			e.run(engine.RunParams{})
			cs, _ := e.store.Conflicts(context.Background(), "members", false)
			if len(cs) != 1 {
				t.Fatalf("conflicts = %+v", cs)
			}
			e.cfg.Pipelines["members"].Conflict = config.Conflict{Policy: config.ConflictSourceOfTruth, Side: config.SideSource}
			if err := e.store.ConflictResolve(context.Background(), cs[0].ID, state.TakeSink); err != nil {
				t.Fatal(err)
			}
			e.runOK(engine.RunParams{})
			if s := e.src.S("members").All()["m1"]; s.Fields["first"] != "Rina-K" || first(e.person("m1")) != "Rina-K" {
				t.Fatalf("after taking the sink under source_of_truth: source %+v", s.Fields)
			}
		})
	})
}

// TestDeletePolicyEdges: which side a delete reaches, when a newer change
// restores instead, and what happens to the link.
func TestDeletePolicyEdges(t *testing.T) {
	setup := func(t *testing.T, open func(testing.TB) state.Store, direction, policy string) (*env, string) {
		p := members(direction)
		p.Delete = config.Delete{Policy: policy}
		e := newEnv(t, open, p)
		e.src.S("members").Put(member("m1", "Rina", "rina@kelompok.id"), member("m2", "Eko", "eko@kelompok.id"))
		e.runOK(engine.RunParams{})
		return e, engine.CreateID("members", config.SideSink, "m1")
	}
	destroy := func(t *testing.T, e *env, id string) {
		t.Helper()
		if _, err := e.snk.S("people").Write(context.Background(), []connectors.Change{{Op: connectors.OpDestroy, ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		t.Run("both soft: a source delete reaches the sink, not a restore", func(t *testing.T) {
			e, _ := setup(t, open, config.Both, config.DeleteSoft)
			del(t, e.src, "members", "m1")
			res := e.runOK(engine.RunParams{})
			if !e.person("m1").Deleted || !e.src.S("members").All()["m1"].Deleted || res.Counts.Deleted != 1 || e.linkCount() != 2 {
				t.Fatalf("sink deleted=%v source deleted=%v links=%d %+v", e.person("m1").Deleted,
					e.src.S("members").All()["m1"].Deleted, e.linkCount(), res.Counts)
			}
		})
		t.Run("push soft: a sink change after the source delete cannot restore the source", func(t *testing.T) {
			e, id := setup(t, open, config.Push, config.DeleteSoft)
			del(t, e.src, "members", "m1")
			update(t, e.snk, "people", id, map[string]any{"jobTitle": "Ketua"})
			e.runOK(engine.RunParams{})
			if !e.src.S("members").All()["m1"].Deleted || !e.person("m1").Deleted {
				t.Fatalf("source deleted=%v sink deleted=%v, want both deleted", e.src.S("members").All()["m1"].Deleted, e.person("m1").Deleted)
			}
		})
		t.Run("both propagate: a newer sink change does not undo the delete", func(t *testing.T) {
			e, id := setup(t, open, config.Both, config.DeletePropagate)
			del(t, e.src, "members", "m1")
			update(t, e.snk, "people", id, map[string]any{"jobTitle": "Ketua"})
			e.runOK(engine.RunParams{})
			if _, ok := e.snk.S("people").All()[id]; ok || !e.src.S("members").All()["m1"].Deleted || e.linkCount() != 1 {
				t.Fatalf("person kept=%v, source deleted=%v, links=%d", ok, e.src.S("members").All()["m1"].Deleted, e.linkCount())
			}
		})
		t.Run("push soft: a sink delete never deletes the source", func(t *testing.T) {
			e, id := setup(t, open, config.Push, config.DeleteSoft)
			update(t, e.src, "members", "m1", map[string]any{"title": "Ketua"})
			if _, err := e.snk.S("people").Write(context.Background(), []connectors.Change{{Op: connectors.OpDelete, ID: id}}); err != nil {
				t.Fatal(err)
			}
			res := e.runOK(engine.RunParams{KeepPlan: true})
			if e.src.S("members").All()["m1"].Deleted || res.Counts.Deleted != 0 {
				t.Fatalf("a push pipeline deleted the source: %+v, plan %+v", res.Counts, res.Plan)
			}
		})
		t.Run("both ignore: a destroyed partner unlinks", func(t *testing.T) {
			e, id := setup(t, open, config.Both, config.DeleteIgnore)
			destroy(t, e, id)
			update(t, e.src, "members", "m1", map[string]any{"title": "Ketua"})
			e.runOK(engine.RunParams{})
			if e.src.S("members").All()["m1"].Deleted || e.linkCount() != 1 {
				t.Fatalf("source deleted=%v links=%d, want live and 1 link", e.src.S("members").All()["m1"].Deleted, e.linkCount())
			}
		})
		t.Run("gone on both sides unlinks", func(t *testing.T) {
			e, id := setup(t, open, config.Push, config.DeleteSoft)
			destroy(t, e, id)
			del(t, e.src, "members", "m1")
			e.runOK(engine.RunParams{})
			if n := e.linkCount(); n != 1 {
				t.Fatalf("%d links, want 1 (m1's removed)", n)
			}
		})
	})
}

// TestDeleteGuardBounds: maxCount and maxFraction let exactly the limit
// through and hold one more.
func TestDeleteGuardBounds(t *testing.T) {
	cases := []struct {
		name    string
		guard   config.Delete
		deletes int
		held    bool
	}{
		{"count at the limit", config.Delete{Policy: config.DeleteSoft, MaxCount: 3}, 3, false},
		{"fraction at the limit", config.Delete{Policy: config.DeleteSoft, MaxFraction: 0.5}, 5, false},
		{"fraction over the limit", config.Delete{Policy: config.DeleteSoft, MaxFraction: 0.5}, 6, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				p := members(config.Push)
				p.Delete = tc.guard
				e := newEnv(t, open, p)
				e.seed(10)
				e.runOK(engine.RunParams{})
				for i := range tc.deletes {
					del(t, e.src, "members", fmt.Sprintf("m%05d", i))
				}
				res := e.run(engine.RunParams{})[0]
				deleted := 0
				for _, r := range e.snk.S("people").All() {
					if r.Deleted {
						deleted++
					}
				}
				if tc.held {
					if res.Status != state.RunPartial || res.DeletesHeld != tc.deletes || deleted != 0 || !strings.Contains(res.Error, "delete.maxFraction") {
						t.Fatalf("%s %q held=%d, %d people deleted", res.Status, res.Error, res.DeletesHeld, deleted)
					}
					return
				}
				if res.Status != state.RunSucceeded || res.Counts.Deleted != tc.deletes || deleted != tc.deletes {
					t.Fatalf("%s %q held=%d %+v, %d people deleted", res.Status, res.Error, res.DeletesHeld, res.Counts, deleted)
				}
			})
		})
	}
}

// trimPushMappers trims the strings the push mapping produces, so that a
// value pulled from the sink with spaces maps back to something else than
// the sink holds (as a normalizer does).
type trimPushMappers struct{ fakeMappers }

type trimMapper struct{ engine.Mapper }

func (m trimPushMappers) Mapper(p *config.Pipeline, mm *config.Mapping) (engine.Mapper, error) {
	inner, err := m.fakeMappers.Mapper(p, mm)
	if err != nil || mm != p.Push {
		return inner, err
	}
	return trimMapper{inner}, nil
}

func (m trimMapper) Map(rec connectors.Record) (map[string]any, error) {
	out, err := m.Mapper.Map(rec)
	for k, v := range out {
		if s, ok := v.(string); ok {
			out[k] = strings.TrimSpace(s)
		}
	}
	return out, err
}

// TestEchoOfALossyPullIsNotPushedBack: a sink value pulled to the source
// whose push mapping differs from it (normalized) comes back as our own
// write: it is recognized by its hash and not pushed over the sink's value.
func TestEchoOfALossyPullIsNotPushedBack(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Both))
		eng, err := engine.New(engine.Config{Config: e.cfg, Store: e.store, Registry: registryOf(e), Mappers: trimPushMappers{}, Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		e.eng = eng
		e.src.S("members").Put(member("m1", "Rina", "rina@kelompok.id"))
		e.runOK(engine.RunParams{})
		id := engine.CreateID("members", config.SideSink, "m1")
		update(t, e.snk, "people", id, map[string]any{"jobTitle": " Ketua "})
		e.runOK(engine.RunParams{})
		if got := e.src.S("members").All()["m1"].Fields["title"]; got != " Ketua " {
			t.Fatalf("pulled title = %q", got)
		}
		ws, wk := e.src.Writes(), e.snk.Writes()
		for range 2 {
			res := e.runOK(engine.RunParams{KeepPlan: true})
			if e.src.Writes() != ws || e.snk.Writes() != wk {
				t.Fatalf("the echo of the pull was written back: %d/%d writes, plan %+v", e.src.Writes()-ws, e.snk.Writes()-wk, res.Plan)
			}
		}
		// The sink changes another field: the source's echo still counts as
		// unchanged, so only the first name is pulled and the title stays.
		update(t, e.snk, "people", id, map[string]any{"name": map[string]any{"firstName": "Rina-K"}})
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if got := e.person("m1").Fields["jobTitle"]; got != " Ketua " || e.src.S("members").All()["m1"].Fields["first"] != "Rina-K" {
			t.Fatalf("sink title = %q, source %+v; plan %+v", got, e.src.S("members").All()["m1"].Fields, res.Plan)
		}
	})
}

// TestIdentityMatchEdges: one candidate claimed by two records is reported
// for both; a value stored un-normalized on the other side is found by its
// raw form.
func TestIdentityMatchEdges(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.src.S("members").Put(
			member("m3", "Dewi", "dewi@kelompok.id"),
			member("m4", "Dewi K.", "Dewi@Kelompok.id"),
			member("m5", "Siti", "Siti@Kelompok.ID"),
		)
		e.snk.S("people").Put(
			connectors.Record{ID: "p-dewi", Fields: map[string]any{"emails": map[string]any{"primaryEmail": "dewi@kelompok.id"}}},
			connectors.Record{ID: "p-siti", Fields: map[string]any{"emails": map[string]any{"primaryEmail": "Siti@Kelompok.ID"}}},
		)
		res := e.run(engine.RunParams{KeepPlan: true})[0]
		links, _ := e.store.LinksBySource(context.Background(), "members", []string{"m3", "m4", "m5"})
		if len(links) != 1 || links["m5"].SinkKey != "p-siti" || res.Counts.Created != 0 || e.snk.S("people").Len() != 2 {
			t.Fatalf("links %+v, counts %+v, %d people; plan %+v", links, res.Counts, e.snk.S("people").Len(), res.Plan)
		}
		rejects, _ := e.store.Rejects(context.Background(), "members")
		if len(rejects) != 2 {
			t.Fatalf("rejects = %+v", rejects)
		}
		for _, rj := range rejects {
			if !strings.Contains(rj.Reason, "ambiguous match") || !strings.Contains(rj.Reason, "p-dewi") || !strings.Contains(rj.Reason, "m3, m4") {
				t.Fatalf("reject of %s: %q", rj.Key, rj.Reason)
			}
		}
	})
}

// TestSensitiveFieldsEdges: a sensitive sub-field of a composite, a sensitive composite, and a
// sensitive field pulled from the sink on a create, reach neither the other
// system, nor the plan, the audit or the link's base snapshot.
func TestSensitiveFieldsEdges(t *testing.T) {
	const secret = "3201012345678901"
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.Sensitive = []string{"private.nik", "ktp", "vault"} // vault: a whole composite
		p.Push.Fields = append(p.Push.Fields, config.FieldMapping{Target: "private.nik", Expr: "nik"},
			config.FieldMapping{Target: "ktp", Expr: "ktp"}, config.FieldMapping{Target: "vault.pin", Expr: "pin"})
		p.Pull.Fields = append(p.Pull.Fields, config.FieldMapping{Target: "nik", Expr: "private.nik"},
			config.FieldMapping{Target: "ktp", Expr: "ktp"})
		p.Sensitive = append(p.Sensitive, "nik")
		e := newEnv(t, open, p)
		m := member("m1", "Ani", "ani@kelompok.id")
		m.Fields["nik"], m.Fields["ktp"], m.Fields["pin"] = secret, secret, secret
		e.src.S("members").Put(m)
		e.snk.S("people").Put(connectors.Record{ID: "p1", Fields: map[string]any{
			"name": map[string]any{"firstName": "Joko"}, "emails": map[string]any{"primaryEmail": "joko@crm.id"},
			"private": map[string]any{"nik": secret}, "ktp": secret, "vault": map[string]any{"pin": secret}}})
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if res.Counts.Created != 2 {
			t.Fatalf("counts %+v", res.Counts)
		}
		person := fmt.Sprintf("%+v", e.person("m1").Fields)
		member := fmt.Sprintf("%+v", e.src.S("members").All()[engine.CreateID("members", config.SideSource, "p1")].Fields)
		audit, _ := e.store.AuditList(context.Background(), res.RunID)
		links, _ := e.store.LinksBySource(context.Background(), "members",
			[]string{"m1", engine.CreateID("members", config.SideSource, "p1")})
		for what, s := range map[string]string{"person": person, "pulled member": member, "plan": fmt.Sprintf("%+v", res.Plan),
			"audit": fmt.Sprintf("%+v", audit), "links": fmt.Sprintf("%+v", links)} {
			if strings.Contains(s, secret) {
				t.Errorf("a sensitive value reached the %s: %s", what, s)
			}
		}
	})
}

// TestCrashWithoutMatchRulesRecoversByIntent: with no identity rule to find
// them again, the records a crashed run created are found through the
// intents it recorded before writing; the rerun links them instead of
// creating them again.
func TestCrashWithoutMatchRulesRecoversByIntent(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Push)
		p.Match = nil
		e := newEnv(t, open, p)
		e.seed(300)
		e.snk.SetOptions(memoryHook(func(w int, _ connectors.Change) error {
			if w == 150 {
				return errors.New("simulated crash")
			}
			return nil
		}, e.clock.Now))
		if res := e.run(engine.RunParams{})[0]; res.Status != state.RunFailed {
			t.Fatalf("interrupted run: %s %q", res.Status, res.Error)
		}
		written := e.snk.S("people").Len()
		if written <= 100 || written >= 300 {
			t.Fatalf("the crash left %d people, want some of the second batch", written)
		}
		e.snk.SetOptions(memoryHook(nil, e.clock.Now))
		res := e.runOK(engine.RunParams{})
		if n := e.snk.S("people").Len(); n != 300 || e.linkCount() != 300 || res.Counts.Rejected != 0 {
			t.Fatalf("after the rerun: %d people, %d links, %+v", n, e.linkCount(), res.Counts)
		}
		if in, _ := e.store.Intents(context.Background(), "members"); len(in) != 0 {
			t.Fatalf("%d intents left", len(in))
		}
	})
}
