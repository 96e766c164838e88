package trayapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/setup"
	"github.com/exmail-notifier/exmail-notifier/notify"
	"github.com/exmail-notifier/exmail-notifier/tray"
)

const (
	appName = "Exmail Notifier" // the tray item's title and the toasts' app name

	// exitGrace bounds the wait for background goroutines after Quit.
	exitGrace = 3 * time.Second
	// settleAfter: by then the tray is drawn and connected, and start-up
	// garbage can go back to the OS (idle RSS, README's Performance).
	settleAfter = 45 * time.Second
)

// Run runs the tray app for s until Quit or a signal (SIGINT, SIGTERM).
// It must run on the main goroutine (systray needs it).
//
// Steps: take the single-instance lock (a second launch asks the first to
// open the mailbox and returns nil), choose the notifier (native toasts
// on a desktop, printed lines without one) and the autostart backend,
// then show the tray, or, with no desktop session, print the state in the
// terminal until a signal. Quit or a signal ends every goroutine it
// started, waiting at most exitGrace.
func Run(ctx context.Context, env Env, s Session) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &runner{env: env, s: s, log: env.logger(), stop: stop, actions: make(chan app.Action, 16), restart: make(chan struct{}, 1)}

	lock, err := r.acquireLock(ctx)
	if errors.Is(err, desktop.ErrAlreadyRunning) {
		fmt.Fprintln(env.Stderr, "exmail-notifier: already running; asked it to open the mailbox")
		return nil
	}
	if lock != nil {
		defer lock.Close()
		r.lock = lock
	}
	r.auto = r.autostart()
	if err := r.startPage(ctx); err != nil {
		r.log.Warn("no settings page", "err", err)
	}

	// Start-up allocates most of what the tray will ever hold and runs
	// code it will not run again; once it has settled, give both back
	// (see settle).
	settled := time.AfterFunc(settleAfter, func() { settle(r.log) })
	defer settled.Stop()

	onDesktop, why := HasDesktop(ctx, env.Getenv)
	if onDesktop {
		r.useNotifier()
		if err := r.showTray(ctx); errors.Is(err, tray.ErrNoSessionBus) {
			// The bus went away between the check and now: carry on
			// without an icon.
			onDesktop, why = false, err.Error()
		} else if err != nil {
			r.log.Error("tray", "err", err)
		}
	}
	if !onDesktop {
		r.runHeadless(ctx, why)
	}
	stop()
	if !waitTimeout(&r.wg, exitGrace) {
		r.log.Warn("some background work did not stop in time")
	}
	r.log.Info("exit")
	return nil
}

// settle gives back what start-up used and an idle tray does not need:
// the freed heap (to the OS at once, not when the scavenger gets to it)
// and the binary's code pages that start-up touched (desktop.TrimResident:
// they stay in the page cache and fault back in when used).
func settle(log *slog.Logger) {
	debug.FreeOSMemory()
	if n, err := desktop.TrimResident(); err != nil {
		log.Debug("could not trim the resident code pages", "err", err)
	} else if n > 0 {
		log.Debug("trimmed the resident code pages", "advised_bytes", n)
	}
}

// runner is one run of the tray app: what Run chose, and what it started.
type runner struct {
	env     Env
	log     *slog.Logger
	stop    context.CancelFunc // ends the run (Quit, signals)
	actions chan app.Action
	restart chan struct{} // one token: the account changed, run a new app (reload)

	smu sync.Mutex
	s   Session // guarded by smu: the settings page reads it, reload changes it

	page     *page            // nil without a settings page
	settings *settings.Server // nil without a settings page

	lock     *desktop.Instance // nil: no single-instance lock
	auto     app.Autostart
	toaster  app.Toaster
	notifier *notify.Notifier // nil without a desktop session
	wg       sync.WaitGroup
}

// send passes a user's request to the app without ever blocking the
// caller (a D-Bus callback, the instance lock): a busy app drops it.
func (r *runner) send(a app.Action) {
	select {
	case r.actions <- a:
	default:
		r.log.Warn("action dropped: the app is busy")
	}
}

