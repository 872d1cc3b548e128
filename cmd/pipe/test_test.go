package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTestConfig writes a configuration whose members pipeline declares
// the given tests (CUE list elements).
func writeTestConfig(t *testing.T, tests string) string {
	t.Helper()
	dir := t.TempDir()
	src := `package pipe
connections: {
	kelompok: {kind: "memory", streams: members: columns: {id: "uuid", full_name: "text", email: "text", phone: "text", national_id: "text"}}
	twenty: {kind: "twenty", url: "http://127.0.0.1:3000", apiKey: {env: "TWENTY_API_KEY"}}
}
pipelines: members: {
	source: "kelompok.members"
	sink:   "twenty.people"
	match: [{source: "email", sink: "emails.primaryEmail", normalize: "email"}]
	push: {
		"name.firstName":      "name_parts(full_name).first"
		"name.lastName":       "name_parts(full_name).last"
		"emails.primaryEmail": "email(email)"
		"phones.primaryPhoneNumber": {expr: "phone(phone).number", when: #"phone != nil"#}
	}
	sensitive: ["national_id"]
	tests: [` + tests + `]
}
`
	if err := os.WriteFile(filepath.Join(dir, "members.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const passingTests = `{
		name: "names and phones"
		input: {full_name: "BAPAK BUDI SANTOSO", email: " Budi@Mail.ID ", phone: "0812-3456-7890"}
		expect: {"name.firstName": "Budi", name: lastName: "Santoso", "phones.primaryPhoneNumber": "81234567890"}
	}, {
		name: "bad email is rejected"
		input: {full_name: "Budi", email: "budi at mail"}
		reject: "missing @"
	}`

func TestTestCommandPasses(t *testing.T) {
	dir := writeTestConfig(t, passingTests)
	code, out, errOut := run(t, "test", "--config", dir)
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	want := "ok    members: names and phones\nok    members: bad email is rejected\n"
	if out != want || !strings.Contains(errOut, "2 tests: 2 passed, 0 failed") {
		t.Fatalf("stdout:\n%s\nwant:\n%s\nstderr: %s", out, want, errOut)
	}
	code, out, _ = run(t, "test", "--config", dir, "-v", "members")
	if code != ExitOK || !strings.Contains(out, `      emails.primaryEmail = "budi@mail.id"`) {
		t.Fatalf("-v: exit %d, stdout:\n%s", code, out)
	}
}

func TestTestCommandFails(t *testing.T) {
	dir := writeTestConfig(t, passingTests+`, {
		name: "wrong expectation"
		input: {full_name: "Siti Aminah", email: "siti@mail.id"}
		expect: {"name.lastName": "Nurhaliza"}
	}`)
	code, out, errOut := run(t, "test", "--config", dir)
	if code != ExitFailure {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	wantLines := []string{
		"FAIL  members: wrong expectation (" + filepath.Join(dir, "members.cue") + ":",
		`      name.lastName: got "Aminah", want "Nurhaliza"`,
	}
	for _, w := range wantLines {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(errOut, "3 tests: 2 passed, 1 failed") {
		t.Errorf("stderr: %s", errOut)
	}
	code, out, _ = run(t, "test", "--config", dir, "--format", "github")
	if code != ExitFailure || !strings.HasPrefix(out, "::error file="+filepath.Join(dir, "members.cue")+",line=") ||
		!strings.Contains(out, "title=pipe test members%3A wrong expectation::name.lastName: got") || strings.Count(out, "\n") != 1 {
		t.Fatalf("github: exit %d, stdout:\n%s", code, out)
	}
}

func TestTestCommandConfigErrors(t *testing.T) {
	// An invalid configuration: exit 2, and no test runs.
	dir := writeTestConfig(t, `{name: "x", input: {full_name: "A"}, expect: {"name.firstName": "A"}}`)
	src, _ := os.ReadFile(filepath.Join(dir, "members.cue"))
	broken := strings.Replace(string(src), `"email(email)"`, `"email(email, 1, 2)"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "members.cue"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "test", "--config", dir)
	if code != ExitUsage || !strings.Contains(out, "members.cue:") || !strings.Contains(errOut, "no test ran") {
		t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// An unknown pipeline name: exit 2.
	dir = writeTestConfig(t, passingTests)
	code, _, errOut = run(t, "test", "--config", dir, "memberz")
	if code != ExitUsage || !strings.Contains(errOut, `unknown pipeline "memberz": the configured ones are members`) {
		t.Fatalf("exit %d, stderr: %s", code, errOut)
	}
}

// TestShippedPipelineTests runs the tests shipped in pipelines/*.cue.
func TestShippedPipelineTests(t *testing.T) {
	code, out, errOut := run(t, "test", "--config", filepath.Join("..", "..", "pipelines"))
	if code != ExitOK || strings.Contains(out, "FAIL") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
