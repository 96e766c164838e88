package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
	"github.com/exmail-notifier/exmail-notifier/internal/handoff"
	"github.com/exmail-notifier/exmail-notifier/internal/trayapp"
)

const trayUsage = `Usage: exmail-notifier [--verbose]
       exmail-notifier tray [--settings]

Runs the tray app: an icon in the notification area with the unread count
of your mailbox, a desktop notification for each new mail, and a menu to
open the mailbox in the browser (single sign-on, no password), pause
notifications, and open the settings page. With no account yet, the
settings page opens by itself: paste the link or code from IT there.

Only one tray app runs per user: launching it again opens the mailbox.
"tray --settings" also opens the settings page once it is up (what
"exmail-notifier settings" starts when no tray app runs).
Logs go to the user cache directory (e.g. ~/.cache/exmail-notifier/exmail-notifier.log).
`

// cmdTray runs the tray app for the stored account. It must run on the
// main goroutine.
func cmdTray(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "exmail-notifier", trayUsage)
	openSettings := f.Bool("settings", false, "open the settings page once the tray is up")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.usageErrorf("unexpected argument %q", f.Arg(0))
	}
	return runTray(ctx, e, trayStart{openSettings: *openSettings})
}

// trayStart is how the tray app was asked to start.
type trayStart struct {
	// openSettings opens the settings page once the tray is up
	// ("exmail-notifier settings" when no tray was running).
	openSettings bool
	// offer is a clicked enrollment link, shown on the page for the
	// user to confirm.
	offer api.Secret
}

// runTray runs the tray app with its settings page. It must run on the
// main goroutine.
func runTray(ctx context.Context, e *env, how trayStart) error {
	cfg, cfgPath, cerr := e.accounts().LoadConfig()
	if cfg == nil {
		cfg = config.New()
	}
	logPath, closeLog := e.useTrayLog(cfg.LogLevel)
	defer closeLog()
	log := e.logger()
	log.Info("starting", "version", version, "log", logPath, "os", runtime.GOOS)
	if cerr != nil && cfgPath != "" {
		// A broken settings file is the user's to fix; say which and where.
		return cerr
	}
	s, err := e.traySession(ctx, cfg)
	if err != nil {
		return err
	}
	s.Lock, s.Autostart = "tray", true
	s.OpenSettings, s.Offer = how.openSettings, how.offer
	prefs := &trayapp.ConfigPrefs{Path: cfgPath}
	if cfgPath != "" {
		s.Saver = prefs
	}
	s.Page = &trayapp.Page{
		Accounts:  e.setupStore(),
		Doctor:    e.doctorReport,
		PeerCheck: handoff.PeerCheck(),
	}
	if cfgPath != "" {
		s.Page.SaveLang = prefs.SaveLang
	}
	s.Reload = func(ctx context.Context) (trayapp.Account, error) {
		cfg, _, err := e.accounts().LoadConfig()
		if err != nil {
			return trayapp.Account{}, err
		}
		s, err := e.traySession(ctx, cfg)
		return s.Account, err
	}
	return trayapp.Run(ctx, e.trayEnv(), s)
}

// traySession is the account part of the tray's session for the stored
// account (cfg is the config file): which mailbox, how it is reached, the
// language and the preferences. No account is the setup state, not an
// error; a keyring that cannot be read is shown as a problem with its fix.
func (e *env) traySession(ctx context.Context, cfg *config.Config) (trayapp.Session, error) {
	log := e.logger()
	s := trayapp.Session{
		Account: trayapp.Account{Lang: e.uiLang(ctx, cfg.Lang), LangChoice: cfg.Lang},
		Prefs:   trayapp.PrefsOf(cfg),
	}
	watch := api.WatchOptions{IdleTimeout: time.Duration(cfg.IdleTimeout)}
	a, err := e.accounts().Resolve(ctx)
	s.Alias, s.HoldsAdminKey, s.CountsOnly = a.Alias, a.Agent != "" && !a.Relayed(), a.Corp()
	s.Relay, s.CorpID = a.Relay, a.CorpID
	if !a.Relayed() {
		s.Agent = a.Agent
	}
	switch {
	case a.Relayed():
		s.Mode = app.ModeRelay
	case a.Corp():
		s.Mode = app.ModeCorp
	}
	switch {
	case err == nil && a.Alias == "":
		log.Info("no mailbox to watch yet: setup state")
	case err == nil:
		if s.Backend, err = trayBackend(a, watch, log); err != nil {
			return s, err
		}
	case errors.Is(err, account.ErrNoAccount):
		log.Info("no account yet: setup state", "reason", err)
		s.Alias = ""
	case errors.Is(err, creds.ErrLocked), errors.Is(err, creds.ErrUnavailable), errors.Is(err, creds.ErrTimeout):
		// Never hang on the keyring: show the problem and its fix.
		log.Warn("cannot read the interface key", "err", err)
		fmt.Fprintf(e.stderr, "exmail-notifier: %s\n", oneLine(err.Error()))
		if s.Alias == "" {
			// Nothing to connect to anyway, and nothing watches the
			// keyring then: the fix is to restart.
			s.Problem = app.ProblemKeyringLockedRestart
			if errors.Is(err, creds.ErrUnavailable) {
				s.Problem = app.ProblemKeyringUnavailableRestart
			}
			break
		}
		// Show the problem and connect by itself once the keyring is usable.
		alias := s.Alias
		s.Backend = trayapp.WaitForKeyring(err, func(ctx context.Context) (trayapp.Backend, error) {
			a, err := e.accounts().Resolve(ctx)
			if err != nil {
				return trayapp.Backend{}, err
			}
			a.Alias = alias
			return trayBackend(a, watch, log)
		}, log)
	default:
		return s, err
	}
	return s, nil
}

// trayBackend is the tray's way to the mail for account a: the company
// relay in relay mode, the unread count at an interval on Tencent's current
// API, the v1.4 listen connection in direct mode.
func trayBackend(a account.Account, watch api.WatchOptions, log *slog.Logger) (trayapp.Backend, error) {
	if a.Relayed() {
		src, err := a.NewRelaySource(log)
		if err != nil {
			return trayapp.Backend{}, err
		}
		return trayapp.FollowRelay(src, log), nil
	}
	if a.Corp() {
		c, err := a.NewCorpClient(log)
		if err != nil {
			return trayapp.Backend{}, err
		}
		return trayapp.Poll(c.Mail, a.Alias, 0, log), nil
	}
	c, err := a.NewClient(log)
	if err != nil {
		return trayapp.Backend{}, err
	}
	return trayapp.Connect(c, a.Alias, watch, log), nil
}

// useTrayLog makes the tray app's log file (and stderr on a terminal or
// with --verbose) the log of e and slog's default, so that the std log
// lines of fyne.io/systray land there too. Call closer at exit;
// path is the log file's, "" when there is none.
func (e *env) useTrayLog(levelName string) (path string, closer func()) {
	log, path, closer := trayapp.Logger(e.stderr, e.verbose, levelName)
	e.log = log
	slog.SetDefault(log)
	return path, closer
}

// trayEnv is the part of e the tray app may use.
func (e *env) trayEnv() trayapp.Env {
	return trayapp.Env{Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Log: e.logger(), Version: version}
}

// uiLang is the tray's language: configured, else the locale variables,
// else the platform's UI language (trayapp.UILang).
func (e *env) uiLang(ctx context.Context, configured string) app.Lang {
	return trayapp.UILang(ctx, configured, e.getenv, desktop.PlatformLocale, e.logger())
}
