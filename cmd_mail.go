package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pkg/browser"

	"github.com/exmail-notifier/exmail-notifier/api"
)

func cmdCount(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "count", `Usage: exmail-notifier count [ALIAS]

Prints the number of unread mails in the watched mailbox (EXMAIL_ALIAS or
the stored account), or in ALIAS, as a number alone on a line.

Example:
  exmail-notifier count
  exmail-notifier count alice@example.com
`)
	c, alias, err := mailboxCommand(ctx, e, f, args)
	if err != nil {
		return err
	}
	n, err := c.Mail.NewCount(ctx, alias)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, n)
	return err
}

// mailboxCommand parses the flags and the optional ALIAS of a command
// about one mailbox, and returns a client and the mailbox: ALIAS, else the
// watched one.
func mailboxCommand(ctx context.Context, e *env, f *flags, args []string) (*api.Client, string, error) {
	pos, err := f.parseAll(args)
	if err != nil {
		return nil, "", err
	}
	if len(pos) > 1 {
		return nil, "", f.usageErrorf("%s takes at most one mailbox address, got %d arguments", f.Name(), len(pos))
	}
	c, a, err := e.client(ctx)
	if err != nil {
		return nil, "", err
	}
	if len(pos) == 1 {
		a.Alias = pos[0]
	}
	return c, a.Alias, a.needAlias()
}

// openTimeout bounds the wait for the browser opener: pkg/browser waits
// for xdg-open, which may not return until the browser exits.
const openTimeout = 10 * time.Second

func cmdOpen(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "open", `Usage: exmail-notifier open [--print] [--mail-id ID] [ALIAS]

Opens the mailbox in the default web browser through single sign-on: it
fetches a fresh one-time auth key and opens the login URL built from it,
so no password is typed. ALIAS defaults to the watched mailbox.

The URL is a one-time credential for the mailbox. --print writes it to
stdout instead of opening it (for another browser or device); use it at
once and do not paste it where others can read it.

Example:
  exmail-notifier open
  exmail-notifier open --mail-id ZC4028-FPiX_oOG5HUh4XorwyhAY33
`)
	printOnly := f.Bool("print", false, "print the login URL instead of opening a browser")
	mailID := f.String("mail-id", "", "open this message (the MailId of a new-mail event)")
	c, alias, err := mailboxCommand(ctx, e, f, args)
	if err != nil {
		return err
	}
	u, err := c.Mail.LoginURL(ctx, alias, *mailID)
	if err != nil {
		return err
	}
	if *printOnly {
		// The one place a secret is printed on purpose: the user asked.
		_, err := fmt.Fprintln(e.stdout, u.Reveal())
		return err
	}
	h, err := startBrowser(ctx, e, u)
	if err != nil {
		return err
	}
	// The process must outlive the browser's visit to the one-time link.
	if err := h.Wait(ctx); err != nil {
		if errors.Is(err, errHandoffUnused) {
			return fmt.Errorf("%w (%s); run \"exmail-notifier open --print\" and open the URL yourself", err, handoffLifetime)
		}
		return err
	}
	return nil
}

// openBrowser opens url in the desktop's browser without putting it on
// the opener's command line: the opener gets a one-time loopback link that
// redirects to url (see handoff). It waits at most openTimeout for the
// opener (pkg/browser waits for xdg-open, which may not return until the
// browser exits) and returns; the link keeps working for handoffLifetime.
func openBrowser(ctx context.Context, e *env, url api.Secret) error {
	_, err := startBrowser(ctx, e, url)
	return err
}

// quietBrowser discards the opener's output (it may repeat the link).
// pkg/browser keeps it in package variables, so they are set once, not
// on every open, where two opens at once would race on them.
var quietBrowser = sync.OnceFunc(func() { browser.Stdout, browser.Stderr = io.Discard, io.Discard })

// startBrowser is openBrowser returning the handoff, so a caller that is
// about to exit can wait until the browser fetched the link.
func startBrowser(ctx context.Context, e *env, url api.Secret) (*handoff, error) {
	h, err := newHandoff(context.Background(), url, e.logger())
	if err != nil {
		return nil, fmt.Errorf("could not prepare the sign-in link: %w", err)
	}
	quietBrowser()
	done := make(chan error, 1)
	go func() { done <- browser.OpenURL(h.URL()) }()
	t := time.NewTimer(openTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			h.close()
			// err names the opener and its exit status, never the URL.
			return nil, fmt.Errorf("could not open a browser (%v); run \"exmail-notifier open --print\" and open the URL yourself", err)
		}
		return h, nil
	case <-t.C:
		e.logger().Debug("the browser opener has not returned; assuming the browser is open", "after", openTimeout)
		return h, nil
	case <-ctx.Done():
		h.close()
		return nil, errors.New("interrupted while opening the browser")
	}
}
