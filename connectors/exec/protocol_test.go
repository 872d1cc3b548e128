package exec_test

// Tests of the protocol's edges, written to kill mutants the other tests let
// through (hand mutation testing of exec.go). They run a fake plugin, a
// shell script that answers "streams" (or with FAKE_STREAMS) and "close"
// itself and every other call with the line in its FAKE_REPLY environment
// variable (@ID@ replaced by the request's id), then exits with status
// FAKE_EXIT if that is set; it copies each request to its standard error.

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/exec"
)

const fakePlugin = `#!/bin/sh
echo "fake started" >&2
while IFS= read -r line; do
  printf 'request %s\n' "$line" >&2
  id=${line#'{"id":'}; id=${id%%,*}
  case "$line" in
  *'"method":"streams"'*)
    if [ -n "$FAKE_STREAMS" ]; then printf '%b\n' "$FAKE_STREAMS" | sed "s/@ID@/$id/g"
    else printf '{"id":%s,"result":{"streams":["s"]}}\n' "$id"; fi ;;
  *'"method":"close"'*)
    case "$FAKE_CLOSE" in
    exit) exit 0 ;;
    hang) printf '{"id":%s,"result":null}\n' "$id"; exec sleep 60 ;;
    *) printf '{"id":%s,"result":null}\n' "$id" ;;
    esac ;;
  *) printf '%b\n' "$FAKE_REPLY" | sed "s/@ID@/$id/g"
    if [ -n "$FAKE_EXIT" ]; then exit "$FAKE_EXIT"; fi ;;
  esac
done
`

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openFake opens a connection to the fake plugin with these env values
// (plain strings); the command is relative to the config directory.
func openFake(t *testing.T, env map[string]any) (*exec.Conn, connectors.Stream, *logBuffer) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fake.sh"), []byte(fakePlugin), 0o755); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	c, err := connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{
		Name: "fake",
		Dir:  dir,
		Config: map[string]any{
			"command": []any{"./fake.sh"},
			"env":     env,
			"kind":    "exec",
			"config":  map[string]any{"region": "id"},
			"stray":   "not for the plugin",
			"streams": map[string]any{"s": map[string]any{"updatedAt": "updated_at", "deletedAt": "deleted_at"}},
		},
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Stream(context.Background(), "s")
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	return c.(*exec.Conn), s, logs
}

