//go:build linux || freebsd || openbsd || netbsd

package tray

import (
	"bytes"
	"image/color"
	"image/png"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/assets"
)

// systrayARGB is what fyne.io/systray v1.12.2 (argbForImage) puts on the
// bus for a pixel: the low bytes of the premultiplied 16-bit channels.
func systrayARGB(c color.Color) [4]byte {
	r, g, b, a := c.RGBA()
	return [4]byte{byte(a), byte(r), byte(g), byte(b)}
}

func TestSNIIconSurvivesSystraysConversion(t *testing.T) {
	t.Parallel()
	src := assets.Tray(assets.LookOnline, 7)
	orig, err := png.Decode(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := png.Decode(bytes.NewReader(sniIcon(src)))
	if err != nil {
		t.Fatal(err)
	}
	var edges, brokenBefore int
	r := orig.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(orig.At(x, y)).(color.NRGBA)
			want := [4]byte{c.A, c.R, c.G, c.B}
			if c.A == 0 {
				want = [4]byte{}
			}
			if got := systrayARGB(fixed.At(x, y)); got != want {
				t.Fatalf("pixel (%d,%d): systray would send %v, want %v", x, y, got, want)
			}
			if c.A > 0 && c.A < 255 {
				edges++
				if systrayARGB(orig.At(x, y)) != want {
					brokenBefore++
				}
			}
		}
	}
	if edges == 0 || brokenBefore == 0 {
		t.Errorf("the icon has %d anti-aliased pixels, %d garbled without the fix: the test proves nothing", edges, brokenBefore)
	}
}

func TestSNIPixelExhaustive(t *testing.T) {
	t.Parallel()
	for a := 1; a < 256; a++ {
		for v := 0; v < 256; v++ {
			c := sniPixel(color.NRGBA{R: uint8(v), G: uint8(v), B: uint8(v), A: uint8(a)})
			if got := systrayARGB(c); got[1] != uint8(v) || got[0] != uint8(a) {
				t.Fatalf("a=%d v=%d: systray sends %v", a, v, got)
			}
		}
	}
}

// BenchmarkSNIIcon is the cost of one icon change on Linux (before
// systray decodes the result): run with -benchmem. Its garbage is what
// the heap has to absorb at start, when the icon changes a few times.
func BenchmarkSNIIcon(b *testing.B) {
	src := assets.Tray(assets.LookOnline, 7)
	b.ReportAllocs()
	for b.Loop() {
		sniIcon(src)
	}
}
