package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestTwentyEmulatorCommand(t *testing.T) {
	var stdout, stderr syncBuffer
	app := &App{Stdout: &stdout, Stderr: &stderr}
	root := newRoot(app)
	root.SetArgs([]string{"twenty", "emulator", "--addr", "127.0.0.1:0", "--api-key", "cli-key",
		"--seed", "../../connectors/twenty/emulator/testdata/seed.json", "--log-level", "error"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	urlRE := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); {
		if m := urlRE.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("emulator exited early: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no listening line in %q", stdout.String())
	}
	if strings.Contains(stdout.String(), "cli-key") {
		t.Fatal("the API key was printed")
	}
	get := func(key string) (int, string) {
		req, _ := http.NewRequest("GET", base+"/rest/companies?filter="+`name[eq]:Acme`, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("cli-key"); code != 200 || !strings.Contains(body, `"name":"Acme"`) {
		t.Fatalf("seeded company over HTTP: %d %s", code, body)
	}
	if code, _ := get("other"); code != 401 {
		t.Fatalf("wrong key: %d, want 401", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("emulator stopped with %v", err)
	}
}

func TestTwentyEmulatorCommandErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"twenty", "emulator", "--rate-short", "fast"}, ExitUsage, "TOKENS/WINDOW"},
		{[]string{"twenty", "emulator", "--rate-long", "100/soon"}, ExitUsage, "not a positive duration"},
		{[]string{"twenty", "emulator", "--addr", "127.0.0.1:0", "--seed", "no/such/file.json"}, ExitFailure, "no/such/file.json"},
		{[]string{"twenty", "emulator", "extra"}, ExitUsage, "pipe twenty emulator takes no arguments"},
	} {
		code, _, errOut := run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}
