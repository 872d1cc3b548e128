// Package statetest is the conformance suite every state.Store
// implementation runs from its own tests:
//
//	func TestConformance(t *testing.T) {
//		statetest.Run(t, statetest.Harness{
//			NewDatabase: func(t *testing.T) string { return filepath.Join(t.TempDir(), "state.db") },
//			Open:        func(ctx context.Context, loc string) (state.Store, error) { return sqlitestore.Open(ctx, loc) },
//		})
//	}
//
// The suite opens stores itself (migrating them, closing them at cleanup),
// and opens a second store on the same database where it needs another
// process: the lock and concurrent migrations.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/state"
)

// Harness tells the suite how to get databases and stores.
type Harness struct {
	// NewDatabase returns the location (file path, URL) of a new, empty
	// database, cleaned up when t ends.
	NewDatabase func(t *testing.T) string
	// Open opens a store on a location; the suite migrates and closes it.
	Open func(ctx context.Context, location string) (state.Store, error)
}

// Run runs the whole suite against h.
func Run(t *testing.T, h Harness) {
	s := suite{h: h}
	t.Run("Migrate", s.migrate)
	t.Run("Runs", s.runs)
	t.Run("AuditOrder", s.auditOrder)
	t.Run("Links", s.links)
	t.Run("LinkScan", s.linkScan)
	t.Run("Cursors", s.cursors)
	t.Run("Intents", s.intents)
	t.Run("IntentsBySide", s.intentsBySide)
	t.Run("CommitAtomic", s.commitAtomic)
	t.Run("Rejects", s.rejects)
	t.Run("Conflicts", s.conflicts)
	t.Run("Unlinked", s.unlinked)
	t.Run("Lock", s.lock)
	t.Run("LockTakeover", s.lockTakeover)
	t.Run("LockBreak", s.lockBreak)
	t.Run("LostLockIsNotKeptAlive", s.lostLockIsNotKeptAlive)
	t.Run("ConcurrentCommit", s.concurrentCommit)
}

type suite struct{ h Harness }

// open opens, migrates and (at cleanup) closes a store on loc.
func (s suite) open(t *testing.T, loc string) state.Store {
	t.Helper()
	st, err := s.h.Open(t.Context(), loc)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

// fresh returns a migrated store on a new database.
func (s suite) fresh(t *testing.T) state.Store {
	t.Helper()
	return s.open(t, s.h.NewDatabase(t))
}

func commit(t *testing.T, st state.Store, b state.Batch) {
	t.Helper()
	if err := st.Commit(t.Context(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func newRun(t *testing.T, st state.Store, pipeline string) int64 {
	t.Helper()
	id, err := st.RunCreate(t.Context(), state.Run{Pipeline: pipeline, Trigger: "cli"})
	if err != nil {
		t.Fatalf("RunCreate: %v", err)
	}
	return id
}

func (s suite) migrate(t *testing.T) {
	loc := s.h.NewDatabase(t)
	// Two "processes" migrating one new database at once.
	a, err := s.h.Open(t.Context(), loc)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer a.Close()
	b, err := s.h.Open(t.Context(), loc)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, st := range []state.Store{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = st.Migrate(t.Context()) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Migrate: %v", err)
	}
	// Idempotent.
	for i := 0; i < 2; i++ {
		if err := a.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	// And usable.
	if _, err := a.RunCreate(t.Context(), state.Run{Pipeline: "members"}); err != nil {
		t.Fatalf("RunCreate after migrations: %v", err)
	}
}

func (s suite) runs(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	started := time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.FixedZone("WIB", 7*3600))
	id1, err := st.RunCreate(ctx, state.Run{Pipeline: "members", Trigger: "schedule", DryRun: true, Full: true, Limit: 250, StartedAt: started})
	if err != nil {
		t.Fatalf("RunCreate: %v", err)
	}
	id2 := newRun(t, st, "organizations")
	id3 := newRun(t, st, "members")
	if !(id1 < id2 && id2 < id3) {
		t.Fatalf("run ids %d, %d, %d are not increasing", id1, id2, id3)
	}

	got, err := st.RunGet(ctx, id1)
	if err != nil {
		t.Fatalf("RunGet: %v", err)
	}
	want := state.Run{ID: id1, Pipeline: "members", Trigger: "schedule", DryRun: true, Full: true, Limit: 250,
		StartedAt: started.UTC().Truncate(time.Microsecond), Status: state.RunRunning}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RunGet = %+v\nwant     %+v", got, want)
	}

	finished := started.Add(90 * time.Second)
	counts := state.Counts{Created: 3, Updated: 2, Deleted: 1, Linked: 4, Skipped: 5, Conflicts: 6, Rejected: 7, Failed: 8}
	if err := st.RunFinish(ctx, state.Run{ID: id1, Status: state.RunPartial, Counts: counts, Error: "7 records rejected", FinishedAt: &finished}); err != nil {
		t.Fatalf("RunFinish: %v", err)
	}
	got, err = st.RunGet(ctx, id1)
	if err != nil {
		t.Fatalf("RunGet: %v", err)
	}
	if got.Status != state.RunPartial || got.Counts != counts || got.Error != "7 records rejected" ||
		got.FinishedAt == nil || !got.FinishedAt.Equal(finished.Truncate(time.Microsecond)) || got.Pipeline != "members" {
		t.Fatalf("after RunFinish: %+v", got)
	}
	// RunFinish without an end time uses now.
	if err := st.RunFinish(ctx, state.Run{ID: id2, Status: state.RunSucceeded}); err != nil {
		t.Fatalf("RunFinish: %v", err)
	}
	if got, _ := st.RunGet(ctx, id2); got.FinishedAt == nil || got.FinishedAt.IsZero() {
		t.Fatalf("RunFinish without FinishedAt left it %v", got.FinishedAt)
	}

	if _, err := st.RunGet(ctx, id3+100); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("RunGet(unknown) error = %v, want ErrNotFound", err)
	}
	if err := st.RunFinish(ctx, state.Run{ID: id3 + 100, Status: state.RunFailed}); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("RunFinish(unknown) error = %v, want ErrNotFound", err)
	}

	for _, tc := range []struct {
		params state.RunListParams
		want   []int64
	}{
		{state.RunListParams{}, []int64{id3, id2, id1}},
		{state.RunListParams{Pipeline: "members"}, []int64{id3, id1}},
		{state.RunListParams{Pipeline: "members", Limit: 1}, []int64{id3}},
		{state.RunListParams{Pipeline: "events"}, nil},
		{state.RunListParams{Pipeline: "members' OR '1'='1"}, nil},
	} {
		runs, err := st.RunList(ctx, tc.params)
		if err != nil {
			t.Fatalf("RunList(%+v): %v", tc.params, err)
		}
		var ids []int64
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("RunList(%+v) ids = %v, want %v", tc.params, ids, tc.want)
		}
	}
}

