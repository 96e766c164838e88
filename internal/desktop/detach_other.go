//go:build !unix && !windows

package desktop

import "syscall"

func detachedAttr() *syscall.SysProcAttr { return nil }
