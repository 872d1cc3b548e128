package statetest

import (
	"reflect"
	"testing"

	"github.com/kelompok/pipe/engine/state"
)

// intentsBySide: an intent is done by pipeline, side and key: a create
// recorded for the same key on the source and the sink side (a both-way
// pipeline) keeps the other side's intent when one side's is done.
func (s suite) intentsBySide(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	if err := st.IntentsAdd(ctx, []state.Intent{
		{Pipeline: "members", Side: "sink", Key: "k-1", TargetID: "t-sink"},
		{Pipeline: "members", Side: "source", Key: "k-1", TargetID: "t-source"},
	}); err != nil {
		t.Fatalf("IntentsAdd: %v", err)
	}
	commit(t, st, state.Batch{Pipeline: "members", IntentsDone: []state.Intent{{Side: "source", Key: "k-1"}}})
	got, err := st.Intents(ctx, "members")
	if err != nil {
		t.Fatalf("Intents: %v", err)
	}
	var left []string
	for _, in := range got {
		left = append(left, in.Side+"/"+in.Key+"->"+in.TargetID)
	}
	if want := []string{"sink/k-1->t-sink"}; !reflect.DeepEqual(left, want) {
		t.Fatalf("Intents after the source side's is done = %v, want %v", left, want)
	}
}