func (s suite) auditOrder(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	run := newRun(t, st, "members")
	other := newRun(t, st, "members")
	diff := []state.FieldChange{
		{Field: "name.firstName", Old: "Budi", New: "Budi Santoso"},
		{Field: "score", Old: nil, New: 4.5},
		{Field: "address", Old: map[string]any{"city": "Bandung"}, New: map[string]any{"city": "Jakarta Selatan"}},
	}
	at := time.Date(2024, 5, 2, 8, 30, 0, 999, time.UTC)
	commit(t, st, state.Batch{Pipeline: "members", RunID: run, Audit: []state.AuditEntry{
		{SourceKey: "m-3", SinkKey: "p-3", Direction: "push", Action: state.ActionUpdate, Diff: diff, Reason: "source changed", At: at},
		{SourceKey: "m-1", Direction: "push", Action: state.ActionCreate},
		{SourceKey: "m-2", Action: state.ActionReject, Reason: `invalid email "budi@@example"`},
	}})
	commit(t, st, state.Batch{Pipeline: "members", RunID: other, Audit: []state.AuditEntry{{SourceKey: "x", Action: state.ActionSkip}}})
	commit(t, st, state.Batch{Pipeline: "members", RunID: run, Audit: []state.AuditEntry{
		{SinkKey: "p-9", Direction: "pull", Action: state.ActionDelete},
		{SourceKey: "m-0", SinkKey: "p-0", Action: state.ActionLink, Reason: "matched by email"},
	}})

	got, err := st.AuditList(ctx, run)
	if err != nil {
		t.Fatalf("AuditList: %v", err)
	}
	wantKeys := []string{"m-3/p-3", "m-1/", "m-2/", "/p-9", "m-0/p-0"}
	if len(got) != len(wantKeys) {
		t.Fatalf("AuditList returned %d entries, want %d: %+v", len(got), len(wantKeys), got)
	}
	for i, a := range got {
		if k := a.SourceKey + "/" + a.SinkKey; k != wantKeys[i] {
			t.Errorf("entry %d is %s, want %s (commit order)", i, k, wantKeys[i])
		}
		if a.RunID != run {
			t.Errorf("entry %d has run %d, want %d", i, a.RunID, run)
		}
		if i > 0 && a.Seq <= got[i-1].Seq {
			t.Errorf("Seq not increasing: %d after %d", a.Seq, got[i-1].Seq)
		}
		if a.At.IsZero() {
			t.Errorf("entry %d has no time", i)
		}
	}
	if !got[0].At.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("At = %v, want %v", got[0].At, at)
	}
	if !reflect.DeepEqual(got[0].Diff, diff) || got[0].Reason != "source changed" || got[0].Direction != "push" || got[0].Action != state.ActionUpdate {
		t.Errorf("entry 0 = %+v, want diff %+v", got[0], diff)
	}
	if got[2].Reason != `invalid email "budi@@example"` || got[2].Diff != nil {
		t.Errorf("entry 2 = %+v", got[2])
	}
	if o, _ := st.AuditList(ctx, other); len(o) != 1 {
		t.Errorf("other run has %d entries, want 1", len(o))
	}
	if none, err := st.AuditList(ctx, other+100); err != nil || len(none) != 0 {
		t.Errorf("AuditList(unknown run) = %v, %v; want empty", none, err)
	}
	// Audit for a run that does not exist is refused.
	err = st.Commit(ctx, state.Batch{Pipeline: "members", RunID: other + 100, Audit: []state.AuditEntry{{Action: state.ActionSkip}}})
	if err == nil {
		t.Fatalf("Commit of audit rows for an unknown run succeeded")
	}
}

// messyKeys are source keys a real system may hand us.
var messyKeys = []string{
	"42", "0042", "a", "A", "Ä", "o'brien@example.id", `quote"d`, "with space", "semi;colon--", "ключ", "人", "tab\tkey",
	"550e8400-e29b-41d4-a716-446655440000", "%_like", `back\slash`,
}

