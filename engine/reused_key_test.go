package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
)

// TestReusedKeyBringsBackItsRecord: a source key whose pair was unlinked
// (its record gone, the sink record soft-deleted or left alone) and that
// comes back (a file row added again) is created under the same
// deterministic id, which the old sink record still has. That record is
// written instead: restored (or updated) with the new values, and linked.
// It used to be refused as a duplicate id on every run.
func TestReusedKeyBringsBackItsRecord(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(testing.TB) state.Store) {
		for _, policy := range []string{config.DeleteSoft, config.DeleteIgnore} {
			p := members(config.Both)
			p.Delete = config.Delete{Policy: policy}
			e := newEnv(t, open, p)
			e.seed(3)
			e.runOK(engine.RunParams{})
			old := e.person("m00001")
			destroy(t, e.src.S("members"), "m00001")
			// The person is edited on the sink, so a run reads the pair and
			// finds its source record gone: the link is removed.
			update(t, e.snk, "people", old.ID, map[string]any{"jobTitle": "Sekretaris"})
			e.runOK(engine.RunParams{})
			if n := e.linkCount(); n != 2 {
				t.Fatalf("%s: %d links after the source record went, want 2", policy, n)
			}
			if got := e.person("m00001").Deleted; got != (policy == config.DeleteSoft) {
				t.Fatalf("%s: sink record deleted = %v", policy, got)
			}
			// The key comes back with other values.
			e.src.S("members").Put(member("m00001", "Siti", "siti@kelompok.id"))
			res := e.runOK(engine.RunParams{})
			if res.Counts.Created != 1 || res.Counts.Rejected != 0 {
				t.Errorf("%s: run after the key came back: %+v", policy, res.Counts)
			}
			got := e.person("m00001")
			name, _ := got.Fields["name"].(map[string]any)
			emails, _ := got.Fields["emails"].(map[string]any)
			if got.Deleted || name["firstName"] != "Siti" || emails["primaryEmail"] != "siti@kelompok.id" {
				t.Errorf("%s: sink record %+v, want it live with the new values", policy, got)
			}
			if n := e.snk.S("people").Len(); n != 3 {
				t.Errorf("%s: %d people, want 3 (no duplicate)", policy, n)
			}
			if n := e.linkCount(); n != 3 {
				t.Errorf("%s: %d links, want 3", policy, n)
			}
			audit, err := e.store.AuditList(context.Background(), res.RunID)
			if err != nil {
				t.Fatal(err)
			}
			want := "restored with these values"
			if policy == config.DeleteIgnore {
				want = "updated with these values"
			}
			found := false
			for _, a := range audit {
				if a.SourceKey == "m00001" && a.Action == state.ActionCreate && strings.Contains(a.Reason, "is the record this key had before: "+want) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no create audited with %q: %+v", policy, want, audit)
			}
			rejects, err := e.store.Rejects(context.Background(), "members")
			if err != nil {
				t.Fatal(err)
			}
			if len(rejects) != 0 {
				t.Errorf("%s: rejects %+v", policy, rejects)
			}
			if policy == config.DeleteIgnore {
				// The sink record was left alone when its source record
				// went; linked again, it is no longer recorded so.
				left, err := e.store.Unlinked(context.Background(), "members", config.SideSink, []string{old.ID})
				if err != nil {
					t.Fatal(err)
				}
				if len(left) != 0 {
					t.Errorf("%s: the sink record is still recorded as left unlinked: %+v", policy, left)
				}
			}
			// And the next run finds nothing to do.
			if res := e.runOK(engine.RunParams{}); res.Counts != (state.Counts{}) {
				t.Errorf("%s: rerun %+v", policy, res.Counts)
			}
		}
	})
}
