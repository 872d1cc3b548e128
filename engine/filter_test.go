package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// firstName is the sink record's name.firstName.
func firstName(r connectors.Record) any {
	n, _ := r.Fields["name"].(map[string]any)
	return n["firstName"]
}

// filteredSkips counts the plan's skips that name filter (source or sink).
func filteredSkips(plan []engine.Decision, filter string) int {
	n := 0
	for _, d := range plan {
		if d.Action == state.ActionSkip && strings.Contains(d.Reason, "filtered out by the "+filter+" filter") {
			n++
		}
	}
	return n
}

// TestSourceFilterHoldsAPairReachedFromTheSink: a source record the source
// filter excludes is not written to the sink when its pair is reached from
// the sink side (its sink record was edited), and the sink's edit is not
// pulled into it; nor are its fields filled into a sink record that
// identity matching pairs with it. Once the record passes the filter
// again, the changes both sides made meanwhile are decided against the
// link's base like any others.
func TestSourceFilterHoldsAPairReachedFromTheSink(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.Filter.Source = "!draft"
		e := newEnv(t, open, p)
		e.src.S("members").Put(member("m1", "Budi", "budi@kelompok.id"), member("m2", "Eko", "eko@kelompok.id"))
		if res := e.runOK(engine.RunParams{}); res.Counts.Created != 2 {
			t.Fatalf("initial sync: %+v", res.Counts)
		}
		update(t, e.src, "members", "m1", map[string]any{"draft": true, "first": "Rahasia"})
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if filteredSkips(res.Plan, "source") != 1 || firstName(e.person("m1")) != "Budi" {
			t.Fatalf("the draft was not filtered out: sink %+v; plan %+v", e.person("m1").Fields, res.Plan)
		}

		// The sink edits the draft's linked record.
		id := engine.CreateID("members", config.SideSink, "m1")
		update(t, e.snk, "people", id, map[string]any{"jobTitle": "Ketua"})
		ws, wk := e.src.Writes(), e.snk.Writes()
		res = e.runOK(engine.RunParams{KeepPlan: true})
		s := e.src.S("members").All()["m1"]
		if e.snk.Writes() != wk || firstName(e.person("m1")) != "Budi" {
			t.Fatalf("the filtered draft reached the sink: %+v; plan %+v", e.person("m1").Fields, res.Plan)
		}
		if e.src.Writes() != ws || s.Fields["title"] != "Anggota" || s.Fields["first"] != "Rahasia" {
			t.Fatalf("the sink's edit was written into the filtered draft: %+v; plan %+v", s.Fields, res.Plan)
		}
		if filteredSkips(res.Plan, "source") != 1 || res.Counts.Updated != 0 {
			t.Fatalf("the skip does not name the source filter: %+v; plan %+v", res.Counts, res.Plan)
		}

		// A new sink record that identity matching pairs with a draft.
		draft := member("m3", "Sari", "sari@kelompok.id")
		draft.Fields["draft"] = true
		e.src.S("members").Put(draft)
		e.snk.S("people").Put(connectors.Record{ID: "p-sari", Fields: map[string]any{"emails": map[string]any{"primaryEmail": "sari@kelompok.id"}}})
		ws, wk = e.src.Writes(), e.snk.Writes()
		res = e.runOK(engine.RunParams{KeepPlan: true})
		if e.snk.Writes() != wk || e.src.Writes() != ws || e.snk.S("people").All()["p-sari"].Fields["name"] != nil {
			t.Fatalf("a draft matched by identity was synced: sink %+v; plan %+v", e.snk.S("people").All()["p-sari"].Fields, res.Plan)
		}
		if filteredSkips(res.Plan, "source") != 2 {
			t.Fatalf("the draft and the sink record matched with it are not both skipped: plan %+v", res.Plan)
		}

		// Published again: both sides' changes since the base apply.
		update(t, e.src, "members", "m1", map[string]any{"draft": false})
		res = e.runOK(engine.RunParams{KeepPlan: true})
		s = e.src.S("members").All()["m1"]
		if firstName(e.person("m1")) != "Rahasia" || s.Fields["title"] != "Ketua" {
			t.Fatalf("after publishing: sink %+v, source %+v; plan %+v", e.person("m1").Fields, s.Fields, res.Plan)
		}
	})
}

