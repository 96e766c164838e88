package trayapp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/handoff"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/setup"
)

// Accounts changes the stored account; *setup.Store implements it. Each
// call checks with the server before storing anything (see package setup).
type Accounts interface {
	Enroll(ctx context.Context, relay string, code api.Secret, name string) (setup.Enrolled, error)
	Login(ctx context.Context, d setup.Direct) (*api.User, error)
	LoginCorp(ctx context.Context, c setup.Corp) error
	SignOut(ctx context.Context, agent string) (removed []string, err error)
}

// Page is what the settings page needs beyond the running session: the
// account store, doctor's checks and where the language is kept. A nil
// Session.Page means no page (no menu item).
type Page struct {
	Accounts Accounts
	// Doctor runs doctor's checks; nil: the page shows none.
	Doctor func(ctx context.Context) (settings.Report, error)
	// SaveLang stores the language choice ("", "zh" or "en"); nil: the
	// choice lasts until exit.
	SaveLang func(lang string) error
	// PeerCheck confirms that a connection to the page comes from this
	// user (settings.Options.PeerCheck); nil checks nothing.
	PeerCheck func(remote, local net.Addr) (bool, error)
	// Browse opens the page's one-time link; nil: the desktop's browser
	// through handoff.Open (the link never reaches the opener's argv).
	Browse func(ctx context.Context, link api.Secret) error
	// DeviceName is what IT sees for this computer after an enrollment
	// (the host name when "").
	DeviceName string
}

// The quiet hours the page offers before any were chosen: the night.
const (
	defaultQuietFrom = 20 * 60
	defaultQuietTo   = 8 * 60
)

// errNoReload: the session cannot change its account while running (the
// demo).
var errNoReload = errors.New("this session's account cannot be changed here")

// page is settings.Backend for the running tray: it reads the session and
// changes it through Page.Accounts, then makes the tray switch to the new
// account (runner.reload) without a restart.
type page struct {
	r   *runner
	p   *Page
	log *slog.Logger

	mu    sync.Mutex
	prefs app.Prefs // the app's preferences as last saved or applied
}

var _ settings.Backend = (*page)(nil)

func (g *page) State(ctx context.Context) (settings.State, error) {
	s := g.r.session()
	st := settings.State{
		Mailbox: s.Alias,
		Relay:   s.Relay,
		Agent:   s.Agent,
		CorpID:  s.CorpID,
		Lang:    s.Lang,
	}
	switch {
	case s.Alias == "":
		st.Mode = settings.ModeNone
	case s.Mode == app.ModeRelay:
		st.Mode = settings.ModeRelay
	case s.Mode == app.ModeCorp:
		st.Mode = settings.ModeCorp
	default:
		st.Mode = settings.ModeDirect
	}
	g.mu.Lock()
	p := g.prefs
	g.mu.Unlock()
	if !p.Quiet.On && p.Quiet.From == p.Quiet.To {
		// Never set: offer the night (20:00–08:00), not 00:00–00:00.
		p.Quiet.From, p.Quiet.To = defaultQuietFrom, defaultQuietTo
	}
	st.Prefs = settings.Prefs{
		ShowContent: p.ShowContent,
		Sound:       p.Sound,
		Quiet:       settings.QuietHours{On: p.Quiet.On, From: settings.TimeOfDay(p.Quiet.From), To: settings.TimeOfDay(p.Quiet.To)},
		Lang:        s.LangChoice,
	}
	if g.r.auto != nil {
		st.AutostartAvailable = true
		on, err := g.r.auto.Enabled()
		if err != nil {
			g.log.Debug("settings: start at login unknown", "err", err)
		}
		st.Autostart = on
	}
	return st, nil
}

func (g *page) PreviewEnrollment(ctx context.Context, input api.Secret, relayFlag string) (string, error) {
	relay, _, err := setup.ParseEnrollment(input, relayFlag)
	return relay, err
}

