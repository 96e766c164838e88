package tray

// setTitle does nothing on macOS: there systray.SetTitle puts text next to
// the icon in the menu bar, and the badge already shows the count.
func setTitle(string) {}
