// Package safetext is the one rule for untrusted text: whatever a server or
// a mail supplies (subjects, senders, summaries, member names, error names
// and messages) before it reaches a person, in a menu, a notification, a
// terminal line, a table cell or a JSON line.
//
// The rule: text is valid UTF-8; it holds no control characters (C0 such as
// NUL and ESC, DEL, and C1 such as U+009B, a one-character CSI), so no
// terminal escape sequence survives; no bidi embeddings, overrides, isolates
// or marks, which make text read differently from what it is; and no
// invisible format characters (zero-width space, word joiner, BOM, …). ZWJ
// and ZWNJ stay: emoji sequences and some scripts need them. Each use below
// applies that rule and says what it does with white space and length.
package safetext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Hidden reports whether r is one of the characters the rule removes:
// controls (C0, DEL, C1; also the line breaks, which each use turns into
// white space or keeps as it says) and every invisible format character
// (Unicode category Cf: bidi embeddings, overrides, isolates and marks,
// zero-width space, word joiner, BOM, soft hyphen, the tag characters used
// to smuggle hidden ASCII, …) except ZWJ and ZWNJ, which emoji sequences
// and some scripts need; and the Hangul fillers, which draw as nothing.
func Hidden(r rune) bool {
	switch {
	case unicode.IsControl(r): // C0, DEL, C1
		return true
	case r == 0x200C, r == 0x200D: // ZWNJ, ZWJ
		return false
	case unicode.Is(unicode.Cf, r):
		return true
	case r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0: // Hangul fillers
		return true
	}
	return false
}

// Line is the rule for one line of text: a menu item, a notification
// title, a terminal line (an error message on stderr, a name printed by
// login). It removes what Hidden reports and invalid UTF-8, turns every
// kind of white space and line break (\t, \r, \n, NEL, U+2028, NBSP, the
// ideographic space) into a space, collapses runs of white space, trims,
// and cuts the result to at most max runes, ending in "…" when cut
// (max ≤ 0: no limit). It stops reading once the limit is reached, so a
// megabyte of input costs no more than the runes it keeps.
func Line(s string, max int) string {
	return clean(s, max, false, false)
}

// Lines is the rule for a notification body: Line for each line of s,
// keeping the line breaks (\n, \r\n, \r, U+2028, U+2029) between non-empty
// lines as '\n'. max counts the kept runes, line breaks included.
func Lines(s string, max int) string {
	return clean(s, max, true, false)
}

// Cell is the rule for a table cell in the admin CLI: Line without a
// length limit, except that each removed control, format character or
// invalid byte shows as U+FFFD (�), so that an administrator sees that the
// server sent something hidden. White space other than a plain space is a
// space, and runs of it are kept (column alignment is the table's job).
func Cell(s string) string {
	return clean(s, 0, false, true)
}

// clean applies the rule. newlines keeps line breaks (Lines); mark shows
// each removed character as U+FFFD and keeps white space as it is (Cell).
func clean(s string, max int, newlines, mark bool) string {
	var b strings.Builder
	n := 0         // runes written
	space := false // a space is pending before the next visible rune
	brk := false   // a line break is pending (newlines only)
	cut := false   // visible input remained beyond max runes
	emit := func(r rune) bool {
		need := 1
		sep := rune(0)
		switch {
		case brk:
			sep = '\n'
		case space:
			sep = ' '
		}
		if sep != 0 {
			need++
		}
		if max > 0 && n+need > max {
			cut = true
			return false
		}
		if sep != 0 {
			b.WriteRune(sep)
			n++
		}
		space, brk = false, false
		b.WriteRune(r)
		n++
		return true
	}
	for i, w := 0, 0; i < len(s); i += w {
		var r rune
		r, w = utf8.DecodeRuneInString(s[i:])
		invalid := r == utf8.RuneError && w <= 1
		switch {
		case mark && (r == ' ' || (unicode.IsSpace(r) && !invalid)):
			r = ' '
		case mark && (invalid || Hidden(r)):
			r = utf8.RuneError
		case invalid:
			continue
		case newlines && isBreak(r, s[i+w:]):
			brk = n > 0
			continue
		case unicode.IsSpace(r): // includes \t NEL NBSP U+3000
			space = n > 0
			continue
		case Hidden(r):
			continue
		}
		if !emit(r) {
			break
		}
	}
	if !cut {
		return b.String()
	}
	// Make room for the ellipsis. The output never ends in white space: a
	// separator is written only together with the rune after it.
	out := b.String()
	if n >= max {
		_, w := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-w]
	}
	return strings.TrimRight(out, " \n") + "…"
}

// isBreak reports whether r ends a line. A '\r' followed by '\n' is not a
// break of its own: the '\n' is.
func isBreak(r rune, rest string) bool {
	switch r {
	case '\n', 0x2028, 0x2029:
		return true
	case '\r':
		return !strings.HasPrefix(rest, "\n")
	}
	return false
}
