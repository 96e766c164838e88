package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	m, alias, err := mailboxCommand(ctx, e, f, args)
	if err != nil {
		return err
	}
	n, err := m.NewCount(ctx, alias)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, n)
	return err
}

// mailbox is what count and open need of the account's way to the mail:
// api.MailService in direct mode, the relay's client in relay mode,
// corpapi.MailService on Tencent's current API.
type mailbox interface {
	NewCount(ctx context.Context, alias string) (int, error)
	LoginURL(ctx context.Context, alias, mailID string) (api.Secret, error)
}

// mailboxCommand parses the flags and the optional ALIAS of a command
// about one mailbox, and returns the way to it and the mailbox: ALIAS,
// else the watched one. In relay mode ALIAS may only be the device's own
// mailbox: the relay serves no other.
func mailboxCommand(ctx context.Context, e *env, f *flags, args []string) (mailbox, string, error) {
	pos, err := f.parseAll(args)
	if err != nil {
		return nil, "", err
	}
	if len(pos) > 1 {
		return nil, "", f.usageErrorf("%s takes at most one mailbox address, got %d arguments", f.Name(), len(pos))
	}
	a, err := e.accounts().Resolve(ctx)
	if err != nil {
		return nil, "", err
	}
	if len(pos) == 1 {
		if a.Relayed() && a.Alias != "" && !strings.EqualFold(pos[0], a.Alias) {
			return nil, "", fmt.Errorf("this computer is enrolled with a relay for %s only; the relay serves no other mailbox", a.Alias)
		}
		a.Alias = pos[0]
	}
	if err := a.NeedAlias(); err != nil {
		return nil, "", err
	}
	if a.Relayed() {
		src, err := a.NewRelaySource(e.logger())
		return src, a.Alias, err
	}
	if a.Corp() {
		c, err := a.NewCorpClient(e.logger())
		if err != nil {
			return nil, "", err
		}
		return c.Mail, a.Alias, nil
	}
	c, err := a.NewClient(e.logger())
	if err != nil {
		return nil, "", err
	}
	return c.Mail, a.Alias, nil
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
	m, alias, err := mailboxCommand(ctx, e, f, args)
	if err != nil {
		return err
	}
	u, err := m.LoginURL(ctx, alias, *mailID)
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
