package assets

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"math"
)

// AppIconICO returns the application icon as a Windows .ico with 16, 20,
// 24, 32, 40, 48, 64 and 256 px entries.
func AppIconICO() []byte {
	var imgs []image.Image
	for _, s := range []int{16, 20, 24, 32, 40, 48, 64, 256} {
		imgs = append(imgs, render(spec{look: LookOnline, size: s, margin: true}))
	}
	return encodeICO(imgs)
}

// icnsTypes maps the PNG-based ICNS entry types to their pixel sizes
// (macOS 10.7+; the @2x types repeat a size for Retina).
var icnsTypes = [...]struct {
	typ  string
	size int
}{
	{"icp4", 16}, {"icp5", 32}, {"ic11", 32}, {"ic12", 64}, {"ic07", 128},
	{"ic08", 256}, {"ic13", 256}, {"ic09", 512}, {"ic14", 512},
}

// AppIconICNS returns the application icon as a macOS .icns file made of
// PNG entries from 16 to 512 px (no 1024 px ic10 entry: MaxSize is 512).
func AppIconICNS() []byte {
	var body bytes.Buffer
	pngs := map[int][]byte{}
	for _, t := range icnsTypes {
		p, ok := pngs[t.size]
		if !ok {
			p = AppIconPNG(t.size)
			pngs[t.size] = p
		}
		body.WriteString(t.typ)
		body.Write(binary.BigEndian.AppendUint32(nil, uint32(8+len(p))))
		body.Write(p)
	}
	var out bytes.Buffer
	out.WriteString("icns")
	out.Write(binary.BigEndian.AppendUint32(nil, uint32(8+body.Len())))
	out.Write(body.Bytes())
	return out.Bytes()
}

// AppIconSVG returns the application icon as a scalable SVG, drawn with the
// same geometry as AppIconPNG at 256 px (for hicolor/scalable).
func AppIconSVG() []byte {
	const S = 256.0
	m := math.Floor(S / 16)
	inner := S - 2*m
	ex0 := m + math.Round(0.16*inner)
	ex1 := S - (ex0 - m) - m
	ey0 := m + math.Round(0.26*inner)
	ey1 := m + math.Round(0.74*inner)
	cx, fy := (ex0+ex1)/2, ey0+0.56*(ey1-ey0)
	half := math.Max(0.55, 0.032*inner)
	pal := paletteFor(LookOnline)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <title>Exmail Notifier</title>
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="%s"/>
      <stop offset="1" stop-color="%s"/>
    </linearGradient>
    <clipPath id="env"><rect x="%g" y="%g" width="%g" height="%g" rx="%g"/></clipPath>
  </defs>
  <rect x="%g" y="%g" width="%g" height="%g" rx="%g" fill="url(#bg)"/>
  <rect x="%g" y="%g" width="%g" height="%g" rx="%g" fill="%s"/>
  <path d="M%g %gL%g %gL%g %g" fill="none" stroke="%s" stroke-width="%g" stroke-linecap="round" stroke-linejoin="round" clip-path="url(#env)"/>
</svg>
`,
		css(pal.top), css(pal.bottom),
		ex0, ey0, ex1-ex0, ey1-ey0, 0.04*inner,
		m, m, inner, inner, 0.22*inner,
		ex0, ey0, ex1-ex0, ey1-ey0, 0.04*inner, css(pal.envelope),
		ex0, ey0, cx, fy, ex1, ey0, css(pal.flap), 2*half,
	)
	return b.Bytes()
}

func css(c rgba) string {
	return fmt.Sprintf("#%02X%02X%02X", to8(c.r), to8(c.g), to8(c.b))
}
