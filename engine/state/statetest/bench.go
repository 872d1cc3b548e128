package statetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/engine/state"
)

// BenchmarkCommit measures the store's cost per applied batch: one Commit of
// 100 new links (with a 10-field base snapshot), 100 audit rows with a
// field diff, and a cursor move, as an initial sync produces. st must be
// migrated and empty; b.N batches are committed.
func BenchmarkCommit(b *testing.B, st state.Store) {
	const perBatch = 100
	ctx := b.Context()
	run, err := st.RunCreate(ctx, state.Run{Pipeline: "bench", Trigger: "cli"})
	if err != nil {
		b.Fatalf("RunCreate: %v", err)
	}
	base := map[string]any{
		"name": map[string]any{"firstName": "Budi", "lastName": "Santoso"}, "email": "budi.santoso@example.id",
		"phone": "+6281234567890", "city": "Bandung", "jobTitle": "Ketua", "company": "Koperasi Maju",
		"joinedAt": "2023-04-01T00:00:00Z", "active": true, "score": 4.5, "tags": []any{"relawan", "donor"},
	}
	diff := []state.FieldChange{{Field: "jobTitle", Old: "Anggota", New: "Ketua"}, {Field: "city", Old: nil, New: "Bandung"}}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := state.Batch{Pipeline: "bench", RunID: run,
			Links: make([]state.Link, perBatch), Audit: make([]state.AuditEntry, perBatch)}
		for j := 0; j < perBatch; j++ {
			k := fmt.Sprintf("m-%09d", i*perBatch+j)
			batch.Links[j] = state.Link{SourceKey: k, SinkKey: "p-" + k, Base: base, SourceHash: "3f2a9c0e1b7d", SinkHash: "9e0c11aa4f02"}
			batch.Audit[j] = state.AuditEntry{SourceKey: k, SinkKey: "p-" + k, Direction: "push", Action: state.ActionCreate, Diff: diff}
		}
		batch.Cursors = map[string]connectors.Position{"source": {UpdatedAt: t0.Add(time.Duration(i) * time.Second), ID: fmt.Sprintf("m-%09d", (i+1)*perBatch-1)}}
		if err := st.Commit(ctx, batch); err != nil {
			b.Fatalf("Commit: %v", err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*perBatch), "µs/record")
}
