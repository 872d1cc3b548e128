//go:build !unix

package exec

import osexec "os/exec"

// ownGroup does nothing where process groups are not available.
func ownGroup(*osexec.Cmd) {}

// killGroup kills the plugin (its children are left to it).
func killGroup(cmd *osexec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