func (s suite) links(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	var links []state.Link
	for i, k := range messyKeys {
		links = append(links, state.Link{
			SourceKey: k, SinkKey: "sink-" + k,
			Base:       map[string]any{"name": "Name " + k, "n": float64(i), "tags": []any{"x", "y"}, "nested": map[string]any{"ok": true}, "nil": nil},
			SourceHash: fmt.Sprintf("sh%d", i), SinkHash: fmt.Sprintf("kh%d", i),
		})
	}
	commit(t, st, state.Batch{Pipeline: "members", Links: links})
	commit(t, st, state.Batch{Pipeline: "organizations", Links: []state.Link{{SourceKey: "42", SinkKey: "org-42"}}})

	asked := append([]string{"missing", "sink-42"}, messyKeys...)
	bySource, err := st.LinksBySource(ctx, "members", asked)
	if err != nil {
		t.Fatalf("LinksBySource: %v", err)
	}
	if len(bySource) != len(messyKeys) {
		t.Fatalf("LinksBySource found %d links, want %d", len(bySource), len(messyKeys))
	}
	for i, k := range messyKeys {
		l, ok := bySource[k]
		if !ok {
			t.Errorf("LinksBySource: key %q missing", k)
			continue
		}
		want := links[i]
		want.Pipeline = "members"
		if l.UpdatedAt.IsZero() {
			t.Errorf("link %q has no UpdatedAt", k)
		}
		want.UpdatedAt = l.UpdatedAt
		if !reflect.DeepEqual(l, want) {
			t.Errorf("link %q = %+v\nwant %+v", k, l, want)
		}
	}
	bySink, err := st.LinksBySink(ctx, "members", []string{"sink-42", "sink-ключ", "42", "org-42"})
	if err != nil {
		t.Fatalf("LinksBySink: %v", err)
	}
	if len(bySink) != 2 || bySink["sink-42"].SourceKey != "42" || bySink["sink-ключ"].SourceKey != "ключ" {
		t.Fatalf("LinksBySink = %+v", bySink)
	}
	if empty, err := st.LinksBySource(ctx, "members", nil); err != nil || len(empty) != 0 {
		t.Fatalf("LinksBySource(no keys) = %v, %v", empty, err)
	}
	if n, err := st.LinkCount(ctx, "members"); err != nil || n != len(messyKeys) {
		t.Fatalf("LinkCount = %d, %v; want %d", n, err, len(messyKeys))
	}
	if n, err := st.LinkCount(ctx, "organizations"); err != nil || n != 1 {
		t.Fatalf("LinkCount(organizations) = %d, %v; want 1", n, err)
	}

	// Replace one (new sink key, base, hashes) and unlink another.
	when := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	commit(t, st, state.Batch{Pipeline: "members", Unlink: []string{"a"},
		Links: []state.Link{{SourceKey: "42", SinkKey: "sink-42-v2", Base: map[string]any{"name": "Renamed"}, SourceHash: "s2", SinkHash: "k2", UpdatedAt: when}}})
	got, err := st.LinksBySource(ctx, "members", []string{"42", "a"})
	if err != nil {
		t.Fatalf("LinksBySource: %v", err)
	}
	want := state.Link{Pipeline: "members", SourceKey: "42", SinkKey: "sink-42-v2", Base: map[string]any{"name": "Renamed"}, SourceHash: "s2", SinkHash: "k2", UpdatedAt: when}
	if len(got) != 1 || !reflect.DeepEqual(got["42"], want) {
		t.Fatalf("after replace and unlink: %+v", got)
	}
	if old, _ := st.LinksBySink(ctx, "members", []string{"sink-42"}); len(old) != 0 {
		t.Fatalf("old sink key still linked: %+v", old)
	}

	// One batch naming a source key twice: the last one wins, as if
	// applied one after the other.
	commit(t, st, state.Batch{Pipeline: "members", Links: []state.Link{
		{SourceKey: "twice", SinkKey: "sink-twice-1", SourceHash: "first"},
		{SourceKey: "once", SinkKey: "sink-once"},
		{SourceKey: "twice", SinkKey: "sink-twice-2", SourceHash: "second"},
	}})
	twice, err := st.LinksBySource(ctx, "members", []string{"twice", "once"})
	if err != nil || len(twice) != 2 || twice["twice"].SinkKey != "sink-twice-2" || twice["twice"].SourceHash != "second" {
		t.Fatalf("links after a batch naming a key twice = %+v, %v", twice, err)
	}

	// Many keys at once (beyond any one-query parameter limit).
	var many []state.Link
	var keys []string
	for i := 0; i < 1500; i++ {
		k := fmt.Sprintf("bulk-%05d", i)
		keys = append(keys, k)
		many = append(many, state.Link{SourceKey: k, SinkKey: "s" + k})
	}
	commit(t, st, state.Batch{Pipeline: "bulk", Links: many})
	found, err := st.LinksBySource(ctx, "bulk", keys)
	if err != nil || len(found) != len(keys) {
		t.Fatalf("LinksBySource(1500 keys) found %d, %v", len(found), err)
	}
}

