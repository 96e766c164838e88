//go:build !unix

package desktop

import "errors"

// checkPrivateDir: XDG_RUNTIME_DIR is a Unix convention; elsewhere it is
// never trusted.
func checkPrivateDir(string) error {
	return errors.New("XDG_RUNTIME_DIR is only used on Unix")
}
