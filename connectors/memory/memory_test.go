package memory

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
)

type tick struct{ t time.Time }

func (c *tick) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func TestReadOrdersByUpdatedAtThenIDAndPages(t *testing.T) {
	ctx := context.Background()
	clock := &tick{t: time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC)}
	c := New(Options{Now: clock.now})
	s := c.S("people")
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Put(
		connectors.Record{ID: "c", UpdatedAt: t0, Fields: map[string]any{"n": "c"}},
		connectors.Record{ID: "a", UpdatedAt: t0.Add(time.Hour)},
		connectors.Record{ID: "b", UpdatedAt: t0},
		connectors.Record{ID: "d", UpdatedAt: t0, Deleted: true},
	)
	var got []string
	var after connectors.Position
	for {
		p, err := s.Read(ctx, connectors.ReadRequest{After: after, Limit: 2, IncludeDeleted: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			got = append(got, r.ID)
			after = connectors.PositionOf(r)
		}
		if !p.More {
			break
		}
	}
	if fmt.Sprint(got) != "[b c d a]" {
		t.Fatalf("read order = %v, want [b c d a]", got)
	}
	p, _ := s.Read(ctx, connectors.ReadRequest{Limit: 10})
	if len(p.Records) != 3 {
		t.Fatalf("without IncludeDeleted got %d records, want 3", len(p.Records))
	}
	// An update moves the record to the end of the change order.
	res, err := s.Write(ctx, []connectors.Change{{Op: connectors.OpUpdate, ID: "b", Fields: map[string]any{"n": "B"}}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	p, _ = s.Read(ctx, connectors.ReadRequest{After: connectors.Position{UpdatedAt: t0.Add(time.Hour), ID: "a"}, Limit: 10})
	if len(p.Records) != 1 || p.Records[0].ID != "b" || p.Records[0].Fields["n"] != "B" {
		t.Fatalf("after update got %+v", p.Records)
	}
}

func TestWriteOpsFindAndHooks(t *testing.T) {
	ctx := context.Background()
	abortAt := 4
	c := New(Options{OnWrite: func(n int, stream string, ch connectors.Change) error {
		if ch.Fields["email"] == "bad" {
			return &connectors.RecordError{Reason: "invalid email"}
		}
		if n == abortAt {
			return errors.New("simulated crash")
		}
		return nil
	}})
	s := c.S("people")
	res, err := s.Write(ctx, []connectors.Change{
		{Op: connectors.OpCreate, ID: "p1", Fields: map[string]any{"email": "a@x.id", "name": map[string]any{"first": "A", "last": "Z"}}},
		{Op: connectors.OpCreate, ID: "p1", Fields: map[string]any{"email": "dup"}},
		{Op: connectors.OpCreate, ID: "p2", Fields: map[string]any{"email": "bad"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].ID != "p1" || !connectors.IsRecordError(res[1].Err) || !connectors.IsRecordError(res[2].Err) {
		t.Fatalf("results = %+v", res)
	}
	found, _ := s.Find(ctx, "name.first", []string{"A", "nobody"})
	if len(found) != 1 || found[0].ID != "p1" {
		t.Fatalf("find by nested path = %+v", found)
	}
	// Write 4 aborts the call; write 5 would not be applied.
	_, err = s.Write(ctx, []connectors.Change{
		{Op: connectors.OpUpdate, ID: "p1", Fields: map[string]any{"name": map[string]any{"first": "B"}}},
		{Op: connectors.OpCreate, ID: "p3"},
	})
	if err == nil {
		t.Fatal("write 4 should abort the call")
	}
	if s.Len() != 1 {
		t.Fatalf("after abort the stream holds %d records, want 1", s.Len())
	}
	abortAt = -1
	res, _ = s.Write(ctx, []connectors.Change{
		{Op: connectors.OpUpdate, ID: "p1", Fields: map[string]any{"name": map[string]any{"first": "B"}}},
		{Op: connectors.OpUpdate, ID: "zz"},
		{Op: connectors.OpDelete, ID: "p1"},
	})
	if got, _ := s.Get(ctx, []string{"p1"}); res[0].Err != nil || len(got) != 1 || got[0].Fields["name"].(map[string]any)["last"] != "Z" {
		t.Fatalf("partial composite update lost a sub-field: %+v, %+v", res[0], got)
	}
	if !errors.Is(res[1].Err, connectors.ErrNotFound) {
		t.Fatalf("update of a missing record: %v", res[1].Err)
	}
	found, _ = s.Find(ctx, "name.first", []string{"A", "B"})
	if len(found) != 1 || found[0].Fields["name"].(map[string]any)["first"] != "B" || !found[0].Deleted {
		t.Fatalf("find after update and soft delete = %+v", found)
	}
	res, _ = s.Write(ctx, []connectors.Change{{Op: connectors.OpRestore, ID: "p1"}})
	if got, _ := s.Get(ctx, []string{"p1"}); res[0].Err != nil || len(got) != 1 || got[0].Deleted {
		t.Fatalf("restore: %+v, then Get = %+v", res, got)
	}
	res, _ = s.Write(ctx, []connectors.Change{{Op: connectors.OpDestroy, ID: "p1"}})
	if res[0].Err != nil || s.Len() != 0 {
		t.Fatalf("destroy: %+v len=%d", res, s.Len())
	}
	if got, _ := s.Get(ctx, []string{"p1"}); len(got) != 0 {
		t.Fatalf("destroyed record still returned by Get")
	}
}

func TestOpenUsesSharedInstance(t *testing.T) {
	seeded := Shared("memtest-crm")
	seeded.S("people").Put(connectors.Record{ID: "x"})
	conn, err := connectors.Default.Open(context.Background(), Kind, connectors.OpenParams{Name: "crm", Config: map[string]any{"instance": "memtest-crm"}})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := conn.Stream(context.Background(), "people")
	got, _ := st.Get(context.Background(), []string{"x"})
	if len(got) != 1 {
		t.Fatal("Open did not return the shared instance")
	}
	if _, err := Open(context.Background(), connectors.OpenParams{Name: "bad", Config: map[string]any{"instance": 3}}); err == nil {
		t.Fatal("a non-string instance must be refused")
	}
}
