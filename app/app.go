package app

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// Config is what App needs to know that is not a dependency.
type Config struct {
	// Alias is the one mailbox shown, e.g. "bob@example.com". Empty means
	// there is no account yet: App runs in the setup state (IconSetup, the
	// Open item tells the user to run "exmail-notifier login", no Source
	// is started).
	Alias string
	// Version is shown in About.
	Version string
	// Mode is how this computer reaches the mail (ModeDirect, the zero
	// value; ModeRelay; ModeCorp): a rejected credential names the fix of
	// its mode.
	Mode Mode
	// CountsOnly: the backend gives unread counts, never a sender or a
	// subject (Tencent's current API without the relay's callbacks). A
	// rising count is then shown as one "N new mails" toast that says so.
	CountsOnly bool
	// HoldsAdminKey: this computer keeps the enterprise's v1.4
	// administrator key (direct mode). About then says what that key can
	// do and points at the company relay.
	HoldsAdminKey bool
	// Lang is the language of all text. main resolves it: the config's
	// override through ParseLang, else DetectLang. Unknown values mean
	// English.
	Lang Lang
	// Prefs are the preferences as loaded from the config file. Note that
	// the zero value hides message content; the config supplies the
	// product's default.
	Prefs Prefs
	// Problem is a condition main found before starting that needs the
	// user (e.g. ProblemKeyringLocked). It keeps the icon in
	// IconAttention for the whole run, with text naming the fix, and no
	// Source is started. A problem that may go away by itself is better
	// reported by the Source (see ErrKeyringLocked): coming online clears
	// it.
	Problem Problem
	// OfflineGrace is how long the connection may be down before the icon
	// shows offline (DefaultOfflineGrace when zero). Shorter outages show
	// nothing at all.
	OfflineGrace time.Duration
	// BurstWindow and BurstMax: the first new mail after a quiet spell
	// toasts at once and opens a window of BurstWindow
	// (DefaultBurstWindow); mails that follow within it are held until it
	// closes, then shown one toast each if the window stays within
	// BurstMax toasts (DefaultBurstMax), else as one summary toast "N more
	// new mails". A toast at the close opens the next window, so a storm
	// never becomes a stack.
	BurstWindow time.Duration
	BurstMax    int
}

// Deps are App's collaborators. Any of them may be nil: a nil Source
// means no events (the state stays connecting, or Config.Problem), a nil
// Counter skips count fetches, a nil Linker or Opener makes opening fail
// with a toast, a nil Toaster or View shows nothing, a nil Autostart hides
// that menu item (Model.AutostartAvailable), a nil Prefs saver forgets
// changes at exit, a nil Actions channel means no user input, and a nil
// Log discards log records.
type Deps struct {
	Source    Source
	Counter   Counter
	Linker    Linker
	Opener    Opener
	Toaster   Toaster
	View      View
	Autostart Autostart
	Prefs     PrefsSaver
	// Settings opens the settings page; nil hides its menu item and
	// leaves the setup state's hint pointing at the command line.
	Settings Settings
	// Actions carries the user's requests from the tray and from toast
	// clicks. main creates it (buffered) and hands the send side to the
	// tray; senders should select on their ctx.
	Actions <-chan Action
	Log     *slog.Logger
}

// App is the notifier's core: one loop that owns the state.
type App struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
}

// New returns an App; nothing runs until Run.
func New(cfg Config, deps Deps) *App {
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &App{cfg: cfg, deps: deps, log: log}
}

// Timeouts for background work that has no deadline of its own.
const (
	countTimeout       = 30 * time.Second
	mailboxOpenTimeout = 60 * time.Second // the whole open: the SSO URL, then the browser (handoff.OpenerTimeout of it)
)

