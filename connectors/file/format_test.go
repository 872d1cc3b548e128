package file_test

// Tests of the file format as a .cue file sets it: the connection goes
// through config.Load (the schemas, their defaults included) and is opened
// with the parameters the engine would give it.

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
)

// openFromCUE loads a configuration directory holding conn.cue with the
// connection "src" and opens that connection as the engine does.
func openFromCUE(t *testing.T, dir, connection string) connectors.Connection {
	t.Helper()
	writeFile(t, filepath.Join(dir, "conn.cue"), "package pipe\n\nconnections: src: "+connection+"\n")
	cfg, err := config.Load(context.Background(), dir)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	cc, ok := cfg.Connections["src"]
	if !ok {
		t.Fatalf("config.Load: no connection src in %v", cfg.Connections)
	}
	c, err := connectors.Default.Open(context.Background(), cc.Kind, connectors.OpenParams{Name: "src", Config: cc.Params, Dir: cfg.Dir})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestFormatFromCUE: without format, a path ending in .csv reads as CSV
// (the schema gives no ndjson default that would hide the extension) and
// any other path as NDJSON; a dir's files are <stream>.ndjson; an explicit
// format wins over the extension.
func TestFormatFromCUE(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "import/organizations.csv"), "id,name\no1,Kopi Kita\no2,\"Tani, Maju\"\n")
	writeFile(t, filepath.Join(dir, "import/people.jsonl"), `{"id":"p1","name":"Siti"}`+"\n")
	writeFile(t, filepath.Join(dir, "import/csv-as-ndjson.csv"), `{"id":"n1","name":"Budi"}`+"\n")
	writeFile(t, filepath.Join(dir, "d/orgs.ndjson"), `{"id":"d1","name":"Desa"}`+"\n")
	writeFile(t, filepath.Join(dir, "d/orgs.csv"), "id,name\nc1,Kota\n")
	for _, tc := range []struct {
		conn, stream string
		want         map[string]string // id -> name
	}{
		{`{kind: "file", path: "import/organizations.csv", streams: organizations: {}}`, "organizations", map[string]string{"o1": "Kopi Kita", "o2": "Tani, Maju"}},
		{`{kind: "file", path: "import/people.jsonl", streams: people: {}}`, "people", map[string]string{"p1": "Siti"}},
		{`{kind: "file", path: "import/csv-as-ndjson.csv", format: "ndjson", streams: s: {}}`, "s", map[string]string{"n1": "Budi"}},
		{`{kind: "file", dir: "d", streams: orgs: {}}`, "orgs", map[string]string{"d1": "Desa"}},
		{`{kind: "file", dir: "d", format: "csv", streams: orgs: {}}`, "orgs", map[string]string{"c1": "Kota"}},
	} {
		c := openFromCUE(t, dir, tc.conn)
		p, err := stream(t, c, tc.stream).Read(ctx, connectors.ReadRequest{})
		if err != nil {
			t.Errorf("%s: read: %v", tc.conn, err)
			continue
		}
		got := map[string]string{}
		for _, r := range p.Records {
			got[r.ID], _ = r.Fields["name"].(string)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: read %v, want %v", tc.conn, got, tc.want)
		}
	}
}

// TestNDJSONReadOfCSVHints: a CSV read as NDJSON (its path does not end in
// .csv, or format says ndjson) fails on line 1 with a hint to set format:
// "csv"; a malformed NDJSON file does not get the hint.
func TestNDJSONReadOfCSVHints(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "export.txt"), "id,name\no1,Kopi Kita\n")
	writeFile(t, filepath.Join(dir, "export.csv"), "id,name\no1,Kopi Kita\n")
	writeFile(t, filepath.Join(dir, "broken.ndjson"), `{"id":"b1","name":"x",}`+"\n")
	writeFile(t, filepath.Join(dir, "later.ndjson"), `{"id":"b1"}`+"\nid,name\n")
	const hint = `set format: "csv" on the connection`
	for _, tc := range []struct {
		conn     string
		want     []string
		wantHint bool
	}{
		{`{kind: "file", path: "export.txt", streams: s: {}}`, []string{"export.txt:1: not a JSON object"}, true},
		{`{kind: "file", path: "export.csv", format: "ndjson", streams: s: {}}`, []string{"export.csv:1: not a JSON object"}, true},
		{`{kind: "file", path: "broken.ndjson", streams: s: {}}`, []string{"broken.ndjson:1: not a JSON object"}, false},
		{`{kind: "file", path: "later.ndjson", streams: s: {}}`, []string{"later.ndjson:2: not a JSON object"}, false},
	} {
		_, err := stream(t, openFromCUE(t, dir, tc.conn), "s").Read(ctx, connectors.ReadRequest{})
		if err == nil {
			t.Errorf("%s: read succeeded", tc.conn)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err = %v, want it to contain %q", tc.conn, err, w)
			}
		}
		if got := strings.Contains(err.Error(), hint); got != tc.wantHint {
			t.Errorf("%s: err = %v; hint %q shown: %v, want %v", tc.conn, err, hint, got, tc.wantHint)
		}
	}
}
