//go:build !((linux || freebsd || openbsd || netbsd) && !android) && !windows

package tray

// labelFor: NSMenu shows a title as it is.
func labelFor(c menuLabelCase) string { return c.in }
