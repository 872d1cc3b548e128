package engine_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

func TestPushInitialSyncIsIdempotent(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.seed(250)
		res := e.runOK(engine.RunParams{})
		if res.Counts.Created != 250 || e.snk.S("people").Len() != 250 {
			t.Fatalf("first run: counts %+v, sink holds %d", res.Counts, e.snk.S("people").Len())
		}
		p := e.person("m00007")
		if p.Fields["name"].(map[string]any)["firstName"] != "Budi7" || p.Fields["emails"].(map[string]any)["primaryEmail"] != "budi7@kelompok.id" {
			t.Fatalf("mapped person = %+v", p.Fields)
		}
		writes := e.snk.Writes()
		res = e.runOK(engine.RunParams{})
		if e.snk.Writes() != writes || res.Counts != (state.Counts{}) {
			t.Fatalf("second run wrote %d times, counts %+v", e.snk.Writes()-writes, res.Counts)
		}
		// --full rereads everything and still writes nothing.
		res = e.runOK(engine.RunParams{Full: true})
		if e.snk.Writes() != writes || res.Counts.Skipped != 250 {
			t.Fatalf("full rerun wrote %d times, counts %+v", e.snk.Writes()-writes, res.Counts)
		}
		// A source change is pushed as an update of the changed field only.
		update(t, e.src, "members", "m00003", map[string]any{"title": "Ketua"})
		var got []connectors.Change
		e.snk.SetOptions(memoryHook(func(n int, c connectors.Change) error { got = append(got, c); return nil }, e.clock.Now))
		res = e.runOK(engine.RunParams{})
		if res.Counts.Updated != 1 || len(got) != 1 || !reflect.DeepEqual(got[0].Fields, map[string]any{"jobTitle": "Ketua"}) {
			t.Fatalf("update run: counts %+v, writes %+v", res.Counts, got)
		}
		runs, _ := e.store.RunList(context.Background(), state.RunListParams{Pipeline: "members"})
		if len(runs) != 4 || runs[0].Status != state.RunSucceeded {
			t.Fatalf("runs = %+v", runs)
		}
		audit, _ := e.store.AuditList(context.Background(), res.RunID)
		if len(audit) != 1 || audit[0].Action != state.ActionUpdate || audit[0].Diff[0].Field != "jobTitle" || audit[0].Diff[0].Old != "Anggota" {
			t.Fatalf("audit of the update run = %+v", audit)
		}
	})
}

func TestDryRunWritesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.seed(30)
		res := e.run(engine.RunParams{DryRun: true})[0]
		if res.Counts.Created != 30 || len(res.Plan) != 30 || res.Plan[0].Action != state.ActionCreate || len(res.Plan[0].Diff) != 4 {
			t.Fatalf("dry run: counts %+v, plan %d entries: %+v", res.Counts, len(res.Plan), res.Plan[:1])
		}
		if e.snk.Writes() != 0 || e.linkCount() != 0 {
			t.Fatalf("dry run wrote %d records and %d links", e.snk.Writes(), e.linkCount())
		}
		if pos, _ := e.store.Cursor(context.Background(), "members", "source"); !pos.IsZero() {
			t.Fatalf("dry run moved the cursor to %+v", pos)
		}
		if in, _ := e.store.Intents(context.Background(), "members"); len(in) != 0 {
			t.Fatalf("dry run left %d intents", len(in))
		}
		// The real run then does exactly what was planned.
		if res := e.runOK(engine.RunParams{}); res.Counts.Created != 30 {
			t.Fatalf("real run after dry run: %+v", res.Counts)
		}
	})
}

func TestCrashAfterKthWriteLeavesNoDuplicate(t *testing.T) {
	const n = 2000
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		store := open(t) // one database; each k runs its own pipeline in it
		pipeline := func(name string) *config.Pipeline {
			p := members(config.Push)
			p.Name, p.BatchSize = name, 500
			return p
		}
		// The reference: an uninterrupted run.
		ref := newEnvOn(t, store, pipeline("reference"))
		ref.seed(n)
		ref.runOK(engine.RunParams{})
		want := ref.snk.S("people").All()
		for _, k := range []int{1, 2, 99, 100, 101, 499, 500, 777, 1000, 1001, 1500, 1999, 2000} {
			t.Run(fmt.Sprint("k=", k), func(t *testing.T) {
				name := fmt.Sprint("crash", k)
				e := newEnvOn(t, store, pipeline(name))
				e.seed(n)
				e.snk.SetOptions(memoryHook(func(w int, _ connectors.Change) error {
					if w == k {
						return errors.New("simulated crash")
					}
					return nil
				}, e.clock.Now))
				res := e.run(engine.RunParams{})[0]
				if res.Status != state.RunFailed || !strings.Contains(res.Error, "simulated crash") {
					t.Fatalf("interrupted run: %s %q", res.Status, res.Error)
				}
				e.snk.SetOptions(memoryHook(nil, e.clock.Now))
				e.runOK(engine.RunParams{})
				got := e.snk.S("people").All()
				links, _ := store.LinkCount(context.Background(), name)
				if len(got) != n || links != n {
					t.Fatalf("after rerun: %d sink records, %d links, want %d", len(got), links, n)
				}
				for i := range n {
					key := fmt.Sprintf("m%05d", i)
					g, ok := got[engine.CreateID(name, config.SideSink, key)]
					w := want[engine.CreateID("reference", config.SideSink, key)]
					if !ok || !reflect.DeepEqual(g.Fields, w.Fields) {
						t.Fatalf("record of %s: got %+v want %+v", key, g.Fields, w.Fields)
					}
				}
				if in, _ := store.Intents(context.Background(), name); len(in) != 0 {
					t.Fatalf("%d intents left", len(in))
				}
				writes := e.snk.Writes()
				e.runOK(engine.RunParams{})
				if e.snk.Writes() != writes {
					t.Fatalf("third run wrote %d times", e.snk.Writes()-writes)
				}
			})
		}
	})
}

