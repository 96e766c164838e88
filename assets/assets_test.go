package assets

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	return img
}

func TestBadgeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		unread int
		want   string
	}{
		{-1, ""}, // unknown
		{0, ""},
		{1, "1"},
		{9, "9"},
		{10, "10"},
		{99, "99"},
		{100, "99+"},
		{12345, "99+"},
	}
	for _, tt := range tests {
		if got := BadgeText(tt.unread); got != tt.want {
			t.Errorf("BadgeText(%d) = %q, want %q", tt.unread, got, tt.want)
		}
	}
}

func TestLookString(t *testing.T) {
	t.Parallel()
	var got []string
	for _, l := range Looks() {
		got = append(got, l.String())
	}
	got = append(got, Look(42).String())
	want := []string{"setup", "connecting", "online", "offline", "attention", "Look(42)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Look names (-want +got):\n%s", diff)
	}
}

func TestTrayPNGSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{16, 20, 22, 24, 32, 48, 64} {
		for _, l := range Looks() {
			img := decodePNG(t, TrayPNG(l, 7, size))
			if got := img.Bounds().Size(); got != image.Pt(size, size) {
				t.Errorf("TrayPNG(%v, 7, %d) is %v", l, size, got)
			}
		}
	}
}

func TestAppIconPNGSize(t *testing.T) {
	t.Parallel()
	tests := []struct{ ask, want int }{
		{16, 16}, {22, 22}, {48, 48}, {256, 256}, {512, 512},
		{8, 16},     // clamped up
		{4096, 512}, // clamped down
	}
	for _, tt := range tests {
		img := decodePNG(t, AppIconPNG(tt.ask))
		if got := img.Bounds().Size(); got != image.Pt(tt.want, tt.want) {
			t.Errorf("AppIconPNG(%d) is %v, want %d×%[3]d", tt.ask, got, tt.want)
		}
	}
}

// TestBadgeDigitsAreCrisp reads the badge back pixel by pixel: every lit
// pixel of every glyph must be pure white and every unlit pixel inside the
// text must be badge red (or, where the pill rounds off, dark enough to read
// as background). That is what keeps the count readable at 16 px.
func TestBadgeDigitsAreCrisp(t *testing.T) {
	t.Parallel()
	white := color.NRGBA{255, 255, 255, 255}
	red := color.NRGBAModel.Convert(color.NRGBA{to8(badgeRed.r), to8(badgeRed.g), to8(badgeRed.b), 255})
	for _, size := range []int{16, 20, 22, 24, 32, 40, 48} {
		for _, text := range []string{"1", "3", "4", "12", "38", "99", "99+"} {
			img := decodePNG(t, TrayPNG(LookOnline, unreadFor(text), size)).(*image.NRGBA)
			b, fc := badgeLayout(size, text)
			x0 := b.x + (b.w-fc.width(text))/2
			y0 := b.y + (b.h-fc.height())/2
			bad := 0
			for i, r := range text {
				gx0 := x0 + i*(fc.f.w+1)*fc.scale
				for py := range fc.height() {
					for px := range fc.f.w * fc.scale {
						want := red
						if fc.lit(r, px/fc.scale, py/fc.scale) {
							want = white
						}
						got := img.NRGBAAt(gx0+px, y0+py)
						if got != want && (want == white || got.G > 96) {
							bad++
						}
					}
				}
			}
			if bad > 0 {
				t.Errorf("size %d, text %q: %d glyph pixels are neither crisp white nor badge red", size, text, bad)
			}
		}
	}
}

func unreadFor(text string) int {
	if text == "99+" {
		return 100
	}
	var n int
	fmt.Sscan(text, &n)
	return n
}

