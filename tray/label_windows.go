//go:build windows

package tray

import "strings"

// menuLabel escapes s for a Win32 menu item (MFT_STRING), where a single
// "&" marks the access key and underlines the next character: every
// ampersand is doubled, so "R&D" shows as written.
func menuLabel(s string) string { return strings.ReplaceAll(s, "&", "&&") }
