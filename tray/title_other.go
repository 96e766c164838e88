//go:build !darwin

package tray

import "fyne.io/systray"

// setTitle names the tray item. On Linux it becomes the StatusNotifierItem
// Title and, set before systray.Run, its Id; elsewhere it is harmless.
func setTitle(name string) {
	if name != "" {
		systray.SetTitle(name)
	}
}
