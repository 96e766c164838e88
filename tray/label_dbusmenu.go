//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import "strings"

// menuLabel escapes s for com.canonical.dbusmenu, where a single "_" marks
// the access key: every underscore is doubled, so the label shows as
// written and has no access key.
func menuLabel(s string) string { return strings.ReplaceAll(s, "_", "__") }
