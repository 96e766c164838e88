package assets

import (
	"image"
	"image/color"
	"math"
)

// rgba is a straight (not premultiplied) colour with components in 0..1.
type rgba struct{ r, g, b, a float64 }

func hex(v uint32) rgba {
	return rgba{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255, 1}
}

// mix returns c blended towards d by t (0 = c, 1 = d).
func mix(c, d rgba, t float64) rgba {
	return rgba{c.r + (d.r-c.r)*t, c.g + (d.g-c.g)*t, c.b + (d.b-c.b)*t, c.a + (d.a-c.a)*t}
}

// canvas is a premultiplied floating-point RGBA raster. Shapes are given as
// signed distance functions in pixel units (negative inside); a pixel's
// coverage is taken at its centre as clamp(0.5-d, 0, 1), which gives one
// pixel of anti-aliasing on every edge and exact, crisp edges on whole pixels.
type canvas struct {
	w, h int
	pix  []float64 // r, g, b, a premultiplied, row-major
}

func newCanvas(w, h int) *canvas {
	return &canvas{w: w, h: h, pix: make([]float64, 4*w*h)}
}

// sdf is a signed distance in pixels from the point (x, y) to a shape's edge.
type sdf func(x, y float64) float64

func coverage(d float64) float64 { return math.Max(0, math.Min(1, 0.5-d)) }

// fill composites a shape painted with paint (a colour per pixel centre)
// over the canvas.
func (c *canvas) fill(shape sdf, paint func(x, y float64) rgba) {
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			cov := coverage(shape(px, py))
			if cov == 0 {
				continue
			}
			col := paint(px, py)
			c.blend(x, y, col, cov)
		}
	}
}

// fillColor composites a shape in a single colour.
func (c *canvas) fillColor(shape sdf, col rgba) {
	c.fill(shape, func(float64, float64) rgba { return col })
}

// erase clears the canvas under a shape, leaving transparency behind.
func (c *canvas) erase(shape sdf) {
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			cov := coverage(shape(float64(x)+0.5, float64(y)+0.5))
			if cov == 0 {
				continue
			}
			i := 4 * (y*c.w + x)
			for k := range 4 {
				c.pix[i+k] *= 1 - cov
			}
		}
	}
}

// blend composites col with coverage cov over pixel (x, y): "source over".
func (c *canvas) blend(x, y int, col rgba, cov float64) {
	if x < 0 || y < 0 || x >= c.w || y >= c.h {
		return
	}
	a := col.a * cov
	i := 4 * (y*c.w + x)
	c.pix[i] = col.r*a + c.pix[i]*(1-a)
	c.pix[i+1] = col.g*a + c.pix[i+1]*(1-a)
	c.pix[i+2] = col.b*a + c.pix[i+2]*(1-a)
	c.pix[i+3] = a + c.pix[i+3]*(1-a)
}

// image converts the canvas to 8-bit straight alpha.
func (c *canvas) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, c.w, c.h))
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			i := 4 * (y*c.w + x)
			a := c.pix[i+3]
			if a <= 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{
				R: to8(c.pix[i] / a), G: to8(c.pix[i+1] / a), B: to8(c.pix[i+2] / a), A: to8(a),
			})
		}
	}
	return img
}

func to8(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255)) }

// Shapes. Each returns a signed distance function in pixels.

// roundRect is the rectangle [x0,x1]×[y0,y1] with corners of radius r.
func roundRect(x0, y0, x1, y1, r float64) sdf {
	cx, cy := (x0+x1)/2, (y0+y1)/2
	hx, hy := (x1-x0)/2-r, (y1-y0)/2-r
	return func(x, y float64) float64 {
		qx, qy := math.Abs(x-cx)-hx, math.Abs(y-cy)-hy
		out := math.Hypot(math.Max(qx, 0), math.Max(qy, 0))
		return out + math.Min(math.Max(qx, qy), 0) - r
	}
}

// circle is the disc of radius r around (cx, cy).
func circle(cx, cy, r float64) sdf {
	return func(x, y float64) float64 { return math.Hypot(x-cx, y-cy) - r }
}

// capsule is the segment from (ax, ay) to (bx, by) thickened by r on each side.
func capsule(ax, ay, bx, by, r float64) sdf {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	return func(x, y float64) float64 {
		px, py := x-ax, y-ay
		t := 0.0
		if l2 > 0 {
			t = math.Max(0, math.Min(1, (px*dx+py*dy)/l2))
		}
		return math.Hypot(px-t*dx, py-t*dy) - r
	}
}

// union is the union of shapes.
func union(shapes ...sdf) sdf {
	return func(x, y float64) float64 {
		d := math.Inf(1)
		for _, s := range shapes {
			d = math.Min(d, s(x, y))
		}
		return d
	}
}

// subtract is a with b cut out of it.
func subtract(a, b sdf) sdf {
	return func(x, y float64) float64 { return math.Max(a(x, y), -b(x, y)) }
}

// grow thickens (r > 0) or thins a shape by r pixels.
func grow(s sdf, r float64) sdf {
	return func(x, y float64) float64 { return s(x, y) - r }
}

// clip keeps the part of a inside b.
func clip(a, b sdf) sdf {
	return func(x, y float64) float64 { return math.Max(a(x, y), b(x, y)) }
}
