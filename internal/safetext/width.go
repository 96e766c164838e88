package safetext

import (
	"strings"
	"unicode"
)

// Width is the number of columns s takes on screen, as terminals and menus
// lay it out: 2 for East Asian wide and fullwidth runes (CJK, kana,
// Hangul, fullwidth forms, most emoji), 0 for combining marks and
// zero-width runes, 1 otherwise. Apply a cleaning rule first: Width does
// not judge what it measures.
func Width(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// Fit shortens s to at most w display columns (w ≥ 1), ending in "…"
// (one column) when cut; s itself when it fits.
func Fit(s string, w int) string {
	if Width(s) <= w {
		return s
	}
	w = max(w, 1)
	var b strings.Builder
	n := 0
	for _, r := range s {
		rw := runeWidth(r)
		if n+rw > w-1 {
			break
		}
		b.WriteRune(r)
		n += rw
	}
	return strings.TrimRight(b.String(), " ") + "…"
}

func runeWidth(r rune) int {
	switch {
	case r == 0x200D || r == 0x200C || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || Hidden(r):
		return 0
	case wide(r):
		return 2
	}
	return 1
}

// wide reports East Asian wide and fullwidth runes, and the emoji blocks.
func wide(r rune) bool {
	return (r >= 0x1100 && r <= 0x115F) || // Hangul Jamo
		(r >= 0x2E80 && r <= 0x303E) || // CJK radicals … CJK symbols and punctuation
		(r >= 0x3041 && r <= 0x33FF) || // kana … CJK compatibility
		(r >= 0x3400 && r <= 0x4DBF) || // CJK extension A
		(r >= 0x4E00 && r <= 0x9FFF) || // CJK unified ideographs
		(r >= 0xA000 && r <= 0xA4CF) || // Yi
		(r >= 0xAC00 && r <= 0xD7A3) || // Hangul syllables
		(r >= 0xF900 && r <= 0xFAFF) || // CJK compatibility ideographs
		(r >= 0xFE30 && r <= 0xFE4F) || // CJK compatibility forms
		(r >= 0xFF00 && r <= 0xFF60) || // fullwidth forms
		(r >= 0xFFE0 && r <= 0xFFE6) ||
		(r >= 0x1F300 && r <= 0x1F64F) || // pictographs, emoticons
		(r >= 0x1F900 && r <= 0x1F9FF) || // supplemental symbols and pictographs
		(r >= 0x20000 && r <= 0x3FFFD) // CJK extensions B…
}