// TestFullRunDoesNotPushAFilteredLinkedRecord: a --full run of a both-way
// pipeline reads a linked record the source filter excludes from both
// sides; neither reading writes it, and its skip is counted once.
func TestFullRunDoesNotPushAFilteredLinkedRecord(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.Filter.Source = "!draft"
		e := newEnv(t, open, p)
		e.src.S("members").Put(member("m1", "Budi", "budi@kelompok.id"), member("m2", "Eko", "eko@kelompok.id"))
		e.runOK(engine.RunParams{})
		update(t, e.src, "members", "m1", map[string]any{"draft": true, "first": "Rahasia"})
		e.runOK(engine.RunParams{})
		ws, wk := e.src.Writes(), e.snk.Writes()
		res := e.runOK(engine.RunParams{Full: true, KeepPlan: true})
		if e.snk.Writes() != wk || e.src.Writes() != ws || firstName(e.person("m1")) != "Budi" || res.Counts.Updated != 0 {
			t.Fatalf("--full wrote the filtered record: sink %+v %+v; plan %+v", e.person("m1").Fields, res.Counts, res.Plan)
		}
		if n := filteredSkips(res.Plan, "source"); n != 1 {
			t.Fatalf("%d filtered skips, want 1: plan %+v", n, res.Plan)
		}
	})
}

// TestSinkFilterHoldsAPairReachedFromTheSource is the symmetric case: a
// sink record the sink filter excludes is not pulled into the source when
// its pair is reached from the source side (its source record was edited,
// or a --full run), and the source's edit is not pushed into it; a
// push-only pipeline does not write into it either. Once it passes the
// filter again, both sides' changes apply.
func TestSinkFilterHoldsAPairReachedFromTheSource(t *testing.T) {
	for _, direction := range []string{config.Both, config.Push} {
		t.Run(direction, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				p := members(direction)
				p.Filter.Sink = "!hidden"
				e := newEnv(t, open, p)
				e.src.S("members").Put(member("m1", "Budi", "budi@kelompok.id"))
				e.runOK(engine.RunParams{})
				id := engine.CreateID("members", config.SideSink, "m1")
				update(t, e.snk, "people", id, map[string]any{"hidden": true, "jobTitle": "Rahasia"})
				res := e.runOK(engine.RunParams{KeepPlan: true})
				if s := e.src.S("members").All()["m1"]; s.Fields["title"] != "Anggota" {
					t.Fatalf("the hidden sink record was pulled: %+v; plan %+v", s.Fields, res.Plan)
				}

				// The source edits the hidden record's linked record.
				update(t, e.src, "members", "m1", map[string]any{"first": "Ani"})
				for _, full := range []bool{false, true} {
					ws, wk := e.src.Writes(), e.snk.Writes()
					res = e.runOK(engine.RunParams{Full: full, KeepPlan: true})
					s := e.src.S("members").All()["m1"]
					if e.src.Writes() != ws || s.Fields["title"] != "Anggota" {
						t.Fatalf("full=%v: the hidden sink record was pulled: %+v; plan %+v", full, s.Fields, res.Plan)
					}
					if e.snk.Writes() != wk || firstName(e.person("m1")) != "Budi" {
						t.Fatalf("full=%v: the source's edit was written into the hidden sink record: %+v; plan %+v", full, e.person("m1").Fields, res.Plan)
					}
					if n := filteredSkips(res.Plan, "sink"); n != 1 {
						t.Fatalf("full=%v: %d skips naming the sink filter, want 1: plan %+v", full, n, res.Plan)
					}
				}

				// Visible again: both sides' changes since the base apply.
				// (A push-only pipeline reads only the source: a --full run
				// reads the pair again.)
				update(t, e.snk, "people", id, map[string]any{"hidden": false})
				res = e.runOK(engine.RunParams{Full: direction == config.Push, KeepPlan: true})
				s := e.src.S("members").All()["m1"]
				want := "Rahasia" // pulled
				if direction == config.Push {
					want = "Anggota" // source_of_truth source, no pull: written back to the sink
				}
				if firstName(e.person("m1")) != "Ani" || s.Fields["title"] != want || e.person("m1").Fields["jobTitle"] != want {
					t.Fatalf("visible again: sink %+v, source %+v; plan %s", e.person("m1").Fields, s.Fields, fmt.Sprint(res.Plan))
				}
			})
		})
	}
}
