package engine_test

import (
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// upperPullMappers upper-cases the title the pull mapping produces, as a
// normalizer does ("ketua umum" pulls as "Ketua Umum"): the pull of the
// sink's value differs from the source's own column.
type upperPullMappers struct{ fakeMappers }

type upperTitleMapper struct{ engine.Mapper }

func (m upperPullMappers) Mapper(p *config.Pipeline, mm *config.Mapping) (engine.Mapper, error) {
	inner, err := m.fakeMappers.Mapper(p, mm)
	if err != nil || mm != p.Pull {
		return inner, err
	}
	return upperTitleMapper{inner}, nil
}

func (m upperTitleMapper) Map(rec connectors.Record) (map[string]any, error) {
	out, err := m.Mapper.Map(rec)
	if s, ok := out["title"].(string); ok {
		out["title"] = strings.ToUpper(s)
	}
	return out, err
}

func withMappers(t *testing.T, e *env, m engine.MapperFactory) {
	t.Helper()
	eng, err := engine.New(engine.Config{Config: e.cfg, Store: e.store, Registry: registryOf(e), Mappers: m, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
}

// TestPullWritesOnlyWhatTheSinkChanged: a sink change is pulled as the
// columns it changes; a column the change did not touch is not rewritten
// with the pull's normalized form of the same value (titles and degrees
// stripped from a full name, a position re-cased).
func TestPullWritesOnlyWhatTheSinkChanged(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		e := newEnv(t, open, members(config.Both))
		withMappers(t, e, upperPullMappers{})
		e.src.S("members").Put(member("m1", "Rina", "rina@kelompok.id"))
		e.runOK(engine.RunParams{})
		id := engine.CreateID("members", config.SideSink, "m1")
		update(t, e.snk, "people", id, map[string]any{"name": map[string]any{"firstName": "Rina-K"}})
		var got []connectors.Change
		e.src.SetOptions(memoryHook(func(_ int, c connectors.Change) error { got = append(got, c); return nil }, e.clock.Now))
		res := e.runOK(engine.RunParams{KeepPlan: true})
		s := e.src.S("members").All()["m1"]
		if s.Fields["first"] != "Rina-K" || s.Fields["title"] != "Anggota" || len(got) != 1 || len(got[0].Fields) != 1 {
			t.Fatalf("source %+v after the pull, writes %+v; plan %+v", s.Fields, got, res.Plan)
		}
		ws, wk := e.src.Writes(), e.snk.Writes()
		if res := e.runOK(engine.RunParams{}); e.src.Writes() != ws || e.snk.Writes() != wk {
			t.Fatalf("rerun wrote: %+v", res.Counts)
		}
	})
}

// TestSinkChangeNoPullCarries: the sink changes a field that no pull
// mapping writes back (here the title, left out of the pull). The policy
// decides between the two values instead of the base silently taking the
// sink's value (and a later source change silently undoing it):
// source_of_truth source writes the source's value back to the sink, at
// once; newest, with the sink's change the newer, keeps it on the sink, and
// a later change of another source field does not undo it. A push-only
// pipeline is the same case.
func TestSinkChangeNoPullCarries(t *testing.T) {
	noTitlePull := func(direction string, c config.Conflict) *config.Pipeline {
		p := members(direction)
		p.Conflict = c
		if p.Pull != nil {
			var kept []config.FieldMapping
			for _, f := range p.Pull.Fields {
				if f.Target != "title" {
					kept = append(kept, f)
				}
			}
			p.Pull = &config.Mapping{Fields: kept}
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		direction string
		conflict  config.Conflict
		wantSink  string // the sink's title after the run
	}{
		{"both, source of truth source", config.Both, config.Conflict{Policy: config.ConflictSourceOfTruth, Side: config.SideSource}, "Anggota"},
		{"push, source of truth source", config.Push, config.Conflict{Policy: config.ConflictSourceOfTruth, Side: config.SideSource}, "Anggota"},
		{"both, newest", config.Both, config.Conflict{Policy: config.ConflictNewest}, "Sekretaris"},
		{"push, source of truth sink", config.Push, config.Conflict{Policy: config.ConflictSourceOfTruth, Side: config.SideSink}, "Sekretaris"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
				e := newEnv(t, open, noTitlePull(tc.direction, tc.conflict))
				e.src.S("members").Put(member("m1", "Rina", "rina@kelompok.id"))
				e.runOK(engine.RunParams{})
				id := engine.CreateID("members", config.SideSink, "m1")
				update(t, e.snk, "people", id, map[string]any{"jobTitle": "Sekretaris"})
				if tc.direction == config.Push {
					// A push pipeline reads only the source: the pair is
					// decided again when the source changes.
					update(t, e.src, "members", "m1", map[string]any{"first": "Rina-S"})
				}
				res := e.runOK(engine.RunParams{KeepPlan: true})
				if got := e.person("m1").Fields["jobTitle"]; got != tc.wantSink {
					t.Fatalf("sink title %q, want %q; plan %+v", got, tc.wantSink, res.Plan)
				}
				if tc.wantSink == "Sekretaris" && tc.direction == config.Both && (len(res.Plan) != 1 || res.Plan[0].Action != state.ActionSkip ||
					!strings.Contains(res.Plan[0].Reason, "changed on the sink (jobTitle); no pull mapping carries jobTitle back; the value stays")) {
					t.Errorf("plan %+v: want one skip saying the sink's change stays there", res.Plan)
				}
				if tc.wantSink == "Anggota" && tc.direction == config.Both && (len(res.Plan) != 1 || !strings.Contains(res.Plan[0].Reason, "no pull mapping carries back")) {
					t.Errorf("plan %+v: want one update saying why the sink is written", res.Plan)
				}
				ws, wk := e.src.Writes(), e.snk.Writes()
				if res := e.runOK(engine.RunParams{}); e.src.Writes() != ws || e.snk.Writes() != wk {
					t.Fatalf("rerun wrote: %+v", res.Counts)
				}
				// Another source field changes: only it is pushed.
				update(t, e.src, "members", "m1", map[string]any{"last": "Baru"})
				res = e.runOK(engine.RunParams{KeepPlan: true})
				k := e.person("m1")
				if k.Fields["jobTitle"] != tc.wantSink || k.Fields["name"].(map[string]any)["lastName"] != "Baru" {
					t.Fatalf("after a source change: sink %+v; plan %+v", k.Fields, res.Plan)
				}
				if s := e.src.S("members").All()["m1"]; s.Fields["title"] != "Anggota" {
					t.Fatalf("source title %v, want Anggota (no pull carries it)", s.Fields["title"])
				}
			})
		})
	}
}

