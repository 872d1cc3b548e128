package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/memory"
	"github.com/kelompok/pipe/engine"
	"github.com/kelompok/pipe/engine/state"
	"github.com/kelompok/pipe/engine/state/sqlitestore"
)

// writeRunConfig writes a configuration with two memory connections,
// clisrc and clicrm, and one push pipeline "contacts" between them.
func writeRunConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := `package pipe
connections: {
	clisrc: {kind: "memory", streams: people: columns: {id: "text", name: "text", mail: "text", nik: "text"}}
	clicrm: {kind: "memory", streams: people: columns: {id: "text", fullName: "text", email: "text"}}
}
pipelines: contacts: {
	source: "clisrc.people"
	sink:   "clicrm.people"
	match: [{source: "mail", sink: "email", normalize: "email"}]
	push: {
		fullName: "name"
		email:    "lower(trim(mail))"
	}
	sensitive: ["nik"]
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunCommands(t *testing.T) {
	dir := writeRunConfig(t)
	src := memory.New(memory.Options{})
	crm := memory.New(memory.Options{})
	memory.SetShared("clisrc", src)
	memory.SetShared("clicrm", crm)
	src.S("people").Put(
		connectors.Record{ID: "1", Fields: map[string]any{"name": "Budi", "mail": " Budi@Kelompok.id", "nik": "3201"}},
		connectors.Record{ID: "2", Fields: map[string]any{"name": "Sari", "mail": "sari@kelompok.id", "nik": "3202"}},
		connectors.Record{ID: "3", Fields: map[string]any{"name": "Tono", "mail": "tono@kelompok.id", "nik": "3203"}},
	)
	crm.S("people").Put(connectors.Record{ID: "crm-sari", Fields: map[string]any{"fullName": "Sari W.", "email": "sari@kelompok.id"}})

	// Dry run: the plan, nothing written.
	code, out, errOut := run(t, "run", "contacts", "--dry-run", "--full", "--limit", "50", "-v", "--config", dir)
	if code != ExitOK || !regexp.MustCompile(`contacts\s+succeeded \(dry run\)\s+created 2\s+updated 1\s+deleted 0\s+linked 1`).MatchString(out) {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, `fullName: null -> "Budi"`) || !strings.Contains(out, "matched by mail = email") || strings.Contains(out, "3201") {
		t.Fatalf("dry run decisions:\n%s", out)
	}
	if crm.Writes() != 0 {
		t.Fatal("dry run wrote to the sink")
	}

	// The run, with one record refused by the sink: exit 1.
	crm.SetOptions(memory.Options{OnWrite: func(_ int, _ string, c connectors.Change) error {
		if c.Fields["email"] == "tono@kelompok.id" {
			return &connectors.RecordError{Reason: "email: already used by a workspace member"}
		}
		return nil
	}})
	code, out, _ = run(t, "run", "--all", "--config", dir)
	if code != ExitFailure || !regexp.MustCompile(`contacts\s+partial\s+created 1\s+updated 1\s+deleted 0\s+linked 1\s+skipped 0\s+conflicts 0\s+rejected 1`).MatchString(out) {
		t.Fatalf("run with a reject: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "rejects", "--config", dir)
	if code != ExitOK || !strings.Contains(out, "already used by a workspace member") || !strings.Contains(out, "contacts") {
		t.Fatalf("rejects: exit %d\n%s", code, out)
	}

	// The reject is retried and succeeds: exit 0, nothing else written.
	crm.SetOptions(memory.Options{})
	code, out, _ = run(t, "run", "contacts", "--config", dir, "--output", "json")
	var results []engine.Result
	if err := json.Unmarshal([]byte(out), &results); err != nil || code != ExitOK || len(results) != 1 || results[0].Counts.Created != 1 || results[0].Counts.Updated != 0 {
		t.Fatalf("retry run: exit %d, %v\n%s", code, err, out)
	}
	if crm.S("people").Len() != 3 {
		t.Fatalf("sink holds %d people", crm.S("people").Len())
	}
	code, out, _ = run(t, "rejects", "--config", dir)
	if code != ExitOK || !strings.Contains(out, "no rejected records") {
		t.Fatalf("rejects after retry: %s", out)
	}

	// History and audit.
	code, out, _ = run(t, "runs", "--config", dir, "--output", "json")
	var runs []struct {
		ID     int64  `json:"id"`
		DryRun bool   `json:"dryRun"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &runs); err != nil || code != ExitOK || len(runs) != 3 || !runs[2].DryRun || runs[1].Status != "partial" {
		t.Fatalf("runs: exit %d %v\n%s", code, err, out)
	}
	code, out, _ = run(t, "runs", "show", jsonNumber(runs[1].ID), "--config", dir)
	if code != ExitOK || !strings.Contains(out, "create") || !strings.Contains(out, "reject") || !strings.Contains(out, `email: null -> "budi@kelompok.id"`) || strings.Contains(out, "3201") {
		t.Fatalf("runs show: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "runs", "show", jsonNumber(runs[2].ID), "--config", dir)
	// the hint repeats the run's own flags
	if code != ExitOK || !strings.Contains(out, "(dry run, full, limit 50)") ||
		!strings.Contains(out, "a dry run's decisions are printed, not audited: 'pipe run contacts --dry-run --full --limit 50 -v' plans it anew") {
		t.Fatalf("runs show of a dry run: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "runs", "--config", dir)
	if code != ExitOK || !strings.Contains(out, "PIPELINE") || !strings.Contains(out, "succeeded (dry run, full, limit 50)") {
		t.Fatalf("runs table: exit %d\n%s", code, out)
	}

	// Conflicts: none; resolving an unknown one fails; bad flags are usage errors.
	if code, out, _ = run(t, "conflicts", "--config", dir); code != ExitOK || !strings.Contains(out, "no open conflicts") {
		t.Fatalf("conflicts: %d %s", code, out)
	}
	if code, _, errOut = run(t, "conflicts", "resolve", "99", "--take", "sink", "--config", dir); code != ExitFailure || !strings.Contains(errOut, "no conflict 99") {
		t.Fatalf("resolve unknown: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "conflicts", "resolve", "1", "--config", dir); code != ExitUsage || !strings.Contains(errOut, "take") {
		t.Errorf("conflicts resolve without --take: exit %d (%s), want %d", code, errOut, ExitUsage)
	}
	if code, _, _ = run(t, "conflicts", "resolve", "1", "--take", "both", "--config", dir); code != ExitUsage {
		t.Fatalf("resolve --take both: exit %d, want 2", code)
	}
	if code, _, errOut = run(t, "run", "nosuch", "--config", dir); code != ExitUsage || !strings.Contains(errOut, `unknown pipeline "nosuch": the configured ones are contacts`) {
		t.Fatalf("unknown pipeline: exit %d %s", code, errOut)
	}
	if code, _, _ = run(t, "run", "--config", dir); code != ExitUsage {
		t.Fatalf("run without pipelines: exit %d, want 2", code)
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestRunsEmptyAndLimit: an empty history says so (not a bare header), and
// a --limit below 1 is a usage error rather than an empty table.
func TestRunsEmptyAndLimit(t *testing.T) {
	dir := writeRunConfig(t)
	if code, out, errOut := run(t, "runs", "--config", dir); code != ExitOK || !strings.Contains(out, "no runs yet") {
		t.Errorf("runs on an empty history: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := run(t, "runs", "--pipeline", "contacts", "--config", dir); code != ExitOK || !strings.Contains(out, `no runs of pipeline "contacts"`) {
		t.Errorf("runs --pipeline on an empty history: exit %d\n%s", code, out)
	}
	if code, out, _ := run(t, "runs", "--config", dir, "-o", "json"); code != ExitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("runs -o json on an empty history: exit %d\n%s", code, out)
	}
	for _, n := range []string{"0", "-1"} {
		if code, _, errOut := run(t, "runs", "--limit", n, "--config", dir); code != ExitUsage || !strings.Contains(errOut, "--limit") {
			t.Errorf("runs --limit %s: exit %d (%s), want %d", n, code, errOut, ExitUsage)
		}
	}
}

// TestUnknownPipeline: every command given a pipeline name that names no
// pipeline says so in the words `pipe run` uses, lists the configured
// ones, and exits 2 without a "--help" hint. The --pipeline filter of the
// history commands also takes a name the store has runs of (a pipeline
// since removed from the configuration).
func TestUnknownPipeline(t *testing.T) {
	dir := writeRunConfig(t)
	const want = `unknown pipeline "nosuch": the configured ones are contacts`
	for _, args := range [][]string{
		{"run", "nosuch"},
		{"run", "contacts", "nosuch", "--dry-run"},
		{"show", "nosuch"},
		{"test", "nosuch"},
		{"runs", "--pipeline", "nosuch"},
		{"rejects", "--pipeline", "nosuch"},
		{"conflicts", "--pipeline", "nosuch"},
		{"conflicts", "--pipeline", "nosuch", "--output", "json"},
	} {
		code, out, errOut := run(t, append(args, "--config", dir)...)
		if code != ExitUsage || out != "" || !strings.HasPrefix(errOut, "pipe: "+want) || strings.Contains(errOut, "--help") {
			t.Errorf("pipe %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, ExitUsage, out, errOut)
		}
		if args[0] != "run" && args[0] != "show" && args[0] != "test" && !strings.Contains(errOut, "the state store has no runs of it") {
			t.Errorf("pipe %s: stderr does not say the history has no runs of it either:\n%s", strings.Join(args, " "), errOut)
		}
	}

	// a pipeline removed from the configuration: its history still shows
	st, err := sqlitestore.Open(context.Background(), filepath.Join(dir, ".pipe", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC()
	id, err := st.RunCreate(context.Background(), state.Run{Pipeline: "removed", Trigger: "cli", StartedAt: start, Status: state.RunRunning})
	if err != nil {
		t.Fatal(err)
	}
	end := start.Add(time.Second)
	if err := st.RunFinish(context.Background(), state.Run{ID: id, Pipeline: "removed", Trigger: "cli", StartedAt: start, FinishedAt: &end, Status: state.RunSucceeded}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for args, wantOut := range map[string]string{
		"runs":      "removed",
		"rejects":   `no rejected records of pipeline "removed"`,
		"conflicts": `no open conflicts in pipeline "removed"`,
	} {
		code, out, errOut := run(t, args, "--pipeline", "removed", "--config", dir)
		if code != ExitOK || !strings.Contains(out, wantOut) {
			t.Errorf("pipe %s --pipeline removed: exit %d, want 0 and %q\nstdout: %s\nstderr: %s", args, code, wantOut, out, errOut)
		}
	}
	// a configured pipeline without history is no error either
	if code, out, _ := run(t, "rejects", "--pipeline", "contacts", "--config", dir); code != ExitOK || !strings.Contains(out, `no rejected records of pipeline "contacts"`) {
		t.Errorf("rejects --pipeline contacts: exit %d\n%s", code, out)
	}
}

// TestRunOrderAndJSON: the summary of several pipelines lists them in the
// order they ran (a pipeline after its dependencies, each wave by name),
// not alphabetically, in text and JSON alike; the JSON is an array whose
// objects always have dryRun, as run --help says.
func TestRunOrderAndJSON(t *testing.T) {
	dir := t.TempDir()
	src := `package pipe
connections: {
	ordsrc: {kind: "memory", streams: {a: columns: {id: "text", name: "text"}, m: columns: {id: "text", name: "text"}, z: columns: {id: "text", name: "text"}}}
	ordcrm: {kind: "memory", streams: {a: columns: {id: "text", name: "text"}, m: columns: {id: "text", name: "text"}, z: columns: {id: "text", name: "text"}}}
}
pipelines: {
	alpha: {source: "ordsrc.a", sink: "ordcrm.a", push: name: "name", dependsOn: ["zulu"]}
	beta: {source: "ordsrc.m", sink: "ordcrm.m", push: name: "name", dependsOn: ["alpha"]}
	mid: {source: "ordsrc.m", sink: "ordcrm.m", push: name: "name"}
	zulu: {source: "ordsrc.z", sink: "ordcrm.z", push: name: "name"}
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"mid", "zulu", "alpha", "beta"}

	code, out, errOut := run(t, "run", "--all", "--config", dir)
	if code != ExitOK {
		t.Fatalf("run --all: exit %d\n%s%s", code, out, errOut)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		got = append(got, strings.Fields(line)[0])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("summary order %v, want %v (dependencies first)\n%s", got, want, out)
	}

	for _, dry := range []bool{false, true} {
		args := []string{"run", "alpha", "zulu", "beta", "mid", "--config", dir, "--output", "json"}
		if dry {
			args = append(args, "--dry-run")
		}
		code, out, errOut = run(t, args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		var results []map[string]any
		if err := json.Unmarshal([]byte(out), &results); err != nil {
			t.Fatalf("%v: not a JSON array: %v\n%s", args, err, out)
		}
		got = got[:0]
		for _, r := range results {
			got = append(got, r["pipeline"].(string))
			if v, ok := r["dryRun"]; !ok || v != dry {
				t.Errorf("%v: %s has dryRun %v (present: %v), want %v", args, r["pipeline"], v, ok, dry)
			}
			for _, key := range []string{"runId", "status", "counts", "duration"} {
				if _, ok := r[key]; !ok {
					t.Errorf("%v: %s lacks %q", args, r["pipeline"], key)
				}
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%v: JSON order %v, want %v", args, got, want)
		}
	}
}

// TestAbandonedRunDuration: a run whose process was killed, closed later as
// failed ("abandoned") with nothing audited, has no meaningful end: runs
// shows "-" for its duration and runs show no "took", not 0s.
func TestAbandonedRunDuration(t *testing.T) {
	dir := writeRunConfig(t)
	if code, out, errOut := run(t, "run", "contacts", "--dry-run", "--config", dir); code != ExitOK {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
	}
	// a run recorded as started whose process is gone
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, ".pipe", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.RunCreate(ctx, state.Run{Pipeline: "contacts", Trigger: "cli", StartedAt: time.Now().Add(-time.Hour).UTC(), Status: state.RunRunning})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// the next run of the pipeline closes it as abandoned
	if code, out, errOut := run(t, "run", "contacts", "--dry-run", "--config", dir); code != ExitOK {
		t.Fatalf("second run: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := run(t, "runs", "show", jsonNumber(id), "--config", dir)
	if code != ExitOK || !strings.Contains(out, "abandoned") || !strings.Contains(out, "status failed") || strings.Contains(out, "took") {
		t.Errorf("runs show %d: exit %d, want the abandoned run without a \"took\"\n%s%s", id, code, out, errOut)
	}
	code, out, errOut = run(t, "runs", "--config", dir)
	if code != ExitOK {
		t.Fatalf("runs: exit %d\n%s", code, errOut)
	}
	found := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		// ID PIPELINE TRIGGER STARTED (date and time) DURATION ...
		if f[0] == jsonNumber(id) {
			found = true
			if f[5] != "-" {
				t.Errorf("runs: the abandoned run's duration is %q, want -\n%s", f[5], out)
			}
		} else if f[0] != "ID" && f[5] == "-" {
			t.Errorf("runs: a finished run without a duration:\n%s", out)
		}
	}
	if !found {
		t.Errorf("runs does not list run %d:\n%s", id, out)
	}
}
