//go:build windows

package tray

func labelFor(c menuLabelCase) string { return c.win32 }
