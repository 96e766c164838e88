//go:build !darwin || !cgo

package desktop

// urlEventsSupported: links come in argv here (the .desktop file, the
// MSI's URL protocol). A darwin build without cgo cannot receive Apple
// events; it is no tray app either (fyne.io/systray needs cgo there).
const urlEventsSupported = false

func installURLHandler() {}
