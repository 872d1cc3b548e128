package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kelompok/pipe/connectors/twenty/emulator"
)

// Twenty applies a batch of creates and the answer is lost (a 500 after
// applying, then a dropped connection): the run cannot tell what was
// written. Whatever the run makes of it, the next runs converge with no
// duplicate person and nobody missing, because creates carry deterministic
// ids recorded as intents first.
func TestCrashAfterTheKthWriteLeavesNoDuplicate(t *testing.T) {
	for _, k := range []int{1, 2} {
		for _, kind := range []emulator.FaultKind{emulator.FaultErrorAfterApply, emulator.FaultDropAfterApply} {
			t.Run(fmt.Sprintf("%s/write %d", kind, k), func(t *testing.T) {
				e := newEnv(t, options{preexisting: 3})
				e.run("organizations")
				e.twenty.SetFaults(emulator.Faults{Script: []emulator.ScriptedFault{
					{On: emulator.Writes, Nth: k, Kind: kind},
				}})
				// The faulty run may fail or finish partly; it must not
				// break anything.
				_, _ = e.eng.Run(e.ctx, runMembers)
				e.twenty.SetFaults(emulator.Faults{})
				e.run("members")

				people := e.twenty.Records("people")
				seen := map[string]bool{}
				for _, p := range people {
					email, _ := get(p, "emails.primaryEmail").(string)
					if email == "" {
						continue
					}
					email = strings.ToLower(email)
					if seen[email] {
						t.Errorf("duplicate person for %s after the crash and rerun", email)
					}
					seen[email] = true
				}
				linked := 0
				for _, m := range e.data.Members {
					if id, ok := e.link("members", m.ID); ok {
						linked++
						if _, ok := e.twenty.Get("people", id); !ok {
							t.Errorf("member %s is linked to person %s, which Twenty does not have", m.ID, id)
						}
					}
				}
				if linked != len(people) {
					t.Errorf("%d members linked, Twenty has %d people: some are missing or orphaned", linked, len(people))
				}
				rejects, err := e.store.Rejects(e.ctx, "members")
				if err != nil {
					t.Fatal(err)
				}
				if linked+len(rejects) != len(e.data.Members) {
					t.Errorf("%d linked + %d rejected != %d members: records were lost", linked, len(rejects), len(e.data.Members))
				}
				if n := writes(e.run()); n != 0 {
					t.Errorf("the run after recovery wrote %d records", n)
				}
			})
		}
	}
}
