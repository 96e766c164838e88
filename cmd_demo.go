package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/trayapp"
)

const demoUsage = `Usage: exmail-notifier demo [--interval D] [--serve]

Runs the tray app against a demo server built into the program: a small
company (example.com) with a few unread mails, and a colleague who sends
lina@example.com a realistic mail every few seconds. No account, no
network. Click "Open mailbox" to see the demo webmail: opening it marks the
mail read and the count falls.

Without a desktop session (no DISPLAY/WAYLAND_DISPLAY, or no D-Bus session
bus) the notifications are printed in the terminal instead.

--serve runs only the demo server (no tray) and prints its settings as
export EXMAIL_...=... lines, so that the command-line client can be tried
against it:

  exmail-notifier demo --serve > demo.env &
  . ./demo.env
  exmail-notifier count
  exmail-notifier watch
  exmail-notifier open --print
`

// demoLocal is the local part of the demo mailbox (lina@<the fake's domain>).
const demoLocal = "lina"

// cmdDemo runs the tray app (or, with --serve, only the server) against
// the embedded fake server. It must run on the main goroutine.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "demo", demoUsage)
	interval := f.Duration("interval", 10*time.Second, "average time between the colleague's mails (0: none)")
	serve := f.Bool("serve", false, "run only the demo server and print its EXMAIL_* environment")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.usageErrorf("unexpected argument %q", f.Arg(0))
	}
	if *interval < 0 {
		return f.usageErrorf("--interval must not be negative")
	}

	srv := exmailtest.New(exmailtest.Options{Demo: true})
	defer srv.Close()
	alias := demoLocal + "@" + srv.Domain()
	colleague := func(ctx context.Context) {
		if *interval == 0 {
			return
		}
		// The first mail comes soon after the tray is listening, so
		// that a toast shows within seconds; then one every interval.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		srv.WaitListeners(wctx, 1)
		cancel()
		r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6578))
		t := time.NewTimer(3 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		srv.Deliver(alias, exmailtest.SampleMail(r, alias))
		srv.Simulate(ctx, r, *interval, alias)
	}

	if *serve {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		fmt.Fprintf(e.stdout, "export EXMAIL_AGENT=%s\nexport EXMAIL_SECRET=%s\nexport EXMAIL_ALIAS=%s\nexport EXMAIL_TOKEN_URL=%s\nexport EXMAIL_API_URL=%s\nexport EXMAIL_LOGIN_URL=%s\n",
			srv.ClientID(), srv.ClientSecret(), alias, srv.TokenURL(), srv.APIBase(), srv.LoginURL())
		fmt.Fprintf(e.stderr, "exmail-notifier: demo server for %s running; the lines above are its settings (a demo key, not a secret). Ctrl-C stops it.\n", alias)
		if *interval > 0 {
			go colleague(ctx)
		}
		<-ctx.Done()
		return nil
	}

	_, closeLog := e.useTrayLog("")
	defer closeLog()
	log := e.logger()
	c, err := api.New(api.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: api.Secret(srv.ClientSecret()),
		BaseURL:      srv.APIBase(),
		TokenURL:     srv.TokenURL(),
		LoginURL:     srv.LoginURL(),
		Logger:       log,
	})
	if err != nil {
		return err
	}
	s := trayapp.Session{
		Lock:         "demo",
		Alias:        alias,
		Lang:         e.uiLang(ctx, ""),
		Prefs:        app.Prefs{ShowContent: true},
		Backend:      trayapp.Connect(c, alias, api.WatchOptions{}, log),
		Extra:        func(ctx context.Context, _ app.Toaster) { colleague(ctx) },
		HeadlessNote: "exmail-notifier: demo mailbox " + alias + "; a colleague writes about every " + interval.String() + ".",
	}
	log.Info("demo", "mailbox", alias, "server", srv.URL(), "interval", *interval)
	return trayapp.Run(ctx, e.trayEnv(), s)
}
