package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// TestRejectIsDecidedOncePerRun: a run retries the open rejects first and
// then reads changes; a rejected record that the read returns again (a
// --full run, or a record changed since) is the same version the retry
// just decided, so it is neither decided, counted nor audited twice.
func TestRejectIsDecidedOncePerRun(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.seed(10)
		update(t, e.src, "members", "m00004", map[string]any{"invalid": true})
		if res := e.run(engine.RunParams{})[0]; res.Counts.Rejected != 1 {
			t.Fatalf("first run: %+v", res.Counts)
		}
		check := func(name string, params engine.RunParams, retries int) {
			t.Helper()
			res := e.run(params)[0]
			if res.Counts.Rejected != 1 {
				t.Errorf("%s: rejected %d, want 1 (%+v)", name, res.Counts.Rejected, res.Counts)
			}
			audit := e.audit(res.RunID)
			n := 0
			for _, a := range audit {
				if a.SourceKey == "m00004" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: %d audit rows for m00004, want 1: %+v", name, n, audit)
			}
			rejects, _ := e.store.Rejects(context.Background(), "members")
			if len(rejects) != 1 || rejects[0].Retries != retries {
				t.Errorf("%s: rejects = %+v, want m00004 with %d retries", name, rejects, retries)
			}
		}
		check("full run", engine.RunParams{Full: true}, 1)
		// Changed, and still refused: read by both the retry and the
		// incremental read.
		update(t, e.src, "members", "m00004", map[string]any{"title": "Ketua"})
		check("incremental run after a change", engine.RunParams{}, 2)
	})
}

// TestDryRunCountsAPairOnce: a pair changed on both sides is read from both
// sides; a dry run (which commits nothing) decides and counts it once, as
// the real run does.
func TestDryRunCountsAPairOnce(t *testing.T) {
	for _, c := range []config.Conflict{
		{Policy: config.ConflictSourceOfTruth, Side: config.SideSource},
		{Policy: config.ConflictNewest},
		{Policy: config.ConflictManual},
	} {
		t.Run(c.Policy, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				p := members(config.Both)
				p.Conflict = c
				e := newEnv(t, open, p)
				e.seed(3)
				e.runOK(engine.RunParams{})
				id := engine.CreateID("members", config.SideSink, "m00001")
				update(t, e.src, "members", "m00001", map[string]any{"title": "Ketua", "first": "Budi-S"})
				update(t, e.snk, "people", id, map[string]any{"city": "Bandung", "name": map[string]any{"firstName": "Budi-K"}})
				dry := e.run(engine.RunParams{DryRun: true})[0]
				real := e.run(engine.RunParams{})[0]
				if dry.Counts != real.Counts {
					t.Fatalf("dry run counts %+v, real run %+v; dry plan %+v", dry.Counts, real.Counts, dry.Plan)
				}
				if real.Counts.Updated+real.Counts.Conflicts == 0 {
					t.Fatalf("nothing decided: %+v", real.Counts)
				}
			})
		})
	}
}

// TestFullLimitedRunKeepsTheCursor: a --full run reads from the start; with
// --limit it stops early, and must not move the cursor back to where it
// stopped (the next incremental run would read everything again).
func TestFullLimitedRunKeepsTheCursor(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Push))
		e.seed(10)
		e.runOK(engine.RunParams{})
		ctx := context.Background()
		before, err := e.store.Cursor(ctx, "members", config.SideSource)
		if err != nil || before.IsZero() {
			t.Fatalf("cursor after the first run: %+v %v", before, err)
		}
		e.runOK(engine.RunParams{Full: true, Limit: 3})
		if after, _ := e.store.Cursor(ctx, "members", config.SideSource); after != before {
			t.Fatalf("--full --limit 3 moved the cursor from %+v to %+v", before, after)
		}
		// A new record after it is still read by the next incremental run.
		e.src.S("members").Put(member("m99999", "Baru", "baru@kelompok.id"))
		if res := e.runOK(engine.RunParams{}); res.Counts.Created != 1 || res.Counts.Skipped != 0 {
			t.Fatalf("incremental run after it: %+v", res.Counts)
		}
	})
}

