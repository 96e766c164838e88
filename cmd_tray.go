package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/assets"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/handoff"
	"github.com/exmail-notifier/exmail-notifier/notify"
	"github.com/exmail-notifier/exmail-notifier/tray"
)

const (
	appName = "Exmail Notifier" // the tray item's title and the toasts' app name

	// exitGrace bounds the wait for background goroutines after Quit.
	exitGrace = 3 * time.Second
	// noHostGrace: at login the panel may start after us; only complain
	// about a missing tray host when it is still missing after this long.
	noHostGrace = 15 * time.Second
)

const trayUsage = `Usage: exmail-notifier [--verbose]

Runs the tray app: an icon in the notification area with the unread count
of your mailbox, a desktop notification for each new mail, and a menu to
open the mailbox in the browser (single sign-on, no password), pause
notifications, and start at login. Run "exmail-notifier login" once first.

Only one tray app runs per user: launching it again opens the mailbox.
Logs go to the user cache directory (e.g. ~/.cache/exmail-notifier/exmail-notifier.log).
`

// cmdTray runs the tray app. It must run on the main goroutine.
func cmdTray(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "exmail-notifier", trayUsage)
	if err := f.parse(args); err != nil {
		return err
	}
	cfg, cfgPath, cerr := e.loadConfig()
	if cfg == nil {
		cfg = config.New()
	}
	logPath, closeLog := e.setupTrayLog(cfg.LogLevel)
	defer closeLog()
	log := e.logger()
	log.Info("starting", "version", version, "log", logPath, "os", runtime.GOOS)

	s := traySession{
		lock:      "tray",
		lang:      e.uiLang(ctx, cfg.Lang),
		prefs:     app.Prefs{ShowContent: cfg.ShowsContent(), PausedUntil: cfg.PausedUntil},
		autostart: true,
	}
	if cerr != nil && cfgPath != "" {
		// A broken settings file is the user's to fix; say which and where.
		return cerr
	}

	a, err := e.account(ctx)
	switch {
	case err == nil:
		s.alias = a.Alias
	case errors.Is(err, errNoAccount):
		log.Info("no account yet: setup state", "reason", err)
	case errors.Is(err, creds.ErrLocked), errors.Is(err, creds.ErrUnavailable), errors.Is(err, creds.ErrTimeout):
		// Never hang on the keyring: show the problem and its fix.
		log.Warn("cannot read the interface key", "err", err)
		fmt.Fprintf(e.stderr, "exmail-notifier: %s\n", oneLine(err.Error()))
		s.alias = a.Alias
		if s.alias == "" {
			// Nothing to connect to anyway: the setup state.
			// Nothing watches the keyring then: the fix is to restart.
			s.problem = app.ProblemKeyringLockedRestart
			if errors.Is(err, creds.ErrUnavailable) {
				s.problem = app.ProblemKeyringUnavailableRestart
			}
			break
		}
		// Show the problem and connect by itself once the keyring is usable.
		s.waitForKeyring(err, func(ctx context.Context) (keyedSession, error) {
			a, err := e.account(ctx)
			if err != nil {
				return keyedSession{}, err
			}
			c, err := a.newClient(e)
			if err != nil {
				return keyedSession{}, err
			}
			var k traySession
			k.connect(c, s.alias, api.WatchOptions{IdleTimeout: time.Duration(cfg.IdleTimeout)}, log)
			return keyedSession{source: k.source, counter: k.counter, linker: k.linker}, nil
		}, log)
	default:
		return err
	}
	if s.alias != "" && s.problem == app.NoProblem && s.source == nil {
		c, err := a.newClient(e)
		if err != nil {
			return err
		}
		s.connect(c, s.alias, api.WatchOptions{IdleTimeout: time.Duration(cfg.IdleTimeout)}, log)
	}
	if path, err := e.configPath(); err == nil {
		s.saver = &configPrefs{path: path}
	}
	return e.runTray(ctx, s)
}

