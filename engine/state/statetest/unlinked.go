package statetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/kelompok/pipe/engine/state"
)

// unlinked: Unlinked records are recorded and replaced by pipeline,
// side and key, cleared before the batch's new ones, kept with the record's
// UpdatedAt exact to the nanosecond, and looked up by side and keys.
func (s suite) unlinked(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	get := func(pipeline, side string, keys ...string) map[string]state.Unlinked {
		t.Helper()
		got, err := st.Unlinked(ctx, pipeline, side, keys)
		if err != nil {
			t.Fatalf("Unlinked(%q, %q, %q): %v", pipeline, side, keys, err)
		}
		if got == nil {
			t.Fatalf("Unlinked(%q, %q, %q) = nil map, want a map", pipeline, side, keys)
		}
		return got
	}
	check := func(what string, got map[string]state.Unlinked, want map[string]state.Unlinked) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: got %d records %+v, want %d %+v", what, len(got), got, len(want), want)
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok {
				t.Errorf("%s: %q missing (got %+v)", what, k, got)
				continue
			}
			if g.Pipeline != w.Pipeline || g.Side != w.Side || g.Key != w.Key || g.PartnerKey != w.PartnerKey || g.Hash != w.Hash ||
				!g.UpdatedAt.Equal(w.UpdatedAt) || g.UpdatedAt.Location() != time.UTC || !g.At.Equal(w.At) || g.At.Location() != time.UTC {
				t.Errorf("%s: %q = %+v, want %+v", what, k, g, w)
			}
		}
	}

	if got := get("members", "source"); len(got) != 0 {
		t.Fatalf("Unlinked with no keys = %+v, want empty", got)
	}
	if got := get("members", "source", "m-1"); len(got) != 0 {
		t.Fatalf("Unlinked on a new store = %+v, want empty", got)
	}

	// Record two on different sides (At given on one, set by the store on
	// the other) and one of another pipeline with the same side and key.
	wib := time.FixedZone("WIB", 7*3600)
	upd1 := time.Date(2026, 3, 4, 12, 6, 7, 123456789, wib) // nanoseconds, not UTC
	upd2 := time.Date(2026, 3, 5, 1, 2, 3, 1, time.UTC)
	at2 := time.Date(2026, 3, 6, 8, 0, 0, 987654321, time.UTC)
	anyOf := func(pipeline string) bool {
		t.Helper()
		found, err := st.UnlinkedAny(ctx, pipeline)
		if err != nil {
			t.Fatalf("UnlinkedAny(%q): %v", pipeline, err)
		}
		return found
	}
	if anyOf("members") {
		t.Errorf("UnlinkedAny of a fresh store = true")
	}
	before := time.Now().UTC().Truncate(time.Microsecond)
	commit(t, st, state.Batch{Pipeline: "members", Unlinked: []state.Unlinked{
		{Side: "source", Key: "m-1", PartnerKey: "p-1", UpdatedAt: upd1, Hash: "h-m1"},
		{Side: "sink", Key: "p-2", PartnerKey: "m-2", UpdatedAt: upd2, At: at2},
		{Pipeline: "events", Side: "source", Key: "m-1", PartnerKey: "e-1", UpdatedAt: upd2, At: at2},
	}})
	after := time.Now().UTC()
	got := get("members", "source", "m-1", "p-2", "absent")
	m1 := got["m-1"]
	if m1.At.Before(before) || m1.At.After(after) || m1.At.Nanosecond()%1000 != 0 {
		t.Errorf("At set by the store = %v, want a microsecond time between %v and %v", m1.At, before, after)
	}
	if m1.UpdatedAt.Nanosecond() != 123456789 || !m1.UpdatedAt.Equal(upd1) {
		t.Errorf("UpdatedAt = %v (ns %d), want %v exactly", m1.UpdatedAt, m1.UpdatedAt.Nanosecond(), upd1)
	}
	m1Want := state.Unlinked{Pipeline: "members", Side: "source", Key: "m-1", PartnerKey: "p-1", UpdatedAt: upd1, Hash: "h-m1", At: m1.At}
	check("source side", got, map[string]state.Unlinked{"m-1": m1Want})
	p2Want := state.Unlinked{Pipeline: "members", Side: "sink", Key: "p-2", PartnerKey: "m-2", UpdatedAt: upd2, At: at2.Truncate(time.Microsecond)}
	check("sink side", get("members", "sink", "p-2", "m-1"), map[string]state.Unlinked{"p-2": p2Want})
	e1Want := state.Unlinked{Pipeline: "events", Side: "source", Key: "m-1", PartnerKey: "e-1", UpdatedAt: upd2, At: at2.Truncate(time.Microsecond)}
	check("other pipeline", get("events", "source", "m-1"), map[string]state.Unlinked{"m-1": e1Want})
	if got := get("members", "source", "p-2"); len(got) != 0 {
		t.Errorf("sink key asked on the source side = %+v, want nothing", got)
	}

	// A batch with neither field leaves them as they are.
	commit(t, st, state.Batch{Pipeline: "members", Links: []state.Link{{SourceKey: "m-5", SinkKey: "p-5"}}, Unlink: []string{"m-1"}})
	check("after a batch without them", get("members", "source", "m-1"), map[string]state.Unlinked{"m-1": m1Want})
	check("after a batch without them", get("members", "sink", "p-2"), map[string]state.Unlinked{"p-2": p2Want})

	// Same key again: the new values win; a key given twice in one batch:
	// the last.
	upd3 := time.Date(2026, 4, 1, 0, 0, 0, 999999999, time.UTC)
	at3 := time.Date(2026, 4, 2, 0, 0, 0, 5000, time.UTC)
	commit(t, st, state.Batch{Pipeline: "members", Unlinked: []state.Unlinked{
		{Side: "source", Key: "m-1", PartnerKey: "p-9", UpdatedAt: upd3, Hash: "h-m1b", At: at3},
		{Side: "source", Key: "m-3", PartnerKey: "p-3a", UpdatedAt: upd2, At: at2},
		{Side: "source", Key: "m-3", PartnerKey: "p-3b", UpdatedAt: upd3, At: at3},
	}})
	m1Want = state.Unlinked{Pipeline: "members", Side: "source", Key: "m-1", PartnerKey: "p-9", UpdatedAt: upd3, Hash: "h-m1b", At: at3}
	m3Want := state.Unlinked{Pipeline: "members", Side: "source", Key: "m-3", PartnerKey: "p-3b", UpdatedAt: upd3, At: at3}
	check("replaced", get("members", "source", "m-1", "m-3"), map[string]state.Unlinked{"m-1": m1Want, "m-3": m3Want})
	check("other pipeline after a replace", get("events", "source", "m-1"), map[string]state.Unlinked{"m-1": e1Want})

	// Cleared in a later batch, by side and key: sink p-2 goes; the
	// source m-1 stays though sink m-1 is cleared (no such record), and
	// so does the other pipeline's m-1.
	commit(t, st, state.Batch{Pipeline: "members", UnlinkedCleared: []state.Unlinked{
		{Side: "sink", Key: "p-2"}, {Side: "sink", Key: "m-1"}, {Side: "source", Key: "absent"},
	}})
	if got := get("members", "sink", "p-2", "m-1"); len(got) != 0 {
		t.Errorf("sink side after clearing = %+v, want empty", got)
	}
	check("source side after clearing the sink's", get("members", "source", "m-1", "m-3"), map[string]state.Unlinked{"m-1": m1Want, "m-3": m3Want})
	check("other pipeline after a clear", get("events", "source", "m-1"), map[string]state.Unlinked{"m-1": e1Want})

	// Cleared and recorded again in one batch: cleared first, so it stays
	// with the new values; m-3 is only cleared.
	upd4 := time.Date(2026, 5, 1, 9, 9, 9, 42, time.UTC)
	commit(t, st, state.Batch{Pipeline: "members",
		Unlinked:        []state.Unlinked{{Side: "source", Key: "m-1", PartnerKey: "p-10", UpdatedAt: upd4, At: at2}},
		UnlinkedCleared: []state.Unlinked{{Side: "source", Key: "m-1"}, {Side: "source", Key: "m-3"}},
	})
	m1Want = state.Unlinked{Pipeline: "members", Side: "source", Key: "m-1", PartnerKey: "p-10", UpdatedAt: upd4, At: at2.Truncate(time.Microsecond)}
	check("cleared and recorded in one batch", get("members", "source", "m-1", "m-3"), map[string]state.Unlinked{"m-1": m1Want})

	// The other pipeline's, cleared in its own batch (pipeline from the
	// batch), leaves members' alone.
	if !anyOf("events") || !anyOf("members") || anyOf("bulk") {
		t.Errorf("UnlinkedAny events/members/bulk = %v/%v/%v, want true/true/false", anyOf("events"), anyOf("members"), anyOf("bulk"))
	}
	commit(t, st, state.Batch{Pipeline: "events", UnlinkedCleared: []state.Unlinked{{Side: "source", Key: "m-1"}}})
	if got := get("events", "source", "m-1"); len(got) != 0 {
		t.Errorf("other pipeline after clearing its own = %+v, want empty", got)
	}
	if anyOf("events") {
		t.Errorf("UnlinkedAny of a pipeline whose records were all cleared = true")
	}
	check("members after the other pipeline's clear", get("members", "source", "m-1"), map[string]state.Unlinked{"m-1": m1Want})

	// Many at once (more than one statement's or query's worth).
	const n = 1234
	many := make([]state.Unlinked, n)
	keys := make([]string, n)
	want := make(map[string]state.Unlinked, n)
	for i := range many {
		k := fmt.Sprintf("k-%04d", i)
		many[i] = state.Unlinked{Side: "sink", Key: k, PartnerKey: "s-" + k, UpdatedAt: upd1.Add(time.Duration(i)), At: at3}
		keys[i] = k
		want[k] = state.Unlinked{Pipeline: "bulk", Side: "sink", Key: k, PartnerKey: "s-" + k, UpdatedAt: upd1.Add(time.Duration(i)), At: at3}
	}
	commit(t, st, state.Batch{Pipeline: "bulk", Unlinked: many})
	all := get("bulk", "sink", keys...)
	check("many", all, want)
}