func (s suite) linkScan(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	keys := append([]string(nil), messyKeys...)
	for i := 0; i < 2100; i++ {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	shuffled := append([]string(nil), keys...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var links []state.Link
	for _, k := range shuffled {
		links = append(links, state.Link{SourceKey: k, SinkKey: "s-" + k})
	}
	commit(t, st, state.Batch{Pipeline: "members", Links: links[:1000]})
	commit(t, st, state.Batch{Pipeline: "members", Links: links[1000:]})
	commit(t, st, state.Batch{Pipeline: "other", Links: []state.Link{{SourceKey: "zzz", SinkKey: "zzz"}}})

	var got []string
	if err := st.LinkScan(ctx, "members", func(l state.Link) error {
		if l.SinkKey != "s-"+l.SourceKey || l.Pipeline != "members" {
			return fmt.Errorf("link %+v is not the one committed", l)
		}
		got = append(got, l.SourceKey)
		return nil
	}); err != nil {
		t.Fatalf("LinkScan: %v", err)
	}
	sort.Strings(keys) // byte order
	if !reflect.DeepEqual(got, keys) {
		n := min(len(got), len(keys))
		for i := 0; i < n; i++ {
			if got[i] != keys[i] {
				t.Fatalf("LinkScan order differs at %d: got %q, want %q (byte order); got %d keys, want %d", i, got[i], keys[i], len(got), len(keys))
			}
		}
		t.Fatalf("LinkScan returned %d keys, want %d", len(got), len(keys))
	}

	stop := errors.New("stop here")
	calls := 0
	err := st.LinkScan(ctx, "members", func(state.Link) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("LinkScan with a failing fn: err %v after %d calls; want the fn's error after 3", err, calls)
	}
	if err := st.LinkScan(ctx, "nobody", func(state.Link) error { return errors.New("called") }); err != nil {
		t.Fatalf("LinkScan of a pipeline without links: %v", err)
	}
}

func (s suite) cursors(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	cursor := func(p, side string) connectors.Position {
		t.Helper()
		c, err := st.Cursor(ctx, p, side)
		if err != nil {
			t.Fatalf("Cursor(%s, %s): %v", p, side, err)
		}
		return c
	}
	if c := cursor("members", "source"); !c.IsZero() {
		t.Fatalf("new cursor = %+v, want zero", c)
	}
	// Nanoseconds and a non-UTC zone: the cursor must come back exactly.
	src := connectors.Position{UpdatedAt: time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.FixedZone("WITA", 8*3600)), ID: "m-'7"}
	commit(t, st, state.Batch{Pipeline: "members", Cursors: map[string]connectors.Position{"source": src}})
	if c := cursor("members", "source"); !c.UpdatedAt.Equal(src.UpdatedAt) || c.ID != src.ID {
		t.Fatalf("source cursor = %+v, want %+v", c, src)
	}
	if c := cursor("members", "sink"); !c.IsZero() {
		t.Fatalf("sink cursor moved with the source: %+v", c)
	}
	sink := connectors.Position{UpdatedAt: time.Date(2024, 3, 1, 0, 0, 0, 1, time.UTC), ID: "p-1"}
	commit(t, st, state.Batch{Pipeline: "members", Cursors: map[string]connectors.Position{"sink": sink}})
	commit(t, st, state.Batch{Pipeline: "organizations", Cursors: map[string]connectors.Position{"source": sink}})
	src2 := connectors.Position{UpdatedAt: src.UpdatedAt.Add(time.Nanosecond), ID: "a"}
	commit(t, st, state.Batch{Pipeline: "members", Cursors: map[string]connectors.Position{"source": src2}})
	if c := cursor("members", "source"); !c.UpdatedAt.Equal(src2.UpdatedAt) || c.ID != "a" {
		t.Fatalf("source cursor = %+v, want %+v", c, src2)
	}
	if c := cursor("members", "sink"); !c.UpdatedAt.Equal(sink.UpdatedAt) || c.ID != sink.ID {
		t.Fatalf("sink cursor = %+v, want it kept at %+v", c, sink)
	}
	// A position with an id but no time (a stream without timestamps).
	commit(t, st, state.Batch{Pipeline: "ids", Cursors: map[string]connectors.Position{"source": {ID: "row-9"}}})
	if c := cursor("ids", "source"); !c.UpdatedAt.IsZero() || c.ID != "row-9" {
		t.Fatalf("id-only cursor = %+v", c)
	}

	if err := st.CursorReset(ctx, "members"); err != nil {
		t.Fatalf("CursorReset: %v", err)
	}
	if c := cursor("members", "source"); !c.IsZero() {
		t.Fatalf("source cursor after reset = %+v", c)
	}
	if c := cursor("members", "sink"); !c.IsZero() {
		t.Fatalf("sink cursor after reset = %+v", c)
	}
	if c := cursor("organizations", "source"); c.ID != "p-1" {
		t.Fatalf("reset of members touched organizations: %+v", c)
	}
}

func (s suite) intents(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	in := []state.Intent{
		{Pipeline: "members", Side: "sink", Key: "m-2", TargetID: "6f1c0b6e-0000-5000-8000-000000000002"},
		{Pipeline: "members", Side: "sink", Key: "m-1", TargetID: "6f1c0b6e-0000-5000-8000-000000000001"},
		{Pipeline: "members", Side: "source", Key: "p-1", TargetID: "src-1"},
		{Pipeline: "events", Side: "sink", Key: "e-1", TargetID: "t-e-1"},
	}
	if err := st.IntentsAdd(ctx, in); err != nil {
		t.Fatalf("IntentsAdd: %v", err)
	}
	if err := st.IntentsAdd(ctx, in[:1]); err != nil { // a rerun records it again
		t.Fatalf("IntentsAdd again: %v", err)
	}
	if err := st.IntentsAdd(ctx, nil); err != nil {
		t.Fatalf("IntentsAdd(nil): %v", err)
	}
	list := func(p string) []string {
		t.Helper()
		got, err := st.Intents(ctx, p)
		if err != nil {
			t.Fatalf("Intents: %v", err)
		}
		var out []string
		for _, i := range got {
			if i.CreatedAt.IsZero() || i.Pipeline != p {
				t.Errorf("intent %+v: no creation time or wrong pipeline", i)
			}
			out = append(out, i.Side+"/"+i.Key+"->"+i.TargetID)
		}
		return out
	}
	want := []string{"sink/m-1->6f1c0b6e-0000-5000-8000-000000000001", "sink/m-2->6f1c0b6e-0000-5000-8000-000000000002", "source/p-1->src-1"}
	if got := list("members"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Intents = %v, want %v", got, want)
	}
	commit(t, st, state.Batch{Pipeline: "members",
		Links:       []state.Link{{SourceKey: "m-1", SinkKey: "6f1c0b6e-0000-5000-8000-000000000001"}},
		IntentsDone: []state.Intent{{Side: "sink", Key: "m-1"}, {Side: "sink", Key: "never-added"}}})
	if got := list("members"); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("Intents after Commit = %v, want %v", got, want[1:])
	}
	if got := list("events"); len(got) != 1 {
		t.Fatalf("Intents(events) = %v", got)
	}
}

