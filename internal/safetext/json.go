package safetext

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON is the rule for a JSON document printed for scripts (watch, --json):
// nothing is removed, since a script may need the exact value, but every
// character Hidden reports that encoding/json leaves raw (DEL, C1, the bidi
// and invisible format characters) is written as a \uXXXX escape, so that
// printing the line on a terminal cannot drive it or make it read
// differently. encoding/json already escapes C0 controls; such a character
// can only stand inside a JSON string, where the escape means the same
// character.
func JSON(doc []byte) []byte {
	if !needsEscape(doc) {
		return doc
	}
	var b strings.Builder
	b.Grow(len(doc) + 16)
	for i, w := 0, 0; i < len(doc); i += w {
		var r rune
		r, w = utf8.DecodeRune(doc[i:])
		if r >= 0x7F && Hidden(r) && !(r == utf8.RuneError && w <= 1) {
			if r > 0xFFFF { // a tag character: JSON escapes it as a surrogate pair
				hi, lo := utf16.EncodeRune(r)
				b.WriteString(`\u` + hex4(hi) + `\u` + hex4(lo))
				continue
			}
			b.WriteString(`\u`)
			b.WriteString(hex4(r))
			continue
		}
		b.Write(doc[i : i+w])
	}
	return []byte(b.String())
}

func needsEscape(doc []byte) bool {
	for i, w := 0, 0; i < len(doc); i += w {
		var r rune
		r, w = utf8.DecodeRune(doc[i:])
		if r >= 0x7F && Hidden(r) && !(r == utf8.RuneError && w <= 1) {
			return true
		}
	}
	return false
}

// hex4 formats r (a BMP rune, or half of a surrogate pair) as four
// lower-case hex digits.
func hex4(r rune) string {
	s := strconv.FormatInt(int64(r), 16)
	return strings.Repeat("0", 4-len(s)) + s
}
