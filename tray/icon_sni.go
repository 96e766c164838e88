//go:build linux || freebsd || openbsd || netbsd

package tray

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
)

// sniIcon prepares tray icon PNG bytes for fyne.io/systray on Linux.
//
// systray v1.12.2 turns the PNG into the StatusNotifierItem's ARGB32
// pixmap with byte(r) of the 16-bit, alpha-premultiplied values that
// color.RGBA() returns: the low byte, where the high byte was meant. For
// opaque pixels both bytes are equal; for the anti-aliased edges the low
// byte is noise, which shows as pink and green fringes around the icon.
//
// sniIcon re-encodes the image as 16-bit NRGBA whose channels are chosen so
// that this low byte is exactly the wanted 8-bit, non-premultiplied value
// (what the SNI hosts expect). The result only suits that conversion; other
// platforms get the assets' bytes unchanged.
func sniIcon(b []byte) []byte {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return b
	}
	r := img.Bounds()
	out := image.NewNRGBA64(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out.SetNRGBA64(x, y, sniPixel(c))
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, out); err != nil {
		return b
	}
	return buf.Bytes()
}

// sniPixel picks 16-bit channels v16 such that the low byte of
// v16*a16/0xffff (color.NRGBA64.RGBA's premultiplication) equals the 8-bit
// value v: v16 = ceil(v*0xffff/a16), which stays ≤ 0xffff since v ≤ a16.
func sniPixel(c color.NRGBA) color.NRGBA64 {
	if c.A == 0 {
		return color.NRGBA64{}
	}
	a16 := uint32(c.A) * 0x101
	ch := func(v uint8) uint16 {
		return uint16((uint32(v)*0xffff + a16 - 1) / a16)
	}
	return color.NRGBA64{R: ch(c.R), G: ch(c.G), B: ch(c.B), A: uint16(a16)}
}