func (s suite) commitAtomic(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	run := newRun(t, st, "members")
	if err := st.IntentsAdd(ctx, []state.Intent{{Pipeline: "members", Side: "sink", Key: "m-2", TargetID: "t-2"}}); err != nil {
		t.Fatalf("IntentsAdd: %v", err)
	}
	commit(t, st, state.Batch{Pipeline: "members", RunID: run,
		Links:   []state.Link{{SourceKey: "m-1", SinkKey: "p-1", SourceHash: "h1"}},
		Rejects: []state.Reject{{Side: "source", Key: "m-9", Reason: "bad email"}},
		Audit:   []state.AuditEntry{{SourceKey: "m-1", Action: state.ActionCreate}}})

	// The last link takes a sink key already linked to m-1: the store must
	// refuse the whole batch, not just that row.
	cur := connectors.Position{UpdatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), ID: "m-3"}
	bad := state.Batch{Pipeline: "members", RunID: run,
		Links: []state.Link{
			{SourceKey: "m-2", SinkKey: "t-2"},
			{SourceKey: "m-1", SinkKey: "p-1", SourceHash: "h1-changed"},
			{SourceKey: "m-3", SinkKey: "p-1"},
		},
		Unlink:         []string{"m-7"},
		Audit:          []state.AuditEntry{{SourceKey: "m-2", Action: state.ActionCreate}, {SourceKey: "m-3", Action: state.ActionLink}},
		Cursors:        map[string]connectors.Position{"source": cur},
		IntentsDone:    []state.Intent{{Side: "sink", Key: "m-2"}},
		Rejects:        []state.Reject{{Side: "source", Key: "m-9", Reason: "still bad"}, {Side: "source", Key: "m-8", Reason: "new"}},
		RejectsCleared: []state.Reject{{Side: "source", Key: "m-9"}},
		Conflicts:      []state.Conflict{{SourceKey: "m-4", SinkKey: "p-4", Fields: []string{"name"}}},
	}
	if err := st.Commit(ctx, bad); err == nil {
		t.Fatalf("Commit of a batch linking one sink record twice succeeded")
	}

	links, _ := st.LinksBySource(ctx, "members", []string{"m-1", "m-2", "m-3"})
	if len(links) != 1 || links["m-1"].SourceHash != "h1" {
		t.Errorf("links after failed batch = %+v, want only m-1 unchanged", links)
	}
	if audit, _ := st.AuditList(ctx, run); len(audit) != 1 {
		t.Errorf("audit after failed batch has %d rows, want 1", len(audit))
	}
	if c, _ := st.Cursor(ctx, "members", "source"); !c.IsZero() {
		t.Errorf("cursor moved by failed batch: %+v", c)
	}
	if in, _ := st.Intents(ctx, "members"); len(in) != 1 {
		t.Errorf("intents after failed batch = %+v, want the one intent kept", in)
	}
	if rj, _ := st.Rejects(ctx, "members"); len(rj) != 1 || rj[0].Reason != "bad email" || rj[0].Retries != 0 {
		t.Errorf("rejects after failed batch = %+v", rj)
	}
	if cf, _ := st.Conflicts(ctx, "members", true); len(cf) != 0 {
		t.Errorf("conflicts after failed batch = %+v", cf)
	}

	// The same batch without the offending link goes through whole, and a
	// later audit row still gets the next sequence number.
	bad.Links = bad.Links[:2]
	commit(t, st, bad)
	if audit, _ := st.AuditList(ctx, run); len(audit) != 3 || audit[1].SourceKey != "m-2" || audit[2].Seq <= audit[1].Seq || audit[1].Seq <= audit[0].Seq {
		t.Errorf("audit after the good batch = %+v", audit)
	}
	if in, _ := st.Intents(ctx, "members"); len(in) != 0 {
		t.Errorf("intents after the good batch = %+v", in)
	}
	if c, _ := st.Cursor(ctx, "members", "source"); !c.UpdatedAt.Equal(cur.UpdatedAt) {
		t.Errorf("cursor after the good batch = %+v", c)
	}
}

