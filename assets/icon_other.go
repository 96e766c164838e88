//go:build !windows

package assets

// trayPNGSize is the edge of the tray PNG outside Windows. fyne.io/systray hands
// the pixels to the StatusNotifierItem host (Linux) or NSImage (macOS) as
// they are and the host scales them: 32 px is native on HiDPI panels and an
// exact 2:1 down to the common 16 px, so the pixel digits stay readable.
const trayPNGSize = 32

func trayBytes(look Look, text string) []byte {
	return encodePNG(render(spec{look: look, text: text, size: trayPNGSize}))
}
