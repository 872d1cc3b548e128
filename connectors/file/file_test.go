package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	_ "github.com/kelompok/pipe/connectors/file"
)

func open(t *testing.T, dir string, params map[string]any) connectors.Connection {
	t.Helper()
	c, err := connectors.Default.Open(context.Background(), "file", connectors.OpenParams{Name: "export", Config: params, Dir: dir})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func stream(t *testing.T, c connectors.Connection, name string) connectors.Stream {
	t.Helper()
	s, err := c.Stream(context.Background(), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return s
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, s connectors.Stream, after connectors.Position, limit int, deleted bool) []connectors.Record {
	t.Helper()
	var out []connectors.Record
	for i := 0; i < 100; i++ {
		p, err := s.Read(context.Background(), connectors.ReadRequest{After: after, Limit: limit, IncludeDeleted: deleted})
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, p.Records...)
		if len(p.Records) > 0 {
			after = connectors.PositionOf(p.Records[len(p.Records)-1])
		}
		if !p.More {
			return out
		}
	}
	t.Fatal("read does not end")
	return nil
}

func ids(recs []connectors.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// TestNDJSONIncrementalRead: records are read in (updated_at, id) order from
// any position, the last line of a key wins, blank lines are skipped, and
// declared types convert values.
func TestNDJSONIncrementalRead(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "data/members.ndjson"), `
{"id":"m3","updated_at":"2024-05-01T10:00:00Z","full_name":"Budi","email":null,"sdg_tags":["SDG 4"],"age":41}
{"id":"m1","updated_at":"2024-05-01T10:00:00Z","full_name":"Siti","email":"","score":4.5}

{"id":"m2","updated_at":"2024-04-30T08:00:00+07:00","full_name":"Agus","address":{"city":"Bandung"}}
{"id":"m3","updated_at":"2024-05-02T09:00:00Z","full_name":"Budi Santoso","email":"budi@example.com","sdg_tags":["SDG 4","sdg-05"],"age":41}
{"id":"m4","updated_at":"2024-05-01T11:00:00Z","full_name":"Dewi","deleted_at":"2024-05-01T11:00:00Z"}
`)
	c := open(t, dir, map[string]any{"dir": "data", "streams": map[string]any{
		"members": map[string]any{"deletedAt": "deleted_at", "columns": map[string]any{"age": "int", "sdg_tags": "text[]"}},
	}})
	s := stream(t, c, "members")
	all := readAll(t, s, connectors.Position{}, 2, true)
	if got := ids(all); !reflect.DeepEqual(got, []string{"m2", "m1", "m4", "m3"}) {
		t.Fatalf("read order %v, want m2 m1 m4 m3", got)
	}
	if got := ids(readAll(t, s, connectors.Position{}, 10, false)); !reflect.DeepEqual(got, []string{"m2", "m1", "m3"}) {
		t.Errorf("without deleted: %v", got)
	}
	after := connectors.Position{UpdatedAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), ID: "m1"}
	if got := ids(readAll(t, s, after, 10, true)); !reflect.DeepEqual(got, []string{"m4", "m3"}) {
		t.Errorf("after (10:00, m1): %v", got)
	}
	m3 := all[3]
	for field, want := range map[string]any{
		"full_name": "Budi Santoso", "email": "budi@example.com", "sdg_tags": []any{"SDG 4", "sdg-05"}, "age": int64(41),
	} {
		if !reflect.DeepEqual(m3.Fields[field], want) {
			t.Errorf("m3.%s = %#v, want %#v", field, m3.Fields[field], want)
		}
	}
	m1 := all[1]
	if v, ok := m1.Fields["email"]; !ok || v != "" {
		t.Errorf("m1.email = %#v, want \"\" (distinct from null)", v)
	}
	if m1.Fields["score"] != 4.5 {
		t.Errorf("m1.score = %#v", m1.Fields["score"])
	}
	if !all[0].UpdatedAt.Equal(time.Date(2024, 4, 30, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("m2 UpdatedAt = %v, want the +07:00 time in UTC", all[0].UpdatedAt)
	}

	found, err := s.Find(context.Background(), "address.city", []string{"Bandung"})
	if err != nil || !reflect.DeepEqual(ids(found), []string{"m2"}) {
		t.Errorf("Find(address.city) = %v, %v", ids(found), err)
	}
	found, err = s.Find(context.Background(), "age", []string{"41"})
	if err != nil || !reflect.DeepEqual(ids(found), []string{"m3"}) {
		t.Errorf("Find(age) = %v, %v", ids(found), err)
	}
	got, err := s.Get(context.Background(), []string{"m4", "nope", "m1"})
	if err != nil || !reflect.DeepEqual(ids(got), []string{"m1", "m4"}) {
		t.Errorf("Get = %v, %v", ids(got), err)
	}
}

