package quickstart

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/kelompok/pipe/pipelines"
)

// streamsOf compiles one connections file on its own and returns the
// kelompok streams and the Twenty custom fields as JSON-like values.
func streamsOf(t *testing.T, name string, src []byte) (streams, custom any) {
	t.Helper()
	v := cuecontext.New().CompileBytes(src, cue.Filename(name))
	if err := v.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	get := func(path string) any {
		b, err := v.LookupPath(cue.ParsePath(path)).MarshalJSON()
		if err != nil {
			t.Fatalf("%s: %s: %v", name, path, err)
		}
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return get("connections.kelompok.streams"), get("connections.twenty.customFields")
}

// The quickstart's SQLite Kelompok must expose exactly the streams of the
// shipped PostgreSQL one, and its Twenty the same custom fields, or the
// demo would not be running the shipped pipelines as they ship.
func TestQuickstartConnectionsMatchShipped(t *testing.T) {
	shipped, err := fs.ReadFile(pipelines.Files, ShippedConnections)
	if err != nil {
		t.Fatal(err)
	}
	wantStreams, wantCustom := streamsOf(t, "pipelines/connections.cue", shipped)
	gotStreams, gotCustom := streamsOf(t, "examples/quickstart/connections.cue", ConnectionsCUE)
	if !reflect.DeepEqual(gotStreams, wantStreams) {
		t.Errorf("examples/quickstart/connections.cue declares other kelompok streams than pipelines/connections.cue:\n got %v\nwant %v", gotStreams, wantStreams)
	}
	if !reflect.DeepEqual(gotCustom, wantCustom) {
		t.Errorf("examples/quickstart/connections.cue declares other Twenty custom fields than pipelines/connections.cue:\n got %v\nwant %v", gotCustom, wantCustom)
	}
}

func TestWriteConfigWritesShippedPipelinesAndQuickstartConnections(t *testing.T) {
	dir := t.TempDir()
	if err := WriteConfig(dir, ConfigParams{KelompokSQLite: "kelompok.db", TwentyURL: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(pipelines.Files, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ShippedConnections || !strings.HasSuffix(e.Name(), ".cue") {
			continue
		}
		want, _ := fs.ReadFile(pipelines.Files, e.Name())
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is not the shipped file (err %v)", e.Name(), err)
		}
	}
	got, _ := os.ReadFile(filepath.Join(dir, "connections.cue"))
	if string(got) != string(ConnectionsCUE) {
		t.Error("connections.cue is not the quickstart's")
	}
	local, _ := os.ReadFile(filepath.Join(dir, "local.cue"))
	abs, _ := filepath.Abs("kelompok.db")
	for _, want := range []string{`url: "http://127.0.0.1:1"`, `path: ` + cueString(abs)} {
		if !strings.Contains(string(local), want) {
			t.Errorf("local.cue lacks %s:\n%s", want, local)
		}
	}
	if err := WriteConfig(dir, ConfigParams{}); err == nil {
		t.Error("WriteConfig without paths succeeded")
	}
}
