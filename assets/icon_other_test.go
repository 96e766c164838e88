//go:build !windows

package assets

import (
	"image"
	"testing"
)

func TestTrayIsPNGOutsideWindows(t *testing.T) {
	t.Parallel()
	img := decodePNG(t, Tray(LookOnline, 12))
	if got := img.Bounds().Size(); got != image.Pt(trayPNGSize, trayPNGSize) {
		t.Errorf("tray PNG is %v, want %d px", got, trayPNGSize)
	}
}
