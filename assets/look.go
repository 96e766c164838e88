// Package assets draws the application's icons in code: the app icon (an
// envelope on a rounded blue square) and the tray icon, which adds a red
// badge with the unread count and marks the connection state.
//
// Everything is rendered with the standard library's image packages and a
// built-in pixel font, so the digits stay sharp from 16 to 48 px and no
// font files or generated binaries are checked in. The tray bytes are ICO
// on Windows and PNG elsewhere, as fyne.io/systray expects.
package assets

import "strconv"

// Look is the state the tray icon shows.
type Look int

// The looks of the tray icon.
const (
	// LookSetup: not configured yet; blue envelope with a dark gear badge at the lower right.
	LookSetup Look = iota
	// LookConnecting: first connection in progress; dim blue-grey envelope.
	LookConnecting
	// LookOnline: connected and listening; the normal blue envelope.
	LookOnline
	// LookOffline: connection lost or reconnecting; grey envelope with a slash.
	LookOffline
	// LookAttention: the user must act (bad credentials, IP not allowed …);
	// blue envelope with an orange "!" badge at the lower right.
	LookAttention
)

var lookNames = [...]string{"setup", "connecting", "online", "offline", "attention"}

// String returns the look's lower-case name ("online"), or "Look(N)".
func (l Look) String() string {
	if l >= 0 && int(l) < len(lookNames) {
		return lookNames[l]
	}
	return "Look(" + strconv.Itoa(int(l)) + ")"
}

// Looks lists every Look, in declaration order.
func Looks() []Look {
	return []Look{LookSetup, LookConnecting, LookOnline, LookOffline, LookAttention}
}

// BadgeText returns the text of the unread badge: "" for no badge
// (unread <= 0, including unknown counts below zero), "1" to "99", and
// "99+" above 99.
func BadgeText(unread int) string {
	switch {
	case unread <= 0:
		return ""
	case unread > 99:
		return "99+"
	default:
		return strconv.Itoa(unread)
	}
}