// Run is the notifier's loop: the one goroutine that owns the state. It
// starts the Source (unless in the setup state), selects over its events,
// the user's actions, the results of background work and its timers, and
// renders the View after each change. Slow work (unread count, SSO URL,
// browser, saving prefs, autostart) runs in goroutines whose results come
// back to the loop, so the loop never blocks on I/O.
//
// Run returns nil after a Quit action and ctx.Err() when ctx is done. It
// does not wait for background work to finish (that work stops with its
// context), except for saving the last preferences. Call Run once.
func (a *App) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	now := time.Now()
	r := &runner{
		App:     a,
		s:       newState(a.cfg, a.deps.Autostart != nil, now),
		events:  make(chan api.Event, 16),
		results: make(chan any, 16),
		prefs:   make(chan Prefs, 1),
		opening: make(map[string]bool),
	}
	r.s.settingsAvail = a.deps.Settings != nil
	var saver sync.WaitGroup
	if a.deps.Prefs != nil {
		saver.Go(func() { r.saveLoop(ctx) })
	}
	defer saver.Wait()
	defer cancel() // stop the saver before waiting for it

	if a.deps.Source != nil && !r.s.setupMode() && a.cfg.Problem == NoProblem {
		go func() {
			err := a.deps.Source.Run(ctx, r.events)
			r.post(ctx, sourceDone{Err: err})
		}()
	}
	if a.deps.Autostart != nil {
		go func() {
			on, err := a.deps.Autostart.Enabled()
			r.post(ctx, autostartResult{On: on, Query: true, Err: err})
		}()
	}
	a.log.Info("app: started", "setup", r.s.setupMode(), "problem", a.cfg.Problem)

	actions := a.deps.Actions
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	r.render(now)
	for {
		if d := r.s.deadline(time.Now()); !d.IsZero() {
			timer.Reset(time.Until(d))
		} else {
			timer.Stop()
		}
		var fx []effect
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-r.events:
			if !r.s.mine(ev) {
				continue // another mailbox: not shown, not logged
			}
			r.logEvent(ev)
			fx = r.s.apply(ev, time.Now())
		case act, ok := <-actions:
			if !ok {
				actions = nil // closed: no more input, but keep running
				continue
			}
			fx = r.s.handle(act, time.Now())
		case res := <-r.results:
			fx = r.result(res, time.Now())
		case <-timer.C:
			fx = r.s.tick(time.Now())
		}
		if r.do(ctx, fx) {
			a.log.Info("app: quit")
			return nil
		}
		r.render(time.Now())
	}
}

// runner is the state of one Run.
type runner struct {
	*App
	s       *state
	events  chan api.Event
	results chan any
	prefs   chan Prefs      // latest prefs to save; capacity 1
	opening map[string]bool // mail ids ("" = inbox) being opened
	last    *Model
}

// post hands a background result to the loop, or drops it when Run has
// ended.
func (r *runner) post(ctx context.Context, v any) {
	select {
	case r.results <- v:
	case <-ctx.Done():
	}
}

func (r *runner) render(now time.Time) {
	if r.deps.View == nil {
		return
	}
	m := r.s.model(now)
	if r.last != nil && reflect.DeepEqual(*r.last, m) {
		return
	}
	r.last = &m
	r.deps.View.Render(m)
}

// logEvent logs an event of this mailbox: ids, counts and states only,
// never mail content.
func (r *runner) logEvent(ev api.Event) {
	switch ev := ev.(type) {
	case api.StateChanged:
		r.log.Info("app: connection", "state", ev.State, "err", ev.Err, "retry_in", ev.RetryIn)
	case api.NewMail:
		r.log.Debug("app: new mail", "mail_id", ev.MailID, "unread", ev.Unread)
	case api.UnreadChanged:
		r.log.Debug("app: unread changed", "unread", ev.Unread)
	}
}

// result applies the outcome of background work.
func (r *runner) result(res any, now time.Time) []effect {
	switch res := res.(type) {
	case countResult:
		if res.Err != nil {
			r.log.Warn("app: unread count", "err", res.Err)
		}
		return r.s.counted(res, now)
	case openResult:
		delete(r.opening, res.MailID)
		if res.Err != nil {
			r.log.Warn("app: open mailbox", "mail_id", res.MailID, "err", res.Err)
		}
		return r.s.opened(res)
	case settingsResult:
		if res.Err != nil {
			r.log.Warn("app: open the settings page", "err", res.Err)
		}
		return r.s.settingsOpened(res)
	case autostartResult:
		if res.Err != nil {
			r.log.Warn("app: start at login", "err", res.Err)
		}
		return r.s.autostartDone(res)
	case sourceDone:
		if res.Err != nil && !errors.Is(res.Err, context.Canceled) {
			r.log.Error("app: the connection stopped", "err", res.Err)
		} else {
			r.log.Warn("app: the connection stopped")
		}
		r.s.sourceStopped(now)
	}
	return nil
}

