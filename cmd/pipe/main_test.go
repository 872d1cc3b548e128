package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// run runs the command line and returns its exit status and outputs.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// writeConfig writes a small valid configuration directory (memory
// connections only: no network, database or secret needed).
func writeConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"connections.cue": `package pipe
connections: {
	src: {kind: "memory", streams: people: columns: {id: "uuid", name: "text", mail: "text"}}
	twenty: {kind: "twenty", url: "http://127.0.0.1:3000", apiKey: {env: "TWENTY_API_KEY"}}
}
`,
		"people.cue": `package pipe
pipelines: people: {
	source: "src.people"
	sink:   "twenty.people"
	match: [{source: "mail", sink: "emails.primaryEmail"}]
	push: {
		"name.firstName":      "name"
		"emails.primaryEmail": "lower(trim(mail))"
	}
	trigger: {schedule: "15m", webhook: true}
}
pipelines: later: {
	source: "src.people", sink: "twenty.people", direction: "pull", dependsOn: ["people"]
	pull: {name: "name.firstName"}
}
`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestValidate(t *testing.T) {
	dir := writeConfig(t)
	code, out, errOut := run(t, "validate", "--config", dir)
	if code != ExitOK || !strings.Contains(out, "valid (2 connections, 2 pipelines)") {
		t.Fatalf("validate: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if got := count(1, "pipeline") + ", " + count(0, "connection"); got != "1 pipeline, 0 connections" {
		t.Errorf("count: %q", got)
	}
	t.Setenv("PIPE_CONFIG", dir)
	if code, out, errOut := run(t, "validate"); code != ExitOK {
		t.Fatalf("validate with PIPE_CONFIG: exit %d\n%s%s", code, out, errOut)
	}
}

func TestValidateInvalid(t *testing.T) {
	dir := filepath.Join("..", "..", "config", "testdata", "bad", "type_error")
	code, out, _ := run(t, "validate", "--config", dir)
	want := filepath.Join(dir, "p.cue") + `:6:38: pipelines.members.push."name.firstName": invalid expression: invalid operation: + (mismatched types string and int)`
	if code != ExitFailure || strings.TrimSpace(out) != want {
		t.Fatalf("exit %d, stdout:\n%s\nwant exit 1 and\n%s", code, out, want)
	}
	code, out, _ = run(t, "validate", "--config", dir, "--format", "github")
	wantGH := "::error file=" + filepath.Join(dir, "p.cue") + ",line=6,col=38,title=pipe validate::pipelines.members.push.\"name.firstName\": invalid expression: invalid operation: + (mismatched types string and int)\n"
	if code != ExitFailure || out != wantGH {
		t.Fatalf("github format: exit %d, stdout:\n%s\nwant\n%s", code, out, wantGH)
	}
}

// TestInvalidConfigExitStatus: a configuration that does not load is exit
// 2 from every command that needs it (validate alone answers 1, "invalid"),
// printed as file:line:col lines without a "--help" hint, since the
// command line was right. (runs, rejects and conflicts answer so here
// because no state store is there to show history from:
// TestHistoryWithConfigErrors.)
func TestInvalidConfigExitStatus(t *testing.T) {
	dir := filepath.Join("..", "..", "config", "testdata", "bad", "type_error")
	where := filepath.Join(dir, "p.cue") + ":6:38:"
	for _, args := range [][]string{
		{"list"},
		{"show", "members"},
		{"test"},
		{"run", "--all"},
		{"runs"},
		{"rejects"},
		{"conflicts"},
		{"twenty", "fields", "ensure", "twenty"},
	} {
		code, out, errOut := run(t, append(args, "--config", dir)...)
		if code != ExitUsage {
			t.Errorf("pipe %s: exit %d, want %d", strings.Join(args, " "), code, ExitUsage)
		}
		if !strings.Contains(out+errOut, where) {
			t.Errorf("pipe %s: the problem's position %s is not printed:\n%s%s", strings.Join(args, " "), where, out, errOut)
		}
		if strings.Contains(errOut, "--help") {
			t.Errorf("pipe %s: a configuration error points at --help:\n%s", strings.Join(args, " "), errOut)
		}
	}
	if code, _, _ := run(t, "validate", "--config", dir); code != ExitFailure {
		t.Errorf("validate: exit %d, want %d", code, ExitFailure)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"validate", "--format", "xml"},
		{"validate", "extra"},
		{"show"},
		{"nonsense"},
		{"validate", "--no-such-flag"},
		{"--log-format", "yaml", "version"},
		{"--log-level", "loud", "version"},
	} {
		code, _, errOut := run(t, args...)
		if code != ExitUsage {
			t.Errorf("pipe %s: exit %d, want 2 (stderr: %s)", strings.Join(args, " "), code, errOut)
		}
		if args[0] == "validate" && len(args) > 1 && args[1] == "extra" && !strings.Contains(errOut, "pipe validate takes no arguments") {
			t.Errorf("pipe validate extra: %q, want it to say that validate takes no arguments", errOut)
		}
		if errOut == "" {
			t.Errorf("pipe %s: no message on stderr", strings.Join(args, " "))
		}
	}
}

