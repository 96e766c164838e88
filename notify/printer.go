package notify

import (
	"fmt"
	"io"
	"sync"
)

// Printer is a toaster for headless runs (a demo without a desktop): it
// writes one "[toast] title — body" line per toast to w. It is safe for
// concurrent use. Write errors are ignored, as a lost demo line is not worth
// stopping for.
type Printer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewPrinter returns a Printer that writes to w.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w} }

// Toast writes the toast as one line. Line breaks in the text become spaces
// and the text is capped like Notifier.Toast caps it; key is not printed.
func (p *Printer) Toast(title, body, key string) {
	title = oneLine(capText(title, maxTitle))
	body = oneLine(capText(body, maxBody))
	p.mu.Lock()
	defer p.mu.Unlock()
	if body == "" {
		_, _ = fmt.Fprintf(p.w, "[toast] %s\n", title)
		return
	}
	_, _ = fmt.Fprintf(p.w, "[toast] %s — %s\n", title, body)
}

func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}
