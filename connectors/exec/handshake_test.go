//go:build unix

package exec_test

// Tests of the handshake's own deadline (handshakeTimeout): a plugin that
// starts but never answers its "streams" handshake fails the call once that
// deadline passes, not when the caller's context ends.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kelompok/pipe/config"
	"github.com/kelompok/pipe/connectors"
	"github.com/kelompok/pipe/connectors/exec"
)

// TestHandshakeTimeout: with handshakeTimeout set in a .cue file to a tiny
// duration, a plugin that reads its handshake and never answers (hang), or
// never reads it (stuck, with a config larger than a pipe holds, so the
// request cannot be written), fails Stream well before the caller's context
// ends, with an error naming the plugin and saying it did not answer its
// handshake within that duration (not the caller's deadline); no plugin is
// left running, and the next call starts the plugin again. A duration that
// does not parse, or is not positive, is refused when the connection opens.
func TestHandshakeTimeout(t *testing.T) {
	for _, tc := range []struct{ mode, config string }{
		{"hang", ""},
		{"stuck", `config: blob: "` + strings.Repeat("x", 256<<10) + `"`},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range map[string]string{
				"plugin.sh": restartPlugin,
				"mode":      tc.mode + "\n",
				"conn.cue":  "package pipe\n\nconnections: plugin: {\n\tkind: \"exec\"\n\tcommand: [\"./plugin.sh\"]\n\thandshakeTimeout: \"50ms\"\n\t" + tc.config + "\n}\n",
			} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := config.Load(context.Background(), dir)
			if err != nil {
				t.Fatalf("config.Load: %v", err)
			}
			c, err := connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{Name: "plugin", Dir: cfg.Dir, Config: cfg.Connections["plugin"].Params})
			if err != nil {
				t.Fatal(err)
			}
			f := &restartFixture{t: t, dir: dir, c: c.(*exec.Conn)}
			t.Cleanup(func() {
				f.killAll()
				_ = c.Close()
			})
			for start := 1; start <= 2; start++ {
				err := f.call(time.Minute, func(ctx context.Context) error {
					_, err := c.Stream(ctx, "s")
					return err
				})
				if err == nil || !strings.Contains(err.Error(), "plugin.sh did not answer its handshake within 50ms") {
					t.Fatalf("start %d: err = %v, want the plugin's handshake timeout", start, err)
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("start %d: err = %v wraps the caller's deadline", start, err)
				}
				if n := f.c.Starts(); n != start {
					t.Errorf("starts = %d, want %d", n, start)
				}
				// With a 50ms limit on a busy machine the plugin may be
				// killed before its shell got to record its pid: then there
				// is nothing left to check.
				if pid, ok := f.recordedPid("pid." + strconv.Itoa(start)); ok && running(pid) {
					t.Errorf("start %d: the plugin (pid %d) is still running after its handshake timed out", start, pid)
				}
			}
		})
	}

	for _, bad := range []any{"soon", "-1s", "0s", 30} {
		_, err := connectors.Default.Open(context.Background(), "exec", connectors.OpenParams{Name: "plugin", Config: map[string]any{
			"command": []any{"./plugin.sh"}, "handshakeTimeout": bad,
		}})
		if err == nil || !strings.Contains(err.Error(), "handshakeTimeout") {
			t.Errorf("open with handshakeTimeout %#v: err = %v, want it refused", bad, err)
		}
	}
}
