package config_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kelompok/pipe/config"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*/expected.txt from the loader's output (review the diff!)")

// render formats errors as the corpus records them: file names relative to
// the case directory.
func render(dir string, errs config.Errors) string {
	var b strings.Builder
	for _, e := range errs {
		e.Pos.File = strings.TrimPrefix(strings.TrimPrefix(e.Pos.File, dir), string(filepath.Separator))
		if e.Pos.File == "" {
			e.Pos.File = "."
		}
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestBadCorpus(t *testing.T) {
	cases, err := os.ReadDir("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 30 {
		t.Fatalf("the bad-input corpus has %d cases, want at least 30", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "bad", c.Name())
			cfg, err := config.Load(context.Background(), dir)
			if err == nil {
				t.Fatalf("Load succeeded on a broken config (%d pipelines)", len(cfg.Pipelines))
			}
			if cfg != nil {
				t.Errorf("Load returned a partial config with its error")
			}
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want config.Errors: %v", err, err)
			}
			for _, e := range errs {
				if e.Msg == "" || e.Pos.File == "" {
					t.Errorf("error without message or file: %#v", e)
				}
			}
			got := render(dir, errs)
			// Secrets written as plain strings in the corpus must not be
			// echoed back.
			for _, secret := range []string{"hunter2", "eyJhbGciOiJIUzI1NiJ9"} {
				if strings.Contains(got, secret) {
					t.Errorf("an error message repeats a secret value:\n%s", got)
				}
			}
			wantFile := filepath.Join(dir, "expected.txt")
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test ./config -run TestBadCorpus -update to create it, then review it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\n--- got\n%s--- want\n%s", wantFile, got, want)
			}
		})
	}
}

func TestShippedPipelinesValidate(t *testing.T) {
	cfg, err := config.Load(context.Background(), filepath.Join("..", "pipelines"))
	if err != nil {
		t.Fatalf("the shipped pipelines do not validate:\n%v", err)
	}
	for _, name := range []string{"organizations", "members", "events"} {
		if cfg.Pipelines[name] == nil {
			t.Errorf("pipeline %q missing", name)
		}
	}
	m := cfg.Pipelines["members"]
	if m.Source.String() != "kelompok.members" || m.Sink.String() != "twenty.people" || m.Direction != config.Both {
		t.Errorf("members: %s -> %s (%s)", m.Source, m.Sink, m.Direction)
	}
	if len(m.DependsOn) != 1 || m.DependsOn[0] != "organizations" {
		t.Errorf("members.dependsOn = %v", m.DependsOn)
	}
	if m.Push == nil || len(m.Push.Fields) == 0 || m.Push.Fields[0].Target != "name.firstName" {
		t.Fatalf("members push mapping not decoded in declaration order: %+v", m.Push)
	}
	for _, f := range m.Push.Fields {
		if f.Program == nil {
			t.Errorf("push %s: expression not compiled", f.Target)
		}
		if f.When != "" && f.WhenProgram == nil {
			t.Errorf("push %s: condition not compiled", f.Target)
		}
	}
	if cfg.Connections["twenty"].Params["url"] != "http://127.0.0.1:3000" {
		t.Errorf("twenty url default = %v", cfg.Connections["twenty"].Params["url"])
	}
	if ref, ok := cfg.Connections["twenty"].Params["apiKey"].(map[string]any); !ok || ref["env"] != "TWENTY_API_KEY" {
		t.Errorf("twenty apiKey = %#v, want the reference {env: TWENTY_API_KEY}", cfg.Connections["twenty"].Params["apiKey"])
	}
	if cfg.State.Kind != "sqlite" || !filepath.IsAbs(cfg.State.Path) {
		t.Errorf("state = %+v, want sqlite with an absolute path", cfg.State)
	}
	if got := cfg.Pipelines["organizations"].Trigger.Schedule.String(); got != "15m0s" {
		t.Errorf("organizations schedule = %s", got)
	}
}

