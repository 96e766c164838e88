// Package tray draws the notifier's app.Model into the system tray with
// fyne.io/systray and turns menu clicks into app.Action values.
//
// The rules fyne.io/systray imposes are kept here, in one place:
//
//   - systray.Run runs on the main goroutine, last (Run does that);
//   - SetOnTapped is installed before systray.Run, or a left click on the
//     icon does nothing (the SNI property ItemIsMenu is fixed at start);
//   - the menu items are created once, in onReady, and only updated in
//     place afterwards; onReady returns at once;
//   - ClickedCh sends are dropped when nobody receives, so one forwarder
//     goroutine does nothing but translate clicks into actions;
//   - systray.Quit panics when the session bus was never reached, so Run
//     checks the bus first (bounded by a few seconds) and never starts
//     systray without one;
//   - every systray setter writes to the session bus synchronously with no
//     timeout, so View.Render only records the model and one drawing
//     goroutine calls the setters; nothing holds a lock across them.
//
// Every connection this package makes to the session bus is its own,
// private, never auto-launched (internal/sessionbus), and bounded by a
// context while it connects.
//
// On Linux the package also watches for a StatusNotifierItem host
// (WatchHost), because systray itself never reports a missing one.
package tray

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/systray"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/assets"
)

// item is what View needs of a *systray.MenuItem; tests use a fake.
type item interface {
	SetTitle(string)
	Show()
	Hide()
	Check()
	Uncheck()
	Enable()
	Disable()
}

// icon is what View needs of the tray itself; tests use a fake.
type icon interface {
	SetIcon([]byte)
	SetTooltip(string)
}

// The menu, top to bottom. The indexes are also the order in which
// newItems creates the items, so dbusmenu ids follow this order.
const (
	iStatus  = 0 // disabled; the problem or connection state in one short line, hidden when online
	iDetails = 1 // Details… (详情…): the whole explanation and fix; shown with a problem
	iOpen    = 2 // Open mailbox (打开邮箱), or the setup hint (disabled)
	iRecent0 = 3 // five recent mails, hidden when unused
	iRecent4 = iRecent0 + app.MaxRecent - 1

	iPause         = iRecent4 + 1 // submenu
	iPauseHour     = iPause + 1   // submenu children
	iPauseTomorrow = iPause + 2
	iResume        = iPause + 3
	iContent       = iPause + 4 // checkbox
	iAutostart     = iPause + 5 // checkbox
	iSettings      = iPause + 6 // Settings… (设置…); hidden without a settings page
	iAbout         = iPause + 7
	iQuit          = iPause + 8
	nItems         = iPause + 9
)

// View draws app.Model values into the tray. It implements app.View.
// Create it with New from inside the ready callback of Run.
//
// Every systray setter emits D-Bus signals synchronously, with no timeout,
// so a stalled session bus blocks it. Render therefore never draws: it
// records the model and wakes the one drawing goroutine, which applies the
// latest model (intermediate ones are skipped) without holding mu, so
// neither the app's loop (Render) nor godbus's dispatch goroutine (clicks,
// which read the model under mu) ever waits for the bus.
type View struct {
	icon  icon
	items [nItems]item
	log   *slog.Logger
	draw  func(old, m app.Model, all bool) // the drawing side; apply, or a fake in tests
	push  func(m app.Model)                // re-push icon and tooltip; pushIconTooltip, or a fake
	wake  chan struct{}                    // one token: there is something to draw

	stopDrawing context.CancelFunc // ends drawLoop (Close)
	drawn       chan struct{}      // closed when drawLoop has returned
	dead        atomic.Bool        // a systray call panicked: the item is gone

	mu       sync.Mutex
	latest   app.Model // the last model rendered; guarded by mu
	gen      uint64    // number of Renders; guarded by mu
	shown    app.Model // the last model drawn, i.e. on screen; guarded by mu
	shownGen uint64    // gen of shown, 0 before the first draw; guarded by mu
	resyncs  bool      // a resync is asked for; guarded by mu
}