// traySession is what differs between the tray app and the demo.
type traySession struct {
	lock      string // single-instance lock name
	alias     string // "" = setup state
	problem   app.Problem
	lang      app.Lang
	prefs     app.Prefs
	autostart bool // offer "Start at login" (a real backend); false: an in-memory one
	saver     app.PrefsSaver
	source    app.Source
	counter   app.Counter
	linker    app.Linker
	// extra runs beside the app (the demo's colleague) until ctx is done.
	extra func(ctx context.Context, toast app.Toaster)
	// headlessNote is printed when there is no desktop session.
	headlessNote string
}

// connect wires the session to an API client: the listen Watcher as the
// Source, mail/newcount and the SSO URL.
func (s *traySession) connect(c *api.Client, alias string, o api.WatchOptions, log *slog.Logger) {
	o.Alias, o.Logger = alias, log
	s.source = watcherSource{w: api.NewWatcher(c, o), log: log}
	s.counter = c.Mail
	s.linker = c.Mail
}

// waitForKeyring wires the session for a key that could not be read at
// start (first says why): the app shows the problem until the keyring
// changes and open, reading the key again, succeeds (see keyringSource).
func (s *traySession) waitForKeyring(first error, open func(context.Context) (keyedSession, error), log *slog.Logger) {
	k := &keyringSource{first: first, watch: creds.WatchChanges, usable: creds.Usable, open: open, log: log}
	s.source, s.counter, s.linker = k, k, k
}

// watcherSource adapts api.Watcher to app.Source (from version 0: the
// address book version is not used by the tray). After the machine wakes
// from sleep it makes the Watcher reconnect at once (see watchWake).
type watcherSource struct {
	w   *api.Watcher
	log *slog.Logger
}

func (s watcherSource) Run(ctx context.Context, out chan<- api.Event) error {
	wake, stop := context.WithCancel(ctx)
	defer stop()
	go watchWake(wake, s.log, s.w.Reconnect)
	return s.w.Run(ctx, "", out)
}

