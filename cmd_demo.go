package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/mail"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/corpapi/callback"
	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/internal/handoff"
	"github.com/exmail-notifier/exmail-notifier/internal/setup"
	"github.com/exmail-notifier/exmail-notifier/internal/trayapp"
	"github.com/exmail-notifier/exmail-notifier/relay"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
	relaycorp "github.com/exmail-notifier/exmail-notifier/relay/corp"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/memstore"
)

const demoUsage = `Usage: exmail-notifier demo [--interval D] [--relay] [--corp] [--serve]

Runs the tray app against a demo server built into the program: a small
company (example.com) with a few unread mails, and a colleague who sends
lina@example.com a realistic mail every few seconds. No account, no
network. Click "Open mailbox" to see the demo webmail: opening it marks the
mail read and the count falls.

Without a desktop session (no DISPLAY/WAYLAND_DISPLAY, or no D-Bus session
bus) the notifications are printed in the terminal instead.

--relay puts a company relay between them, as IT would run it: the demo
server, a relay on 127.0.0.1 (exmail-relay's code, its database in memory)
holding the demo key, and the tray enrolled with the relay, which serves it
lina's mail only. The tray looks the same; "doctor" would say "enrolled".

--corp shows a company on Tencent's current API without a relay: that API
pushes nothing to a desktop, so the tray reads the unread count at an
interval (every 5 s here, a minute for real) and a rise is one "N new
mails" notification without sender or subject.

--relay --corp shows the current API with a company relay: the demo
server sends its signed, encrypted new-mail callbacks to the relay's
/callback/exmail (as Tencent would), the relay stores them, and the tray,
enrolled with the relay, shows each mail with sender and subject.

--serve runs only the servers (no tray) and prints their settings as
export EXMAIL_...=... lines, so that the command-line client can be tried
against them (with --relay, also with --corp: EXMAIL_RELAY and a device
token):

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
	viaRelay := f.Bool("relay", false, "put a company relay (in memory, on loopback) between the demo server and the tray")
	corp := f.Bool("corp", false, "demonstrate Tencent's current API: the tray polls the unread count (no sender or subject); with --relay, the relay takes its callbacks")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.usageErrorf("unexpected argument %q", f.Arg(0))
	}
	if *interval < 0 {
		return f.usageErrorf("--interval must not be negative")
	}
	if *corp {
		return demoCorp(ctx, e, *interval, *serve, *viaRelay)
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

	log := e.logger()
	var closeLog func()
	if !*serve {
		_, closeLog = e.useTrayLog("")
		defer closeLog()
		log = e.logger()
	}
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
	var relayed *demoRelay
	if *viaRelay {
		rctx, stopRelay := context.WithCancel(ctx)
		if relayed, err = startDemoRelay(rctx, relay.Config{API: c}, alias, log); err != nil {
			stopRelay()
			return err
		}
		defer func() { stopRelay(); relayed.wait() }()
	}

	if *serve {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		if relayed != nil {
			fmt.Fprintf(e.stdout, "export EXMAIL_RELAY=%s\nexport EXMAIL_DEVICE_TOKEN=%s\nexport EXMAIL_ALIAS=%s\n",
				relayed.url, relayed.enrolled.Token.Reveal(), alias)
			fmt.Fprintf(e.stderr, "exmail-notifier: demo relay for %s running at %s; the lines above are its settings (a demo device token, not a secret). Ctrl-C stops it.\n", alias, relayed.url)
		} else {
			fmt.Fprintf(e.stdout, "export EXMAIL_AGENT=%s\nexport EXMAIL_SECRET=%s\nexport EXMAIL_ALIAS=%s\nexport EXMAIL_TOKEN_URL=%s\nexport EXMAIL_API_URL=%s\nexport EXMAIL_LOGIN_URL=%s\n",
				srv.ClientID(), srv.ClientSecret(), alias, srv.TokenURL(), srv.APIBase(), srv.LoginURL())
			fmt.Fprintf(e.stderr, "exmail-notifier: demo server for %s running; the lines above are its settings (a demo key, not a secret). Ctrl-C stops it.\n", alias)
		}
		if *interval > 0 {
			go colleague(ctx)
		}
		<-ctx.Done()
		return nil
	}

	s := demoSession(ctx, e, trayapp.Account{Alias: alias, Agent: srv.ClientID(), Backend: trayapp.Connect(c, alias, api.WatchOptions{}, log)},
		colleague, "exmail-notifier: demo mailbox "+alias+"; a colleague writes about every "+interval.String()+".")
	if relayed != nil {
		src, err := client.New(client.Config{URL: relayed.url, Token: relayed.enrolled.Token, Alias: alias, Logger: log})
		if err != nil {
			return err
		}
		s.Backend, s.Mode, s.Relay, s.Agent = trayapp.FollowRelay(src, log), app.ModeRelay, relayed.url, ""
		s.HeadlessNote += " The mail goes through a company relay at " + relayed.url + "."
	}
	log.Info("demo", "mailbox", alias, "server", srv.URL(), "interval", *interval, "relay", *viaRelay)
	return trayapp.Run(ctx, e.trayEnv(), s)
}

// demoRelay is the company relay of "demo --relay": exmail-relay's code
// on 127.0.0.1 with its database in memory, holding the demo key, and the
// tray's enrollment with it.
type demoRelay struct {
	url      string
	enrolled client.Enrollment
	done     chan error
}

// startDemoRelay starts a relay in front of the demo server (cfg's API or
// Upstream) until ctx ends, and enrolls one device for alias, as IT's
// link would. before, if set, runs once the relay serves at its URL and
// before the device enrolls.
func startDemoRelay(ctx context.Context, cfg relay.Config, alias string, log *slog.Logger, before ...func(url string) error) (*demoRelay, error) {
	st := memstore.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &demoRelay{url: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	ready := make(chan struct{})
	cfg.Store, cfg.Listener, cfg.Logger = st, ln, log.With("part", "relay")
	cfg.Ready = func(*server.Server) { close(ready) }
	go func() { r.done <- relay.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-r.done:
		return nil, fmt.Errorf("the demo relay did not start: %w", err)
	}
	for _, f := range before {
		if err := f(r.url); err != nil {
			return nil, err
		}
	}
	code := store.NewCode()
	if err := st.AddCode(ctx, store.HashSecret(code), alias, time.Now().Add(time.Hour)); err != nil {
		return nil, err
	}
	if r.enrolled, err = client.Enroll(ctx, r.url, code, "demo"); err != nil {
		return nil, fmt.Errorf("enrolling with the demo relay: %w", err)
	}
	return r, nil
}

// wait waits for the relay to stop (its ctx has ended).
func (r *demoRelay) wait() { <-r.done }

// demoCorpEvery is how often the demo's tray counts on the current API
// (the real default is a minute).
const demoCorpEvery = 5 * time.Second

// demoCorp is "demo --corp": the fake of Tencent's current API with a
// colleague who writes to lina, and the tray polling her unread count, as
// a company without the relay sees it; with viaRelay, a relay on loopback
// takes the fake's signed callbacks and the tray follows the relay, with
// senders and subjects; with serve, only the servers and their settings.
func demoCorp(ctx context.Context, e *env, interval time.Duration, serve, viaRelay bool) error {
	srv := corptest.New(corptest.Options{Demo: true})
	defer srv.Close()
	alias := demoLocal + "@" + srv.Domain() // one of the demo enterprise's members
	colleague := func(ctx context.Context) {
		if interval == 0 {
			return
		}
		r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x636f))
		t := time.NewTimer(3 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			m := exmailtest.SampleMail(r, alias)
			from := m.Sender
			if a, err := mail.ParseAddress(m.Sender); err == nil {
				from = a.Address
			}
			srv.Deliver(ctx, alias, corptest.Mail{From: from, Subject: m.Subject})
			t.Reset(time.Duration(float64(interval) * (0.5 + r.Float64())))
		}
	}
	var closeLog func()
	log := e.logger()
	if !serve {
		_, closeLog = e.useTrayLog("")
		defer closeLog()
		log = e.logger()
	}
	a := account.Account{CorpID: srv.CorpID(), CorpAPIURL: srv.BaseURL(), Alias: alias,
		CorpSSOSecret: api.Secret(srv.Secret(corptest.AppSSO)), CorpMailSecret: api.Secret(srv.Secret(corptest.AppNewMail))}
	c, err := a.NewCorpClient(log)
	if err != nil {
		return err
	}
	var relayed *demoRelay
	if viaRelay {
		// The relay holds the corpid, both secrets and the callback
		// settings; the fake calls it back at /callback/exmail, as
		// Tencent would once the admin console has the URL.
		up, err := relaycorp.New(relaycorp.Options{Client: c, Token: api.Secret(srv.CallbackToken()), EncodingAESKey: api.Secret(srv.CallbackAESKey()), Logger: log.With("part", "relay")})
		if err != nil {
			return err
		}
		rctx, stopRelay := context.WithCancel(ctx)
		relayed, err = startDemoRelay(rctx, relay.Config{Upstream: up}, alias, log, func(url string) error {
			srv.SetCallbackURL(url + callback.Path)
			return srv.VerifyCallbackURL(rctx)
		})
		if err != nil {
			stopRelay()
			return err
		}
		defer func() { stopRelay(); relayed.wait() }()
	}
	if serve {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		if relayed != nil {
			fmt.Fprintf(e.stdout, "export EXMAIL_RELAY=%s\nexport EXMAIL_DEVICE_TOKEN=%s\nexport EXMAIL_ALIAS=%s\n",
				relayed.url, relayed.enrolled.Token.Reveal(), alias)
			fmt.Fprintf(e.stderr, "exmail-notifier: demo relay on Tencent's current API (callbacks) for %s running at %s; the lines above are its settings (a demo device token, not a secret). Ctrl-C stops it.\n", alias, relayed.url)
		} else {
			fmt.Fprintf(e.stdout, "export EXMAIL_CORPID=%s\nexport EXMAIL_CORP_SSO_SECRET=%s\nexport EXMAIL_CORP_MAIL_SECRET=%s\nexport EXMAIL_CORP_API_URL=%s\nexport EXMAIL_ALIAS=%s\n",
				srv.CorpID(), srv.Secret(corptest.AppSSO), srv.Secret(corptest.AppNewMail), srv.BaseURL(), alias)
			fmt.Fprintf(e.stderr, "exmail-notifier: demo of the current API for %s running; the lines above are its settings (demo secrets, not secrets). Ctrl-C stops it.\n", alias)
		}
		go colleague(ctx)
		<-ctx.Done()
		return nil
	}
	if relayed != nil {
		src, err := client.New(client.Config{URL: relayed.url, Token: relayed.enrolled.Token, Alias: alias, Logger: log})
		if err != nil {
			return err
		}
		s := demoSession(ctx, e, trayapp.Account{Alias: alias, Mode: app.ModeRelay, Relay: relayed.url, Backend: trayapp.FollowRelay(src, log)},
			colleague, "exmail-notifier: demo mailbox "+alias+" on Tencent's current API; a colleague writes about every "+
				interval.String()+". The mail is pushed to a company relay at "+relayed.url+" (signed callbacks), which the tray follows.")
		log.Info("demo", "mailbox", alias, "api", "corp", "relay", relayed.url, "interval", interval)
		return trayapp.Run(ctx, e.trayEnv(), s)
	}
	s := demoSession(ctx, e, trayapp.Account{Alias: alias, CountsOnly: true, Mode: app.ModeCorp, CorpID: a.CorpID,
		Backend: trayapp.Poll(c.Mail, alias, demoCorpEvery, log)},
		colleague, "exmail-notifier: demo mailbox "+alias+" on Tencent's current API: the count is read every "+
			demoCorpEvery.String()+"; a colleague writes about every "+interval.String()+".")
	log.Info("demo", "mailbox", alias, "api", "corp", "interval", interval)
	return trayapp.Run(ctx, e.trayEnv(), s)
}

// demoSession is the tray's session for a demo account acct: content and
// sound on, the demo's settings page, the colleague beside it, and note
// printed when there is no desktop.
func demoSession(ctx context.Context, e *env, acct trayapp.Account, colleague func(context.Context), note string) trayapp.Session {
	acct.Lang = e.uiLang(ctx, "")
	return trayapp.Session{
		Lock:         "demo",
		Account:      acct,
		Prefs:        app.Prefs{ShowContent: true, Sound: true},
		Extra:        func(ctx context.Context, _ app.Toaster) { colleague(ctx) },
		HeadlessNote: note,
		Page:         demoPage(),
	}
}

// demoPage is the demo's settings page: the preferences work, the account
// is the demo's and cannot be changed there.
func demoPage() *trayapp.Page {
	return &trayapp.Page{Accounts: demoAccounts{}, PeerCheck: handoff.PeerCheck()}
}

// errDemoAccount: the demo's page does not change accounts.
var errDemoAccount = errors.New(`this is the demo: its account cannot be changed here. Quit the demo and start exmail-notifier to set up your own`)

// demoAccounts refuses every account change (trayapp.Accounts).
type demoAccounts struct{}

func (demoAccounts) Enroll(context.Context, string, api.Secret, string) (setup.Enrolled, error) {
	return setup.Enrolled{}, errDemoAccount
}
func (demoAccounts) Login(context.Context, setup.Direct) (*api.User, error) {
	return nil, errDemoAccount
}
func (demoAccounts) LoginCorp(context.Context, setup.Corp) error { return errDemoAccount }
func (demoAccounts) SignOut(context.Context, string) ([]string, error) {
	return nil, errDemoAccount
}