// New creates the menu items (once) and starts the goroutine that forwards
// clicks as actions until ctx is done. Run calls it from systray's onReady;
// it returns at once.
func New(ctx context.Context, actions chan<- app.Action, log *slog.Logger) *View {
	var mi [nItems]*systray.MenuItem
	mi[iStatus] = systray.AddMenuItem("", "")
	mi[iStatus].Disable()
	mi[iStatus].Hide()
	mi[iDetails] = systray.AddMenuItem("Details…", "")
	mi[iDetails].Hide()
	mi[iOpen] = systray.AddMenuItem("Open mailbox", "")
	for i := iRecent0; i <= iRecent4; i++ {
		mi[i] = systray.AddMenuItem("", "")
		mi[i].Hide()
	}
	systray.AddSeparator()
	mi[iPause] = systray.AddMenuItem("Pause notifications", "")
	mi[iPauseHour] = mi[iPause].AddSubMenuItem("For 1 hour", "")
	mi[iPauseTomorrow] = mi[iPause].AddSubMenuItem("Until tomorrow", "")
	mi[iResume] = mi[iPause].AddSubMenuItem("Resume notifications", "")
	mi[iResume].Disable()
	mi[iContent] = systray.AddMenuItemCheckbox("Show message content in notifications", "", false)
	mi[iAutostart] = systray.AddMenuItemCheckbox("Start at login", "", false)
	mi[iSettings] = systray.AddMenuItem("Settings…", "")
	mi[iSettings].Hide()
	systray.AddSeparator()
	mi[iAbout] = systray.AddMenuItem("About", "")
	mi[iQuit] = systray.AddMenuItem("Quit", "")

	var items [nItems]item
	var clicks [nItems]<-chan struct{}
	for i, m := range mi {
		items[i] = labelled{m} // every label escaped for this platform's menu
		clicks[i] = m.ClickedCh
	}
	v := newView(systrayIcon{}, items, log)
	go v.forward(ctx, clicks, actions)
	dctx, stop := context.WithCancel(ctx)
	v.stopDrawing = stop
	go v.drawLoop(dctx)
	return v
}

// Close stops the drawing goroutine and waits for it, at most timeout (a
// draw can hang on a stalled bus). Run calls it before systray.Quit, which
// closes the bus connection that drawing would otherwise use after it is
// gone (systray then panics).
func (v *View) Close(timeout time.Duration) {
	if v.stopDrawing == nil {
		return
	}
	v.stopDrawing()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-v.drawn:
	case <-t.C:
		v.log.Warn("tray: the last drawing did not finish; quitting anyway", "after", timeout)
	}
}

// newView returns a View that draws into ic and items once its drawLoop
// runs (New starts it; tests call step instead).
func newView(ic icon, items [nItems]item, log *slog.Logger) *View {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &View{icon: ic, items: items, log: log, wake: make(chan struct{}, 1), drawn: make(chan struct{})}
	v.draw, v.push = v.apply, v.pushIconTooltip
	return v
}

// Render records m as the model to show and returns at once; the drawing
// goroutine applies it, changing only what differs from the model on
// screen. It is safe to call from any goroutine; app.App calls it from its
// loop. When the bus stalls, later models replace earlier ones that were
// not drawn yet.
func (v *View) Render(m app.Model) {
	v.mu.Lock()
	v.latest = m
	v.gen++
	v.mu.Unlock()
	v.poke()
}

// poke wakes the drawing goroutine without ever waiting for it.
func (v *View) poke() {
	select {
	case v.wake <- struct{}{}:
	default: // already woken: it will see the latest state
	}
}

// drawLoop is the one drawing goroutine, until ctx is done or the tray
// item is gone.
func (v *View) drawLoop(ctx context.Context) {
	defer close(v.drawn)
	for {
		select {
		case <-ctx.Done():
			return
		case <-v.wake:
			if ctx.Err() != nil {
				return
			}
			v.step()
			if v.dead.Load() {
				return
			}
		}
	}
}

// step draws the latest model if it is not on screen yet, then does an
// asked-for resync. mu is held only to copy the state, never while
// drawing. Only the drawing goroutine (or a test in its place) calls it.
func (v *View) step() {
	defer func() {
		// systray's setters panic once its bus connection is closed (after
		// Quit, or when the bus went away): the item is gone, stop drawing.
		if r := recover(); r != nil {
			v.dead.Store(true)
			v.log.Warn("tray: the tray item is gone; no more drawing", "panic", fmt.Sprint(r))
		}
	}()
	v.mu.Lock()
	m, gen, old, all := v.latest, v.gen, v.shown, v.shownGen == 0
	need := gen != v.shownGen
	resync := v.resyncs && gen > 0
	v.resyncs = false
	v.mu.Unlock()

	if need {
		v.draw(old, m, all)
		v.mu.Lock()
		v.shown, v.shownGen = m, gen
		v.mu.Unlock()
	}
	if resync {
		v.push(m)
	}
}