func TestIdentityMatchLinksAndReportsAmbiguity(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.src.S("members").Put(
			member("m1", "Siti", "SITI@kelompok.id "),
			member("m2", "Agus", "agus@kelompok.id"),
			member("m3", "Dewi", "dewi@kelompok.id"),
			member("m4", "Dewi K.", "Dewi@Kelompok.id"), // same person as m3, no match yet
		)
		e.snk.S("people").Put(
			connectors.Record{ID: "p-siti", Fields: map[string]any{"emails": map[string]any{"primaryEmail": "siti@kelompok.id"}, "jobTitle": "Bendahara"}},
			connectors.Record{ID: "p-agus1", Fields: map[string]any{"emails": map[string]any{"primaryEmail": "agus@kelompok.id"}}},
			connectors.Record{ID: "p-agus2", Fields: map[string]any{"emails": map[string]any{"primaryEmail": "agus@kelompok.id"}}},
		)
		res := e.run(engine.RunParams{KeepPlan: true})[0]
		if res.Counts.Created != 1 || res.Counts.Rejected != 2 || res.Status != state.RunPartial {
			t.Fatalf("counts %+v status %s", res.Counts, res.Status)
		}
		links, _ := e.store.LinksBySource(context.Background(), "members", []string{"m1", "m2"})
		if links["m1"].SinkKey != "p-siti" || len(links) != 1 {
			t.Fatalf("links = %+v", links)
		}
		// Matched without a base: the source of truth (source) wins the
		// differing fields.
		if got := e.snk.S("people").All()["p-siti"].Fields["jobTitle"]; got != "Anggota" {
			t.Fatalf("matched record's jobTitle = %v", got)
		}
		rejects, _ := e.store.Rejects(context.Background(), "members")
		if len(rejects) != 2 || rejects[0].Key != "m2" || !strings.Contains(rejects[0].Reason, "ambiguous") ||
			!strings.Contains(rejects[0].Reason, "p-agus1") || !strings.Contains(rejects[0].Reason, "p-agus2") ||
			rejects[1].Key != "m4" || !strings.Contains(rejects[1].Reason, "same email") {
			t.Fatalf("rejects = %+v", rejects)
		}
		if e.snk.S("people").Len() != 4 {
			t.Fatalf("sink holds %d records, want 4 (one created)", e.snk.S("people").Len())
		}
		// Next run: m4 now matches the person created for m3, which is
		// linked: reported, not duplicated.
		e.run(engine.RunParams{})
		rejects, _ = e.store.Rejects(context.Background(), "members")
		if e.snk.S("people").Len() != 4 || len(rejects) != 2 || !strings.Contains(rejects[1].Reason, "already linked to source record m3") {
			t.Fatalf("second run: %d people, rejects %+v", e.snk.S("people").Len(), rejects)
		}
	})
}

func TestRejectIsRetriedUntilItSucceeds(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.seed(10)
		update(t, e.src, "members", "m00004", map[string]any{"invalid": true})
		refuse := true
		e.snk.SetOptions(memoryHook(func(_ int, c connectors.Change) error {
			if refuse && c.Fields["emails"].(map[string]any)["primaryEmail"] == "budi6@kelompok.id" {
				return &connectors.RecordError{Reason: "emails.primaryEmail: duplicate value"}
			}
			return nil
		}, e.clock.Now))
		res := e.run(engine.RunParams{})[0]
		if res.Status != state.RunPartial || res.Counts.Created != 8 || res.Counts.Rejected != 2 {
			t.Fatalf("first run: %s %+v", res.Status, res.Counts)
		}
		rejects, _ := e.store.Rejects(context.Background(), "members")
		reasons := map[string]string{}
		for _, r := range rejects {
			reasons[r.Key] = r.Reason
		}
		if !strings.Contains(reasons["m00004"], "invalid value") || !strings.Contains(reasons["m00006"], "duplicate value") {
			t.Fatalf("rejects = %+v", rejects)
		}
		// Nothing changed on the source, but the rejects are read again.
		refuse = false
		update(t, e.src, "members", "m00004", map[string]any{"invalid": false})
		res = e.runOK(engine.RunParams{})
		if res.Counts.Created != 2 {
			t.Fatalf("retry run: %+v", res.Counts)
		}
		if rejects, _ := e.store.Rejects(context.Background(), "members"); len(rejects) != 0 {
			t.Fatalf("rejects left: %+v", rejects)
		}
		if e.snk.S("people").Len() != 10 {
			t.Fatalf("sink holds %d", e.snk.S("people").Len())
		}
	})
}