func TestBadgeChangesWithCount(t *testing.T) {
	t.Parallel()
	for _, size := range []int{16, 32} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			three := TrayPNG(LookOnline, 3, size)
			four := TrayPNG(LookOnline, 4, size)
			if bytes.Equal(three, four) {
				t.Errorf("3 and 4 unread draw the same %d px icon", size)
			}
			// Only the badge differs between 3 and 4.
			b, _ := badgeLayout(size, "3")
			if n := differingOutside(t, three, four, image.Rect(b.x, b.y, b.x+b.w, b.y+b.h)); n > 0 {
				t.Errorf("3 vs 4: %d pixels outside the badge differ", n)
			}
			none := TrayPNG(LookOnline, 0, size)
			if !bytes.Equal(none, TrayPNG(LookOnline, -1, size)) {
				t.Error("0 and unknown (-1) unread should both draw no badge")
			}
			if bytes.Equal(none, TrayPNG(LookOnline, 1, size)) {
				t.Error("1 unread draws no badge")
			}
			if !bytes.Equal(TrayPNG(LookOnline, 100, size), TrayPNG(LookOnline, 5000, size)) {
				t.Error("100 and 5000 should both read 99+")
			}
		})
	}
}

// differingOutside counts pixels that differ between two PNGs outside r.
func differingOutside(t *testing.T, a, b []byte, r image.Rectangle) int {
	t.Helper()
	ia, ib := decodePNG(t, a), decodePNG(t, b)
	n := 0
	for y := ia.Bounds().Min.Y; y < ia.Bounds().Max.Y; y++ {
		for x := ia.Bounds().Min.X; x < ia.Bounds().Max.X; x++ {
			if image.Pt(x, y).In(r) {
				continue
			}
			if ia.At(x, y) != ib.At(x, y) {
				n++
			}
		}
	}
	return n
}

func TestLooksDiffer(t *testing.T) {
	t.Parallel()
	for _, size := range []int{16, 22, 32} {
		for _, unread := range []int{0, 5} {
			seen := map[string]Look{}
			for _, l := range Looks() {
				key := string(TrayPNG(l, unread, size))
				if prev, dup := seen[key]; dup {
					t.Errorf("%d px, %d unread: %v and %v look the same", size, unread, prev, l)
				}
				seen[key] = l
			}
		}
	}
}

func TestTrayIsCachedPerBadgeText(t *testing.T) {
	t.Parallel()
	a := Tray(LookOnline, 150)
	a[0] ^= 0xff // the caller owns its copy
	if b := Tray(LookOnline, 150); b[0] == a[0] {
		t.Error("modifying a returned icon changed the cache")
	}
	if !bytes.Equal(Tray(LookOffline, 150), Tray(LookOffline, 999)) {
		t.Error("150 and 999 unread (both 99+) give different icons")
	}
	if bytes.Equal(Tray(LookOffline, 3), Tray(LookOffline, 4)) {
		t.Error("3 and 4 unread give the same tray icon")
	}
}

// icoEntry is one parsed ICONDIRENTRY.
type icoEntry struct {
	W, H, Bits   int
	Size, Offset int
}

// parseICO checks an ICO header and returns its directory.
func parseICO(t *testing.T, b []byte) []icoEntry {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < 6 || le.Uint16(b[0:]) != 0 || le.Uint16(b[2:]) != 1 {
		t.Fatalf("not an ICO header: % x", b[:min(6, len(b))])
	}
	n := int(le.Uint16(b[4:]))
	var out []icoEntry
	for i := range n {
		e := b[6+16*i:]
		w, h := int(e[0]), int(e[1])
		if w == 0 {
			w = 256
		}
		if h == 0 {
			h = 256
		}
		ent := icoEntry{W: w, H: h, Bits: int(le.Uint16(e[6:])), Size: int(le.Uint32(e[8:])), Offset: int(le.Uint32(e[12:]))}
		if ent.Offset+ent.Size > len(b) {
			t.Fatalf("entry %d (%d px) runs past the end: %d+%d > %d", i, w, ent.Offset, ent.Size, len(b))
		}
		out = append(out, ent)
	}
	return out
}

