package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kelompok/pipe/connectors/twenty/emulator"
)

func TestTwentyFieldsEnsure(t *testing.T) {
	emu := emulator.New(emulator.Config{APIKeys: []string{"cli-key"}})
	url := emu.Start()
	t.Cleanup(func() { _ = emu.Close() })
	t.Setenv("PIPE_TEST_TWENTY_KEY", "cli-key")
	dir := t.TempDir()
	src := `package pipe
connections: {
	crm: {kind: "twenty", url: "` + url + `", apiKey: {env: "PIPE_TEST_TWENTY_KEY"}, customFields: {people: {memberNo: "TEXT"}, companies: {orgCode: "TEXT"}}}
	src: {kind: "memory", streams: people: columns: {id: "uuid"}}
}
`
	if err := os.WriteFile(filepath.Join(dir, "connections.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"--object", "people", "--name", "kelompokId", "--label", "Kelompok ID"}, ExitOK, "people.kelompokId (TEXT): created"},
		{[]string{"--object", "people", "--name", "kelompokId"}, ExitOK, "people.kelompokId (TEXT): already exists"},
		{nil, ExitOK, "companies.orgCode (TEXT): created\npeople.memberNo (TEXT): created"},
		{nil, ExitOK, "companies.orgCode (TEXT): already exists"},
		{[]string{"--object", "person", "--name", "x"}, ExitFailure, "Did you mean 'people'?"},
		{[]string{"--object", "people"}, ExitUsage, "--object and --name go together"},
	}
	for _, tt := range tests {
		args := append([]string{"twenty", "fields", "ensure", "crm", "--config", dir}, tt.args...)
		code, out, errOut := run(t, args...)
		if code != tt.wantCode || !strings.Contains(out+errOut, tt.wantOut) {
			t.Errorf("%v: exit %d, out %q, err %q; want %d and %q", tt.args, code, out, errOut, tt.wantCode, tt.wantOut)
		}
		if strings.Contains(out+errOut, "cli-key") {
			t.Errorf("%v: output shows the API key", tt.args)
		}
	}
	for _, args := range [][]string{{"twenty", "fields", "ensure", "src", "--config", dir}, {"twenty", "fields", "ensure", "nope", "--config", dir}} {
		if code, _, _ := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}
