package e2e

import (
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
)

// TestLateCommitIsSynced: a Kelompok transaction stamps updated_at with
// now(), the time it started, but its change is visible only when it
// commits. A run that reads between another transaction's later commit
// and this one's moves the cursor past this change's stamp; the next run
// still reads it, through the pipeline's lookBack window (the shipped
// default). With lookBack "0s" it is missed.
func TestLateCommitIsSynced(t *testing.T) {
	for _, tc := range []struct {
		lookBack time.Duration
		synced   bool
	}{{0, false}, {-1, true}} { // -1: the shipped default
		e := newEnv(t, options{tune: func(cfg *config.Config) {
			if tc.lookBack >= 0 {
				cfg.Pipelines["members"].LookBack = tc.lookBack
			}
		}})
		if tc.lookBack < 0 && e.cfg.Pipelines["members"].LookBack != time.Minute {
			t.Fatalf("shipped members lookBack = %v, want the 1m default", e.cfg.Pipelines["members"].LookBack)
		}
		e.run()
		late, early := e.syncedMember(0), e.syncedMember(1)
		tx, err := e.db.BeginTx(e.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(e.ctx, "UPDATE members SET phone = '+6281299990001', updated_at = now() WHERE id = $1", late.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		e.exec("UPDATE members SET phone = '+6281299990002', updated_at = now() WHERE id = $1", early.ID)
		e.run("members")
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		res := e.run("members")["members"]
		phones := func(id string) any {
			p := e.person(id)
			ph, _ := p["phones"].(map[string]any)
			return ph["primaryPhoneNumber"]
		}
		got := phones(late.ID)
		if synced := got == "81299990001"; synced != tc.synced {
			t.Errorf("lookBack %v: the late commit's phone in Twenty is %v (synced %v, want %v); run %+v",
				tc.lookBack, got, synced, tc.synced, res.Counts)
		}
		if got := phones(early.ID); got != "81299990002" {
			t.Errorf("lookBack %v: the early commit's phone in Twenty is %v", tc.lookBack, got)
		}
	}
}
