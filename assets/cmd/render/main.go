// Command render writes the app's icons as files, for packaging and for
// people to look at.
//
//	go run ./assets/cmd/render -out DIR            # app icons: PNG 16…512, SVG, ICO, ICNS
//	go run ./assets/cmd/render -out DIR -samples   # also every tray look × count, and contact sheets
//
// With -samples it also writes sheet-N.png: every look (rows) × a set of
// unread counts (columns) at N px, scaled up 8× with nearest-neighbour
// pixels, on light and dark panel colours, so the digits can be judged.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"

	"github.com/exmail-notifier/exmail-notifier/assets"
)

func main() {
	out := flag.String("out", "icons", "directory to write into (created)")
	samples := flag.Bool("samples", false, "also write tray samples and contact sheets")
	flag.Parse()
	if err := run(*out, *samples); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(out string, samples bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"exmail-notifier.svg":  assets.AppIconSVG(),
		"exmail-notifier.ico":  assets.AppIconICO(),
		"exmail-notifier.icns": assets.AppIconICNS(),
	}
	for _, s := range []int{16, 22, 24, 32, 48, 64, 128, 256, 512} {
		files[fmt.Sprintf("exmail-notifier-%d.png", s)] = assets.AppIconPNG(s)
	}
	if samples {
		counts := []int{0, 1, 3, 4, 7, 12, 38, 99, 100}
		for _, size := range []int{16, 20, 22, 24, 32, 48} {
			sheet, err := contactSheet(size, counts, 8)
			if err != nil {
				return err
			}
			files[fmt.Sprintf("sheet-%d.png", size)] = sheet
			small, err := contactSheet(size, counts, 2)
			if err != nil {
				return err
			}
			files[fmt.Sprintf("sheet-%d-x2.png", size)] = small
			for _, l := range assets.Looks() {
				for _, n := range counts {
					files[filepath.Join("tray", fmt.Sprintf("%s-%d-%dpx.png", l, n, size))] = assets.TrayPNG(l, n, size)
				}
			}
		}
	}
	for name, b := range files {
		p := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// contactSheet lays out every look × count at size px, scaled 8×, twice:
// on a light and on a dark panel background.
func contactSheet(size int, counts []int, zoom int) ([]byte, error) {
	const gap = 8
	cell := size*zoom + gap
	looks := assets.Looks()
	w := len(counts)*cell + gap
	h := 2*len(looks)*cell + gap
	sheet := image.NewNRGBA(image.Rect(0, 0, w, h))
	panels := []color.NRGBA{{0xEE, 0xEE, 0xEE, 0xFF}, {0x2B, 0x2B, 0x2B, 0xFF}}
	for pi, bg := range panels {
		y0 := pi * len(looks) * cell
		draw.Draw(sheet, image.Rect(0, y0, w, y0+len(looks)*cell+gap), image.NewUniform(bg), image.Point{}, draw.Src)
		for li, l := range looks {
			for ci, n := range counts {
				icon, err := png.Decode(bytes.NewReader(assets.TrayPNG(l, n, size)))
				if err != nil {
					return nil, err
				}
				ox, oy := gap+ci*cell, y0+gap+li*cell
				for y := range size {
					for x := range size {
						c := icon.At(x, y)
						r := image.Rect(ox+x*zoom, oy+y*zoom, ox+(x+1)*zoom, oy+(y+1)*zoom)
						draw.Draw(sheet, r, image.NewUniform(c), image.Point{}, draw.Over)
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, sheet); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