// TestRefusedPairIsDecidedOncePerRun: in a both-way --full run a pair is
// read from both sides; when the sink refuses the source's change, reading
// the sink record afterwards must not decide the pair again (a second
// reject, on the sink side, with the sink's stale view). And when a pair
// has open rejects on both sides, the retry reads the sink record after the
// source's change is written, so it never pulls the old values back.
func TestRefusedPairIsDecidedOncePerRun(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Both))
		e.seed(3)
		e.runOK(engine.RunParams{})
		refuse := true
		e.snk.SetOptions(memoryHook(func(_ int, c connectors.Change) error {
			if refuse && c.Op == connectors.OpUpdate {
				return &connectors.RecordError{Reason: "emails.primaryEmail: duplicate value"}
			}
			return nil
		}, e.clock.Now))
		update(t, e.src, "members", "m00001", map[string]any{"title": "Bendahara"})
		ctx := context.Background()
		for _, full := range []bool{true, false, true} {
			res := e.run(engine.RunParams{Full: full})[0]
			rejects, _ := e.store.Rejects(ctx, "members")
			if res.Counts.Rejected != 1 || len(rejects) != 1 || rejects[0].Side != config.SideSource {
				t.Fatalf("full=%v: %+v, rejects %+v", full, res.Counts, rejects)
			}
		}
		// A sink-side reject of the same pair, as older versions left.
		sinkID := engine.CreateID("members", config.SideSink, "m00001")
		if err := e.store.Commit(ctx, state.Batch{Pipeline: "members", Rejects: []state.Reject{{Pipeline: "members", Side: config.SideSink, Key: sinkID,
			Reason: "older duplicate", FirstAt: time.Now().UTC(), LastAt: time.Now().UTC()}}}); err != nil {
			t.Fatal(err)
		}
		refuse = false
		ws := e.src.Writes()
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if e.person("m00001").Fields["jobTitle"] != "Bendahara" || e.src.S("members").All()["m00001"].Fields["title"] != "Bendahara" || e.src.Writes() != ws {
			t.Fatalf("after the fix: sink %+v, source %+v, %d source writes; plan %+v", e.person("m00001").Fields,
				e.src.S("members").All()["m00001"].Fields, e.src.Writes()-ws, res.Plan)
		}
		if rejects, _ := e.store.Rejects(ctx, "members"); len(rejects) != 0 {
			t.Fatalf("rejects left: %+v", rejects)
		}
	})
}

// TestRefusedRetryKeepsItsReject: in a both-way run, a pair refused by the
// retry of its reject is not decided again when the read of changes
// returns it (changed in between); that second reading must not clear the
// reject the retry just kept, or the record would never be retried.
func TestRefusedRetryKeepsItsReject(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Both))
		e.seed(5)
		e.runOK(engine.RunParams{})
		sinkID := engine.CreateID("members", config.SideSink, "m00003")
		refuse, bump, bumped := true, false, false
		e.snk.SetOptions(memoryHook(func(_ int, c connectors.Change) error {
			if c.ID != sinkID || !refuse {
				return nil
			}
			if bump && !bumped {
				// The user edits the record while the retry is refused:
				// the read of changes returns a newer version.
				bumped = true
				update(t, e.src, "members", "m00003", map[string]any{"last": "Santoso-Wibowo"})
			}
			return &connectors.RecordError{Reason: "sink refuses this record"}
		}, e.clock.Now))
		update(t, e.src, "members", "m00003", map[string]any{"title": "Ketua"})
		if res := e.run(engine.RunParams{})[0]; res.Counts.Rejected != 1 {
			t.Fatalf("refusing run: %+v", res.Counts)
		}
		bump = true
		e.run(engine.RunParams{}) // the retry is refused again, the record changes meanwhile
		if !bumped {
			t.Fatal("the retry did not reach the sink")
		}
		rejects, err := e.store.Rejects(context.Background(), "members")
		if err != nil || len(rejects) != 1 || rejects[0].Key != "m00003" {
			t.Fatalf("rejects after the refused retry = %+v (%v), want m00003's kept", rejects, err)
		}
		refuse = false
		if res := e.run(engine.RunParams{})[0]; res.Counts.Updated != 1 {
			t.Fatalf("run once the sink accepts: %+v", res.Counts)
		}
		p := e.person("m00003")
		if p.Fields["jobTitle"] != "Ketua" || p.Fields["name"].(map[string]any)["lastName"] != "Santoso-Wibowo" {
			t.Fatalf("person after the accepted retry = %+v", p.Fields)
		}
	})
}
