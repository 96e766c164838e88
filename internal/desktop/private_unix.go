//go:build unix

package desktop

import (
	"fmt"
	"os"
	"syscall"
)

// checkPrivateDir reports why dir is not a private directory of this
// user: it must be a directory itself (Lstat: not a symbolic link), owned
// by this uid, with no access for group or others.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: cannot tell its owner", dir)
	}
	if int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to uid %d, not to this user", dir, st.Uid)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %v; want 0700", dir, fi.Mode().Perm())
	}
	return nil
}