// runTray runs the tray app for s until Quit or a signal. It must run on
// the main goroutine.
func (e *env) runTray(ctx context.Context, s traySession) error {
	log := e.logger()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// One instance per user: a second launch asks this one to open the
	// mailbox and exits 0.
	var lock *instanceLock
	if dir, err := instanceDir(e.getenv); err != nil {
		log.Warn("no single-instance lock", "err", err)
	} else if lock, err = acquireInstance(ctx, dir, s.lock); errors.Is(err, errAlreadyRunning) {
		fmt.Fprintln(e.stderr, "exmail-notifier: already running; asked it to open the mailbox")
		return nil
	} else if err != nil {
		log.Warn("no single-instance lock", "err", err)
	} else {
		defer lock.Close()
	}

	actions := make(chan app.Action, 16)
	send := func(a app.Action) {
		select {
		case actions <- a:
		default:
			log.Warn("action dropped: the app is busy")
		}
	}

	desktop, why := e.hasDesktop(ctx)
	var toaster app.Toaster
	var notifier *notify.Notifier
	if desktop {
		iconPath, err := writeAppIcon()
		if err != nil {
			log.Warn("no icon for notifications", "err", err)
		}
		notifier = notify.New(notify.Options{
			AppName:  appName,
			IconPath: iconPath,
			OnClick:  func(key string) { send(app.OpenMail{MailID: key}) },
			Logger:   log,
		})
		toaster = notifier
	} else {
		toaster = notify.NewPrinter(e.stdout)
	}

	var auto app.Autostart = &memAutostart{}
	if s.autostart {
		auto = nil
		if a, err := newAutostart(e.getenv); err != nil {
			log.Info("start at login is not available", "err", err)
		} else {
			auto = a
		}
	}

	newApp := func(view app.View) *app.App {
		return app.New(app.Config{
			Alias:   s.alias,
			Version: version,
			Lang:    s.lang,
			Prefs:   s.prefs,
			Problem: s.problem,
		}, app.Deps{
			Source:    s.source,
			Counter:   s.counter,
			Linker:    s.linker,
			Opener:    browserOpener{e},
			Toaster:   toaster,
			View:      view,
			Autostart: auto,
			Prefs:     s.saver,
			Actions:   actions,
			Log:       log,
		})
	}

	var wg sync.WaitGroup
	// start launches everything that runs beside the tray; the app's
	// end (Quit) ends them all.
	start := func(view app.View) {
		wg.Go(func() {
			err := newApp(view).Run(ctx)
			log.Info("app ended", "err", err)
			stop()
		})
		if notifier != nil {
			wg.Go(func() { notifier.Run(ctx) })
		}
		if lock != nil {
			wg.Go(func() { lock.serve(ctx, log, func() { send(app.OpenMailbox{}) }) })
		}
		if s.extra != nil {
			wg.Go(func() { s.extra(ctx, toaster) })
		}
	}

	if desktop {
		wg.Go(func() { e.watchTrayHost(ctx, notifier, s.lang) })
		// systray may still be running the ready callback when Run
		// returns (a signal right at start): never start work after that.
		var startMu sync.Mutex
		ended := false
		err := tray.Run(ctx, tray.Options{Name: appName, Actions: actions, Logger: log}, func(v *tray.View) {
			startMu.Lock()
			defer startMu.Unlock()
			if !ended {
				start(v)
			}
		})
		startMu.Lock()
		ended = true
		startMu.Unlock()
		if errors.Is(err, tray.ErrNoSessionBus) {
			// The bus went away between the check and now: carry on
			// without an icon.
			desktop, why = false, err.Error()
			toaster = notify.NewPrinter(e.stdout)
			notifier = nil
		} else if err != nil {
			log.Error("tray", "err", err)
		}
	}
	if !desktop {
		log.Warn("no desktop session: no tray icon; toasts are printed", "why", why)
		fmt.Fprintf(e.stderr, "exmail-notifier: no desktop session (%s): no tray icon; notifications are printed here. Ctrl-C quits.\n", why)
		if s.headlessNote != "" {
			fmt.Fprintln(e.stderr, s.headlessNote)
		}
		start(newTermView(e.stdout))
		<-ctx.Done()
	}
	stop()
	if !waitTimeout(&wg, exitGrace) {
		log.Warn("some background work did not stop in time")
	}
	log.Info("exit")
	return nil
}

// busCheckTimeout bounds hasDesktop's session-bus check: it runs on the
// main goroutine before anything is shown, and a hung dbus-daemon must not
// freeze the start.
const busCheckTimeout = 3 * time.Second

// hasDesktop reports whether a graphical session is there to show a tray
// icon and toasts. On Linux and the BSDs that is DISPLAY or
// WAYLAND_DISPLAY plus a session bus that answers within busCheckTimeout;
// Windows and macOS always have one. why says what is missing. Whether a
// tray host draws the icon is watchTrayHost's business, not this check's.
func (e *env) hasDesktop(ctx context.Context) (ok bool, why string) {
	switch runtime.GOOS {
	case "windows", "darwin":
		return true, ""
	}
	if e.getenv("DISPLAY") == "" && e.getenv("WAYLAND_DISPLAY") == "" {
		return false, "neither DISPLAY nor WAYLAND_DISPLAY is set"
	}
	ctx, cancel := context.WithTimeout(ctx, busCheckTimeout)
	defer cancel()
	if err := tray.CheckBus(ctx); err != nil {
		return false, "no D-Bus session bus (" + err.Error() + ")"
	}
	return true, ""
}

