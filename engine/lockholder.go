package engine

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// deadLocalHolder reports whether a lock holder's name, in the engine's
// default owner form "host:pid", names a process of this host that no
// longer exists: a run killed while it held the lock. Hosts that share a
// state store are assumed to have distinct host names. Anything else (another
// host, a name of another form, this process, a process that exists or may)
// is treated as alive, and its lock lapses after its ttl as before.
func deadLocalHolder(holder string) bool {
	i := strings.LastIndexByte(holder, ':')
	if i <= 0 || runtime.GOOS == "windows" {
		return false
	}
	host, err := os.Hostname()
	if err != nil || holder[:i] != host {
		return false
	}
	pid, err := strconv.Atoi(holder[i+1:])
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) || zombie(pid)
}

// zombie reports whether pid has exited and waits for its parent to reap
// it (Linux: state Z in /proc/PID/stat). Such a process answers signals but
// runs no more; a killed run's process stays so until its parent, a shell
// or a supervisor, collects it.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses; the
	// state follows the last ")".
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
