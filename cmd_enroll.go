package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
	"github.com/exmail-notifier/exmail-notifier/internal/setup"
	"github.com/exmail-notifier/exmail-notifier/notify"
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
this command after you confirm the relay it names (a notification to
click): a link can come from anyone, and enrolling replaces this
computer's account.
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
// changes until the person at the computer has confirmed that relay (see
// confirmLink). Then it enrolls and runs the tray app on the new account,
// in this process (on the main goroutine, as the tray needs).
func enrollFromLink(ctx context.Context, e *env, link string) error {
	sctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	relay, _, err := setup.ParseEnrollment(api.Secret(link), "")
	if err != nil {
		return err
	}
	if err := confirmLink(sctx, e, relay); err != nil {
		return err
	}
	if _, err := enroll(sctx, e, []string{link}); err != nil {
		return err
	}
	stop()
	return cmdTray(ctx, e, nil)
}

// linkConfirmWait is how long a click on the confirmation notification
// may take.
const linkConfirmWait = 2 * time.Minute

// confirmLink asks the person at the computer whether to enroll with the
// relay at relayURL: on a terminal, a question; on a desktop, a
// notification to click (it needs a notification server with click
// actions: Linux and the BSDs). Anything else — no answer, no desktop,
// Windows and macOS for now — refuses, and says how to enroll from a
// terminal instead. The settings page will ask in a window.
func confirmLink(ctx context.Context, e *env, relayURL string) error {
	u, _ := url.Parse(relayURL)
	host := safetext.Line(u.Host, 80)
	if e.terminal() != nil {
		return confirm(e, false, "Enroll this computer with the company relay at %s? It replaces this computer's current account.", host)
	}
	refused := errors.New(`this enrollment link needs a confirmation that cannot be asked here; open a terminal and run: exmail-notifier enroll --stdin (then paste the link)`)
	clicked := make(chan string, 1)
	n := notify.New(notify.Options{AppName: "Exmail Notifier", Logger: e.logger(),
		OnClick: func(key string) {
			select {
			case clicked <- key:
			default:
			}
		}})
	info, err := n.Probe(ctx)
	if err != nil || !info.Actions {
		e.logger().Warn("cannot ask to confirm an enrollment link on this desktop", "err", err)
		return refused
	}
	wctx, cancel := context.WithTimeout(ctx, linkConfirmWait)
	defer cancel()
	go n.Run(wctx)
	lang := e.uiLang(ctx, "")
	title, body := "Enroll with the company relay?", host+" — click here to enroll this computer. It replaces its current account. Ignore this if you did not expect it."
	if lang == app.Chinese {
		title, body = "登记到公司中继？", host+"——点击此处登记本机，这将替换本机当前的账号。如非预期，请忽略。"
	}
	n.Toast(title, body, "enroll")
	select {
	case <-clicked:
		return nil
	case <-wctx.Done():
		return errors.New("the enrollment link was not confirmed; nothing was changed")
	}
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
