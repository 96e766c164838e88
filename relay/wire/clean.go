package wire

import "github.com/exmail-notifier/exmail-notifier/internal/safetext"

// Clean makes untrusted text (mail subjects, senders, summaries, device
// names) safe to store, print and show, with the project's one rule for
// untrusted text (internal/safetext.Line, as the desktop CLI and tray use):
// invalid UTF-8, control characters, bidi controls and invisible format
// characters are removed, white space and line breaks become single
// spaces, the result is trimmed and cut to at most max runes (ending in
// "…" when cut; max ≤ 0: no limit).
func Clean(s string, max int) string { return safetext.Line(s, max) }
