//go:build unix

package exec_test

// Tests of a restart whose handshake fails: the plugin crashed, the next
// call starts it again, and the new plugin does not complete the
// "streams" handshake. The call must fail with an error that says so, return
// (no hang, no retry loop), and leave no plugin process behind; the call
// after that starts the plugin once more.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/exec"
)

// restartPlugin counts its starts in the file "starts" of its directory and
// writes its pid to pid.<start> (a background child's to orphan.<start>.pid). It
// reads its mode from the file "mode" (absent: ok), so a test can break the
// next start. In mode ok it answers the handshake with the stream "s", a
// find by exiting with status 3 (the crash), and any other call with no
// records. The other modes break the handshake:
//
//	garbage   answer with a line that is not JSON
//	wrongid   answer another request's id
//	shape     answer a result of the wrong shape
//	version   answer an error: this plugin speaks another protocol version
//	exit      read the request and exit with status 5
//	early     exit with status 6 before reading anything
//	hang      read the request and never answer
//	stuck     never read the request (so a large one cannot be written)
//	orphan    start a background child that keeps stdout and stderr open,
//	          then exit with status 7 after reading the request
const restartPlugin = `#!/bin/sh
n=$(( $(cat starts 2>/dev/null || echo 0) + 1 ))
echo "$n" > starts
echo "$$" > "pid.$n"
mode=$(cat mode 2>/dev/null || echo ok)
case "$mode" in
early) exit 6 ;;
stuck) exec sleep 600 ;;
esac
while IFS= read -r line; do
  id=${line#'{"id":'}; id=${id%%,*}
  case "$line" in
  *'"method":"streams"'*)
    case "$mode" in
    garbage) echo 'Traceback (most recent call last):' ;;
    wrongid) printf '{"id":%s,"result":{"streams":["s"]}}\n' "$((id + 100))" ;;
    shape) printf '{"id":%s,"result":{"streams":"s"}}\n' "$id" ;;
    version) printf '{"id":%s,"error":{"message":"protocol 1 is not supported, this plugin speaks 2"}}\n' "$id" ;;
    exit) exit 5 ;;
    hang) exec sleep 600 ;;
    orphan) sleep 600 & echo "$!" > "orphan.$n.pid"; exit 7 ;;
    *) printf '{"id":%s,"result":{"streams":["s"]}}\n' "$id" ;;
    esac ;;
  *'"method":"close"'*) printf '{"id":%s,"result":null}\n' "$id"; exit 0 ;;
  *'"method":"find"'*) exit 3 ;;
  *) printf '{"id":%s,"result":{"records":[]}}\n' "$id" ;;
  esac
done
`

// restartFixture is a connection to restartPlugin whose plugin has been
// started once and has crashed.
type restartFixture struct {
	t    *testing.T
	dir  string
	c    *exec.Conn
	s    connectors.Stream
	logs *logBuffer
}

func crashedPlugin(t *testing.T, config map[string]any) *restartFixture {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plugin.sh"), []byte(restartPlugin), 0o755); err != nil {
		t.Fatal(err)
	}
	params := map[string]any{"command": []any{"./plugin.sh"}}
	for k, v := range config {
		params[k] = v
	}
	logs := &logBuffer{}
	c, err := connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{
		Name: "restart", Dir: dir, Config: params, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &restartFixture{t: t, dir: dir, c: c.(*exec.Conn), logs: logs}
	t.Cleanup(func() {
		f.killAll() // a plugin a broken connector left behind
		_ = c.Close()
	})
	if f.s, err = c.Stream(context.Background(), "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Find(context.Background(), "a", []string{"x"}); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("find that crashes the plugin: err = %v", err)
	}
	return f
}