func (s suite) rejects(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	run1 := newRun(t, st, "members")
	commit(t, st, state.Batch{Pipeline: "members", RunID: run1, Rejects: []state.Reject{
		{Side: "source", Key: "m-1", Reason: `email "budi@@x" is not valid`},
		{Side: "sink", Key: "p-1", Reason: "HTTP 400: phone invalid"},
	}})
	commit(t, st, state.Batch{Pipeline: "events", RunID: run1, Rejects: []state.Reject{{Side: "source", Key: "e-1", Reason: "no organizer"}}})
	first, err := st.Rejects(ctx, "members")
	if err != nil || len(first) != 2 {
		t.Fatalf("Rejects = %+v, %v", first, err)
	}
	for _, r := range first {
		if r.Retries != 0 || r.LastRunID != run1 || r.FirstAt.IsZero() || !r.FirstAt.Equal(r.LastAt) || r.Pipeline != "members" || r.ID == 0 {
			t.Errorf("new reject = %+v", r)
		}
	}

	// A later run rejects m-1 again: same row, retry count bumped.
	run2 := newRun(t, st, "members")
	later := first[0].LastAt.Add(time.Minute)
	commit(t, st, state.Batch{Pipeline: "members", RunID: run2, Rejects: []state.Reject{{Side: "source", Key: "m-1", Reason: "still not valid", LastAt: later}}})
	commit(t, st, state.Batch{Pipeline: "members", RunID: run2, Rejects: []state.Reject{{Side: "source", Key: "m-1", Reason: "still not valid", LastAt: later}}})
	again, _ := st.Rejects(ctx, "members")
	if len(again) != 2 {
		t.Fatalf("Rejects after retry = %+v", again)
	}
	r := again[0]
	if r.ID != first[0].ID || r.Key != "m-1" || r.Retries != 2 || r.Reason != "still not valid" || r.LastRunID != run2 ||
		!r.FirstAt.Equal(first[0].FirstAt) || !r.LastAt.Equal(later) {
		t.Fatalf("retried reject = %+v (first %+v)", r, first[0])
	}
	if all, _ := st.Rejects(ctx, ""); len(all) != 3 {
		t.Fatalf(`Rejects("") = %d rejects, want 3 across pipelines`, len(all))
	}

	// It succeeds on a later run: cleared; the other side's reject stays.
	commit(t, st, state.Batch{Pipeline: "members", RunID: run2, RejectsCleared: []state.Reject{{Side: "source", Key: "m-1"}, {Side: "source", Key: "p-1"}}})
	left, _ := st.Rejects(ctx, "members")
	if len(left) != 1 || left[0].Key != "p-1" || left[0].Side != "sink" {
		t.Fatalf("Rejects after clearing = %+v", left)
	}
}

func (s suite) conflicts(t *testing.T) {
	st := s.fresh(t)
	ctx := t.Context()
	commit(t, st, state.Batch{Pipeline: "members", Conflicts: []state.Conflict{
		{SourceKey: "m-1", SinkKey: "p-1", Fields: []string{"jobTitle"}, Source: map[string]any{"jobTitle": "Ketua"}, Sink: map[string]any{"jobTitle": "Chair"}},
		{SourceKey: "m-2", SinkKey: "p-2", Fields: []string{"city"}, Source: map[string]any{"city": "Medan"}, Sink: map[string]any{"city": nil}},
	}})
	commit(t, st, state.Batch{Pipeline: "events", Conflicts: []state.Conflict{{SourceKey: "e-1", SinkKey: "o-1", Fields: []string{"name"}}}})
	// A second conflict on m-1 replaces the open one.
	commit(t, st, state.Batch{Pipeline: "members", Conflicts: []state.Conflict{
		{SourceKey: "m-1", SinkKey: "p-1", Fields: []string{"jobTitle", "phone"}, Source: map[string]any{"jobTitle": "Ketua Umum", "phone": "+62811"}, Sink: map[string]any{"jobTitle": "Chair", "phone": "0811"}},
	}})
	open, err := st.Conflicts(ctx, "members", false)
	if err != nil || len(open) != 2 {
		t.Fatalf("Conflicts = %+v, %v; want 2 open", open, err)
	}
	c := open[0]
	if c.SourceKey != "m-1" || !reflect.DeepEqual(c.Fields, []string{"jobTitle", "phone"}) || c.Source["jobTitle"] != "Ketua Umum" ||
		c.Sink["phone"] != "0811" || c.Resolution != "" || c.ResolvedAt != nil || c.CreatedAt.IsZero() || c.Pipeline != "members" {
		t.Fatalf("open conflict = %+v", c)
	}
	if all, _ := st.Conflicts(ctx, "", false); len(all) != 3 {
		t.Fatalf(`Conflicts("") = %d, want 3`, len(all))
	}
	got, err := st.ConflictGet(ctx, c.ID)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("ConflictGet = %+v, %v; want %+v", got, err, c)
	}
	if _, err := st.ConflictGet(ctx, c.ID+1000); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("ConflictGet(unknown) = %v, want ErrNotFound", err)
	}

	for _, bad := range []string{"", "both", "SOURCE", "source "} {
		if err := st.ConflictResolve(ctx, c.ID, bad); err == nil {
			t.Errorf("ConflictResolve(take %q) succeeded", bad)
		}
	}
	if err := st.ConflictResolve(ctx, c.ID+1000, state.TakeSource); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("ConflictResolve(unknown) = %v, want ErrNotFound", err)
	}
	// Applying an open conflict is refused.
	if err := st.Commit(ctx, state.Batch{Pipeline: "members", ConflictsApplied: []int64{c.ID}}); err == nil {
		t.Fatalf("Commit marking an open conflict applied succeeded")
	}
	if err := st.ConflictResolve(ctx, c.ID, state.TakeSink); err != nil {
		t.Fatalf("ConflictResolve: %v", err)
	}
	if err := st.ConflictResolve(ctx, c.ID, state.TakeSource); !errors.Is(err, state.ErrAlreadyResolved) {
		t.Fatalf("second ConflictResolve = %v, want ErrAlreadyResolved", err)
	}
	open, _ = st.Conflicts(ctx, "members", false)
	if len(open) != 1 || open[0].SourceKey != "m-2" {
		t.Fatalf("open conflicts after resolving = %+v", open)
	}
	got, _ = st.ConflictGet(ctx, c.ID)
	if got.Resolution != state.TakeSink || got.ResolvedAt == nil || got.AppliedAt != nil {
		t.Fatalf("resolved conflict = %+v", got)
	}
	commit(t, st, state.Batch{Pipeline: "members", ConflictsApplied: []int64{c.ID}})
	if got, _ = st.ConflictGet(ctx, c.ID); got.AppliedAt == nil {
		t.Fatalf("AppliedAt not set: %+v", got)
	}
	// The same pair can conflict again later: a new open conflict.
	commit(t, st, state.Batch{Pipeline: "members", Conflicts: []state.Conflict{{SourceKey: "m-1", SinkKey: "p-1", Fields: []string{"email"}}}})
	all, _ := st.Conflicts(ctx, "members", true)
	if len(all) != 3 || all[0].ID != c.ID || all[2].SourceKey != "m-1" || all[2].Resolution != "" {
		t.Fatalf("all conflicts = %+v", all)
	}

	// Superseding closes an open conflict (the sides came to agree) and a
	// resolved one not applied yet (a stale resolution); an applied one,
	// or an unknown id, is left alone.
	commit(t, st, state.Batch{Pipeline: "members", Conflicts: []state.Conflict{{SourceKey: "m-3", SinkKey: "p-3", Fields: []string{"name"}}}})
	all, _ = st.Conflicts(ctx, "members", true)
	stale := all[3]
	if err := st.ConflictResolve(ctx, stale.ID, state.TakeSource); err != nil {
		t.Fatalf("ConflictResolve: %v", err)
	}
	openID := all[2].ID
	commit(t, st, state.Batch{Pipeline: "members", ConflictsSuperseded: []int64{openID, stale.ID, c.ID, c.ID + 1000}})
	for _, id := range []int64{openID, stale.ID} {
		got, _ := st.ConflictGet(ctx, id)
		if got.Resolution != state.Superseded || got.ResolvedAt == nil || got.AppliedAt == nil {
			t.Fatalf("superseded conflict = %+v", got)
		}
	}
	if got, _ := st.ConflictGet(ctx, c.ID); got.Resolution != state.TakeSink || got.AppliedAt == nil {
		t.Fatalf("applied conflict after superseding = %+v", got)
	}
	if err := st.ConflictResolve(ctx, openID, state.TakeSource); !errors.Is(err, state.ErrAlreadyResolved) {
		t.Fatalf("ConflictResolve(superseded) = %v, want ErrAlreadyResolved", err)
	}
	open, _ = st.Conflicts(ctx, "members", false)
	for _, o := range open {
		if o.ID == openID || o.ID == stale.ID {
			t.Fatalf("superseded conflict still open: %+v", open)
		}
	}
	// The pair can conflict again: a new open conflict.
	commit(t, st, state.Batch{Pipeline: "members", Conflicts: []state.Conflict{{SourceKey: "m-1", SinkKey: "p-1", Fields: []string{"name"}}}})
	if all, _ = st.Conflicts(ctx, "members", true); len(all) != 5 || all[4].Resolution != "" || all[4].SourceKey != "m-1" {
		t.Fatalf("all conflicts = %+v", all)
	}
}