// acquireLock takes the single-instance lock. It returns
// desktop.ErrAlreadyRunning when another run answered; any other failure
// is logged and the app runs without a lock (nil).
func (r *runner) acquireLock(ctx context.Context) (*desktop.Instance, error) {
	dir, err := desktop.InstanceDir(r.env.Getenv)
	if err != nil {
		r.log.Warn("no single-instance lock", "err", err)
		return nil, nil
	}
	lock, err := desktop.AcquireInstance(ctx, dir, r.session().Lock)
	switch {
	case errors.Is(err, desktop.ErrAlreadyRunning):
		return nil, err
	case err != nil:
		r.log.Warn("no single-instance lock", "err", err)
		return nil, nil
	}
	return lock, nil
}

// autostart is the "Start at login" backend: the platform's for a real
// session, nil (the item hidden) when that cannot work, and an in-memory
// one for the demo.
func (r *runner) autostart() app.Autostart {
	if !r.session().Autostart {
		return &memAutostart{}
	}
	a, err := desktop.NewAutostart(r.env.Getenv)
	if err != nil {
		r.log.Info("start at login is not available", "err", err)
		return nil
	}
	return a
}

// useNotifier shows toasts through the desktop's notification service; a
// click on a toast opens that mail.
func (r *runner) useNotifier() {
	iconPath, err := writeAppIcon(r.env.Version)
	if err != nil {
		r.log.Warn("no icon for notifications", "err", err)
	}
	r.notifier = notify.New(notify.Options{
		AppName:  appName,
		IconPath: iconPath,
		OnClick:  func(key string) { r.send(app.OpenMail{MailID: key}) },
		Logger:   r.log,
	})
	r.notifier.SetSound(r.session().Prefs.Sound)
	r.toaster = r.notifier
}

// showTray shows the icon until ctx ends or Quit, starting the app once
// the menu exists. It returns tray.ErrNoSessionBus, having started
// nothing, when the session bus is gone.
func (r *runner) showTray(ctx context.Context) error {
	// macOS hands a clicked exmail-notifier:// link to the running app
	// (elsewhere it comes in argv, then over the instance socket). This
	// must be installed before the run loop starts.
	stopLinks := desktop.OpenURLEvents(ctx, r.log, r.offerLink)
	defer stopLinks()
	r.wg.Go(func() { watchTrayHost(ctx, r.log, r.env.Getenv("XDG_CURRENT_DESKTOP"), r.notifier, r.session().Lang) })
	return tray.Run(ctx, tray.Options{Name: appName, Actions: r.actions, Logger: r.log}, func(v *tray.View) {
		r.start(ctx, v)
	})
}

// runHeadless runs the app without an icon: toasts and the tooltip are
// printed, until a signal.
func (r *runner) runHeadless(ctx context.Context, why string) {
	r.log.Warn("no desktop session: no tray icon; toasts are printed", "why", why)
	fmt.Fprintf(r.env.Stderr, "exmail-notifier: no desktop session (%s): no tray icon; notifications are printed here. Ctrl-C quits.\n", why)
	if r.session().HeadlessNote != "" {
		fmt.Fprintln(r.env.Stderr, r.session().HeadlessNote)
	}
	r.notifier = nil
	r.toaster = notify.NewPrinter(r.env.Stdout)
	r.start(ctx, newTermView(r.env.Stdout))
	<-ctx.Done()
}

// start launches everything that runs beside the view: the app, the
// notifier's queue, the instance lock's listener and the session's extra.
// The app's end (Quit) ends them all; a reload (the settings page changed
// the account) ends only the app, and a new one starts on the new account
// with the same view, toaster and menu.
func (r *runner) start(ctx context.Context, view app.View) {
	r.wg.Go(func() { r.runApps(ctx, view) })
	if r.notifier != nil {
		n := r.notifier
		r.wg.Go(func() { n.Run(ctx) })
	}
	if r.lock != nil {
		r.wg.Go(func() { r.lock.Serve(ctx, r.log, r.requests()) })
	}
	s := r.session()
	if s.Extra != nil {
		toaster := r.toaster
		r.wg.Go(func() { s.Extra(ctx, toaster) })
	}
	if r.settings != nil && (s.OpenSettings || s.Offer != "" || (s.Alias == "" && s.Problem == app.NoProblem)) {
		// The first run (no account), a clicked link, or "settings".
		r.send(app.OpenSettings{})
	}
}

