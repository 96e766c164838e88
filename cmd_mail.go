package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/internal/handoff"
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
	return c, a.Alias, a.NeedAlias()
}

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
	h, err := handoff.Open(ctx, u, e.logger())
	if err != nil {
		return err
	}
	// The process must outlive the browser's visit to the one-time link.
	if err := h.Wait(ctx); err != nil {
		if errors.Is(err, handoff.ErrUnused) {
			return fmt.Errorf("%w (%s); run \"exmail-notifier open --print\" and open the URL yourself", err, handoff.Lifetime)
		}
		return err
	}
	return nil
}
