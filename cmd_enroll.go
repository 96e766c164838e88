package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
	"github.com/exmail-notifier/exmail-notifier/internal/setup"
	"github.com/exmail-notifier/exmail-notifier/internal/trayapp"
)

const enrollUsage = `Usage: exmail-notifier enroll [--relay URL] [--name NAME] [--stdin] LINK|CODE

Enrolls this computer with your company's relay, using the one-time link or
code that IT sent you (made by "exmail-relay enroll"):

  exmail-notifier enroll 'exmail-notifier://enroll?relay=https://relay.example.com&code=…'
  exmail-notifier enroll --relay https://relay.example.com CODE

The relay trades the code for a token for this computer alone. The token
goes to the OS keyring and the relay's address to the config file; no
administrator key is ever stored here, and a key from an earlier "login"
is removed. From then on the tray app, watch, count and open get your
mailbox's mail through the relay. A running tray app restarts on the new
account.

A link or code on the command line can be read by other users of this
computer until it is used, which enroll does at once; --stdin reads it from
standard input instead. Clicking the link in IT's mail does the same as
this command after you confirm the relay it names on the settings page
that the tray app opens: a link can come from anyone, and enrolling
replaces this computer's account.
`

// linkScheme starts an enrollment link; the desktop file, the MSI and the
// .app register exmail-notifier as its handler, so a click runs
// "exmail-notifier exmail-notifier://enroll?…" (see run).
const linkScheme = setup.LinkScheme

// cmdEnrollRestartingTray is the enroll command: a tray app that was
// running on the old account is started again, detached, on the new one.
func cmdEnrollRestartingTray(ctx context.Context, e *env, args []string) error {
	stopped, err := enroll(ctx, e, args)
	if err != nil || !stopped {
		return err
	}
	if err := desktop.StartDetached(); err != nil {
		return fmt.Errorf("enrolled, but the tray app could not be started again: %w; start exmail-notifier yourself", err)
	}
	fmt.Fprintln(e.stdout, "The tray app restarted on the new account.")
	return nil
}

// enrollFromLink is what a click on an enrollment link runs. A link can
// come from anywhere (a web page, a forged mail), and enrolling replaces
// this computer's account with whatever relay the link names, so nothing
// changes until the person at the computer has confirmed that relay: the
// tray's settings page shows the relay and enrolls only on a click. A
// running tray gets the link over its private socket; otherwise the tray
// starts here (on the main goroutine) with the link waiting on its page.
// From a terminal, the question is asked there instead.
func enrollFromLink(ctx context.Context, e *env, link string) error {
	relay, _, err := setup.ParseEnrollment(api.Secret(link), "")
	if err != nil {
		return err
	}
	if e.terminal() != nil {
		u, _ := url.Parse(relay)
		if err := confirm(e, false, "Enroll this computer with the company relay at %s? It replaces this computer's current account.", safetext.Line(u.Host, 80)); err != nil {
			return err
		}
		return cmdEnrollRestartingTray(ctx, e, []string{link})
	}
	if dir, err := desktop.InstanceDir(e.getenv); err == nil {
		err := desktop.OfferEnrollment(ctx, dir, "tray", link)
		if err == nil {
			return nil // the running tray opened its page at the confirmation
		}
		if !errors.Is(err, desktop.ErrNotRunning) {
			return fmt.Errorf("could not hand the link to the running tray app: %w", err)
		}
	}
	if ok, why := trayapp.HasDesktop(ctx, e.getenv); !ok {
		e.logger().Warn("cannot ask to confirm an enrollment link without a desktop session", "why", why)
		return errors.New(`this enrollment link needs a confirmation that cannot be asked here (no desktop session); open a terminal and run: exmail-notifier enroll --stdin (then paste the link)`)
	}
	return runTray(ctx, e, trayStart{offer: api.Secret(link)})
}

// enroll does what cmdEnroll says and reports whether a tray app was
// running and was asked to quit (it must then be started again).
func enroll(ctx context.Context, e *env, args []string) (trayStopped bool, err error) {
	f := newFlags(e, "enroll", enrollUsage)
	relayFlag := f.String("relay", "", "the relay's address (https://…), when giving a code rather than a link")
	name := f.String("name", "", `what IT sees for this computer in "exmail-relay devices" (default: the host name)`)
	fromStdin := f.Bool("stdin", false, "read the link or code from standard input")
	pos, err := f.parseAll(args)
	if err != nil {
		return false, err
	}
	var input api.Secret
	switch {
	case *fromStdin && len(pos) == 0:
		if input, err = readStdinSecret(e.stdin, "--stdin", "enrollment link or code", true); err != nil {
			return false, err
		}
	case !*fromStdin && len(pos) == 1:
		input = api.Secret(strings.TrimSpace(pos[0]))
	default:
		return false, f.usageErrorf("give the link or code from IT, as one argument or with --stdin")
	}
	if !strings.HasPrefix(strings.ToLower(input.Reveal()), linkScheme) && strings.TrimSpace(*relayFlag) == "" {
		return false, f.usageErrorf("a bare code needs --relay with the relay's address (or give the whole link)")
	}
	relay, code, err := setup.ParseEnrollment(input, *relayFlag)
	if err != nil {
		return false, &usageError{msg: err.Error(), usage: f.help()}
	}
	if *name == "" {
		*name, _ = os.Hostname()
	}
	en, err := e.setupStore().Enroll(ctx, relay, code, *name)
	if err != nil {
		return false, configHint(err, "then enroll again")
	}
	fmt.Fprintf(e.stdout, "Enrolled: this computer gets the mail of %s through the relay %s (device %s).\n",
		safetext.Line(en.Alias, 120), safetext.Line(relay, 200), safetext.Line(en.DeviceID, 80))
	if en.RemovedAgent != "" {
		fmt.Fprintf(e.stdout, "Removed the interface key of admin account %q from this computer's keyring: the relay holds it now.\n", en.RemovedAgent)
	}
	if dir, err := desktop.InstanceDir(e.getenv); err == nil {
		stopped, err := desktop.AskToQuit(ctx, dir, "tray")
		if err != nil {
			e.logger().Warn("the running tray app did not quit; quit and start it again to use the relay", "err", err)
		}
		return stopped, nil
	}
	return false, nil
}