// TestLoadEditsNeedNoRebuild loads a directory, edits it, and loads again.
func TestLoadEditsNeedNoRebuild(t *testing.T) {
	dir := t.TempDir()
	conn := `package pipe
connections: mem: {kind: "memory", streams: a: columns: {id: "uuid", n: "int"}}
connections: mem2: {kind: "memory", streams: b: columns: {id: "uuid", m: "int"}}
`
	write := func(expr string) {
		t.Helper()
		p := "package pipe\npipelines: p: {source: \"mem.a\", sink: \"mem2.b\", push: {m: " + expr + "}}\n"
		if err := os.WriteFile(filepath.Join(dir, "c.cue"), []byte(conn), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "p.cue"), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`"n * 2"`)
	if _, err := config.Load(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	write(`"n * nope"`)
	_, err := config.Load(context.Background(), dir)
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Msg, "unknown field nope") {
		t.Fatalf("after the edit: %v", err)
	}
	if errs[0].Pos.Line != 2 || errs[0].Pos.Column != 64 {
		t.Errorf("position %s, want line 2 column 64 (the n of nope)", errs[0].Pos)
	}
}

func TestErrorsFormats(t *testing.T) {
	errs := config.Errors{
		{Pos: config.Pos{File: "pipelines/members.cue", Line: 3, Column: 7}, Path: `pipelines.members.push."name.firstName"`, Msg: "unknown name x, 100%"},
		{Pos: config.Pos{File: "pipelines"}, Msg: "no .cue files"},
	}
	want := "pipelines/members.cue:3:7: pipelines.members.push.\"name.firstName\": unknown name x, 100%\npipelines: no .cue files"
	if got := errs.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	wantGH := "::error file=pipelines/members.cue,line=3,col=7,title=pipe validate::pipelines.members.push.\"name.firstName\": unknown name x, 100%25\n" +
		"::error file=pipelines,title=pipe validate::no .cue files\n"
	if got := errs.GitHub(); got != wantGH {
		t.Errorf("GitHub() =\n%s\nwant\n%s", got, wantGH)
	}
}

func TestLoadMissingDirectory(t *testing.T) {
	_, err := config.Load(context.Background(), filepath.Join(t.TempDir(), "nope"))
	var errs config.Errors
	if !errors.As(err, &errs) || !strings.Contains(errs[0].Msg, "--config") {
		t.Fatalf("err = %v, want a config.Errors naming --config", err)
	}
}

func TestLoadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := config.Load(ctx, filepath.Join("..", "pipelines")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func BenchmarkLoadShipped(b *testing.B) {
	dir := filepath.Join("..", "pipelines")
	for b.Loop() {
		if _, err := config.Load(context.Background(), dir); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzLoad(f *testing.F) {
	cases, _ := filepath.Glob("testdata/bad/*/*.cue")
	shipped, _ := filepath.Glob("../pipelines/*.cue")
	for _, p := range append(cases, shipped...) {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	conn, err := os.ReadFile("testdata/bad/type_error/conn.cue")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "conn.cue"), conn, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "fuzz.cue"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(context.Background(), dir)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config without error")
			}
			return
		}
		var errs config.Errors
		if !errors.As(err, &errs) {
			t.Fatalf("error is %T, want config.Errors: %v", err, err)
		}
		for _, e := range errs {
			if e.Msg == "" {
				t.Fatalf("empty message: %#v", e)
			}
		}
	})
}

// TestFiles: the files of a configuration are the .cue entries that are
// not hidden, in name order, a wrong package clause or a directory so
// named included (Load reports those).
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"b.cue":       "package pipe\n",
		"a.cue":       "package other\n",
		".hidden.cue": "package pipe\n",
		"notes.txt":   "",
		"c.cue.bak":   "",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "d.cue"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := config.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.cue"), filepath.Join(dir, "b.cue"), filepath.Join(dir, "d.cue")}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Files = %q, want %q", got, want)
	}
	if _, err := config.Files(filepath.Join(dir, "nosuch")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Files of a missing directory: %v, want os.ErrNotExist", err)
	}
}