func (s suite) lock(t *testing.T) {
	loc := s.h.NewDatabase(t)
	a := s.open(t, loc)
	b := s.open(t, loc) // another process on the same database
	ctx := t.Context()
	const ttl = time.Minute
	release, err := a.Lock(ctx, "members", "host-a:1", ttl)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	for _, tc := range []struct {
		st    state.Store
		owner string
	}{{b, "host-b:2"}, {a, "host-a:9"}, {a, "host-a:1"}} {
		if _, err := tc.st.Lock(ctx, "members", tc.owner, ttl); !errors.Is(err, state.ErrLocked) {
			t.Fatalf("Lock by %s while held = %v, want ErrLocked", tc.owner, err)
		} else if !strings.Contains(err.Error(), "host-a:1") {
			t.Errorf("ErrLocked does not name the holder: %v", err)
		}
	}
	relOther, err := b.Lock(ctx, "organizations", "host-b:2", ttl)
	if err != nil {
		t.Fatalf("Lock of another pipeline: %v", err)
	}
	if err := release(ctx); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := release(ctx); err != nil {
		t.Fatalf("second release: %v", err)
	}
	relB, err := b.Lock(ctx, "members", "host-b:2", ttl)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	if _, err := a.Lock(ctx, "members", "host-a:1", ttl); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Lock while b holds = %v, want ErrLocked", err)
	}
	if err := errors.Join(relB(ctx), relOther(ctx)); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, err := a.Lock(ctx, "members", "x", 0); err == nil {
		t.Fatalf("Lock with ttl 0 succeeded")
	}
}

// lockBreak: a lock is broken only for the holder named, which the
// LockedError names; the pipeline can then be locked at once.
func (s suite) lockBreak(t *testing.T) {
	loc := s.h.NewDatabase(t)
	dead := s.open(t, loc) // a process that will die holding the lock
	st := s.open(t, loc)
	ctx := t.Context()
	const ttl = time.Hour
	if _, err := dead.Lock(ctx, "members", "host-a:41", ttl); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	_ = dead.Close() // dies without releasing
	_, err := st.Lock(ctx, "members", "host-a:42", ttl)
	var locked *state.LockedError
	if !errors.As(err, &locked) || locked.Holder != "host-a:41" || locked.Pipeline != "members" || locked.Until.Before(time.Now().Add(ttl/2)) {
		t.Fatalf("Lock while held = %v (%+v), want a LockedError naming host-a:41", err, locked)
	}
	if ok, err := st.LockBreak(ctx, "members", "host-a:99"); ok || err != nil {
		t.Fatalf("LockBreak of a holder that does not hold it = %v, %v", ok, err)
	}
	if ok, err := st.LockBreak(ctx, "organizations", "host-a:41"); ok || err != nil {
		t.Fatalf("LockBreak of another pipeline = %v, %v", ok, err)
	}
	if _, err := st.Lock(ctx, "members", "host-a:42", ttl); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Lock after breaking nothing = %v, want ErrLocked", err)
	}
	if ok, err := st.LockBreak(ctx, "members", "host-a:41"); !ok || err != nil {
		t.Fatalf("LockBreak of the holder = %v, %v", ok, err)
	}
	release, err := st.Lock(ctx, "members", "host-a:42", ttl)
	if err != nil {
		t.Fatalf("Lock after the break: %v", err)
	}
	if err := release(ctx); err != nil {
		t.Fatalf("release: %v", err)
	}
}

