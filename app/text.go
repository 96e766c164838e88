package app

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// Length limits, in runes, for text that reaches the tray and toasts.
const (
	maxSender  = 60  // toast title
	maxSubject = 120 // first toast body line
	maxSummary = 240 // rest of the toast body
	maxRecentS = 30  // sender part of a recent-mail item
	maxRecentT = 60  // subject part of a recent-mail item
)

// sanitize makes untrusted text (mail subjects, senders, summaries) safe
// for a menu item, a toast and the macOS AppleScript fallback: it drops
// control runes (ESC, NUL, …), bidi overrides and invisible format runes,
// turns every kind of white space and line break (\r, \n, U+2028) into a
// space, collapses runs of white space, trims, and cuts the result to at
// most max runes, ending in "…" when cut. Invalid UTF-8 is dropped. It
// stops reading as soon as the limit is reached, so a megabyte of text
// costs no more than the runes it keeps. max must be ≥ 1.
func sanitize(s string, max int) string {
	if max < 1 {
		max = 1
	}
	var b strings.Builder
	n := 0         // runes written
	space := false // a space is pending before the next visible rune
	cut := false   // visible input remained beyond max runes
	for i, w := 0, 0; i < len(s); i += w {
		var r rune
		r, w = utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w <= 1:
			continue // invalid UTF-8
		case unicode.IsSpace(r): // includes \r \n \t NEL NBSP U+2028
			space = n > 0
			continue
		case invisible(r) || unicode.IsControl(r):
			continue
		}
		need := 1
		if space {
			need = 2
		}
		if n+need > max {
			cut = true
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	if !cut {
		return b.String()
	}
	// Make room for the ellipsis. The output never ends in a space: a
	// space is written only together with the rune after it.
	out := b.String()
	if n >= max {
		_, w := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-w]
	}
	return strings.TrimRight(out, " ") + "…"
}

// invisible reports runes that are dropped outright: bidi embeddings,
// overrides, isolates and marks, zero-width spaces, the word joiner family
// and the BOM. ZWJ and ZWNJ (U+200D, U+200C) stay: emoji sequences and some
// scripts need them.
func invisible(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, // LRE RLE PDF LRO RLO
		r >= 0x2066 && r <= 0x2069,            // LRI RLI FSI PDI
		r == 0x200E, r == 0x200F, r == 0x061C, // LRM RLM ALM
		r == 0x200B, r == 0xFEFF, // ZWSP, BOM
		r >= 0x2060 && r <= 0x2064, // word joiner, invisible operators
		r >= 0xFFF9 && r <= 0xFFFB: // interlinear annotation
		return true
	}
	return false
}

// parseSender splits the Sender display form `"Name" <addr>` into the
// display name and the address. It accepts `Name <addr>`, `<addr>`, a bare
// address and RFC 2047 encoded names; what it cannot parse it returns as
// the address. Neither result is sanitized.
func parseSender(s string) (name, addr string) {
	s = strings.TrimSpace(s)
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Name, a.Address
	}
	open := strings.LastIndexByte(s, '<')
	if open >= 0 {
		if end := strings.IndexByte(s[open:], '>'); end > 0 {
			addr = strings.TrimSpace(s[open+1 : open+end])
			name = strings.TrimSpace(s[:open])
			if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
				name = strings.ReplaceAll(name[1:len(name)-1], `\"`, `"`)
			}
			return strings.TrimSpace(name), addr
		}
	}
	return "", s
}

// senderLabel is the sender's display name, else its address, sanitized to
// at most max runes; "" when neither has visible text.
func senderLabel(s string, max int) string {
	name, addr := parseSender(s)
	if v := sanitize(name, max); v != "" {
		return v
	}
	return sanitize(addr, max)
}

// recentTitle is a recent-mail menu item: "sender — subject".
func recentTitle(m api.NewMail, l Lang) string {
	from := senderLabel(m.Sender, maxRecentS)
	if from == "" {
		from = l.t().noSender
	}
	subj := sanitize(m.Subject, maxRecentT)
	if subj == "" {
		subj = l.t().noSubject
	}
	return from + " — " + subj
}

// toastText is the title and body of the toast for one mail. With content
// hidden it is just "New mail" and the mailbox, so that nothing from the
// mail is shown on screen.
func toastText(m api.NewMail, showContent bool, alias string, l Lang) (title, body string) {
	c := l.t()
	if !showContent {
		return c.newMail, sanitize(alias, maxSender)
	}
	title = senderLabel(m.Sender, maxSender)
	if title == "" {
		title = c.noSender
	}
	body = sanitize(m.Subject, maxSubject)
	if body == "" {
		body = c.noSubject
	}
	if sum := sanitize(m.Summary, maxSummary); sum != "" {
		body += "\n" + sum
	}
	return title, body
}