func TestDeleteGuardHoldsMassDeletes(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Push)
		p.Delete = config.Delete{Policy: config.DeleteSoft, MaxCount: 3}
		e := newEnv(t, open, p)
		e.seed(10)
		e.runOK(engine.RunParams{})
		for i := range 5 {
			del(t, e.src, "members", fmt.Sprintf("m%05d", i))
		}
		res := e.run(engine.RunParams{})[0]
		if res.Status != state.RunPartial || res.DeletesHeld != 5 || res.Counts.Deleted != 0 || !strings.Contains(res.Error, "delete guard") {
			t.Fatalf("guarded run: %s %q held=%d %+v", res.Status, res.Error, res.DeletesHeld, res.Counts)
		}
		for id, r := range e.snk.S("people").All() {
			if r.Deleted {
				t.Fatalf("person %s deleted despite the guard", id)
			}
		}
		run, _ := e.store.RunGet(context.Background(), res.RunID)
		if !strings.Contains(run.Error, "delete guard") {
			t.Fatalf("run record error = %q", run.Error)
		}
		// Raising the limit lets the held deletes through on the next run.
		p.Delete.MaxCount = 10
		res = e.runOK(engine.RunParams{})
		if res.Counts.Deleted != 5 {
			t.Fatalf("after raising the limit: %+v", res.Counts)
		}
		if !e.person("m00002").Deleted || e.person("m00007").Deleted {
			t.Fatal("wrong people deleted")
		}
		if res := e.runOK(engine.RunParams{}); res.Counts.Deleted != 0 {
			t.Fatalf("deletes repeated: %+v", res.Counts)
		}
	})
}

func TestDeletePolicies(t *testing.T) {
	for _, policy := range []string{config.DeleteIgnore, config.DeleteSoft, config.DeletePropagate} {
		t.Run(policy, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				p := members(config.Push)
				p.Delete.Policy = policy
				e := newEnv(t, open, p)
				e.seed(3)
				e.runOK(engine.RunParams{})
				del(t, e.src, "members", "m00001")
				res := e.runOK(engine.RunParams{})
				id := engine.CreateID("members", config.SideSink, "m00001")
				rec, exists := e.snk.S("people").All()[id]
				switch policy {
				case config.DeleteIgnore:
					if !exists || rec.Deleted || res.Counts.Deleted != 0 {
						t.Fatalf("ignore: exists=%v deleted=%v %+v", exists, rec.Deleted, res.Counts)
					}
				case config.DeleteSoft:
					if !exists || !rec.Deleted || res.Counts.Deleted != 1 {
						t.Fatalf("soft: exists=%v deleted=%v %+v", exists, rec.Deleted, res.Counts)
					}
					// Restoring the source restores the person.
					res, _ := e.src.S("members").Write(context.Background(), []connectors.Change{{Op: connectors.OpRestore, ID: "m00001"}})
					if res[0].Err != nil {
						t.Fatal(res[0].Err)
					}
					e.runOK(engine.RunParams{})
					if e.person("m00001").Deleted {
						t.Fatal("person not restored")
					}
				case config.DeletePropagate:
					if exists || res.Counts.Deleted != 1 || e.linkCount() != 2 {
						t.Fatalf("propagate: exists=%v %+v links=%d", exists, res.Counts, e.linkCount())
					}
				}
			})
		})
	}
}

func TestFilterAndSensitiveFields(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Push)
		p.Filter.Source = "active"
		p.Sensitive = []string{"nik"}
		p.Push.Fields = append(p.Push.Fields, config.FieldMapping{Target: "nik", Expr: "nik"})
		e := newEnv(t, open, p)
		a := member("m1", "Ani", "ani@kelompok.id")
		a.Fields["active"], a.Fields["nik"] = true, "3201012345678901"
		b := member("m2", "Eko", "eko@kelompok.id")
		b.Fields["active"] = false
		e.src.S("members").Put(a, b)
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if res.Counts.Created != 1 || res.Counts.Skipped != 1 {
			t.Fatalf("counts %+v", res.Counts)
		}
		if _, ok := e.person("m1").Fields["nik"]; ok {
			t.Fatal("a sensitive field was written to the sink")
		}
		audit, _ := e.store.AuditList(context.Background(), res.RunID)
		plan, trail := fmt.Sprintf("%+v", res.Plan), fmt.Sprintf("%+v", audit)
		if strings.Contains(plan, "3201012345678901") || strings.Contains(trail, "3201012345678901") {
			t.Fatalf("a sensitive value reached the plan or the audit:\n%s\n%s", plan, trail)
		}
		if !strings.Contains(plan, "filtered out by the source filter") || !strings.Contains(trail, "filtered out") {
			t.Fatalf("the filtered record is not explained:\n%s\n%s", plan, trail)
		}
	})
}