// TestSourceOnlyChangeOfAnUnpulledFieldIsPushed: the source changes a field
// no pull carries back, and the sink wins the record on another field (a
// newer change on both sides): the sink has no change of its own to that
// field, so the source's change is still pushed, not left behind while the
// link says the sides match.
func TestSourceOnlyChangeOfAnUnpulledFieldIsPushed(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.Conflict = config.Conflict{Policy: config.ConflictNewest}
		var kept []config.FieldMapping
		for _, f := range p.Pull.Fields {
			if f.Target != "title" {
				kept = append(kept, f)
			}
		}
		p.Pull = &config.Mapping{Fields: kept}
		e := newEnv(t, open, p)
		e.src.S("members").Put(member("m1", "Rina", "rina@kelompok.id"))
		e.runOK(engine.RunParams{})
		id := engine.CreateID("members", config.SideSink, "m1")
		update(t, e.src, "members", "m1", map[string]any{"title": "Bendahara", "last": "Source"})
		update(t, e.snk, "people", id, map[string]any{"name": map[string]any{"lastName": "Sink"}})
		res := e.runOK(engine.RunParams{KeepPlan: true})
		s, k := e.src.S("members").All()["m1"], e.person("m1")
		if k.Fields["jobTitle"] != "Bendahara" || s.Fields["last"] != "Sink" || k.Fields["name"].(map[string]any)["lastName"] != "Sink" {
			t.Fatalf("source %+v, sink %+v; plan %+v", s.Fields, k.Fields, res.Plan)
		}
		ws, wk := e.src.Writes(), e.snk.Writes()
		if res := e.runOK(engine.RunParams{Full: true}); e.src.Writes() != ws || e.snk.Writes() != wk {
			t.Fatalf("rerun wrote: %+v", res.Counts)
		}
	})
}

// TestOwnerOfACompositeOwnsItsParts: conflict.owner may name a composite
// field ("name"), which owns its sub-fields (name.firstName, ...).
func TestOwnerOfACompositeOwnsItsParts(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Both)
		p.Conflict = config.Conflict{Policy: config.ConflictSourceOfTruth, Side: config.SideSource, Owner: map[string]string{"name": config.SideSink}}
		e := newEnv(t, open, p)
		e.src.S("members").Put(member("m1", "Rina", "rina@kelompok.id"))
		e.runOK(engine.RunParams{})
		id := engine.CreateID("members", config.SideSink, "m1")
		update(t, e.src, "members", "m1", map[string]any{"first": "Rina-S"})
		update(t, e.snk, "people", id, map[string]any{"name": map[string]any{"firstName": "Rina-K"}})
		res := e.runOK(engine.RunParams{KeepPlan: true})
		if s, k := e.src.S("members").All()["m1"], e.person("m1"); s.Fields["first"] != "Rina-K" || first(k) != "Rina-K" {
			t.Fatalf("source %+v, sink %+v; plan %+v", s.Fields, k.Fields, res.Plan)
		}
	})
}
