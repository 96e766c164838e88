//go:build !linux

package handoff

import (
	"io"
	"sync"

	"github.com/pkg/browser"
)

// quietBrowser discards the opener's output (it may repeat the link).
// pkg/browser keeps it in package variables, so they are set once, not
// on every open, where two opens at once would race on them.
var quietBrowser = sync.OnceFunc(func() { browser.Stdout, browser.Stderr = io.Discard, io.Discard })

// startOpener opens url with github.com/pkg/browser (open on macOS, the
// URL handler on Windows, xdg-open on the BSDs) and waits for the opener.
// Its opener inherits this process's whole environment: pkg/browser has no
// way to set it. The error names the opener and its exit status, never url.
func startOpener(url string) error {
	quietBrowser()
	return browser.OpenURL(url)
}