// apply draws m over old, changing only what differs (everything when
// all). It runs on the drawing goroutine only, without mu.
func (v *View) apply(old, m app.Model, all bool) {
	if all || old.Icon != m.Icon || assets.BadgeText(old.Unread) != assets.BadgeText(m.Unread) {
		v.icon.SetIcon(assets.Tray(lookFor(m.Icon), m.Unread))
		v.log.Debug("tray icon", "look", lookFor(m.Icon), "unread", m.Unread)
	}
	if all || old.Tooltip != m.Tooltip {
		v.icon.SetTooltip(m.Tooltip)
	}

	status := v.items[iStatus]
	if all || old.Status != m.Status {
		status.SetTitle(m.Status)
	}
	if all || showStatus(old) != showStatus(m) {
		visible(status, showStatus(m))
	}

	details := v.items[iDetails]
	if all || old.Labels.Details != m.Labels.Details {
		details.SetTitle(m.Labels.Details)
	}
	if all || (old.Details != "") != (m.Details != "") {
		visible(details, m.Details != "")
	}

	open := v.items[iOpen]
	if all || old.Labels.Open != m.Labels.Open {
		open.SetTitle(m.Labels.Open)
	}
	if all || old.CanOpen != m.CanOpen {
		enabled(open, m.CanOpen)
	}

	for i := range app.MaxRecent {
		it := v.items[iRecent0+i]
		was, now := recentAt(old.Recent, i), recentAt(m.Recent, i)
		if all || was.Title != now.Title {
			it.SetTitle(now.Title)
		}
		if all || (was.MailID != "" || was.Title != "") != (now.MailID != "" || now.Title != "") {
			visible(it, now.MailID != "" || now.Title != "")
		}
	}

	for _, t := range []struct {
		i        int
		old, new string
	}{
		{iPause, old.Labels.Pause, m.Labels.Pause},
		{iPauseHour, old.Labels.PauseHour, m.Labels.PauseHour},
		{iPauseTomorrow, old.Labels.PauseTomorrow, m.Labels.PauseTomorrow},
		{iResume, old.Labels.Resume, m.Labels.Resume},
		{iContent, old.Labels.ShowContent, m.Labels.ShowContent},
		{iAutostart, old.Labels.Autostart, m.Labels.Autostart},
		{iSettings, old.Labels.Settings, m.Labels.Settings},
		{iAbout, old.Labels.About, m.Labels.About},
		{iQuit, old.Labels.Quit, m.Labels.Quit},
	} {
		if all || t.old != t.new {
			v.items[t.i].SetTitle(t.new)
		}
	}
	if all || old.Paused != m.Paused {
		enabled(v.items[iResume], m.Paused)
	}
	if all || old.ShowContent != m.ShowContent {
		checked(v.items[iContent], m.ShowContent)
	}
	if all || old.Autostart != m.Autostart {
		checked(v.items[iAutostart], m.Autostart)
	}
	if all || old.AutostartAvailable != m.AutostartAvailable {
		visible(v.items[iAutostart], m.AutostartAvailable)
	}
	if all || old.SettingsAvailable != m.SettingsAvailable {
		visible(v.items[iSettings], m.SettingsAvailable)
	}
}

// resync asks the drawing goroutine to push the icon and tooltip of the
// model on screen again. fyne.io/systray loses a SetIcon or SetTooltip
// made while it is still exporting the item (it stores the value, but the
// D-Bus property was already built from the old one), and onReady runs
// concurrently with that export; settle calls resync once the item is on
// the bus, and again while the exported tooltip is stale. It does nothing
// before the first Render.
func (v *View) resync() {
	v.mu.Lock()
	v.resyncs = true
	v.mu.Unlock()
	v.poke()
}

func (v *View) pushIconTooltip(m app.Model) {
	v.icon.SetIcon(assets.Tray(lookFor(m.Icon), m.Unread))
	v.icon.SetTooltip(m.Tooltip)
}

// shownTooltip is the tooltip of the model on screen ("", false before
// the first draw).
func (v *View) shownTooltip() (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.shown.Tooltip, v.shownGen != 0
}

// showStatus: the status line is shown unless all is well (online), when
// the tooltip says enough.
func showStatus(m app.Model) bool { return m.Status != "" && m.Icon != app.IconOnline }

func recentAt(r []app.RecentItem, i int) app.RecentItem {
	if i < len(r) {
		return r[i]
	}
	return app.RecentItem{}
}

func visible(it item, on bool) {
	if on {
		it.Show()
	} else {
		it.Hide()
	}
}

func enabled(it item, on bool) {
	if on {
		it.Enable()
	} else {
		it.Disable()
	}
}

func checked(it item, on bool) {
	if on {
		it.Check()
	} else {
		it.Uncheck()
	}
}

