package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
)

// A field changed on both sides since the last sync, under each conflict
// policy of the members pipeline (direction both). Kelompok's position and
// Twenty's jobTitle are the same field; Kelompok writes "Koordinator
// Lapangan", Twenty "Bendahara Umum".
func TestConflictPolicies(t *testing.T) {
	const kelompokValue, twentyValue = "Koordinator Lapangan", "Bendahara Umum"
	cases := []struct {
		name     string
		conflict config.Conflict
		// twentyFirst edits Twenty before Kelompok (so Kelompok is newer).
		twentyFirst bool
		// want is the value both sides hold after the run: "kelompok",
		// "twenty", or "" for a conflict held for a person to decide.
		want string
	}{
		{name: "source_of_truth source", conflict: config.Conflict{Policy: config.ConflictSourceOfTruth, Side: config.SideSource}, want: "kelompok"},
		{name: "source_of_truth sink", conflict: config.Conflict{Policy: config.ConflictSourceOfTruth, Side: config.SideSink}, want: "twenty"},
		{name: "newest, Kelompok later", conflict: config.Conflict{Policy: config.ConflictNewest}, twentyFirst: true, want: "kelompok"},
		{name: "newest, Twenty later", conflict: config.Conflict{Policy: config.ConflictNewest}, want: "twenty"},
		{name: "merge, fallback sink", conflict: config.Conflict{Policy: config.ConflictMerge, Fallback: "sink"}, want: "twenty"},
		{name: "manual", conflict: config.Conflict{Policy: config.ConflictManual}, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, options{tune: func(cfg *config.Config) { cfg.Pipelines["members"].Conflict = tc.conflict }})
			e.run()
			m := e.syncedMember(0)
			p := e.person(m.ID)
			before := p["jobTitle"]

			editKelompok := func() {
				e.exec("UPDATE members SET position = $1, updated_at = clock_timestamp() WHERE id = $2", kelompokValue, m.ID)
			}
			editTwenty := func() {
				if _, err := e.twenty.Put("people", map[string]any{"id": p["id"], "jobTitle": twentyValue}); err != nil {
					t.Fatal(err)
				}
			}
			// The second edit is clearly later than the first.
			if tc.twentyFirst {
				editTwenty()
				time.Sleep(20 * time.Millisecond)
				editKelompok()
			} else {
				editKelompok()
				time.Sleep(20 * time.Millisecond)
				editTwenty()
			}

			res := e.run("members")["members"]
			position := e.memberText(m.ID, "position")
			jobTitle := e.person(m.ID)["jobTitle"]
			switch tc.want {
			case "kelompok":
				if position == nil || *position != kelompokValue {
					t.Errorf("Kelompok position = %v, want its own %q kept", position, kelompokValue)
				}
				if jobTitle == twentyValue || jobTitle == before {
					t.Errorf("Twenty jobTitle = %v, want Kelompok's position pushed over %q", jobTitle, twentyValue)
				}
			case "twenty":
				if position == nil || *position != twentyValue {
					t.Errorf("Kelompok position = %v, want Twenty's %q", position, twentyValue)
				}
				if jobTitle != twentyValue {
					t.Errorf("Twenty jobTitle = %v, want its own %q kept", jobTitle, twentyValue)
				}
			default:
				if res.Counts.Conflicts != 1 {
					t.Errorf("%d conflicts, want 1 (%+v)", res.Counts.Conflicts, res.Counts)
				}
				if position == nil || *position != kelompokValue || jobTitle != twentyValue {
					t.Errorf("under manual both sides keep their edit until resolved: position %v, jobTitle %v", position, jobTitle)
				}
				held, err := e.store.Conflicts(e.ctx, "members", false)
				if err != nil {
					t.Fatal(err)
				}
				if len(held) != 1 || held[0].SourceKey != m.ID {
					t.Errorf("conflicts held: %+v, want one for member %s", held, m.ID)
				}
				return
			}
			if n := writes(e.run("members")); n != 0 {
				t.Errorf("after the conflict was settled a rerun wrote %d records", n)
			}
		})
	}
}

