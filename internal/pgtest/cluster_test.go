package pgtest

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestClusterStopLeavesNothing starts a cluster of its own (not the shared
// one), checks it answers, stops it, and checks that the server is gone and
// its directory removed.
func TestClusterStopLeavesNothing(t *testing.T) {
	var c cluster
	url, err := c.url()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	dir, pid := c.dir, c.cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil || v == "" {
		t.Fatalf("server_version = %q, %v", v, err)
	}
	conn.Close(ctx)

	if err := c.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s left behind (stat: %v)", dir, err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server process %d still exists after stop", pid)
	}
	if conn, err := pgx.Connect(ctx, url+"&connect_timeout=2"); err == nil {
		conn.Close(ctx)
		t.Errorf("server still accepts connections after stop")
	}
	if err := c.stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

// TestMissingBinariesSaysHowToInstall checks the error when no server
// binaries are found.
func TestMissingBinariesSaysHowToInstall(t *testing.T) {
	t.Setenv(EnvBin, t.TempDir())
	_, err := findBin()
	if !errors.Is(err, errNoBinaries) {
		t.Fatalf("findBin with an empty %s = %v, want errNoBinaries", EnvBin, err)
	}
	for _, want := range []string{"initdb", EnvBin} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// Nothing in the usual place nor on PATH: the error says how to
	// install them.
	t.Setenv(EnvBin, "")
	t.Setenv("PATH", t.TempDir())
	saved := binGlob
	binGlob = t.TempDir() + "/*/bin"
	defer func() { binGlob = saved }()
	_, err = findBin()
	if !errors.Is(err, errNoBinaries) {
		t.Fatalf("findBin with no binaries anywhere = %v, want errNoBinaries", err)
	}
	for _, want := range []string{"apt-get install -y postgresql", EnvURL} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
