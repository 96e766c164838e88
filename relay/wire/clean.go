package wire

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean makes untrusted text (mail subjects, senders, summaries, device
// names) safe to store, print and show, the way the CLI cleans what it
// prints: invalid UTF-8 is dropped; tabs and line breaks become spaces;
// other control runes, bidi controls (overrides, embeddings, isolates,
// marks) and zero-width spaces and BOMs are dropped; the result is trimmed
// and cut to at most max runes (max ≤ 0: no limit). ZWJ and ZWNJ stay.
func Clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for i, w := 0, 0; i < len(s); i += w {
		var r rune
		r, w = utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w <= 1:
			continue
		case r == '\t' || r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029:
			r = ' '
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == 0x200B, r == 0xFEFF,
			r >= 0x2060 && r <= 0x2064, r >= 0xFFF9 && r <= 0xFFFB:
			continue
		}
		if max > 0 && n >= max {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
