package assets

// A pixel font for badge text. Glyphs are drawn on whole pixels, scaled by
// whole numbers, never resampled, so they stay sharp at 16 px.

// font is a fixed-width bitmap font: each glyph is h rows of w characters,
// '#' for a lit pixel.
type font struct {
	w, h   int
	glyphs map[rune][]string
}

// tiny is 3×5: the only size that fits "99+" into 16 px.
var tiny = font{w: 3, h: 5, glyphs: map[rune][]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"},
	'1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"},
	'3': {"###", "..#", ".##", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"},
	'5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"},
	'7': {"###", "..#", "..#", ".#.", ".#."},
	'8': {"###", "#.#", "###", "#.#", "###"},
	'9': {"###", "#.#", "###", "..#", "###"},
	'+': {"...", ".#.", "###", ".#.", "..."},
	'!': {".#.", ".#.", ".#.", "...", ".#."},
}}

// small is 5×7 with two-pixel stems, for 20 px and up: one-pixel white
// strokes on red look faint on a panel.
var small = font{w: 5, h: 7, glyphs: map[rune][]string{
	'0': {".###.", "##.##", "##.##", "##.##", "##.##", "##.##", ".###."},
	'1': {"..##.", ".###.", "..##.", "..##.", "..##.", "..##.", "..##."},
	'2': {".###.", "##.##", "...##", "..##.", ".##..", "##...", "#####"},
	'3': {"####.", "...##", "...##", ".###.", "...##", "...##", "####."},
	'4': {"...##", "..###", ".#.##", "#..##", "#####", "...##", "...##"},
	'5': {"#####", "##...", "####.", "...##", "...##", "##.##", ".###."},
	'6': {".###.", "##...", "##...", "####.", "##.##", "##.##", ".###."},
	'7': {"#####", "...##", "...##", "..##.", "..##.", ".##..", ".##.."},
	'8': {".###.", "##.##", "##.##", ".###.", "##.##", "##.##", ".###."},
	'9': {".###.", "##.##", "##.##", ".####", "...##", "...##", ".###."},
	'+': {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."},
	'!': {"..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."},
}}

// face is a font at a whole-number scale.
type face struct {
	f     *font
	scale int
}

func (fc face) height() int { return fc.f.h * fc.scale }

// width is the pixel width of s, with one scaled pixel between glyphs.
func (fc face) width(s string) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (n*fc.f.w + (n - 1)) * fc.scale
}

// lit reports whether the glyph pixel at column gx, row gy (unscaled) of r is on.
func (fc face) lit(r rune, gx, gy int) bool {
	rows := fc.f.glyphs[r]
	if gy < 0 || gy >= len(rows) || gx < 0 || gx >= len(rows[gy]) {
		return false
	}
	return rows[gy][gx] == '#'
}

// draw paints s with its top-left corner at the whole pixel (x, y).
func (fc face) draw(c *canvas, s string, x, y int, col rgba) {
	for _, r := range s {
		for gy := range fc.f.h {
			for gx := range fc.f.w {
				if !fc.lit(r, gx, gy) {
					continue
				}
				for sy := range fc.scale {
					for sx := range fc.scale {
						c.blend(x+gx*fc.scale+sx, y+gy*fc.scale+sy, col, 1)
					}
				}
			}
		}
		x += (fc.f.w + 1) * fc.scale
	}
}

// faceFor picks the largest face whose glyphs are at most about a third of
// an icon of size px tall and whose widest badge text ("99+") still fits.
func faceFor(px int) face {
	candidates := []face{
		{&tiny, 1}, {&small, 1}, {&tiny, 2}, {&small, 2}, {&small, 3}, {&small, 4}, {&small, 6}, {&small, 8},
	}
	best := candidates[0]
	target := 0.36 * float64(px)
	for _, fc := range candidates[1:] {
		if float64(fc.height()) > target {
			break
		}
		if fc.width("99+")+2*padFor(fc) > px {
			break
		}
		best = fc
	}
	return best
}

// padFor is the badge's inner margin around the text for a face.
func padFor(fc face) int {
	return max(1, (fc.height()+2)/5)
}