// lookFor maps the model's icon kind onto the drawing.
func lookFor(k app.IconKind) assets.Look {
	switch k {
	case app.IconSetup:
		return assets.LookSetup
	case app.IconConnecting:
		return assets.LookConnecting
	case app.IconOnline:
		return assets.LookOnline
	case app.IconOffline:
		return assets.LookOffline
	default:
		return assets.LookAttention
	}
}

// action translates a click on item i into the action it asks for, from
// the latest model rendered (the screen shows it a moment later; while
// the bus is stalled no clicks arrive anyway). ok is false for items that
// ask for nothing. It never waits for the drawing side.
func (v *View) action(i int) (a app.Action, ok bool) {
	v.mu.Lock()
	m := v.latest
	v.mu.Unlock()
	switch {
	case i == iOpen:
		return app.OpenMailbox{}, m.CanOpen
	case i == iDetails:
		return app.Details{}, m.Details != ""
	case i >= iRecent0 && i <= iRecent4:
		r := recentAt(m.Recent, i-iRecent0)
		return app.OpenMail{MailID: r.MailID}, r.MailID != ""
	case i == iPauseHour:
		return app.Pause{For: pauseHour}, true
	case i == iPauseTomorrow:
		return app.PauseUntilTomorrow{}, true
	case i == iResume:
		return app.Resume{}, true
	case i == iContent:
		return app.SetShowContent{On: !m.ShowContent}, true
	case i == iAutostart:
		return app.SetAutostart{On: !m.Autostart}, m.AutostartAvailable
	case i == iSettings:
		return app.OpenSettings{}, m.SettingsAvailable
	case i == iAbout:
		return app.About{}, true
	case i == iQuit:
		return app.Quit{}, true
	}
	return nil, false
}

// forward is the one click forwarder: it only translates clicks into
// actions, so that systray, which drops a click nobody receives at once,
// finds it ready again quickly.
func (v *View) forward(ctx context.Context, clicks [nItems]<-chan struct{}, actions chan<- app.Action) {
	for {
		i, ok := nextClick(ctx, clicks)
		if !ok {
			return
		}
		a, ok := v.action(i)
		if !ok {
			continue
		}
		v.log.Debug("tray click", "item", i, "action", actionName(a))
		select {
		case actions <- a:
		case <-ctx.Done():
			return
		}
	}
}

// nextClick lists the recent items one by one, so it is written for
// exactly five: this line stops the build if app.MaxRecent changes without
// nextClick following (a constant below zero does not fit a uint).
const _ = uint(app.MaxRecent-5) + uint(5-app.MaxRecent)

// nextClick waits for a click on any item. A select over a fixed array
// keeps it allocation-free and obvious.
func nextClick(ctx context.Context, c [nItems]<-chan struct{}) (int, bool) {
	select {
	case <-ctx.Done():
		return 0, false
	case <-c[iStatus]:
		return iStatus, true
	case <-c[iDetails]:
		return iDetails, true
	case <-c[iOpen]:
		return iOpen, true
	case <-c[iRecent0]:
		return iRecent0, true
	case <-c[iRecent0+1]:
		return iRecent0 + 1, true
	case <-c[iRecent0+2]:
		return iRecent0 + 2, true
	case <-c[iRecent0+3]:
		return iRecent0 + 3, true
	case <-c[iRecent4]:
		return iRecent4, true
	case <-c[iPause]:
		return iPause, true
	case <-c[iPauseHour]:
		return iPauseHour, true
	case <-c[iPauseTomorrow]:
		return iPauseTomorrow, true
	case <-c[iResume]:
		return iResume, true
	case <-c[iContent]:
		return iContent, true
	case <-c[iAutostart]:
		return iAutostart, true
	case <-c[iSettings]:
		return iSettings, true
	case <-c[iAbout]:
		return iAbout, true
	case <-c[iQuit]:
		return iQuit, true
	}
}

func actionName(a app.Action) string {
	switch a.(type) {
	case app.OpenMailbox:
		return "open-mailbox"
	case app.OpenMail:
		return "open-mail"
	case app.Pause:
		return "pause"
	case app.PauseUntilTomorrow:
		return "pause-until-tomorrow"
	case app.Resume:
		return "resume"
	case app.Details:
		return "details"
	case app.SetShowContent:
		return "show-content"
	case app.SetAutostart:
		return "autostart"
	case app.OpenSettings:
		return "settings"
	case app.About:
		return "about"
	case app.Quit:
		return "quit"
	}
	return "unknown"
}

// systrayIcon is the real tray icon.
type systrayIcon struct{}

func (systrayIcon) SetIcon(b []byte)    { systray.SetIcon(sniIcon(b)) }
func (systrayIcon) SetTooltip(s string) { setTooltip(s) }
