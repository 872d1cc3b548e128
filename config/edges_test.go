package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
)

const edgeConn = `package pipe
connections: mem: {kind: "memory", streams: a: columns: {id: "uuid", n: "int"}}
connections: tw: {kind: "twenty", url: "http://127.0.0.1:3000", apiKey: {env: "K"}, customFields: pets: {nick: "TEXT"}}
`

// TestLoadAcceptsEdges: constructs the loader's checks must let through.
func TestLoadAcceptsEdges(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"conn.cue": edgeConn,
		// A dot file is not read, broken as it is.
		".scratch.cue": "this is { not cue",
		// The same pipeline's source written twice in one file is not a
		// duplicate name; a for clause over a section is not a reference
		// to the whole section; a custom Twenty object is a stream.
		"p.cue": `package pipe
pipelines: p: {source: "mem.a", sink: "tw.pets", push: {nick: "id"}}
pipelines: p: source: "mem.a"
pipelines: {for name, c in connections if name == "mem" {q: {source: "mem.a", sink: "tw.pets", push: {nick: "id"}}}}
pipelines: p: tests: [{name: "one", input: {id: "x"}, expect: {nick: "x"}}, {name: "two", input: {id: "y"}, expect: {nick: "y"}}]
pipelines: p: filter: source: "id != nil"
pipelines: r: {source: "mem.a", sink: "tw.pets", push: {nick: "id"}, dependsOn: [for name, _ in pipelines if name == "p" {name}]}
`,
		// A pipeline's nested field repeated in another file is not a
		// duplicate pipeline.
		"q.cue": `package pipe
pipelines: p: filter: source: "id != nil"
`,
	})
	cfg, err := config.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Pipelines["q"] == nil || cfg.Pipelines["p"] == nil || len(cfg.Pipelines["r"].DependsOn) != 1 {
		t.Fatalf("pipelines = %v", cfg.PipelineNames())
	}
	if s, ok := cfg.Stream(cfg.Pipelines["p"].Sink); !ok || !s.HasPath("nick") {
		t.Errorf("custom Twenty object pets: %v %+v", ok, s)
	}
	tests := cfg.Pipelines["p"].Tests
	if len(tests) != 2 || tests[0].Pos.Line != 5 || tests[1].Pos.Line != 5 || tests[0].Pos.Column >= tests[1].Pos.Column {
		t.Errorf("test positions = %+v, want each test's own place on line 5", tests)
	}
}

func TestLoadNotADirectory(t *testing.T) {
	_, err := config.Load(context.Background(), filepath.Join("testdata", "bad", "no_connections", "p.cue"))
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.HasPrefix(errs[0].Msg, "not a directory") {
		t.Fatalf("err = %v, want not a directory", err)
	}
}

// TestLoadReportsEveryUnreadableFile: an unreadable file does not hide the
// problems of the next one, and a directory whose every .cue file is
// broken says so rather than that it has none.
func TestLoadReportsEveryUnreadableFile(t *testing.T) {
	dir := writeDir(t, map[string]string{"b.cue": "package pipe\npipelines: {\n"})
	if err := os.Symlink(filepath.Join(dir, "nowhere.cue"), filepath.Join(dir, "a.cue")); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(context.Background(), dir)
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want config.Errors", err)
	}
	got := strings.ReplaceAll(errs.Error(), dir+string(filepath.Separator), "")
	want := "a.cue: cannot be read (a dangling symbolic link?): fix or remove it\n" +
		"b.cue:2:14: expected '}', found 'EOF': fix the CUE syntax here"
	if got != want {
		t.Errorf("errors:\n%s\nwant\n%s", got, want)
	}
}

// TestExecEnvValuesAccepted: an exec connection's env values may be plain
// strings or secret references of each source, and reach the connector's
// params as written.
func TestExecEnvValuesAccepted(t *testing.T) {
	dir := writeDir(t, map[string]string{"conn.cue": `package pipe
connections: plugin: {
	kind:    "exec"
	command: ["./crm-plugin"]
	env: {
		PLAIN: "plain"
		ENV:   {env: "X"}
		FILE:  {file: "/f"}
		VAULT: {vault: {path: "p", key: "k"}}
	}
	streams: contacts: columns: {id: "text", updated_at: "timestamp"}
}
`})
	cfg, err := config.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := cfg.Connections["plugin"].Params["env"].(map[string]any)
	if len(env) != 4 || env["PLAIN"] != "plain" {
		t.Errorf("env = %#v", env)
	}
}

// TestUpsertOnStringOrList: a SQL stream's upsertOn may name one column as a
// string, as the connector accepts, or several as a list.
func TestUpsertOnStringOrList(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{`"email"`, "email"},
		{`["email", "org"]`, "[email org]"},
	} {
		dir := writeDir(t, map[string]string{"conn.cue": `package pipe
connections: db: {
	kind: "sqlite"
	path: "k.db"
	streams: items: {
		columns: {id: "int", email: "text", org: "text", updated_at: "timestamp"}
		upsertOn: ` + tc.value + `
	}
}
`})
		cfg, err := config.Load(context.Background(), dir)
		if err != nil {
			t.Fatalf("upsertOn: %s: %v", tc.value, err)
		}
		streams, _ := cfg.Connections["db"].Params["streams"].(map[string]any)
		items, _ := streams["items"].(map[string]any)
		if got := fmt.Sprint(items["upsertOn"]); got != tc.want {
			t.Errorf("upsertOn: %s loaded as %s, want %s", tc.value, got, tc.want)
		}
	}
}
