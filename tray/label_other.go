//go:build !((linux || freebsd || openbsd || netbsd) && !android) && !windows

package tray

// menuLabel returns s unchanged: NSMenu (macOS) shows item titles as
// given, with no mnemonic characters.
func menuLabel(s string) string { return s }
