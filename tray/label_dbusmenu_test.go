//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

func labelFor(c menuLabelCase) string { return c.dbusmenu }
