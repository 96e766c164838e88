package assets

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
)

// encodeICO writes images as one Windows .ico file. Entries smaller than
// 256 px are stored as 32-bit BGRA DIBs with an AND mask, which every
// Windows version and LoadImage read; 256 px entries are stored as PNG, as
// Windows Vista and later expect.
func encodeICO(imgs []image.Image) []byte {
	type entry struct {
		w, h int
		data []byte
	}
	entries := make([]entry, 0, len(imgs))
	for _, img := range imgs {
		b := img.Bounds()
		var data []byte
		if b.Dx() >= 256 || b.Dy() >= 256 {
			data = encodePNG(img)
		} else {
			data = encodeDIB(img)
		}
		entries = append(entries, entry{b.Dx(), b.Dy(), data})
	}

	var buf bytes.Buffer
	le := binary.LittleEndian
	w16 := func(v int) { buf.Write(le.AppendUint16(nil, uint16(v))) }
	w32 := func(v int) { buf.Write(le.AppendUint32(nil, uint32(v))) }

	// ICONDIR
	w16(0) // reserved
	w16(1) // type: icon
	w16(len(entries))
	offset := 6 + 16*len(entries)
	// ICONDIRENTRY × n
	for _, e := range entries {
		buf.WriteByte(byte(e.w % 256)) // 0 means 256
		buf.WriteByte(byte(e.h % 256))
		buf.WriteByte(0) // palette colours
		buf.WriteByte(0) // reserved
		w16(1)           // colour planes
		w16(32)          // bits per pixel
		w32(len(e.data))
		w32(offset)
		offset += len(e.data)
	}
	for _, e := range entries {
		buf.Write(e.data)
	}
	return buf.Bytes()
}

// encodeDIB writes img as the BITMAPINFOHEADER + XOR (BGRA, bottom-up) +
// AND mask that an ICO entry holds. The header's height counts both masks.
func encodeDIB(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	maskStride := (w + 31) / 32 * 4
	var buf bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 40)
	le.PutUint32(hdr[0:], 40)
	le.PutUint32(hdr[4:], uint32(w))
	le.PutUint32(hdr[8:], uint32(2*h))
	le.PutUint16(hdr[12:], 1)  // planes
	le.PutUint16(hdr[14:], 32) // bit count
	le.PutUint32(hdr[20:], uint32(w*h*4+maskStride*h))
	buf.Write(hdr)

	mask := make([]byte, maskStride*h)
	for row := range h {
		y := b.Min.Y + h - 1 - row // bottom-up
		for x := range w {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, y)).(color.NRGBA)
			buf.Write([]byte{c.B, c.G, c.R, c.A})
			if c.A == 0 {
				mask[row*maskStride+x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	buf.Write(mask)
	return buf.Bytes()
}