func TestList(t *testing.T) {
	dir := writeConfig(t)
	code, out, errOut := run(t, "list", "--config", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and 2 pipelines, got:\n%s", out)
	}
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "later src.people <- twenty.people pull manual people" {
		t.Errorf("later: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); strings.Join(f, " ") != "people src.people -> twenty.people push every 15m0s, webhook -" {
		t.Errorf("people: %q", lines[2])
	}
}

func TestShow(t *testing.T) {
	dir := writeConfig(t)
	t.Setenv("TWENTY_API_KEY", "sk-must-never-be-printed")
	code, out, errOut := run(t, "show", "people", "--config", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "sk-must-never-be-printed") {
		t.Fatal("show printed a secret value")
	}
	var got struct {
		Pipeline struct {
			Name    string `json:"name"`
			Trigger struct {
				Schedule string `json:"schedule"`
			} `json:"trigger"`
			Push struct {
				Fields []struct {
					Target, Expr string
				} `json:"fields"`
			} `json:"push"`
		} `json:"pipeline"`
		Sink struct {
			Params map[string]any `json:"params"`
		} `json:"sinkConnection"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.Pipeline.Name != "people" || got.Pipeline.Trigger.Schedule != "15m0s" || len(got.Pipeline.Push.Fields) != 2 || got.Pipeline.Push.Fields[1].Expr != "lower(trim(mail))" {
		t.Errorf("unexpected pipeline: %+v", got.Pipeline)
	}
	if key, _ := got.Sink.Params["apiKey"].(map[string]any); key["env"] != "TWENTY_API_KEY" {
		t.Errorf("apiKey shown as %#v, want the reference {env: TWENTY_API_KEY}", got.Sink.Params["apiKey"])
	}
	// an unknown pipeline is exit 2, as for run and test (TestUnknownPipeline)
	if code, _, errOut := run(t, "show", "nope", "--config", dir); code != ExitUsage || !strings.Contains(errOut, `unknown pipeline "nope": the configured ones are later, people`) {
		t.Errorf("show nope: exit %d, want %d; stderr %s", code, ExitUsage, errOut)
	}
}

func TestVersionAndCompletion(t *testing.T) {
	if code, out, _ := run(t, "version"); code != ExitOK || !strings.HasPrefix(out, "pipe ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	if code, out, _ := run(t, "completion", "bash"); code != ExitOK || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d", code)
	}
	// an unsupported shell is an error naming the supported ones (cobra
	// alone printed the help and exited 0)
	code, out, errOut := run(t, "completion", "tcsh")
	if code != ExitUsage || out != "" || !strings.Contains(errOut, `unsupported shell "tcsh"`) ||
		!strings.Contains(errOut, "bash, fish, powershell, zsh") {
		t.Errorf("completion tcsh: exit %d, want %d\nstdout: %s\nstderr: %s", code, ExitUsage, out, errOut)
	}
	if code, out, _ := run(t, "completion"); code != ExitOK || !strings.Contains(out, "bash") {
		t.Errorf("completion: exit %d, want its help\n%s", code, out)
	}
}

// TestMissingArgument: every command that takes a positional argument
// says, when it is missing or doubled, what it needs with an example,
// instead of cobra's "accepts 1 arg(s), received 0".
func TestMissingArgument(t *testing.T) {
	want := map[string]string{
		"show":                 "show needs a pipeline name, e.g. pipe show members; list the pipelines with pipe list",
		"runs show":            "runs show needs a run ID, e.g. pipe runs show 12; list runs with pipe runs",
		"conflicts resolve":    "conflicts resolve needs a conflict ID, e.g. pipe conflicts resolve 7 --take sink",
		"twenty fields ensure": "twenty fields ensure needs a connection name, e.g. pipe twenty fields ensure twenty",
	}
	// every command whose Use names a required argument (an upper-case word
	// outside brackets) is listed above
	required := regexp.MustCompile(`^[^\[]*\b[A-Z]+\b`)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		name := strings.TrimPrefix(c.CommandPath(), "pipe ")
		if c.HasParent() && c.Runnable() && required.MatchString(strings.TrimPrefix(c.Use, c.Name())) {
			if _, ok := want[name]; !ok {
				t.Errorf("pipe %s takes an argument (%q) but is not in this test", name, c.Use)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&App{Stdout: io.Discard, Stderr: io.Discard}))
	for name, msg := range want {
		args := strings.Fields(name)
		code, _, errOut := run(t, args...)
		if code != ExitUsage || !strings.Contains(errOut, msg) || strings.Contains(errOut, "accepts") {
			t.Errorf("pipe %s: exit %d, stderr:\n%s\nwant %d and %q", name, code, errOut, ExitUsage, msg)
		}
		code, _, errOut = run(t, append(args, "1", "2")...)
		if code != ExitUsage || !strings.Contains(errOut, "takes one") || !strings.Contains(errOut, "got 2 (1 2)") {
			t.Errorf("pipe %s 1 2: exit %d, stderr:\n%s", name, code, errOut)
		}
	}
}

func TestLogFormats(t *testing.T) {
	var buf bytes.Buffer
	logger, err := newLogger(&buf, "debug", "auto")
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug("hello", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "hello" {
		t.Errorf("auto on a non-terminal should log JSON, got %q", buf.String())
	}
	buf.Reset()
	logger, _ = newLogger(&buf, "warn", "text")
	logger.Info("hidden")
	logger.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Errorf("text at warn: %q", buf.String())
	}
}

// TestHelpExampleFiles: a file an --help example reads (--seed) exists in
// the repository, so the example runs as written from its root.
func TestHelpExampleFiles(t *testing.T) {
	flagFile := regexp.MustCompile(`--seed (\S+)`)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, m := range flagFile.FindAllStringSubmatch(c.Example, -1) {
			if _, err := os.Stat(filepath.Join("..", "..", m[1])); err != nil {
				t.Errorf("%s --help: the example's %s does not exist in the repository", c.CommandPath(), m[1])
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&App{Stdout: io.Discard, Stderr: io.Discard}))
}

// TestDemoInvocation: after `go run ./cmd/pipe demo`, the demo's hints say
// `go run ./cmd/pipe runs ...`, since no pipe binary need be on the PATH.
func TestDemoInvocation(t *testing.T) {
	for exe, want := range map[string]string{
		"/tmp/go-build2077035145/b001/exe/pipe": "go run ./cmd/pipe",
		"/usr/local/bin/pipe":                   "pipe",
		"":                                      "pipe",
	} {
		if got := invocation(exe); got != want {
			t.Errorf("invocation(%q) = %q, want %q", exe, got, want)
		}
	}
}
