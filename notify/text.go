package notify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// capText is the second line of defence for toast text (app cleans it
// first): it makes s valid UTF-8, turns control characters other than '\n'
// into spaces, removes bidi overrides and isolates, trims, and cuts it to at
// most max runes, ending in "…" when cut.
func capText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(min(len(s), 4*max+4))
	n := 0
	for _, r := range strings.ReplaceAll(s, "\r\n", "\n") {
		switch {
		case r == '\n':
		case isBidiControl(r):
			continue
		case unicode.IsControl(r):
			r = ' '
		}
		b.WriteRune(r)
		n++
		if n > max { // enough to know it must be cut
			break
		}
	}
	out := strings.TrimSpace(b.String())
	if utf8.RuneCountInString(out) <= max {
		return out
	}
	runes := []rune(out)[:max-1]
	return strings.TrimRightFunc(string(runes), unicode.IsSpace) + "…"
}

// isBidiControl reports the explicit directional formatting characters
// (U+202A–U+202E, U+2066–U+2069) that can make text read differently from
// what it is.
func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// escapeMarkup escapes text for servers that announce "body-markup": the
// Desktop Notifications spec then treats the body as a small XML-like
// markup, so "a < b & c" would be lost or mangled.
func escapeMarkup(s string) string {
	return markupEscaper.Replace(s)
}

var markupEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// windowsSafe neutralises text for go-toast v1.1.2. go-toast puts title and
// body into <![CDATA[…]]> sections of the toast XML (tmpl/xml.go.tmpl), and
// when the WinRT COM call fails it pastes that XML into an *expandable*
// PowerShell here-string (@"…"@, tmpl/powershell.go.tmpl) and runs it. So:
//   - "]]>" would end the CDATA section and let mail text add XML elements;
//   - "$(…)" and "$name" would be evaluated by PowerShell;
//   - a line starting with `"@` would end the here-string, and the lines
//     after it would run as PowerShell code.
//
// It replaces line breaks with spaces, '$' and '`' with their fullwidth
// forms, and breaks up "]]>". Applied on Windows only.
func windowsSafe(s string) string {
	return windowsEscaper.Replace(s)
}

var windowsEscaper = strings.NewReplacer(
	"\r\n", " ", "\r", " ", "\n", " ",
	"$", "＄", "`", "｀",
	"]]>", "]]＞",
)