func (g *page) Enroll(ctx context.Context, input api.Secret, relayFlag, deviceName string) (string, error) {
	relay, code, err := setup.ParseEnrollment(input, relayFlag)
	if err != nil {
		return "", err
	}
	en, err := g.p.Accounts.Enroll(ctx, relay, code, deviceName)
	if err != nil {
		return "", err
	}
	g.log.Info("settings: enrolled with a relay; switching the tray to it", "device", en.DeviceID)
	return en.Alias, g.r.reload(ctx)
}

func (g *page) Login(ctx context.Context, agent, alias string, key api.Secret) error {
	if _, err := g.p.Accounts.Login(ctx, setup.Direct{Agent: agent, Alias: alias, Key: key}); err != nil {
		return err
	}
	g.log.Info("settings: logged in directly; switching the tray to it")
	return g.r.reload(ctx)
}

func (g *page) LoginCorp(ctx context.Context, corpID, alias string, sso, mail api.Secret) error {
	if err := g.p.Accounts.LoginCorp(ctx, setup.Corp{CorpID: corpID, Alias: alias, SSO: sso, Mail: mail}); err != nil {
		return err
	}
	g.log.Info("settings: logged in on the current API; switching the tray to it")
	return g.r.reload(ctx)
}

func (g *page) SetPrefs(ctx context.Context, p settings.Prefs) error {
	act := app.ApplyPrefs{
		ShowContent: p.ShowContent,
		Quiet:       app.QuietHours{On: p.Quiet.On, From: int(p.Quiet.From), To: int(p.Quiet.To)},
		Sound:       p.Sound,
	}
	g.mu.Lock()
	g.prefs.ShowContent, g.prefs.Quiet, g.prefs.Sound = act.ShowContent, act.Quiet, act.Sound
	g.mu.Unlock()
	if g.r.notifier != nil {
		g.r.notifier.SetSound(p.Sound)
	}
	g.r.send(act)
	if p.Lang == g.r.session().LangChoice {
		return nil
	}
	if g.r.session().Reload == nil {
		return errors.New("this session's language cannot be changed while it runs; start it again with LANG set (e.g. LANG=zh_CN.UTF-8)")
	}
	if g.p.SaveLang != nil {
		if err := g.p.SaveLang(p.Lang); err != nil {
			return err
		}
	}
	g.log.Info("settings: language changed", "lang", p.Lang)
	return g.r.reload(ctx)
}

func (g *page) SetAutostart(ctx context.Context, on bool) error {
	if g.r.auto == nil {
		return errors.New("start at login is not available on this desktop")
	}
	if err := g.r.auto.SetEnabled(on); err != nil {
		return err
	}
	g.r.send(app.AutostartChanged{On: on}) // the menu's checkbox follows; written once, here
	return nil
}

func (g *page) SignOut(ctx context.Context) error {
	if _, err := g.p.Accounts.SignOut(ctx, ""); err != nil {
		return err
	}
	g.log.Info("settings: signed out")
	return g.r.reload(ctx)
}

func (g *page) Doctor(ctx context.Context) (settings.Report, error) {
	if g.p.Doctor == nil {
		return settings.Report{}, nil
	}
	return g.p.Doctor(ctx)
}

// saved records what the app saved (menu changes included), so that the
// page shows the preferences as they are; it passes them on to next.
type savedPrefs struct {
	g    *page
	next app.PrefsSaver // nil: not kept beyond this run
}

func (s savedPrefs) SavePrefs(p app.Prefs) error {
	s.g.mu.Lock()
	s.g.prefs = p
	s.g.mu.Unlock()
	if s.next == nil {
		return nil
	}
	return s.next.SavePrefs(p)
}

// pageOpener is app.Settings: it mints a one-time link to the page and
// opens it in the browser through handoff (the link never reaches the
// opener's command line).
type pageOpener struct {
	srv    *settings.Server
	browse func(ctx context.Context, link api.Secret) error // nil: handoff.Open
	log    *slog.Logger
}

func (o pageOpener) Open(ctx context.Context) error {
	u, err := o.srv.OneTimeURL()
	if err != nil {
		return err
	}
	if o.browse != nil {
		return o.browse(ctx, u)
	}
	_, err = handoff.Open(ctx, u, o.log)
	return err
}