// TestCSVReadAndExport: a CSV with a BOM and quoted cells reads with typed
// columns; writes append rows under the existing header, and a new file
// gets one.
func TestCSVReadAndExport(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "orgs.csv"), "\ufeffid,name,updated_at,members,tags\n"+
		`o1,"Yayasan ""Cahaya"", Bandung",2024-05-01T10:00:00Z,12,"[""SDG 4""]"`+"\n"+
		"o2,Koperasi Maju,2024-05-01T09:00:00Z,,\n")
	c := open(t, dir, map[string]any{"path": "orgs.csv", "streams": map[string]any{
		"organizations": map[string]any{"columns": map[string]any{"members": "int", "tags": "text[]"}},
	}})
	s := stream(t, c, "organizations")
	recs := readAll(t, s, connectors.Position{}, 10, false)
	if got := ids(recs); !reflect.DeepEqual(got, []string{"o2", "o1"}) {
		t.Fatalf("read %v", got)
	}
	if recs[1].Fields["name"] != `Yayasan "Cahaya", Bandung` || recs[1].Fields["members"] != int64(12) ||
		!reflect.DeepEqual(recs[1].Fields["tags"], []any{"SDG 4"}) {
		t.Errorf("o1 fields = %#v", recs[1].Fields)
	}
	if v, ok := recs[0].Fields["members"]; !ok || v != nil {
		t.Errorf("empty cell = %#v, want nil", v)
	}

	res, err := s.Write(context.Background(), []connectors.Change{
		{Op: connectors.OpUpdate, ID: "o2", Fields: map[string]any{"members": int64(30)}},
		{Op: connectors.OpCreate, ID: "o3", Fields: map[string]any{"name": "Komunitas Baru", "tags": []any{"SDG 1", "SDG 2"}}},
		{Op: connectors.OpUpdate, ID: "o9", Fields: map[string]any{"name": "x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("results: %v, %v", res[0].Err, res[1].Err)
	}
	if !errors.Is(res[2].Err, connectors.ErrNotFound) || !connectors.IsRecordError(res[2].Err) {
		t.Errorf("update of a missing record: %v", res[2].Err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "orgs.csv"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "\ufeffid,name,updated_at,members,tags") {
		t.Fatalf("file after export:\n%s", b)
	}
	recs = readAll(t, s, connectors.Position{}, 10, false)
	byID := map[string]connectors.Record{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	if len(recs) != 3 || byID["o2"].Fields["members"] != int64(30) || byID["o2"].Fields["name"] != "Koperasi Maju" ||
		!reflect.DeepEqual(byID["o3"].Fields["tags"], []any{"SDG 1", "SDG 2"}) {
		t.Errorf("after writes: %#v", recs)
	}

	// A new file in a directory gets a header: key, updated_at, then fields.
	c2 := open(t, dir, map[string]any{"dir": ".", "format": "csv"})
	s2 := stream(t, c2, "review")
	_, err = s2.Write(context.Background(), []connectors.Change{{Op: connectors.OpCreate, ID: "r1", Fields: map[string]any{"note": "perlu dicek, ya", "n": 2}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "review.csv"))
	if !strings.HasPrefix(string(b), "id,updated_at,n,note\nr1,") || !strings.Contains(string(b), `,2,"perlu dicek, ya"`) {
		t.Errorf("new CSV:\n%s", b)
	}
}

// TestNDJSONWriteDeleteRestore: exports append lines; deletes append the
// record with deleted_at; restore clears it; a stream without deletedAt
// refuses deletes per record.
func TestNDJSONWriteDeleteRestore(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, map[string]any{"dir": ".", "streams": map[string]any{
		"people": map[string]any{"key": "kode", "updatedAt": "diubah", "deletedAt": "dihapus"},
		"plain":  map[string]any{},
	}})
	s := stream(t, c, "people")
	ctx := context.Background()
	res, err := s.Write(ctx, []connectors.Change{
		{Op: connectors.OpCreate, ID: "p1", Fields: map[string]any{"nama": "Rina", "email": nil}},
		{Op: connectors.OpCreate, ID: "p2", Fields: map[string]any{"nama": "Joko"}},
	})
	if err != nil || res[0].Err != nil || res[0].Record == nil || res[0].Record.UpdatedAt.IsZero() {
		t.Fatalf("create: %v %+v", err, res)
	}
	res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpDelete, ID: "p1"}})
	if err != nil || res[0].Err != nil || !res[0].Record.Deleted {
		t.Fatalf("delete: %v %+v", err, res)
	}
	if got := ids(readAll(t, s, connectors.Position{}, 10, false)); !reflect.DeepEqual(got, []string{"p2"}) {
		t.Errorf("live after delete: %v", got)
	}
	res, err = s.Write(ctx, []connectors.Change{{Op: connectors.OpRestore, ID: "p1"}})
	if err != nil || res[0].Err != nil || res[0].Record.Deleted {
		t.Fatalf("restore: %v %+v", err, res)
	}
	got, _ := s.Get(ctx, []string{"p1"})
	if len(got) != 1 || got[0].Fields["nama"] != "Rina" || got[0].Deleted {
		t.Errorf("p1 after restore: %+v", got)
	}
	if v, ok := got[0].Fields["email"]; !ok || v != nil {
		t.Errorf("null email lost: %#v", v)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "people.ndjson"))
	if n := strings.Count(string(b), "\n"); n != 4 {
		t.Errorf("people.ndjson has %d lines, want 4 appended:\n%s", n, b)
	}

	plain := stream(t, c, "plain")
	res, err = plain.Write(ctx, []connectors.Change{
		{Op: connectors.OpCreate, ID: "x1", Fields: map[string]any{"a": 1}},
		{Op: connectors.OpDelete, ID: "x1"},
	})
	if err != nil || res[0].Err != nil || !connectors.IsRecordError(res[1].Err) || !strings.Contains(res[1].Err.Error(), "deletedAt") {
		t.Errorf("delete without deletedAt: %v %+v", err, res)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.ndjson"), "{\"id\":\"a\"}\nnot json\n")
	writeFile(t, filepath.Join(dir, "nokey.ndjson"), "{\"name\":\"a\"}\n")
	c := open(t, dir, map[string]any{"dir": "."})
	for name, want := range map[string]string{"bad": "bad.ndjson:2", "nokey": "no id"} {
		_, err := stream(t, c, name).Read(context.Background(), connectors.ReadRequest{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
	// A missing file is an empty stream.
	p, err := stream(t, c, "absent").Read(context.Background(), connectors.ReadRequest{})
	if err != nil || len(p.Records) != 0 {
		t.Errorf("absent file: %v, %v", p, err)
	}
	for _, params := range []map[string]any{{}, {"path": "a", "dir": "b"}, {"dir": "nope"}, {"path": "a.txt", "format": "xml"}} {
		if _, err := connectors.Default.Open(context.Background(), "file", connectors.OpenParams{Config: params, Dir: dir}); err == nil {
			t.Errorf("open %v succeeded", params)
		}
	}
}