// lostLockIsNotKeptAlive: a holder whose lock was taken over keeps
// refreshing only its own token, so the new holder's lease lapses on its
// own schedule (here the new holder dies at once and never refreshes) and a
// third process gets the lock after the ttl.
func (s suite) lostLockIsNotKeptAlive(t *testing.T) {
	loc := s.h.NewDatabase(t)
	a, b, c := s.open(t, loc), s.open(t, loc), s.open(t, loc)
	ctx := t.Context()
	const ttl = 300 * time.Millisecond
	release, err := a.Lock(ctx, "members", "a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.LockBreak(ctx, "members", "a"); !ok || err != nil {
		t.Fatalf("LockBreak = %v, %v", ok, err)
	}
	if _, err := b.Lock(ctx, "members", "b", ttl); err != nil {
		t.Fatalf("Lock after the break: %v", err)
	}
	_ = b.Close() // b dies holding it
	deadline := time.Now().Add(10 * ttl)
	for {
		rel, err := c.Lock(ctx, "members", "c", ttl)
		if err == nil {
			_ = rel(ctx)
			break
		}
		if !errors.Is(err, state.ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("the taken-over lock is still held %v after its ttl (%v): the old holder's refreshes keep it alive", 10*ttl, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := release(ctx); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("release by the old holder = %v, want ErrLockLost", err)
	}
}

// lockTakeover: a live holder keeps its lock past its ttl (refreshes); a
// holder that dies (its store closed without release) loses it after ttl.
func (s suite) lockTakeover(t *testing.T) {
	loc := s.h.NewDatabase(t)
	ctx := t.Context()
	const ttl = 900 * time.Millisecond
	dying, err := s.h.Open(ctx, loc)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := dying.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	live := s.open(t, loc)
	other := s.open(t, loc)

	relLive, err := live.Lock(ctx, "organizations", "live", ttl)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if _, err := dying.Lock(ctx, "members", "dying", ttl); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := dying.Close(); err != nil { // a crash: no release
		t.Fatalf("close: %v", err)
	}
	// Within a generous deadline the dead holder's lock is taken over.
	var relTaken func(context.Context) error
	deadline := time.Now().Add(30 * time.Second)
	for {
		relTaken, err = other.Lock(ctx, "members", "taker", ttl)
		if err == nil {
			break
		}
		if !errors.Is(err, state.ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("lock of a dead holder not taken over: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Meanwhile, well past its ttl, the live holder still holds its lock.
	time.Sleep(3 * ttl)
	if _, err := other.Lock(ctx, "organizations", "taker", ttl); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("live holder's lock was taken after its ttl although it refreshes: %v", err)
	}
	if err := errors.Join(relLive(ctx), relTaken(ctx)); err != nil {
		t.Fatalf("release: %v", err)
	}
}

func (s suite) concurrentCommit(t *testing.T) {
	loc := s.h.NewDatabase(t)
	a := s.open(t, loc)
	b := s.open(t, loc)
	ctx := t.Context()
	run := newRun(t, a, "members")
	const workers, batches, perBatch = 6, 15, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	for w := 0; w < workers; w++ {
		st := a
		if w%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < batches; i++ {
				var bt state.Batch
				bt.Pipeline, bt.RunID = "members", run
				for j := 0; j < perBatch; j++ {
					k := fmt.Sprintf("w%d-b%d-r%d", w, i, j)
					bt.Links = append(bt.Links, state.Link{SourceKey: k, SinkKey: "s-" + k})
					bt.Audit = append(bt.Audit, state.AuditEntry{SourceKey: k, Action: state.ActionCreate})
				}
				bt.Cursors = map[string]connectors.Position{"source": {ID: fmt.Sprintf("w%d-%d", w, i)}}
				if err := st.Commit(ctx, bt); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Commit: %v", err)
	}
	total := workers * batches * perBatch
	if n, err := a.LinkCount(ctx, "members"); err != nil || n != total {
		t.Fatalf("LinkCount = %d, %v; want %d", n, err, total)
	}
	audit, err := b.AuditList(ctx, run)
	if err != nil || len(audit) != total {
		t.Fatalf("AuditList = %d entries, %v; want %d", len(audit), err, total)
	}
	seen := map[string]bool{}
	for i, e := range audit {
		if i > 0 && e.Seq <= audit[i-1].Seq {
			t.Fatalf("audit Seq not strictly increasing at %d: %d after %d", i, e.Seq, audit[i-1].Seq)
		}
		seen[e.SourceKey] = true
	}
	if len(seen) != total {
		t.Fatalf("audit has %d distinct keys, want %d", len(seen), total)
	}
	// Each batch's rows stay together and in order.
	for i := 0; i < len(audit); i += perBatch {
		prefix := audit[i].SourceKey[:strings.LastIndex(audit[i].SourceKey, "-r")]
		for j := 0; j < perBatch; j++ {
			if want := fmt.Sprintf("%s-r%d", prefix, j); audit[i+j].SourceKey != want {
				t.Fatalf("audit row %d is %s, want %s (batches interleaved)", i+j, audit[i+j].SourceKey, want)
			}
		}
	}
}
