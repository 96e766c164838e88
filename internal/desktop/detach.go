package desktop

import (
	"os"
	"os/exec"
)

// StartDetached starts this program again with args, on its own: in a new
// session (Unix) or without a console (Windows), with no standard streams,
// so that it outlives the command that started it. It does not wait.
func StartDetached(args ...string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, args...)
	cmd.SysProcAttr = detachedAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