// decodeICOEntry decodes a 32-bit DIB or PNG entry.
func decodeICOEntry(t *testing.T, data []byte) image.Image {
	t.Helper()
	if bytes.HasPrefix(data, []byte("\x89PNG")) {
		return decodePNG(t, data)
	}
	le := binary.LittleEndian
	w, h2 := int(le.Uint32(data[4:])), int(le.Uint32(data[8:]))
	if le.Uint32(data) != 40 || le.Uint16(data[14:]) != 32 || h2%2 != 0 {
		t.Fatalf("unexpected DIB header % x", data[:16])
	}
	h := h2 / 2
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	px := data[40:]
	for row := range h {
		for x := range w {
			p := px[4*(row*w+x):]
			img.SetNRGBA(x, h-1-row, color.NRGBA{p[2], p[1], p[0], p[3]})
		}
	}
	maskStride := (w + 31) / 32 * 4
	if got, want := len(px), 4*w*h+maskStride*h; got != want {
		t.Fatalf("DIB data is %d bytes, want %d", got, want)
	}
	return img
}

func TestEncodeICO(t *testing.T) {
	t.Parallel()
	sizes := []int{16, 24, 32, 48, 256}
	var imgs []image.Image
	for _, s := range sizes {
		imgs = append(imgs, render(spec{look: LookAttention, text: "42", size: s}))
	}
	ico := encodeICO(imgs)
	entries := parseICO(t, ico)
	var got []int
	for i, e := range entries {
		got = append(got, e.W)
		if e.W != e.H || e.Bits != 32 {
			t.Errorf("entry %d: %d×%d, %d bpp", i, e.W, e.H, e.Bits)
		}
		dec := decodeICOEntry(t, ico[e.Offset:e.Offset+e.Size])
		want := imgs[i].(*image.NRGBA)
		if n := differingOutside(t, encodePNG(dec), encodePNG(want), image.Rectangle{}); n > 0 {
			t.Errorf("entry %d (%d px): %d pixels differ from the rendered image", i, e.W, n)
		}
	}
	if diff := cmp.Diff(sizes, got); diff != "" {
		t.Errorf("ICO entry sizes (-want +got):\n%s", diff)
	}
}

func TestAppIconICO(t *testing.T) {
	t.Parallel()
	var got []int
	for _, e := range parseICO(t, AppIconICO()) {
		got = append(got, e.W)
	}
	if diff := cmp.Diff([]int{16, 20, 24, 32, 40, 48, 64, 256}, got); diff != "" {
		t.Errorf("app ICO sizes (-want +got):\n%s", diff)
	}
}

func TestAppIconICNS(t *testing.T) {
	t.Parallel()
	b := AppIconICNS()
	if string(b[:4]) != "icns" || int(binary.BigEndian.Uint32(b[4:])) != len(b) {
		t.Fatalf("bad icns header % x (len %d)", b[:8], len(b))
	}
	var got []string
	for off := 8; off < len(b); {
		typ, n := string(b[off:off+4]), int(binary.BigEndian.Uint32(b[off+4:]))
		img := decodePNG(t, b[off+8:off+n])
		got = append(got, fmt.Sprintf("%s:%d", typ, img.Bounds().Dx()))
		off += n
	}
	want := []string{"icp4:16", "icp5:32", "ic11:32", "ic12:64", "ic07:128", "ic08:256", "ic13:256", "ic09:512", "ic14:512"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("icns entries (-want +got):\n%s", diff)
	}
}

func TestAppIconSVG(t *testing.T) {
	t.Parallel()
	var doc struct {
		XMLName xml.Name
		ViewBox string `xml:"viewBox,attr"`
		Rects   []struct {
			Fill string `xml:"fill,attr"`
		} `xml:"rect"`
	}
	if err := xml.Unmarshal(AppIconSVG(), &doc); err != nil {
		t.Fatalf("SVG does not parse: %v", err)
	}
	got := fmt.Sprintf("%s %s %d", doc.XMLName.Local, doc.ViewBox, len(doc.Rects))
	if want := "svg 0 0 256 256 2"; got != want {
		t.Errorf("SVG root = %q, want %q", got, want)
	}
}
