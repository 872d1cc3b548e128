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
			// Soft: the deleted record is restored, as a create would
			// have made it. Ignore: the record left alone is still there,
			// and the "create" is the update of it that it is.
			want := state.Counts{Created: 1}
			if policy == config.DeleteIgnore {
				want = state.Counts{Updated: 1}
			}
			if res.Counts != want {
				t.Errorf("%s: run after the key came back: %+v, want %+v", policy, res.Counts, want)
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
			audit := e.audit(res.RunID)
			action, reason := state.ActionCreate, "is the record this key had before: restored with these values"
			if policy == config.DeleteIgnore {
				action, reason = state.ActionUpdate, "is the record this key had before, left unlinked when its partner was deleted: updated"
			}
			if len(audit) != 1 || audit[0].SourceKey != "m00001" || audit[0].SinkKey != old.ID ||
				audit[0].Action != action || !strings.Contains(audit[0].Reason, reason) {
				t.Errorf("%s: audit %+v, want one %s of %s -> %s saying %q", policy, audit, action, "m00001", old.ID, reason)
			} else if policy == config.DeleteIgnore {
				// Audited from the values the record had.
				found := false
				for _, d := range audit[0].Diff {
					if d.Field == "jobTitle" && d.Old == "Sekretaris" && d.New == "Anggota" {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: diff %+v, want jobTitle Sekretaris -> Anggota", policy, audit[0].Diff)
				}
			}
			if rejects := e.rejects(); len(rejects) != 0 {
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
