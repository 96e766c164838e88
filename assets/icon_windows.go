//go:build windows

package assets

import "image"

// trayICOSizes are the entries of the tray ICO on Windows, each drawn
// natively at its size. fyne.io/systray loads the icon with LR_DEFAULTSIZE,
// so Windows picks the SM_CXICON entry for the display's DPI (32 px at
// 100 %, 48 px at 150 %, 64 px at 200 %) and the shell scales it into the
// notification area.
var trayICOSizes = [...]int{16, 20, 24, 32, 40, 48, 64}

func trayBytes(look Look, text string) []byte {
	imgs := make([]image.Image, 0, len(trayICOSizes))
	for _, s := range trayICOSizes {
		imgs = append(imgs, render(spec{look: look, text: text, size: s}))
	}
	return encodeICO(imgs)
}
