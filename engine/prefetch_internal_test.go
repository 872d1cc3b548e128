package engine

import (
	"testing"

	"github.com/kelompok/pipe/engine/state"
)

// TestReadAheadStaleness: a batch read ahead is looked up again for the
// items whose keys (own key or either key of its link) a batch processed
// after the read-ahead started, and in full when that is further back than
// remembered.
func TestReadAheadStaleness(t *testing.T) {
	r := &runner{}
	a := &item{key: "a", link: &state.Link{SourceKey: "a", SinkKey: "A"}}
	b := &item{key: "b"}
	c := &item{key: "c", link: &state.Link{SourceKey: "c", SinkKey: "C"}}
	seq0 := r.touchSeq
	// A batch processed after the read-ahead: it wrote pair b and linked
	// sink record C to another source record.
	r.touch([]*item{{key: "b"}, {key: "x", linkOut: &state.Link{SourceKey: "x", SinkKey: "C"}}})
	got := r.stale([]*item{a, b, c}, seq0)
	if len(got) != 2 || got[0] != b || got[1] != c {
		t.Fatalf("stale = %v, want b and c", got)
	}
	// Nothing processed since: nothing stale.
	if got := r.stale([]*item{a, b, c}, r.touchSeq); len(got) != 0 {
		t.Fatalf("stale = %v, want none", got)
	}
	// A read-ahead older than what is remembered is read again in full.
	for range touchKeep + 1 {
		r.touch([]*item{{key: "z"}})
	}
	if got := r.stale([]*item{a, b, c}, seq0); len(got) != 3 {
		t.Fatalf("stale = %v, want all", got)
	}
}