// A record deleted on one side, under each delete policy, in both
// directions of the members pipeline.
func TestDeletePolicies(t *testing.T) {
	for _, policy := range []string{config.DeleteIgnore, config.DeleteSoft, config.DeletePropagate} {
		t.Run(policy, func(t *testing.T) {
			e := newEnv(t, options{tune: func(cfg *config.Config) {
				cfg.Pipelines["members"].Delete = config.Delete{Policy: policy, MaxCount: 10}
			}})
			e.run()

			// Deleted in Kelompok (soft delete through deleted_at).
			gone := e.syncedMember(0)
			personID, _ := e.link("members", gone.ID)
			e.exec("UPDATE members SET deleted_at = now(), updated_at = now() WHERE id = $1", gone.ID)
			// Deleted in Twenty (soft delete, as from the UI).
			other := e.syncedMember(1)
			otherPerson, _ := e.link("members", other.ID)
			if err := e.twenty.Delete("people", otherPerson, false); err != nil {
				t.Fatal(err)
			}

			res := e.run("members")["members"]
			p, exists := e.twenty.Get("people", personID)
			deletedInTwenty := exists && p["deletedAt"] != nil
			var memberDeleted *time.Time
			var rows int
			if err := e.db.QueryRowContext(e.ctx, "SELECT count(*), max(deleted_at) FROM members WHERE id = $1", other.ID).Scan(&rows, &memberDeleted); err != nil {
				t.Fatal(err)
			}
			switch policy {
			case config.DeleteIgnore:
				if !exists || deletedInTwenty {
					t.Errorf("ignore: the person of the deleted member was deleted in Twenty")
				}
				if rows != 1 || memberDeleted != nil {
					t.Errorf("ignore: the member of the deleted person was deleted in Kelompok")
				}
				if res.Counts.Deleted != 0 {
					t.Errorf("ignore: %d deletes", res.Counts.Deleted)
				}
			case config.DeleteSoft:
				if !deletedInTwenty {
					t.Errorf("soft: the person of the deleted member is not soft-deleted (exists %v)", exists)
				}
				if rows != 1 || memberDeleted == nil {
					t.Errorf("soft: the member of the deleted person is not soft-deleted (rows %d)", rows)
				}
			case config.DeletePropagate:
				if exists {
					t.Errorf("propagate: the person of the deleted member is still in Twenty")
				}
				if rows != 0 {
					t.Errorf("propagate: the member of the deleted person is still in Kelompok")
				}
			}
			if policy != config.DeleteIgnore && res.Counts.Deleted != 2 {
				t.Errorf("%s: %d deletes, want 2 (%+v)", policy, res.Counts.Deleted, res.Counts)
			}
			if n := writes(e.run("members")); n != 0 {
				t.Errorf("%s: a rerun after the deletes wrote %d records", policy, n)
			}
		})
	}
}

// TestMemberRestoredFromBackup: a member row deleted for good, whose
// person the delete policy then soft-deletes in Twenty (soft) or leaves
// alone (ignore), and which is later inserted again with the same id
// (restored from a backup). Its create carries the deterministic id the
// person still has: Twenty answers "Record already exists". The person is
// restored (soft) or updated (ignore) with the member's values and linked
// again, rather than refused on every run, linked while deleted, or linked
// with values it does not have.
func TestMemberRestoredFromBackup(t *testing.T) {
	for _, policy := range []string{config.DeleteSoft, config.DeleteIgnore} {
		t.Run(policy, func(t *testing.T) { memberRestoredFromBackup(t, policy) })
	}
}

func memberRestoredFromBackup(t *testing.T, policy string) {
	e := newEnv(t, options{tune: func(cfg *config.Config) {
		cfg.Pipelines["members"].Delete = config.Delete{Policy: policy, MaxCount: 10}
	}})
	e.run()
	m := e.syncedMember(0)
	personID, _ := e.link("members", m.ID)
	e.exec("CREATE TABLE members_backup (LIKE members)")
	e.exec("INSERT INTO members_backup SELECT * FROM members WHERE id = $1", m.ID)
	e.exec("DELETE FROM members WHERE id = $1", m.ID)
	// Edited in Twenty, the person is read and its member found gone.
	if _, err := e.twenty.Put("people", map[string]any{"id": personID, "jobTitle": "Relawan"}); err != nil {
		t.Fatal(err)
	}
	e.run("members")
	if p, ok := e.twenty.Get("people", personID); !ok || (p["deletedAt"] != nil) != (policy == config.DeleteSoft) {
		t.Fatalf("%s: the person of the deleted member: %v", policy, p)
	}
	if _, linked := e.link("members", m.ID); linked {
		t.Fatal("the pair of the deleted member is still linked")
	}

	e.exec("INSERT INTO members SELECT * FROM members_backup")
	// A new e-mail too, so that identity matching does not find the
	// person: the create meets it through its id.
	e.exec("UPDATE members SET full_name = 'Kembali ' || full_name, email = 'kembali.' || email, updated_at = now() WHERE id = $1", m.ID)
	res := e.run("members")["members"]
	if res.Counts.Created+res.Counts.Updated != 1 || res.Counts.Rejected != 0 || res.Status != "succeeded" {
		t.Errorf("run after the restore: %s %+v %s", res.Status, res.Counts, res.Error)
	}
	p, ok := e.twenty.Get("people", personID)
	if !ok || p["deletedAt"] != nil {
		t.Fatalf("the person was not restored: %v", p)
	}
	name, _ := p["name"].(map[string]any)
	if first, _ := name["firstName"].(string); !strings.HasPrefix(first, "Kembali ") {
		t.Errorf("the restored person's name is %v, want the member's new values", name)
	}
	if id, linked := e.link("members", m.ID); !linked || id != personID {
		t.Errorf("member linked to %q (%v), want %s", id, linked, personID)
	}
	n := 0
	for _, q := range e.twenty.Records("people") {
		if q["id"] == personID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d people with id %s", n, personID)
	}
	if n := writes(e.run("members")); n != 0 {
		t.Errorf("a rerun wrote %d records", n)
	}
}
