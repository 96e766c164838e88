package tray

import "fyne.io/systray"

// maxTooltip is Windows' limit for the notification-area tooltip (128
// UTF-16 units, NUL included); the others take more, but a tooltip longer
// than that is not read anyway.
const maxTooltip = 127

// setTooltip shows s on hover: the SNI ToolTip on Linux, the
// notification-area tooltip on Windows, the status item's on macOS.
func setTooltip(s string) { systray.SetTooltip(clip(s, maxTooltip)) }

// clip shortens s to at most n UTF-16 units, on a rune boundary, with "…".
func clip(s string, n int) string {
	if utf16Len(s) <= n {
		return s
	}
	units := 0
	for i, r := range s {
		units += utf16Len(string(r))
		if units > n-1 {
			return s[:i] + "…"
		}
	}
	return s
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}
