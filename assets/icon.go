package assets

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"sync"
)

// Colours. The blue is close to Tencent's brand blue (#0052D9).
var (
	blueTop    = hex(0x3D8BFF)
	blueBottom = hex(0x0052D9)
	badgeRed   = hex(0xE5252A)
	alertAmber = hex(0xFF8A00)
	gearSlate  = hex(0x37474F)
	white      = hex(0xFFFFFF)
)

// palette is what a look changes in the base drawing.
type palette struct {
	top, bottom rgba // background gradient
	envelope    rgba // envelope body
	flap        rgba // the flap's V stroke
}

func paletteFor(l Look) palette {
	switch l {
	case LookConnecting:
		return palette{hex(0xA9B9CF), hex(0x7D91AE), hex(0xF1F4F8), hex(0x8396B2)}
	case LookOffline:
		return palette{hex(0xAEB2B7), hex(0x80868C), hex(0xE4E6E9), hex(0x8A9096)}
	default:
		return palette{blueTop, blueBottom, white, mix(blueTop, blueBottom, 0.6)}
	}
}

// spec says what to draw.
type spec struct {
	look   Look
	text   string // unread badge text; "" = none
	size   int
	margin bool // app icons keep a transparent margin; tray icons use every pixel
}

// box is a whole-pixel rectangle.
type box struct{ x, y, w, h int }

// badgeLayout places the unread badge for text at the upper right of a
// size px icon, and returns the face its digits use.
func badgeLayout(size int, text string) (box, face) {
	fc := faceFor(size)
	pad := padFor(fc)
	h := fc.height() + 2*pad
	tw := fc.width(text)
	w := max(h, tw+2*pad)
	if (w-tw)%2 != 0 { // keep the text on whole pixels, centred
		w++
	}
	return box{x: size - w, y: 0, w: w, h: h}, fc
}

// statusLayout places the round status badge (attention, setup) at the lower right.
func statusLayout(size int) (box, face) {
	fc := faceFor(size)
	d := fc.height() + 2*padFor(fc)
	return box{x: size - d, y: size - d, w: d, h: d}, fc
}

// ringWidth is the transparent gap cut around badges so they stand apart
// from the envelope; none at the smallest sizes, where every pixel counts.
func ringWidth(size int) float64 {
	if size < 22 {
		return 0
	}
	return math.Max(1, math.Round(float64(size)/24))
}

func render(s spec) *image.NRGBA {
	S := float64(s.size)
	c := newCanvas(s.size, s.size)
	pal := paletteFor(s.look)

	m := 0.0
	if s.margin && s.size >= 32 {
		m = math.Floor(S / 16)
	}
	inner := S - 2*m

	// Background: rounded square with a vertical gradient.
	bg := roundRect(m, m, S-m, S-m, 0.22*inner)
	c.fill(bg, func(_, y float64) rgba { return mix(pal.top, pal.bottom, (y-m)/inner) })

	// Envelope on whole pixels.
	ex0 := m + math.Round(0.16*inner)
	ex1 := S - (ex0 - m) - m
	ey0 := m + math.Round(0.26*inner)
	ey1 := m + math.Round(0.74*inner)
	env := roundRect(ex0, ey0, ex1, ey1, math.Max(0.5, 0.04*inner))
	c.fillColor(env, pal.envelope)
	half := math.Max(0.55, 0.032*inner)
	cx, fy := (ex0+ex1)/2, ey0+0.56*(ey1-ey0)
	flap := union(capsule(ex0, ey0, cx, fy, half), capsule(cx, fy, ex1, ey0, half))
	c.fillColor(clip(flap, env), pal.flap)

	if s.look == LookOffline {
		// A slash across the envelope, with a gap in the background colour.
		sx0, sy0 := ex0-0.02*inner, ey0-0.12*inner
		sx1, sy1 := ex1+0.02*inner, ey1+0.12*inner
		w := math.Max(0.5, 0.03*inner)
		slash := capsule(sx0, sy0, sx1, sy1, w)
		c.fill(grow(slash, math.Max(0.6, 0.035*inner)), func(_, y float64) rgba {
			return mix(pal.top, pal.bottom, (y-m)/inner)
		})
		c.fillColor(clip(slash, bg), hex(0x30353A))
	}

	ring := ringWidth(s.size)
	if s.look == LookAttention || s.look == LookSetup {
		b, fc := statusLayout(s.size)
		r := float64(b.w) / 2
		bx, by := float64(b.x)+r, float64(b.y)+r
		if ring > 0 {
			c.erase(circle(bx, by, r+ring))
		}
		if s.look == LookAttention {
			c.fillColor(circle(bx, by, r), alertAmber)
			gw := fc.f.w * fc.scale
			fc.draw(c, "!", b.x+(b.w-gw)/2, b.y+(b.h-fc.height())/2, white)
		} else {
			c.fillColor(circle(bx, by, r), gearSlate)
			if s.size < 24 {
				// Too small for a drawn cog: a 5×5 pixel one stays sharp.
				drawBitmap(c, gearPixels, b.x+(b.w-5)/2, b.y+(b.h-5)/2, white)
			} else {
				c.fillColor(gear(bx, by, r*0.78), white)
			}
		}
	}

	if s.text != "" {
		b, fc := badgeLayout(s.size, s.text)
		pill := roundRect(float64(b.x), float64(b.y), float64(b.x+b.w), float64(b.y+b.h), float64(b.h)/2)
		if ring > 0 {
			c.erase(grow(pill, ring))
		}
		c.fillColor(pill, badgeRed)
		fc.draw(c, s.text, b.x+(b.w-fc.width(s.text))/2, b.y+(b.h-fc.height())/2, white)
	}
	return c.image()
}

