package engine_test

import (
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// TestSameBatchRejectWithholdsASensitiveMatchValue: two new records of one
// batch that share the value of a sensitive match field are not both
// created; the reason the second is held names the field, not its value.
func TestSameBatchRejectWithholdsASensitiveMatchValue(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		p := members(config.Push)
		p.Match = append(p.Match, config.MatchRule{Source: "nik", Sink: "nik"})
		p.Sensitive = []string{"nik"}
		e := newEnv(t, open, p)
		a, b := member("m1", "Budi", "budi@kelompok.id"), member("m2", "Eko", "eko@kelompok.id")
		a.Fields["nik"], b.Fields["nik"] = "TOPSECRET-NIK", "TOPSECRET-NIK"
		e.src.S("members").Put(a, b)
		res := e.run(engine.RunParams{KeepPlan: true})[0]
		var reason string
		for _, d := range res.Plan {
			if d.Action == state.ActionReject {
				reason = d.Reason
			}
		}
		if !strings.Contains(reason, "same nik (value withheld: sensitive) as source record m1") || strings.Contains(reason, "TOPSECRET") {
			t.Fatalf("reject reason %q: want the field named and its value withheld; plan %+v", reason, res.Plan)
		}
	})
}
