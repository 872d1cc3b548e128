package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kelompok/pipe/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// breakMapping puts a typo in the contacts pipeline's push mapping of a
// writeRunConfig directory and returns where config.Load reports it.
func breakMapping(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "p.cue")
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(src), `"lower(trim(mail))"`, `"lower(trim(mial))"`, 1)
	if err := os.WriteFile(name, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	return name + ":"
}

func writeFile(t *testing.T, name, src string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryWithConfigErrors: runs, runs show, rejects and conflicts only
// read the state store, so an error elsewhere in the configuration (a typo
// in a mapping) does not keep them from the history: they show it, with
// the configuration's problems as a warning on stderr, and exit 0. When
// the state section itself is wrong, or the store's place cannot be told,
// they answer with the configuration's errors and exit 2, as before, and
// create no store.
func TestHistoryWithConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		state string             // the state section, in a file of its own
		setup func(t *testing.T) // environment for the state section
		where string             // how the warning names the store ("" for dir/.pipe/state.db)
	}{
		{name: "default store"},
		{name: "sqlite path", state: `state: path: "history/pipe.db"`, where: filepath.Join("history", "pipe.db")},
		{name: "postgres", state: `state: {kind: "postgres", url: {env: "PIPE_TEST_STATE_URL"}}`,
			setup: func(t *testing.T) { t.Setenv("PIPE_TEST_STATE_URL", pgtest.URL(t)) },
			where: "the PostgreSQL database at env:PIPE_TEST_STATE_URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRunConfig(t)
			if tt.state != "" {
				writeFile(t, filepath.Join(dir, "state.cue"), "package pipe\n"+tt.state+"\n")
			}
			if tt.setup != nil {
				tt.setup(t)
			}
			if code, out, errOut := run(t, "run", "contacts", "--dry-run", "--config", dir); code != ExitOK {
				t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
			}
			problem := breakMapping(t, dir)
			where := tt.where
			switch {
			case where == "":
				where = filepath.Join(dir, ".pipe", "state.db")
			case !strings.HasPrefix(where, "the "):
				where = filepath.Join(dir, where)
			}
			warning := "pipe: warning: the configuration has errors; showing history from " + where + "\n"
			for _, c := range []struct {
				args []string
				out  string
			}{
				{[]string{"runs"}, "contacts"},
				{[]string{"runs", "--pipeline", "contacts", "-o", "json"}, `"pipeline": "contacts"`},
				{[]string{"runs", "show", "1"}, "run 1  pipeline contacts"},
				{[]string{"rejects"}, "no rejected records"},
				{[]string{"conflicts"}, "no open conflicts"},
			} {
				code, out, errOut := run(t, append(c.args, "--config", dir)...)
				if code != ExitOK || !strings.Contains(out, c.out) || !strings.HasPrefix(errOut, warning) || !strings.Contains(errOut, problem) {
					t.Errorf("pipe %s: exit %d, want 0, %q on stdout, and the warning and %s on stderr\nstdout: %s\nstderr: %s",
						strings.Join(c.args, " "), code, c.out, problem, out, errOut)
				}
			}
			// without the configuration's names, --pipeline is checked against
			// the history alone
			code, _, errOut := run(t, "runs", "--pipeline", "nosuch", "--config", dir)
			if code != ExitUsage || !strings.Contains(errOut, `unknown pipeline "nosuch": the state store has no runs of it`) {
				t.Errorf("runs --pipeline nosuch: exit %d, want %d\n%s", code, ExitUsage, errOut)
			}
			// commands that need a configuration that loads still refuse
			if code, _, _ := run(t, "conflicts", "resolve", "1", "--take", "sink", "--config", dir); code != ExitUsage {
				t.Errorf("conflicts resolve: exit %d, want %d", code, ExitUsage)
			}
		})
	}

	for _, tt := range []struct {
		name, file string
	}{
		{"the state section has an error", `state: {kind: "mysql"}`},
		{"a misspelled state section", `stat: path: "elsewhere.db"`},
		{"the state section refers to another value", "_dir: \"elsewhere\"\nstate: path: _dir + \"/pipe.db\""},
		{"a file does not parse", `state: path: "x.db`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRunConfig(t)
			if code, out, errOut := run(t, "run", "contacts", "--dry-run", "--config", dir); code != ExitOK {
				t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
			}
			breakMapping(t, dir)
			writeFile(t, filepath.Join(dir, "state.cue"), "package pipe\n"+tt.file+"\n")
			for _, args := range [][]string{{"runs"}, {"runs", "show", "1"}, {"rejects"}, {"conflicts"}} {
				code, out, errOut := run(t, append(args, "--config", dir)...)
				if code != ExitUsage || out != "" || strings.Contains(errOut, "showing history") || !strings.Contains(errOut, dir+string(filepath.Separator)) {
					t.Errorf("pipe %s: exit %d, want %d and the configuration's errors\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, ExitUsage, out, errOut)
				}
			}
		})
	}

	t.Run("no store yet", func(t *testing.T) {
		dir := writeRunConfig(t)
		problem := breakMapping(t, dir)
		code, out, errOut := run(t, "runs", "--config", dir)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, "there is no state store at "+filepath.Join(dir, ".pipe", "state.db")) || !strings.Contains(errOut, problem) {
			t.Errorf("runs: exit %d, want %d\nstdout: %s\nstderr: %s", code, ExitUsage, out, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, ".pipe")); !os.IsNotExist(err) {
			t.Errorf("runs created %s beside a configuration that does not load", filepath.Join(dir, ".pipe"))
		}
	})

	// A file with a wrong package clause is one of the configuration's
	// files (config.Load reports the clause, not a missing file): its
	// state section still says where the store is, not the default place.
	t.Run("state section in a file of another package", func(t *testing.T) {
		dir := writeRunConfig(t)
		state := filepath.Join(dir, "state.cue")
		writeFile(t, state, "package pipe\nstate: path: \"history/pipe.db\"\n")
		if code, out, errOut := run(t, "run", "contacts", "--dry-run", "--config", dir); code != ExitOK {
			t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
		}
		writeFile(t, state, "package pipes\nstate: path: \"history/pipe.db\"\n")
		code, out, errOut := run(t, "runs", "--config", dir)
		want := "showing history from " + filepath.Join(dir, "history", "pipe.db") + "\n"
		if code != ExitOK || !strings.Contains(out, "contacts") || !strings.Contains(errOut, want) || !strings.Contains(errOut, `package "pipes"`) {
			t.Errorf("runs: exit %d, want 0, the run on stdout, and %q with the package error on stderr\nstdout: %s\nstderr: %s", code, want, out, errOut)
		}
	})
}