// do carries out effects and reports whether the loop must end.
func (r *runner) do(ctx context.Context, fx []effect) (quit bool) {
	for _, f := range fx {
		switch f := f.(type) {
		case toastFx:
			if r.deps.Toaster != nil {
				r.deps.Toaster.Toast(f.Title, f.Body, f.Key)
			}
		case fetchCountFx:
			r.fetchCount(ctx, f)
		case openFx:
			r.open(ctx, f.MailID)
		case savePrefsFx:
			r.savePrefs(f.Prefs)
		case autostartFx:
			r.setAutostart(ctx, f.On)
		case settingsFx:
			r.openSettings(ctx)
		case quitFx:
			quit = true
		}
	}
	return quit
}

func (r *runner) fetchCount(ctx context.Context, f fetchCountFx) {
	if r.deps.Counter == nil {
		return
	}
	alias := r.s.alias
	go func() {
		ctx, cancel := context.WithTimeout(ctx, countTimeout)
		defer cancel()
		n, err := r.deps.Counter.NewCount(ctx, alias)
		r.post(ctx, countResult{Seq: f.Seq, CatchUp: f.CatchUp, N: n, Err: err})
	}()
}

// errNoOpener is the failure when Linker or Opener is missing.
var errNoOpener = errors.New("app: no way to open the mailbox is configured")

// open fetches an SSO URL and opens it in a goroutine. A second click on
// the same mail while the first is still opening is ignored. The URL is a
// credential: it is never logged, and it is removed from error text.
func (r *runner) open(ctx context.Context, mailID string) {
	if r.opening[mailID] {
		return
	}
	r.opening[mailID] = true
	alias := r.s.alias
	linker, opener := r.deps.Linker, r.deps.Opener
	r.log.Info("app: opening mailbox", "mail_id", mailID)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, mailboxOpenTimeout)
		defer cancel()
		var err error
		if linker == nil || opener == nil {
			err = errNoOpener
		} else {
			var url api.Secret
			url, err = linker.LoginURL(ctx, alias, mailID)
			if err == nil {
				err = scrub(opener.Open(ctx, url), url)
			}
		}
		r.post(ctx, openResult{MailID: mailID, Err: err})
	}()
}

// settingsOpenTimeout bounds opening the settings page (the browser).
const settingsOpenTimeout = 30 * time.Second

func (r *runner) openSettings(ctx context.Context) {
	page := r.deps.Settings
	r.log.Info("app: opening the settings page")
	go func() {
		ctx, cancel := context.WithTimeout(ctx, settingsOpenTimeout)
		defer cancel()
		r.post(ctx, settingsResult{Err: page.Open(ctx)})
	}()
}

func (r *runner) setAutostart(ctx context.Context, on bool) {
	as := r.deps.Autostart
	go func() {
		err := as.SetEnabled(on)
		r.post(ctx, autostartResult{On: on, Err: err})
	}()
}

// savePrefs queues p for the saver, replacing a value not yet saved.
func (r *runner) savePrefs(p Prefs) {
	if r.deps.Prefs == nil {
		return
	}
	for {
		select {
		case r.prefs <- p:
			return
		default:
			select {
			case <-r.prefs: // drop the stale value
			default:
			}
		}
	}
}

// saveLoop saves preferences one at a time, the newest first. When ctx is
// done it saves what is still queued and returns.
func (r *runner) saveLoop(ctx context.Context) {
	save := func(p Prefs) {
		if err := r.deps.Prefs.SavePrefs(p); err != nil {
			r.log.Warn("app: saving preferences", "err", err)
		}
	}
	for {
		select {
		case p := <-r.prefs:
			save(p)
		case <-ctx.Done():
			select {
			case p := <-r.prefs:
				save(p)
			default:
			}
			return
		}
	}
}

// scrubbedError is an error whose text had a secret removed. It unwraps to
// the original so errors.Is still works; log only its own Error text.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub removes secret from err's text (when secret is not empty) and
// returns nil for nil.
func scrub(err error, secret api.Secret) error {
	if err == nil {
		return nil
	}
	if v := secret.Reveal(); v != "" && strings.Contains(err.Error(), v) {
		return &scrubbedError{msg: strings.ReplaceAll(err.Error(), v, "[redacted]"), err: err}
	}
	return err
}
