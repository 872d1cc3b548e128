package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvBin names an environment variable holding the directory of the
// PostgreSQL server binaries, overriding the search.
const EnvBin = "PIPE_TEST_PG_BIN"

// cluster is the throwaway server of this test binary.
type cluster struct {
	mu      sync.Mutex
	started bool
	err     error
	dsn     string
	dir     string
	cmd     *exec.Cmd
	exited  chan struct{}
}

var local cluster

// Stop stops the cluster this process started, if any, and removes its
// directory. It is safe to call more than once.
func Stop() error {
	return local.stop()
}

func (c *cluster) url() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		c.started = true
		c.err = c.start()
	}
	return c.dsn, c.err
}

func (c *cluster) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shutdown()
}

// shutdown stops the server and removes its directory; mu is held.
func (c *cluster) shutdown() error {
	var err error
	if c.cmd != nil && c.cmd.Process != nil {
		// SIGINT is PostgreSQL's "fast" shutdown: sessions are ended, no
		// checkpoint wait for clients.
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
			err = fmt.Errorf("test PostgreSQL did not stop within 20s and was killed")
		}
		c.cmd = nil
	}
	if c.dir != "" {
		if rerr := os.RemoveAll(c.dir); rerr != nil && err == nil {
			err = fmt.Errorf("remove test cluster directory: %w", rerr)
		}
		c.dir = ""
	}
	return err
}

// start runs initdb and postgres. On any failure everything started so far
// is stopped and removed.
func (c *cluster) start() (err error) {
	bin, err := findBin()
	if err != nil {
		return err
	}
	cred, owner, err := serverUser()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pipe-pgtest-")
	if err != nil {
		return fmt.Errorf("create test cluster directory: %w", err)
	}
	c.dir = dir
	defer func() {
		if err != nil {
			_ = c.shutdown()
		}
	}()
	if cred != nil {
		// The server user must reach and own its directory.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("chmod test cluster directory: %w", err)
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("give test cluster directory to %s: %w", owner, err)
		}
		if err := ensureTraversable(dir); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "data")
	var out bytes.Buffer
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.Stdout, initdb.Stderr = &out, &out
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	initdb.Env = serverEnv()
	if err := initdb.Run(); err != nil {
		return fmt.Errorf("initdb (as %s) in %s: %w\n%s", owner, data, err, out.String())
	}

	// A free port can be taken by another process between the probe and
	// the server's bind: try a few.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		lastErr = c.run(bin, data, dir, port, cred, owner)
		if lastErr == nil {
			return nil
		}
	}
	return lastErr
}

// run starts postgres on port and waits until it accepts connections.
func (c *cluster) run(bin, data, sockDir string, port int, cred *syscall.Credential, owner string) error {
	logPath := filepath.Join(sockDir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create test server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+sockDir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "shared_buffers=32MB",
	)
	cmd.Dir = sockDir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = serverEnv()
	// SIGQUIT is PostgreSQL's immediate shutdown: if this test binary dies
	// without calling Stop, the server goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s as %s: %w", cmd.Path, owner, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	c.cmd, c.exited = cmd, exited

	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			c.dsn = dsn
			return nil
		}
		select {
		case <-exited:
			c.cmd = nil
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("test PostgreSQL exited during startup on port %d:\n%s", port, log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			c.cmd = nil
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("test PostgreSQL did not accept connections within 60s (last error: %v):\n%s", err, log)
		}
	}
}

// binGlob is where Debian's postgresql packages put the server binaries.
var binGlob = "/usr/lib/postgresql/*/bin"

// findBin returns the directory holding initdb and postgres: PIPE_TEST_PG_BIN,
// else the newest /usr/lib/postgresql/<version>/bin, else the directory of
// initdb on PATH.
func findBin() (string, error) {
	if d := os.Getenv(EnvBin); d != "" {
		if err := hasServer(d); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBin, d, err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob(binGlob)
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if hasServer(d) == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if d := filepath.Dir(p); hasServer(d) == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w in /usr/lib/postgresql/*/bin or on PATH: install them (Debian: apt-get install -y postgresql), set %s to their directory, or set %s to a server where the user may CREATE DATABASE",
		errNoBinaries, EnvBin, EnvURL)
}

// version extracts the major version from /usr/lib/postgresql/<v>/bin.
func version(dir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
	return v
}

func hasServer(dir string) error {
	for _, name := range []string{"initdb", "postgres"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.IsDir() {
			return fmt.Errorf("%w: %s missing", errNoBinaries, filepath.Join(dir, name))
		}
	}
	return nil
}

// serverUser returns the credential to run the server binaries with: nil
// when not root, else the "pipetest" user (created when absent) or "nobody".
func serverUser() (*syscall.Credential, string, error) {
	if os.Geteuid() != 0 {
		u, _ := user.Current()
		if u != nil {
			return nil, u.Username, nil
		}
		return nil, "uid " + strconv.Itoa(os.Geteuid()), nil
	}
	u, err := user.Lookup("pipetest")
	if err != nil {
		// Several test binaries may race to create it; look again after.
		_ = exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "pipetest").Run()
		u, err = user.Lookup("pipetest")
	}
	if err != nil {
		u, err = user.Lookup("nobody")
	}
	if err != nil {
		return nil, "", fmt.Errorf("running as root, initdb needs an unprivileged user: could not create user pipetest (useradd) and there is no user nobody")
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, u.Username, nil
}

// ensureTraversable makes every parent of dir searchable by others, so an
// unprivileged server user can reach it (TMPDIR may be a private 0700 dir).
func ensureTraversable(dir string) error {
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("test cluster directory parent %s: %w", d, err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the server user cannot reach %s (mode %v): set TMPDIR to a directory every user can traverse, such as /tmp", d, st.Mode().Perm())
		}
	}
	return nil
}

// serverEnv is the environment of the server binaries: the parent's, minus
// PG* variables that could point initdb or postgres elsewhere, with a C
// locale.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for test PostgreSQL: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
