//go:build linux || freebsd || openbsd || netbsd

package tray

import (
	"bytes"
	"encoding/binary"
	"hash/adler32"
	"hash/crc32"
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
	nrgba, _ := img.(*image.NRGBA) // what png.Decode gives for the assets' icons
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			var c color.NRGBA
			if nrgba != nil {
				c = nrgba.NRGBAAt(x, y) // without boxing each pixel
			} else {
				c = color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			}
			out.SetNRGBA64(x, y, sniPixel(c))
		}
	}
	return storedPNG(out)
}

// storedPNG encodes img as a PNG whose image data is not compressed
// (deflate "stored" blocks). systray decodes it again at once, in this
// process, so compression would buy nothing; and every compress/flate
// writer, whatever its level, allocates about 650 kB of tables, garbage
// the heap had to absorb at each icon change. (BenchmarkSNIIcon.)
func storedPNG(img *image.NRGBA64) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	row := 1 + 8*w // filter byte "none", then RGBA, 16 bits each, big-endian: NRGBA64's own layout
	raw := make([]byte, 0, row*h)
	for y := range h {
		raw = append(raw, 0)
		raw = append(raw, img.Pix[y*img.Stride:y*img.Stride+8*w]...)
	}
	// zlib (RFC 1950) around deflate stored blocks (RFC 1951 §3.2.4).
	z := make([]byte, 0, len(raw)+len(raw)/0xffff*5+16)
	z = append(z, 0x78, 0x01)
	for rest := raw; ; {
		n := min(len(rest), 0xffff)
		final := byte(0)
		if n == len(rest) {
			final = 1
		}
		z = append(z, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		z = append(z, rest[:n]...)
		rest = rest[n:]
		if final == 1 {
			break
		}
	}
	z = binary.BigEndian.AppendUint32(z, adler32.Checksum(raw))

	out := make([]byte, 0, len(z)+64)
	out = append(out, "\x89PNG\r\n\x1a\n"...)
	chunk := func(typ string, data []byte) {
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		start := len(out)
		out = append(out, typ...)
		out = append(out, data...)
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
	}
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16 bits per channel, RGBA; deflate, no filter method, no interlace
	chunk("IHDR", ihdr[:])
	chunk("IDAT", z)
	chunk("IEND", nil)
	return out
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
