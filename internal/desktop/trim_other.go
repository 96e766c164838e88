//go:build !linux

package desktop

// TrimResident does nothing outside Linux: the kernels there trim an idle
// process's working set by themselves (Windows) or offer no such advice.
func TrimResident() (int, error) { return 0, nil }
