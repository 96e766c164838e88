package handoff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pkg/browser"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// OpenerTimeout bounds the wait for the desktop's URL opener: pkg/browser
// waits for xdg-open, which may not return until the browser exits.
const OpenerTimeout = 10 * time.Second

// quietBrowser discards the opener's output (it may repeat the link).
// pkg/browser keeps it in package variables, so they are set once, not
// on every open, where two opens at once would race on them.
var quietBrowser = sync.OnceFunc(func() { browser.Stdout, browser.Stderr = io.Discard, io.Discard })

// Open opens url in the desktop's browser without putting it on the
// opener's command line: the opener gets a one-time loopback Link that
// redirects to url. It waits at most OpenerTimeout for the opener and
// returns the Link, which keeps working for Lifetime; a caller that is
// about to exit can Wait on it until the browser fetched it.
//
// Errors never contain url.
func Open(ctx context.Context, url api.Secret, log *slog.Logger) (*Link, error) {
	h, err := New(context.Background(), url, log)
	if err != nil {
		return nil, fmt.Errorf("could not prepare the sign-in link: %w", err)
	}
	quietBrowser()
	done := make(chan error, 1)
	go func() { done <- browser.OpenURL(h.URL()) }()
	t := time.NewTimer(OpenerTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			h.Close()
			// err names the opener and its exit status, never the URL.
			return nil, fmt.Errorf("could not open a browser (%v); run \"exmail-notifier open --print\" and open the URL yourself", err)
		}
		return h, nil
	case <-t.C:
		log.Debug("the browser opener has not returned; assuming the browser is open", "after", OpenerTimeout)
		return h, nil
	case <-ctx.Done():
		h.Close()
		return nil, errors.New("interrupted while opening the browser")
	}
}
