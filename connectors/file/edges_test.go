package file_test

// Tests written to kill mutants the other tests let through (hand mutation
// testing of file.go): each names what it pins down.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
)

// TestMalformedInputNamesTheLine: a CSV cell that does not convert names
// file:line (the line where the record starts, after a quoted cell spanning
// two lines), a row with too few cells is an error naming its line rather
// than a panic, and an NDJSON line with anything after its object is
// malformed.
func TestMalformedInputNamesTheLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "conv.csv"), "id,note,age\na1,\"two\nlines\",3\na2,x,tiga\n")
	writeFile(t, filepath.Join(dir, "short.csv"), "id,note,age\na1,x,3\na2,x\n")
	writeFile(t, filepath.Join(dir, "trail.ndjson"), "{\"id\":\"a\"}\n{\"id\":\"b\"} {\"id\":\"c\"}\n")
	for file, want := range map[string][]string{
		"conv.csv":     {"conv.csv:4:", "field age"},
		"short.csv":    {"short.csv", "line 3", "wrong number of fields"},
		"trail.ndjson": {"trail.ndjson:2:"},
	} {
		params := map[string]any{"path": file, "streams": map[string]any{"s": map[string]any{"columns": map[string]any{"age": "int"}}}}
		s := stream(t, open(t, dir, params), "s")
		_, err := s.Read(context.Background(), connectors.ReadRequest{})
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err = %v, want it to contain %q", file, err, w)
			}
		}
	}
}