func (f *restartFixture) setMode(mode string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, "mode"), []byte(mode+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// pid is the pid the plugin's nth start (or "orphan") wrote.
func (f *restartFixture) pid(name string) int {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		f.t.Fatalf("%s: %v", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		f.t.Fatalf("%s: %v", name, err)
	}
	return pid
}

// recordedPid is pid for a file the plugin may not have written yet (it was
// killed first): ok is false when the file is missing or not yet a number.
func (f *restartFixture) recordedPid(name string) (pid int, ok bool) {
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		return 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}

// killAll kills every process the plugin's starts recorded.
func (f *restartFixture) killAll() {
	names, _ := filepath.Glob(filepath.Join(f.dir, "*pid*"))
	for _, name := range names {
		if b, err := os.ReadFile(name); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// running reports whether the process still exists (a zombie counts: it
// was not waited for).
func running(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// alive reports whether the process exists and has not exited: a zombie
// (exited, waiting for a parent that is not us to reap it) is not alive.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return running(pid) // no /proc: existence is the best we have
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// call runs fn with a context that ends after timeout. If fn has not
// returned a minute after that (the connector ignores the context), the
// plugin's processes are killed so that it returns, and the test fails.
func (f *restartFixture) call(timeout time.Duration, fn func(ctx context.Context) error) error {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout + time.Minute):
		f.t.Errorf("the call did not return a minute after its context ended")
		f.killAll()
		return <-done
	}
}

// TestRestartHandshakeFails: after a crash, a restarted plugin whose
// handshake fails (an answer that is not JSON, another id, a result of the
// wrong shape, an error such as a protocol version it does not speak, an
// exit before or after reading the request, a background child left holding
// its output) fails the call with an error naming the plugin, the handshake
// and the cause. The call returns on its own, well before its context
// ends; the plugin was started once for it and does not outlive it; the next
// call starts it once more, and once the plugin is fixed, calls work again.
// Output pipes closed by pipe (the background child's) are not logged as
// unreadable output.
func TestRestartHandshakeFails(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"garbage", []string{"not a JSON object", "Traceback"}},
		{"wrongid", []string{"response id"}},
		{"shape", []string{"does not match the protocol"}},
		{"version", []string{"protocol 1 is not supported, this plugin speaks 2"}},
		{"exit", []string{"plugin exited: exit status 5"}},
		{"early", []string{"plugin exited: exit status 6"}},
		{"orphan", []string{"plugin exited: exit status 7"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := crashedPlugin(t, nil)
			f.setMode(tc.mode)
			for start := 2; start <= 3; start++ {
				err := f.call(time.Minute, func(ctx context.Context) error {
					_, err := f.s.Get(ctx, []string{"a"})
					return err
				})
				if err == nil {
					t.Fatalf("start %d: get succeeded", start)
				}
				for _, want := range append([]string{"plugin.sh", "handshake"}, tc.want...) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("start %d: err = %v, want it to contain %q", start, err, want)
					}
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("start %d: the call waited for its context to end: %v", start, err)
				}
				if n := f.c.Starts(); n != start {
					t.Errorf("starts = %d after the failed handshake, want %d", n, start)
				}
				if pid := f.pid("pid." + strconv.Itoa(start)); running(pid) {
					t.Errorf("start %d: the plugin (pid %d) is still running after its handshake failed", start, pid)
				}
				if tc.mode == "orphan" {
					// The child it left goes with it (killed with its
					// process group), and does not work on for hours.
					pid := f.pid("orphan." + strconv.Itoa(start) + ".pid")
					deadline := time.Now().Add(5 * time.Second)
					for alive(pid) && time.Now().Before(deadline) {
						time.Sleep(20 * time.Millisecond)
					}
					if alive(pid) {
						t.Errorf("start %d: the plugin's background child (pid %d) is still running", start, pid)
					}
				}
			}
			if strings.Contains(f.logs.String(), "unreadable") {
				t.Errorf("the plugin's output was logged as unreadable:\n%s", f.logs.String())
			}
			f.setMode("ok")
			if _, err := f.s.Get(context.Background(), []string{"a"}); err != nil {
				t.Errorf("get once the plugin is fixed: %v", err)
			}
			if n := f.c.Starts(); n != 4 {
				t.Errorf("starts = %d once the plugin is fixed, want 4", n)
			}
		})
	}
}

// TestRestartHandshakeFailsInStream: Stream also starts a crashed plugin
// again, and fails with the handshake's error, leaving no plugin running.
func TestRestartHandshakeFailsInStream(t *testing.T) {
	for _, mode := range []string{"version", "garbage"} {
		f := crashedPlugin(t, nil)
		f.setMode(mode)
		err := f.call(time.Minute, func(ctx context.Context) error {
			_, err := f.c.Stream(ctx, "s")
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "handshake") || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: stream after a crash: err = %v, want the handshake's error", mode, err)
		}
		if pid := f.pid("pid.2"); running(pid) || f.c.Starts() != 2 {
			t.Errorf("%s: starts = %d, plugin running %v; want 2 and not running", mode, f.c.Starts(), running(pid))
		}
	}
}

// TestRestartHandshakeNeverAnswered: a restarted plugin that never answers
// the handshake, whether it read the request (a small one, written at once)
// or not (one larger than a pipe holds, so writing it blocks), fails the
// call when its context ends, with the context's error, and is killed.
func TestRestartHandshakeNeverAnswered(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		config map[string]any
	}{
		{"hang", nil},
		{"stuck", map[string]any{"config": map[string]any{"blob": strings.Repeat("x", 256<<10)}}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := crashedPlugin(t, tc.config)
			f.setMode(tc.mode)
			err := f.call(time.Second, func(ctx context.Context) error {
				_, err := f.s.Get(ctx, []string{"a"})
				return err
			})
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "handshake") {
				t.Errorf("err = %v, want the handshake to fail with the context's deadline", err)
			}
			if pid := f.pid("pid.2"); running(pid) || f.c.Starts() != 2 {
				t.Errorf("starts = %d, plugin running %v; want 2 and not running", f.c.Starts(), running(pid))
			}
		})
	}
}
