package handoff

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// startOpener runs the first URL opener found on PATH, in the order
// github.com/pkg/browser tries them on Linux (and "doctor" checks for), with url as its one
// argument, with the environment of openerEnv and its output discarded
// (it may repeat the link), and waits for it to exit. It replaces
// pkg/browser here because pkg/browser gives the opener the whole
// environment. The error names the opener and its exit status, never url.
func startOpener(url string) error {
	openers := []string{"xdg-open", "x-www-browser", "www-browser"}
	for _, name := range openers {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		cmd := exec.Command(path, url)
		cmd.Env = openerEnv(os.Environ())
		// Stdin, Stdout and Stderr stay nil: the null device.
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	return &exec.Error{Name: strings.Join(openers, ","), Err: exec.ErrNotFound}
}