// gearPixels is the setup cog for icons below 24 px.
var gearPixels = []string{
	".#.#.",
	"#####",
	"##.##",
	"#####",
	".#.#.",
}

// drawBitmap paints the '#' pixels of rows with their top-left at (x, y).
func drawBitmap(c *canvas, rows []string, x, y int, col rgba) {
	for gy, row := range rows {
		for gx, ch := range row {
			if ch == '#' {
				c.blend(x+gx, y+gy, col, 1)
			}
		}
	}
}

// gear is a six-toothed cog of outer radius r around (cx, cy).
func gear(cx, cy, r float64) sdf {
	body := circle(cx, cy, r*0.68)
	teeth := []sdf{body}
	tooth := math.Max(0.5, r*0.16)
	for i := range 6 {
		a := float64(i) * math.Pi / 3
		teeth = append(teeth, capsule(cx, cy, cx+math.Cos(a)*(r-tooth), cy+math.Sin(a)*(r-tooth), tooth))
	}
	return subtract(union(teeth...), circle(cx, cy, r*0.3))
}

func encodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression, BufferPool: &pngBuffers}
	if err := enc.Encode(&buf, img); err != nil {
		// Encoding an in-memory NRGBA into a bytes.Buffer cannot fail.
		panic("assets: png: " + err.Error())
	}
	return buf.Bytes()
}

// pngBuffers keeps the PNG encoder's buffers (its zlib writer among them)
// between icons: a tray that counts up and down encodes a new badge now and
// then, and each fresh encoder would otherwise be a megabyte of garbage.
var pngBuffers pngPool

type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	if b, ok := p.p.Get().(*png.EncoderBuffer); ok {
		return b
	}
	return nil
}

func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

// Size limits for the icons.
const (
	MinSize = 16
	MaxSize = 512
)

func clampSize(size int) int { return min(MaxSize, max(MinSize, size)) }

// TrayPNG renders the tray icon for look and unread count (unread <= 0: no
// badge) as a size×size PNG. size is clamped to MinSize..MaxSize.
func TrayPNG(look Look, unread int, size int) []byte {
	return encodePNG(render(spec{look: look, text: BadgeText(unread), size: clampSize(size)}))
}

// AppIconPNG renders the application icon, the online envelope without a
// badge, as a size×size PNG. size is clamped to MinSize..MaxSize. From 32 px
// up the icon keeps a transparent margin of 1/16 of its size.
func AppIconPNG(size int) []byte {
	return encodePNG(render(spec{look: LookOnline, size: clampSize(size), margin: true}))
}

// trayCache holds encoded tray icons per (look, badge text): a tray that
// counts up and down re-uses the few icons it has shown.
var trayCache sync.Map // trayKey → []byte

type trayKey struct {
	look Look
	text string
}

// Tray returns the tray icon for look and unread count (unread < 0 means
// unknown and, like 0, shows no badge), in the format fyne.io/systray wants
// on this platform: see trayFormat in icon_windows.go and icon_other.go.
// Results are cached per (look, badge text); the caller gets its own copy.
func Tray(look Look, unread int) []byte {
	key := trayKey{look, BadgeText(unread)}
	if b, ok := trayCache.Load(key); ok {
		return bytes.Clone(b.([]byte))
	}
	b := trayBytes(look, key.text)
	trayCache.Store(key, b)
	return bytes.Clone(b)
}