// runApps runs the app until Quit or ctx ends, and again after each
// reload.
func (r *runner) runApps(ctx context.Context, view app.View) {
	for {
		actx, cancel := context.WithCancel(ctx)
		a := r.newApp(view)
		done := make(chan error, 1)
		go func() { done <- a.Run(actx) }()
		select {
		case err := <-done:
			cancel()
			r.log.Info("app ended", "err", err)
			r.stop()
			return
		case <-r.restart:
			cancel()
			<-done // it saves the last preferences before it returns
			r.log.Info("app restarted on the changed account")
		}
	}
}

// newApp is the app for the session as it is now.
func (r *runner) newApp(view app.View) *app.App {
	s := r.session()
	var saver app.PrefsSaver = s.Saver
	var page app.Settings
	if r.page != nil {
		saver = savedPrefs{g: r.page, next: s.Saver}
		page = pageOpener{srv: r.settings, browse: s.Page.Browse, log: r.log}
		r.page.mu.Lock()
		s.Prefs = r.page.prefs // the newest, whether saved yet or not
		r.page.mu.Unlock()
	}
	return app.New(app.Config{
		Alias:         s.Alias,
		HoldsAdminKey: s.HoldsAdminKey,
		CountsOnly:    s.CountsOnly,
		Mode:          s.Mode,
		Version:       r.env.Version,
		Lang:          s.Lang,
		Prefs:         s.Prefs,
		Problem:       s.Problem,
	}, app.Deps{
		Source:    s.Backend.Source,
		Counter:   s.Backend.Counter,
		Linker:    s.Backend.Linker,
		Opener:    browserOpener{log: r.log},
		Toaster:   r.toaster,
		View:      view,
		Autostart: r.auto,
		Prefs:     saver,
		Settings:  page,
		Actions:   r.actions,
		Log:       r.log,
	})
}

// session is the session as it is now.
func (r *runner) session() Session {
	r.smu.Lock()
	defer r.smu.Unlock()
	return r.s
}

// reload reads the stored account again and switches the tray to it: the
// running app ends and a new one starts (runApps). The session reads the
// new account at once.
func (r *runner) reload(ctx context.Context) error {
	s := r.session()
	if s.Reload == nil {
		return errNoReload
	}
	next, err := s.Reload(ctx)
	if err != nil {
		return err
	}
	r.smu.Lock()
	r.s.Account = next
	r.smu.Unlock()
	select {
	case r.restart <- struct{}{}:
	default: // a restart is already due; it reads the newest session
	}
	return nil
}

// startPage starts the settings page when the session has one.
func (r *runner) startPage(ctx context.Context) error {
	s := r.session()
	if s.Page == nil {
		return nil
	}
	r.page = &page{r: r, p: s.Page, log: r.log, prefs: s.Prefs}
	srv, err := settings.New(settings.Options{
		Backend:    r.page,
		Lang:       s.Lang,
		Log:        r.log,
		PeerCheck:  s.Page.PeerCheck,
		DeviceName: s.Page.DeviceName,
	})
	if err != nil {
		r.page = nil
		return err
	}
	if err := srv.Start(ctx); err != nil {
		r.page = nil
		return err
	}
	if s.Offer != "" {
		srv.OfferEnrollment(s.Offer)
	}
	r.settings = srv
	return nil
}

// requests are what later launches may ask of this one.
func (r *runner) requests() desktop.Requests {
	req := desktop.Requests{
		Open: func() { r.send(app.OpenMailbox{}) },
		Quit: r.stop,
	}
	if r.settings != nil {
		req.Settings = func() { r.send(app.OpenSettings{}) }
		req.SettingsURL = func() (string, error) {
			u, err := r.settings.OneTimeURL()
			return u.Reveal(), err
		}
		req.Enroll = r.offerLink
	}
	return req
}

// offerLink shows a clicked enrollment link on the settings page for the
// user to confirm (it never enrolls by itself). The link is a secret: it
// is never logged.
func (r *runner) offerLink(link string) {
	if !strings.HasPrefix(strings.ToLower(link), setup.LinkScheme) {
		r.log.Warn("a link that is not an enrollment link was handed over; ignored")
		return
	}
	if r.settings == nil {
		r.log.Warn("an enrollment link came, but there is no settings page to confirm it on")
		return
	}
	r.settings.OfferEnrollment(api.Secret(link))
	r.send(app.OpenSettings{})
}

// waitTimeout waits for wg at most d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