// TestBrokenResponsesRestart: an answer that breaks the protocol (not JSON,
// another request's id, a result of the wrong shape) fails the call and the
// plugin is restarted by the next call; an error response fails the call
// alone (not as a record error) and keeps the plugin.
func TestBrokenResponsesRestart(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		reply, want string
		restart     bool
	}{
		{`not json`, "not a JSON object", true},
		{`{"id":999,"result":{"records":[]}}`, "response id 999", true},
		{`{"id":@ID@,"result":{"records":5}}`, "does not match the protocol", true},
		{`{"id":@ID@,"error":{"message":"backend down"}}`, "backend down", false},
	} {
		c, s, _ := openFake(t, map[string]any{"FAKE_REPLY": tc.reply})
		_, err := s.Read(ctx, connectors.ReadRequest{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || connectors.IsRecordError(err) {
			t.Errorf("reply %s: err = %v, want a call error about %q", tc.reply, err, tc.want)
			continue
		}
		if got := strings.Contains(err.Error(), "restarted"); got != tc.restart {
			t.Errorf("reply %s: err = %v, restart notice %v, want %v", tc.reply, err, got, tc.restart)
		}
		_, _ = s.Get(ctx, []string{"a"})
		want := 1
		if tc.restart {
			want = 2
		}
		if n := c.Starts(); n != want {
			t.Errorf("reply %s: starts = %d after the next call, want %d", tc.reply, n, want)
		}
	}
}

// TestRecordsFromThePlugin: a blank line before the answer is skipped; a
// record without fields has an empty map; updatedAt and deletedAt fields are
// times; a record whose updatedAt is not a time fails the call.
func TestRecordsFromThePlugin(t *testing.T) {
	ctx := context.Background()
	_, s, _ := openFake(t, map[string]any{"FAKE_REPLY": `\n{"id":@ID@,"result":{"records":[{"id":"a","updatedAt":"2024-05-01T10:00:00Z"},{"id":"b","fields":{"deleted_at":"2024-05-02T10:00:00+07:00","updated_at":"2024-05-02 03:00:00"}}]}}`})
	recs, err := s.Get(ctx, []string{"a", "b"})
	if err != nil || len(recs) != 2 {
		t.Fatalf("get: %+v, %v", recs, err)
	}
	if recs[0].Fields == nil {
		t.Errorf("record without fields: Fields is nil")
	}
	want := time.Date(2024, 5, 2, 3, 0, 0, 0, time.UTC)
	for _, f := range []string{"deleted_at", "updated_at"} {
		if v, ok := recs[1].Fields[f].(time.Time); !ok || !v.Equal(want) {
			t.Errorf("%s = %#v, want %v as a time", f, recs[1].Fields[f], want)
		}
	}
	_, s, _ = openFake(t, map[string]any{"FAKE_REPLY": `{"id":@ID@,"result":{"records":[{"id":"a","updatedAt":"kemarin"}]}}`})
	if _, err := s.Get(ctx, []string{"a"}); err == nil || !strings.Contains(err.Error(), "updatedAt") {
		t.Errorf("bad updatedAt: err = %v", err)
	}
}

// TestWriteResults: a write answered with fewer results than changes fails
// the call; a result without an id takes the change's; a result whose
// record does not convert fails the call.
func TestWriteResults(t *testing.T) {
	ctx := context.Background()
	one := []connectors.Change{{Op: connectors.OpCreate, ID: "n1", Fields: map[string]any{"a": 1}}}
	_, s, _ := openFake(t, map[string]any{"FAKE_REPLY": `{"id":@ID@,"result":{"results":[]}}`})
	if _, err := s.Write(ctx, one); err == nil || !strings.Contains(err.Error(), "0 results for 1 changes") {
		t.Errorf("missing result: err = %v", err)
	}
	_, s, _ = openFake(t, map[string]any{"FAKE_REPLY": `{"id":@ID@,"result":{"results":[{"record":{"id":"","fields":{"a":1}}}]}}`})
	res, err := s.Write(ctx, one)
	if err != nil || len(res) != 1 || res[0].ID != "n1" || res[0].Err != nil {
		t.Errorf("result without id: %+v, %v", res, err)
	}
	_, s, _ = openFake(t, map[string]any{"FAKE_REPLY": `{"id":@ID@,"result":{"results":[{"id":"n1","record":{"id":"n1","updatedAt":"kemarin"}}]}}`})
	if _, err := s.Write(ctx, one); err == nil || !strings.Contains(err.Error(), "updatedAt") {
		t.Errorf("result record with a bad updatedAt: err = %v", err)
	}
}

// TestPluginSeesAndLogs: the plugin's standard error reaches the log line by
// line; each request carries a new id; the handshake sends protocol 1 and
// the connection's config field with its streams, and nothing else of the
// connection (command, env, kind, other keys); plain env values reach the
// plugin as they are (FAKE_REPLY works at all).
func TestPluginSeesAndLogs(t *testing.T) {
	ctx := context.Background()
	c, s, logs := openFake(t, map[string]any{"FAKE_REPLY": `{"id":@ID@,"result":{"records":[]}}`})
	for i := 0; i < 2; i++ {
		if _, err := s.Read(ctx, connectors.ReadRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.Close() // waits for the plugin, so that its standard error is all logged
	log := logs.String()
	for _, want := range []string{
		"plugin: fake started",
		`{\"id\":1,\"method\":\"streams\",\"params\":{\"config\":{\"region\":\"id\",\"streams\":`,
		`\"protocol\":1}`,
		`{\"id\":2,\"method\":\"read\"`,
		`{\"id\":3,\"method\":\"read\"`,
		`{\"id\":4,\"method\":\"close\"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `\"method\":\"streams\"`) {
			continue
		}
		for _, bad := range []string{"FAKE_REPLY", `\"command\"`, `\"kind\"`, "stray"} {
			if strings.Contains(line, bad) {
				t.Errorf("the plugin's config carries %s: %s", bad, line)
			}
		}
	}
}

// TestCloseEndsThePlugin: Close returns at once when the plugin exits at the
// end of its input, kills one that does not exit within 5 s, and copes with
// one that dies instead of answering close.
func TestCloseEndsThePlugin(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		mode     string
		min, max time.Duration
	}{
		{"answer", 0, 3 * time.Second},
		{"exit", 0, 3 * time.Second},
		{"hang", 4 * time.Second, 9 * time.Second},
	} {
		c, s, _ := openFake(t, map[string]any{"FAKE_CLOSE": tc.mode, "FAKE_REPLY": `{"id":@ID@,"result":{"records":[]}}`})
		if _, err := s.Read(ctx, connectors.ReadRequest{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := c.Close(); err != nil {
			t.Errorf("%s: close: %v", tc.mode, err)
		}
		if d := time.Since(start); d < tc.min || d > tc.max {
			t.Errorf("%s: close took %v, want between %v and %v", tc.mode, d, tc.min, tc.max)
		}
	}
}

// TestEnvSecretWithoutResolver: a secret reference in env with no resolver
// is an error naming the variable.
func TestEnvSecretWithoutResolver(t *testing.T) {
	_, err := connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{Config: map[string]any{
		"command": []any{"true"}, "env": map[string]any{"API_KEY": map[string]any{"env": "SOME_VAR"}},
	}})
	if err == nil || !strings.Contains(err.Error(), "API_KEY") || !strings.Contains(err.Error(), "resolver") {
		t.Errorf("err = %v", err)
	}
}

// TestHandshakeErrorAndExitBetweenCalls: an error answer to the handshake
// fails Stream and the next call starts the plugin again (it is not left
// running without streams); a plugin that exits between calls fails the next
// call with its exit status, and the one after starts it again.
func TestHandshakeErrorAndExitBetweenCalls(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fake.sh"), []byte(fakePlugin), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := connectors.Default.Open(ctx, "exec", connectors.OpenParams{Dir: dir, Config: map[string]any{
		"command": []any{"./fake.sh"}, "env": map[string]any{"FAKE_STREAMS": `{"id":@ID@,"error":{"message":"bad credentials"}}`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 2; i++ {
		if _, err := c.Stream(ctx, "s"); err == nil || !strings.Contains(err.Error(), "handshake") || !strings.Contains(err.Error(), "bad credentials") {
			t.Errorf("stream %d: err = %v, want the handshake's error", i, err)
		}
		if n := c.(*exec.Conn).Starts(); n != i {
			t.Errorf("after stream %d: starts = %d", i, n)
		}
	}

	ec, s, _ := openFake(t, map[string]any{"FAKE_REPLY": `{"id":@ID@,"result":{"records":[]}}`, "FAKE_EXIT": "3"})
	if _, err := s.Read(ctx, connectors.ReadRequest{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let it exit
	if _, err := s.Read(ctx, connectors.ReadRequest{}); err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "restarted") {
		t.Errorf("call after the plugin exited: err = %v", err)
	}
	if _, err := s.Read(ctx, connectors.ReadRequest{}); err != nil || ec.Starts() != 2 {
		t.Errorf("call after that: err = %v, starts = %d, want a new plugin", err, ec.Starts())
	}
}
