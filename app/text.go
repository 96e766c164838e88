package app

import (
	"net/mail"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// Length limits, in runes, for text that reaches the tray and toasts.
const (
	maxSender  = 60  // toast title
	maxSubject = 120 // first toast body line
	maxSummary = 240 // rest of the toast body
)

// sanitize is safetext.Line, the one rule for one line of untrusted text
// (mail subjects, senders, summaries), named for this package's many
// callers. max must be ≥ 1.
func sanitize(s string, max int) string { return safetext.Line(s, max) }

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