// TestReadTiesBreakOnKey: records with the same updatedAt are read in key
// order and a position inside the tie resumes after its key; records without
// the updatedAt field read with a zero time, in key order, resumable by key.
func TestReadTiesBreakOnKey(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tie.ndjson"), `{"id":"c","updated_at":"2024-05-01T10:00:00Z"}
{"id":"a","updated_at":"2024-05-01T10:00:00Z"}
{"id":"z","updated_at":"2024-05-01T09:00:00Z"}
{"id":"b","updated_at":"2024-05-01T10:00:00Z"}
`)
	writeFile(t, filepath.Join(dir, "notime.ndjson"), "{\"id\":\"y\"}\n{\"id\":\"x\"}\n{\"id\":\"w\"}\n")
	c := open(t, dir, map[string]any{"dir": "."})
	s := stream(t, c, "tie")
	if got := ids(readAll(t, s, connectors.Position{}, 1, false)); !reflect.DeepEqual(got, []string{"z", "a", "b", "c"}) {
		t.Errorf("pages of one: %v, want z a b c", got)
	}
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	if got := ids(readAll(t, s, connectors.Position{UpdatedAt: at, ID: "a"}, 10, false)); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Errorf("after (10:00, a): %v, want b c", got)
	}
	n := stream(t, c, "notime")
	if got := ids(readAll(t, n, connectors.Position{}, 2, false)); !reflect.DeepEqual(got, []string{"w", "x", "y"}) {
		t.Errorf("without updated_at: %v, want w x y", got)
	}
	if got := ids(readAll(t, n, connectors.Position{ID: "w"}, 2, false)); !reflect.DeepEqual(got, []string{"x", "y"}) {
		t.Errorf("without updated_at, after w: %v, want x y", got)
	}
}

// TestReadDefaultPageSize: a Read without a limit returns pages of 500.
func TestReadDefaultPageSize(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 501; i++ {
		fmt.Fprintf(&b, "{\"id\":\"r%04d\"}\n", i)
	}
	writeFile(t, filepath.Join(dir, "many.ndjson"), b.String())
	s := stream(t, open(t, dir, map[string]any{"dir": "."}), "many")
	p, err := s.Read(context.Background(), connectors.ReadRequest{})
	if err != nil || len(p.Records) != 500 || !p.More {
		t.Fatalf("Read without limit: %d records, more=%v, %v; want 500, more", len(p.Records), p.More, err)
	}
}

// TestFieldTypes: the deletedAt field is a timestamp like updatedAt; numeric
// keys become their decimal text.
func TestFieldTypes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "t.ndjson"), `{"id":10,"updated_at":"2024-05-01T10:00:00Z","deleted_at":"2024-05-02 08:00:00"}
{"id":1.5,"updated_at":"2024-05-01T11:00:00Z"}
`)
	writeFile(t, filepath.Join(dir, "t.csv"), "id,updated_at,deleted_at\n10,2024-05-01T10:00:00Z,2024-05-02T15:00:00+07:00\n")
	want := time.Date(2024, 5, 2, 8, 0, 0, 0, time.UTC)
	for _, format := range []string{"ndjson", "csv"} {
		c := open(t, dir, map[string]any{"dir": ".", "format": format, "streams": map[string]any{"t": map[string]any{"deletedAt": "deleted_at"}}})
		got, err := stream(t, c, "t").Get(context.Background(), []string{"10", "1.5"})
		if err != nil || len(got) == 0 || got[0].ID != "10" {
			t.Fatalf("%s: Get(10, 1.5) = %+v, %v", format, got, err)
		}
		if d, ok := got[0].Fields["deleted_at"].(time.Time); !ok || !d.Equal(want) || !got[0].Deleted {
			t.Errorf("%s: deleted_at = %#v, want %v as a time", format, got[0].Fields["deleted_at"], want)
		}
		if format == "ndjson" && (len(got) != 2 || got[1].ID != "1.5") {
			t.Errorf("fractional key: %+v", got)
		}
	}
}

// TestReturnedRecordsAreCopies: changing a record returned by Read, Get or
// Find does not change what the next call returns (the parsed file is
// cached).
func TestReturnedRecordsAreCopies(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "m.ndjson"), `{"id":"m1","name":"Siti"}`+"\n")
	s := stream(t, open(t, dir, map[string]any{"dir": "."}), "m")
	ctx := context.Background()
	p, _ := s.Read(ctx, connectors.ReadRequest{})
	p.Records[0].Fields["name"] = "read"
	got, _ := s.Get(ctx, []string{"m1"})
	if got[0].Fields["name"] != "Siti" {
		t.Fatalf("after changing a Read record, Get sees %v", got[0].Fields["name"])
	}
	got[0].Fields["name"] = "get"
	found, _ := s.Find(ctx, "name", []string{"Siti"})
	if len(found) != 1 {
		t.Fatalf("after changing a Get record, Find(name=Siti) = %v", ids(found))
	}
	found[0].Fields["name"] = "find"
	p, _ = s.Read(ctx, connectors.ReadRequest{})
	if p.Records[0].Fields["name"] != "Siti" {
		t.Errorf("after changing a Find record, Read sees %v", p.Records[0].Fields["name"])
	}
}

// TestFindCompares: Find matches a flat column whose name has a dot (a CSV
// header "address.city"), a timestamp as RFC 3339 text, and never a NULL.
func TestFindCompares(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f.csv"), "id,updated_at,address.city,email\nf1,2024-05-01T10:00:00Z,Bandung,\nf2,2024-05-01T11:00:00+07:00,Medan,a@b.id\n")
	s := stream(t, open(t, dir, map[string]any{"path": "f.csv"}), "f")
	ctx := context.Background()
	for _, tc := range []struct {
		field, value string
		want         []string
	}{
		{"address.city", "Bandung", []string{"f1"}},
		{"updated_at", "2024-05-01T04:00:00Z", []string{"f2"}},
		{"email", "<nil>", nil},
		{"email", "", nil},
	} {
		got, err := s.Find(ctx, tc.field, []string{tc.value})
		if err != nil || !reflect.DeepEqual(ids(got), tc.want) {
			t.Errorf("Find(%s = %q) = %v, %v; want %v", tc.field, tc.value, ids(got), err, tc.want)
		}
	}
}

// TestWriteRefusalsPerRecord: an unknown operation, a restore without a
// deletedAt field and a value that does not convert to its declared type are
// refused for that record alone; the others are written.
func TestWriteRefusalsPerRecord(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, map[string]any{"dir": ".", "streams": map[string]any{
		"plain": map[string]any{"columns": map[string]any{"age": "int"}},
	}})
	s := stream(t, c, "plain")
	ctx := context.Background()
	res, err := s.Write(ctx, []connectors.Change{
		{Op: connectors.OpCreate, ID: "x1", Fields: map[string]any{"age": int64(3)}},
		{Op: "merge", ID: "x1"},
		{Op: connectors.OpRestore, ID: "x1"},
		{Op: connectors.OpCreate, ID: "x2", Fields: map[string]any{"age": "tiga"}},
		{Op: connectors.OpCreate, ID: "x3", Fields: map[string]any{"age": int64(5)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "unknown operation", "deletedAt", "field age", ""} {
		switch {
		case want == "" && res[i].Err != nil:
			t.Errorf("change %d: %v", i, res[i].Err)
		case want != "" && (!connectors.IsRecordError(res[i].Err) || !strings.Contains(res[i].Err.Error(), want)):
			t.Errorf("change %d: err = %v, want a record error about %q", i, res[i].Err, want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "plain.ndjson"))
	if got := strings.Count(string(b), "\n"); got != 2 || strings.Contains(string(b), "tiga") || strings.Contains(string(b), `""`) {
		t.Errorf("plain.ndjson, want x1 and x3 only:\n%s", b)
	}
}

// TestDeleteKeepsFirstDeletedAt: deleting a deleted record keeps the time
// it was first deleted.
func TestDeleteKeepsFirstDeletedAt(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "d.ndjson"), `{"id":"d1","updated_at":"2024-05-01T10:00:00Z","deleted_at":"2024-05-01T10:00:00Z"}`+"\n")
	s := stream(t, open(t, dir, map[string]any{"dir": ".", "streams": map[string]any{"d": map[string]any{"deletedAt": "deleted_at"}}}), "d")
	res, err := s.Write(context.Background(), []connectors.Change{{Op: connectors.OpDelete, ID: "d1"}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("delete: %v %+v", err, res)
	}
	if d, _ := res[0].Record.Fields["deleted_at"].(time.Time); !d.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) || res[0].Record.UpdatedAt.Year() == 2024 {
		t.Errorf("deleted again: deleted_at %v, updated_at %v; want the first deletion time and a new updated_at", d, res[0].Record.UpdatedAt)
	}
}

// TestCSVHeaderRules: a new CSV's header is key, updatedAt, deletedAt, then
// the declared columns and written fields sorted; times are written in UTC;
// a change with a field outside an existing header is refused alone unless
// the field is NULL; a file in a directory that does not exist yet is
// created with it.
func TestCSVHeaderRules(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, map[string]any{"path": "out/sub/review.csv", "streams": map[string]any{
		"review": map[string]any{"deletedAt": "deleted_at", "columns": map[string]any{"zeta": "text", "alpha": "int"}},
	}})
	s := stream(t, c, "review")
	ctx := context.Background()
	wib := time.FixedZone("WIB", 7*3600)
	_, err := s.Write(ctx, []connectors.Change{{Op: connectors.OpCreate, ID: "r1", Fields: map[string]any{
		"note": "x", "seen": time.Date(2024, 5, 1, 17, 0, 0, 0, wib),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "out/sub/review.csv")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "id,updated_at,deleted_at,alpha,note,seen,zeta\nr1,") || !strings.Contains(string(b), ",x,2024-05-01T10:00:00Z,") {
		t.Fatalf("new CSV:\n%s", b)
	}
	res, err := s.Write(ctx, []connectors.Change{{Op: connectors.OpUpdate, ID: "r1", Fields: map[string]any{"alpha": int64(2), "extra": nil}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("a NULL field outside the header: %v %+v", err, res)
	}
	before, _ := os.ReadFile(file)
	res, err = s.Write(ctx, []connectors.Change{
		{Op: connectors.OpUpdate, ID: "r1", Fields: map[string]any{"extra": "y"}},
		{Op: connectors.OpUpdate, ID: "r1", Fields: map[string]any{"alpha": int64(3)}},
	})
	if err != nil || len(res) != 2 || !connectors.IsRecordError(res[0].Err) || !strings.Contains(res[0].Err.Error(), "extra") || res[1].Err != nil {
		t.Fatalf("a field outside the header: %+v, %v; want that change refused alone", res, err)
	}
	after, _ := os.ReadFile(file)
	if added := strings.TrimPrefix(string(after), string(before)); strings.Count(added, "\n") != 1 || !strings.Contains(added, ",3,x,") || strings.Contains(added, "y") {
		t.Errorf("rows added by the write with a refused change:\n%s", added)
	}
}

// TestOpenAndStreamErrors: a path connection serves one stream, a dir must
// be a directory, a stream must be configured when any is, and a path ending
// in .CSV (any case) is CSV.
func TestOpenAndStreamErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "afile"), "")
	for _, params := range []map[string]any{
		{"path": "one.ndjson", "streams": map[string]any{"a": map[string]any{}, "b": map[string]any{}}},
		{"dir": "afile"},
	} {
		if _, err := connectors.Default.Open(context.Background(), "file", connectors.OpenParams{Config: params, Dir: dir}); err == nil {
			t.Errorf("open %v succeeded", params)
		}
	}
	c := open(t, dir, map[string]any{"dir": ".", "streams": map[string]any{"a": map[string]any{}}})
	if _, err := c.Stream(context.Background(), "b"); err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("unconfigured stream: %v", err)
	}
	writeFile(t, filepath.Join(dir, "UP.CSV"), "id,n\nu1,5\n")
	got, err := stream(t, open(t, dir, map[string]any{"path": "UP.CSV"}), "up").Get(context.Background(), []string{"u1"})
	if err != nil || len(got) != 1 || got[0].Fields["n"] != "5" {
		t.Errorf("UP.CSV read as CSV: %+v, %v", got, err)
	}
}
