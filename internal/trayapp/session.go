// Package trayapp is the tray app's wiring: it takes a Session (which
// mailbox, which backend, which preferences) and runs the display-free
// core (app) with the desktop adapters (tray, notify, desktop, handoff)
// until Quit or a signal. It knows no command line: main parses flags,
// resolves the account and hands over explicit values.
package trayapp

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
	"github.com/exmail-notifier/exmail-notifier/internal/poll"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
)

// Env is what the tray app may touch of the outside world besides the
// desktop: the standard streams, the environment and the logger.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Log            *slog.Logger // nil: discard
	Version        string       // shown in About
}

func (e Env) logger() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// Session is what differs between one run of the tray app and another
// (the real account, the demo).
type Session struct {
	// Lock names the single-instance lock ("tray", "demo"): one run per
	// user and name.
	Lock string
	// Account is what a reload replaces (see Reload).
	Account
	Prefs app.Prefs
	// Autostart offers the real "Start at login"; false gives an
	// in-memory one that changes nothing on the machine (the demo).
	Autostart bool
	Saver     app.PrefsSaver // nil: preferences are forgotten at exit
	// Extra runs beside the app (the demo's colleague) until ctx is done.
	Extra func(ctx context.Context, toast app.Toaster)
	// HeadlessNote is printed when there is no desktop session.
	HeadlessNote string

	// Page serves the settings page (first run, enrollment, preferences,
	// the account, doctor); nil: no page and no Settings… item.
	Page *Page
	// Reload reads the stored account again after the page changed it
	// (enroll, login, sign out, language), so that the tray switches to
	// it without a restart; nil: the account cannot change.
	Reload func(ctx context.Context) (Account, error)
	// OpenSettings opens the page once the tray is up: the first run
	// (no account yet), or "exmail-notifier settings".
	OpenSettings bool
	// Offer is an enrollment link (a click on an exmail-notifier://
	// link) for the page to show for confirmation; it opens the page.
	Offer api.Secret
}

// Account is the part of a Session that follows the stored account: the
// mailbox, how it is reached, and the language.
type Account struct {
	Alias string // the mailbox shown; "" is the setup state
	// HoldsAdminKey: this computer keeps the enterprise's administrator
	// key (direct mode); About says what it can do (app.Config).
	HoldsAdminKey bool
	// CountsOnly: the backend gives counts, not senders or subjects
	// (app.Config).
	CountsOnly bool
	// Mode is how the mail is reached; it decides the fix a rejected
	// credential names (app.Config).
	Mode    app.Mode
	Problem app.Problem
	// Relay, Agent and CorpID name the account on the settings page: the
	// relay's URL (relay mode), the admin account (direct mode), the
	// corpid (current API).
	Relay, Agent, CorpID string
	Lang                 app.Lang
	// LangChoice is the configured language, "" (follow the system),
	// "zh" or "en"; Lang is what it resolved to.
	LangChoice string
	Backend    Backend
}

// Backend is what the tray talks to for one mailbox: events, the unread
// count and the sign-in link.
type Backend struct {
	Source  app.Source
	Counter app.Counter
	Linker  app.Linker
}

// Connect returns the Backend of an API client: the listen Watcher for
// alias (reconnecting at once after the machine wakes), mail/newcount and
// the SSO URL.
func Connect(c *api.Client, alias string, o api.WatchOptions, log *slog.Logger) Backend {
	o.Alias, o.Logger = alias, log
	return Backend{
		Source:  wakeful{s: fromStart{api.NewWatcher(c, o)}, log: log},
		Counter: c.Mail,
		Linker:  c.Mail,
	}
}

// FollowRelay returns the Backend of a device enrolled with a company
// relay: the relay's event stream of its own mailbox (reconnecting at once
// after the machine wakes), its unread count and its sign-in link.
func FollowRelay(src *client.Source, log *slog.Logger) Backend {
	return Backend{Source: wakeful{s: src, log: log}, Counter: src, Linker: src}
}

// Poll returns the Backend of a backend without push (Tencent's current
// API without the relay): the unread count of alias every interval (0:
// poll.DefaultEvery) while the session is in use, every
// poll.DefaultSlowEvery while it is idle or on battery (where the platform
// says so: desktop.NewPowerWatch), at once when the user comes back and
// after the machine wakes; and its sign-in link. The Session should set
// CountsOnly.
func Poll(m interface {
	poll.Counter
	app.Linker
}, alias string, every time.Duration, log *slog.Logger) Backend {
	p := &powered{log: log}
	p.src = poll.New(m, alias, poll.Options{Every: every, Slow: p.slow, Logger: log})
	return Backend{Source: p, Counter: m, Linker: m}
}

// powered runs a poll with the platform's idle and battery state
// (desktop.Power) for the length of each Run.
type powered struct {
	src   *poll.Source
	log   *slog.Logger
	power atomic.Pointer[desktop.Power]
}

func (p *powered) slow() bool { return p.power.Load().Slow() } // a nil Power is never slow

func (p *powered) Run(ctx context.Context, out chan<- api.Event) error {
	p.power.Store(desktop.NewPowerWatch(ctx, desktop.PowerOptions{
		Logger: p.log,
		OnChange: func(s desktop.PowerState) {
			if !s.Slow() {
				p.src.Reconnect() // the user is back: count now, not in five minutes
			}
		},
	}))
	return wakeful{s: p.src, log: p.log}.Run(ctx, out)
}

// WaitForKeyring returns the Backend for a key that could not be read at
// start (first says why): the app shows the problem until the keyring
// changes and open, reading the key again, succeeds (see keyringSource).
func WaitForKeyring(first error, open func(context.Context) (Backend, error), log *slog.Logger) Backend {
	k := &keyringSource{first: first, watch: creds.WatchChanges, usable: creds.Usable, open: open, log: log}
	return Backend{Source: k, Counter: k, Linker: k}
}

// stream is an event stream that can be told to reconnect: the listen
// Watcher, the relay's client.
type stream interface {
	Run(ctx context.Context, out chan<- api.Event) error
	Reconnect()
}

// wakeful is app.Source for a stream: after the machine wakes from sleep
// it makes the stream reconnect at once (desktop.WatchWake), since the
// connection is usually dead without knowing it.
type wakeful struct {
	s   stream
	log *slog.Logger
}

func (w wakeful) Run(ctx context.Context, out chan<- api.Event) error {
	wake, stop := context.WithCancel(ctx)
	defer stop()
	go desktop.WatchWake(wake, w.log, w.s.Reconnect)
	return w.s.Run(ctx, out)
}

// fromStart runs a Watcher from version 0: the tray does not use the
// address book's version.
type fromStart struct{ *api.Watcher }

func (w fromStart) Run(ctx context.Context, out chan<- api.Event) error {
	return w.Watcher.Run(ctx, "", out)
}