// watchTrayHost logs the tray host's state as it changes, with the fix
// when there is none; if none appears within noHostGrace it also says so
// in one toast, since the user would otherwise see nothing at all until
// the first mail.
func (e *env) watchTrayHost(ctx context.Context, n *notify.Notifier, lang app.Lang) {
	log := e.logger()
	desktop := e.getenv("XDG_CURRENT_DESKTOP")
	var mu sync.Mutex
	current := tray.HostUnknown
	t := time.AfterFunc(noHostGrace, func() {
		mu.Lock()
		h := current
		mu.Unlock()
		if h != tray.HostReady && n != nil && ctx.Err() == nil {
			title, body := noTrayToast(lang)
			n.Toast(title, body, "")
		}
	})
	defer t.Stop()
	err := tray.WatchHost(ctx, func(h tray.Host) {
		mu.Lock()
		current = h
		mu.Unlock()
		if h == tray.HostReady {
			log.Info("tray host ready")
			return
		}
		log.Warn("no tray host: "+tray.Advice(h, desktop), "host", h)
	})
	if err != nil && ctx.Err() == nil {
		log.Debug("tray host watch ended", "err", err)
	}
}

func noTrayToast(lang app.Lang) (title, body string) {
	if lang == app.Chinese {
		return "企业邮箱提醒正在运行", "此桌面没有系统托盘，因此看不到图标；新邮件提醒照常显示。GNOME 用户请安装 AppIndicator 扩展。"
	}
	return "Exmail Notifier is running", "This desktop has no system tray, so the icon is hidden; new-mail notifications still appear. On GNOME, install the AppIndicator extension."
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

// writeAppIcon writes the app icon PNG for notifications to the cache
// directory once, and returns its absolute path (notify wants a path that
// lives as long as the process).
func writeAppIcon() (string, error) {
	dir, err := logDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "icon.png")
	b := assets.AppIconPNG(128)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return path, nil
	}
	if err := writeFileAtomic(path, b, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// browserOpener is app.Opener: the desktop's URL opener, bounded by
// handoff.OpenerTimeout; the URL never reaches the opener's argv.
type browserOpener struct{ e *env }

func (o browserOpener) Open(ctx context.Context, url api.Secret) error {
	_, err := handoff.Open(ctx, url, o.e.logger())
	return err
}

// configPrefs is app.PrefsSaver: it saves the menu's choices into the
// config file, re-reading it first so that a concurrent "login" is kept.
type configPrefs struct{ path string }

func (c *configPrefs) SavePrefs(p app.Prefs) error {
	cfg, err := config.Load(c.path)
	if errors.Is(err, config.ErrNotExist) {
		cfg, err = config.New(), nil
	}
	if err != nil {
		return err
	}
	show := p.ShowContent
	cfg.ShowContent = &show
	cfg.PausedUntil = p.PausedUntil
	return config.Save(c.path, cfg)
}

// memAutostart is the demo's "Start at login": it only remembers the
// choice, so that trying the demo never changes the login items.
type memAutostart struct {
	mu sync.Mutex
	on bool
}

func (m *memAutostart) Enabled() (bool, error) { m.mu.Lock(); defer m.mu.Unlock(); return m.on, nil }
func (m *memAutostart) SetEnabled(on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.on = on
	return nil
}

// termView is the View without a desktop: one line per change of the
// tooltip (which carries the mailbox, the count and any problem).
type termView struct {
	mu   sync.Mutex
	w    interface{ Write([]byte) (int, error) }
	last string
}

func newTermView(w interface{ Write([]byte) (int, error) }) *termView { return &termView{w: w} }

func (v *termView) Render(m app.Model) {
	v.mu.Lock()
	defer v.mu.Unlock()
	line := m.Tooltip
	if line == v.last {
		return
	}
	v.last = line
	fmt.Fprintf(v.w, "[tray] %s\n", line)
}

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

// demoAlias is the demo mailbox.
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

	_, closeLog := e.setupTrayLog("")
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
	s := traySession{
		lock:         "demo",
		alias:        alias,
		lang:         e.uiLang(ctx, ""),
		prefs:        app.Prefs{ShowContent: true},
		extra:        func(ctx context.Context, _ app.Toaster) { colleague(ctx) },
		headlessNote: "exmail-notifier: demo mailbox " + alias + "; a colleague writes about every " + interval.String() + ".",
	}
	s.connect(c, alias, api.WatchOptions{}, log)
	log.Info("demo", "mailbox", alias, "server", srv.URL(), "interval", *interval)
	return e.runTray(ctx, s)
}
