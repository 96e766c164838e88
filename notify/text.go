package notify

import (
	"strings"

	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// capText is the second line of defence for toast text (app cleans it
// first): safetext.Lines, the one rule for a notification body, which keeps
// line breaks and cuts s to at most max runes, ending in "…" when cut.
func capText(s string, max int) string { return safetext.Lines(s, max) }

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
