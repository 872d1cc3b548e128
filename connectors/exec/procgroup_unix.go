//go:build unix

package exec

import (
	osexec "os/exec"
	"syscall"
)

// ownGroup starts the plugin in a process group of its own, so that
// killGroup reaches the processes it starts too.
func ownGroup(cmd *osexec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the plugin started by cmd and every process of its
// group: a child it left running (a background job of a shell script, a
// worker it forked) would otherwise outlive it, holding its output open or
// working on for a connection that is gone. The group is the plugin's pid,
// so it can be killed after the plugin itself has exited.
func killGroup(cmd *osexec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
