package tray

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/app"
)

// rec records every call made on the fake tray, in order.
type rec struct{ calls []string }

func (r *rec) add(format string, args ...any) {
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}
func (r *rec) take() []string { c := r.calls; r.calls = nil; return c }

// checkCalls takes the calls and compares them with want, every icon
// call as "icon 0 bytes": icon sizes vary by platform.
func (r *rec) checkCalls(t *testing.T, what string, want []string) {
	t.Helper()
	got := r.take()
	for i, c := range got {
		if strings.HasPrefix(c, "icon ") {
			got[i] = "icon 0 bytes"
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// newOnlineView is a fake View showing online(3), its calls taken.
func newOnlineView() (*View, *rec) {
	v, r := newFakeView()
	show(v, online(3))
	r.take()
	return v, r
}

type fakeIcon struct{ r *rec }

func (f fakeIcon) SetIcon(b []byte)    { f.r.add("icon %d bytes", len(b)) }
func (f fakeIcon) SetTooltip(s string) { f.r.add("tooltip %q", s) }

type fakeItem struct {
	r *rec
	n string
}

func (f fakeItem) SetTitle(s string) { f.r.add("%s title %q", f.n, s) }
func (f fakeItem) Show()             { f.r.add("%s show", f.n) }
func (f fakeItem) Hide()             { f.r.add("%s hide", f.n) }
func (f fakeItem) Check()            { f.r.add("%s check", f.n) }
func (f fakeItem) Uncheck()          { f.r.add("%s uncheck", f.n) }
func (f fakeItem) Enable()           { f.r.add("%s enable", f.n) }
func (f fakeItem) Disable()          { f.r.add("%s disable", f.n) }

var itemNames = [nItems]string{"status", "details", "open", "recent0", "recent1", "recent2", "recent3", "recent4",
	"pause", "pause-hour", "pause-tomorrow", "resume", "content", "autostart", "settings", "about", "quit"}

// show renders m and draws it at once, in place of the drawing goroutine.
func show(v *View, m app.Model) {
	v.Render(m)
	v.step()
}

func newFakeView() (*View, *rec) {
	r := &rec{}
	var items [nItems]item
	for i := range items {
		items[i] = fakeItem{r, itemNames[i]}
	}
	return newView(fakeIcon{r}, items, nil), r
}

func online(unread int, recent ...app.RecentItem) app.Model {
	return app.Model{
		Icon: app.IconOnline, Unread: unread, Tooltip: fmt.Sprintf("bob@example.com — %d unread", unread),
		Status: "Online", Alias: "bob@example.com", Recent: recent, CanOpen: true,
		AutostartAvailable: true, Version: "1.0.0",
		Labels: app.Labels{Open: "Open mailbox", Pause: "Pause notifications", PauseHour: "For 1 hour",
			PauseTomorrow: "Until tomorrow", Resume: "Resume notifications",
			ShowContent: "Show message content in notifications", Autostart: "Start at login",
			About: "About exmail-notifier 1.0.0", Quit: "Quit"},
	}
}

func TestRenderDrawsEverythingOnceThenOnlyChanges(t *testing.T) {
	t.Parallel()
	v, r := newFakeView()
	show(v, online(0))
	first := r.take()
	for _, want := range []string{`icon `, `tooltip "bob@example.com — 0 unread"`, `status hide`,
		`open title "Open mailbox"`, `open enable`, `recent0 hide`, `recent4 hide`, `resume disable`,
		`content uncheck`, `autostart uncheck`, `autostart show`, `quit title "Quit"`} {
		if !containsPrefix(first, want) {
			t.Errorf("first Render lacks %q; calls:\n%s", want, strings.Join(first, "\n"))
		}
	}

	tests := []struct {
		name string
		m    app.Model
		want []string
	}{
		{"same model: nothing", online(0), nil},
		{"new mail: icon, tooltip, one recent item", online(1, app.RecentItem{Title: "Alice — Lunch", MailID: "m1"}),
			[]string{"icon 0 bytes", `tooltip "bob@example.com — 1 unread"`, `recent0 title "Alice — Lunch"`, "recent0 show"}},
		{"second mail shifts the list", online(2, app.RecentItem{Title: "Carol — Report", MailID: "m2"}, app.RecentItem{Title: "Alice — Lunch", MailID: "m1"}),
			[]string{"icon 0 bytes", `tooltip "bob@example.com — 2 unread"`, `recent0 title "Carol — Report"`, `recent1 title "Alice — Lunch"`, "recent1 show"}},
		{"mail read: recent list stays, badge goes", online(0, app.RecentItem{Title: "Carol — Report", MailID: "m2"}, app.RecentItem{Title: "Alice — Lunch", MailID: "m1"}),
			[]string{"icon 0 bytes", `tooltip "bob@example.com — 0 unread"`}},
	}
	for _, tt := range tests {
		show(v, tt.m)
		r.checkCalls(t, tt.name+": calls", tt.want)
	}
}

func TestRenderProblemShowsStatusAndDisablesOpen(t *testing.T) {
	t.Parallel()
	v, r := newOnlineView()
	m := online(3)
	m.Icon, m.Status, m.CanOpen = app.IconSetup, `Not set up: run "exmail-notifier login"`, false
	m.Labels.Open = `Run "exmail-notifier login" to set up`
	show(v, m)
	want := []string{"icon 0 bytes", `status title "Not set up: run \"exmail-notifier login\""`, "status show",
		`open title "Run \"exmail-notifier login\" to set up"`, "open disable"}
	r.checkCalls(t, "calls", want)
}

// A problem shows as one short status line, with a Details… item for the
// whole explanation; the item goes again once the problem is gone, and a
// click on it asks the app for the details.
func TestRenderProblemOffersDetails(t *testing.T) {
	t.Parallel()
	v, r := newOnlineView()
	m := online(3)
	m.Icon, m.Problem, m.Status = app.IconAttention, app.ProblemKeyringUnavailable, "Keyring not running"
	m.Details = "No keyring (Secret Service) is running — install or start gnome-keyring or KWallet …"
	m.Labels.Details = "Details…"
	show(v, m)
	want := []string{"icon 0 bytes", `status title "Keyring not running"`, "status show",
		`details title "Details…"`, "details show"}
	r.checkCalls(t, "calls", want)
	if a, ok := v.action(iDetails); !ok || a != (app.Details{}) {
		t.Errorf("action(details) = %#v, %v; want app.Details{}, true", a, ok)
	}

	fixed := online(3)
	fixed.Labels.Details = "Details…"
	show(v, fixed)
	got := r.take()
	for _, want := range []string{"status hide", "details hide"} {
		if !containsPrefix(got, want) {
			t.Errorf("after the fix, calls lack %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if _, ok := v.action(iDetails); ok {
		t.Error("Details… still asks for something once all is well")
	}
}

// A click is read against the latest model the app rendered, even before
// the drawing side has put it on screen: the app's state is what counts.
func TestActionFollowsTheLatestModel(t *testing.T) {
	t.Parallel()
	v, _ := newFakeView()
	m := online(1, app.RecentItem{Title: "Alice — Lunch", MailID: "m1"})
	m.ShowContent = true
	show(v, m)
	tests := []struct {
		item int
		want app.Action
		ok   bool
	}{
		{iOpen, app.OpenMailbox{}, true},
		{iRecent0, app.OpenMail{MailID: "m1"}, true},
		{iRecent0 + 1, app.OpenMail{}, false}, // hidden, unused
		{iPauseHour, app.Pause{For: time.Hour}, true},
		{iPauseTomorrow, app.PauseUntilTomorrow{}, true},
		{iResume, app.Resume{}, true},
		{iContent, app.SetShowContent{On: false}, true}, // the checkbox flips what is shown
		{iAutostart, app.SetAutostart{On: true}, true},
		{iSettings, app.OpenSettings{}, false}, // hidden: no settings page in this model
		{iAbout, app.About{}, true},
		{iQuit, app.Quit{}, true},
		{iStatus, nil, false},
		{iDetails, nil, false}, // hidden while all is well
		{iPause, nil, false},   // a submenu parent asks for nothing
	}
	for _, tt := range tests {
		got, ok := v.action(tt.item)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("action(%s) = %#v, %v; want %#v, %v", itemNames[tt.item], got, ok, tt.want, tt.ok)
		}
	}
	m.CanOpen = false
	show(v, m)
	if _, ok := v.action(iOpen); ok {
		t.Error("Open mailbox works in the setup state")
	}
	// Rendered but not drawn yet (no step): the click already follows it.
	v.Render(online(2, app.RecentItem{Title: "Bob — Re: Lunch", MailID: "m2"}, app.RecentItem{Title: "Alice — Lunch", MailID: "m1"}))
	if got, ok := v.action(iRecent0); !ok || got != (app.OpenMail{MailID: "m2"}) {
		t.Errorf("a click on the first recent mail before the redraw = %#v, %v; want the newest model's m2", got, ok)
	}
	if got, ok := v.action(iOpen); !ok || got != (app.OpenMailbox{}) {
		t.Errorf("Open before the redraw = %#v, %v; want the newest model's (it can open again)", got, ok)
	}
}

func TestForwarderTranslatesClicks(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		v, _ := newFakeView()
		show(v, online(1, app.RecentItem{Title: "Alice — Lunch", MailID: "m1"}))
		var chans [nItems]chan struct{}
		var clicks [nItems]<-chan struct{}
		for i := range chans {
			chans[i] = make(chan struct{})
			clicks[i] = chans[i]
		}
		actions := make(chan app.Action)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { v.forward(ctx, clicks, actions); close(done) }()

		for _, c := range []struct {
			item int
			want app.Action
		}{{iRecent0, app.OpenMail{MailID: "m1"}}, {iOpen, app.OpenMailbox{}}, {iQuit, app.Quit{}}} {
			chans[c.item] <- struct{}{}
			if got := <-actions; got != c.want {
				t.Errorf("click %s: got %#v, want %#v", itemNames[c.item], got, c.want)
			}
		}
		chans[iStatus] <- struct{}{} // ignored: asks for nothing
		synctest.Wait()
		select {
		case a := <-actions:
			t.Errorf("status click produced %#v", a)
		default:
		}
		cancel()
		<-done
	})
}

func TestClipTooltip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ch…"},
		{"邮箱邮箱邮箱", 4, "邮箱邮…"},
		{"😀😀😀", 4, "😀…"}, // a surrogate pair counts two units
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestAdviceNamesTheFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		h       Host
		desktop string
		want    string
	}{
		{HostReady, "GNOME", ""},
		{HostNoWatcher, "ubuntu:GNOME", "AppIndicator and KStatusNotifierItem Support"},
		{HostNoWatcher, "KDE", "System Tray"},
		{HostNoHost, "XFCE", "Status Tray"},
		{HostNoWatcher, "", "StatusNotifierItem tray"},
		{HostNoBus, "", "no D-Bus session bus"},
	}
	for _, tt := range tests {
		got := Advice(tt.h, tt.desktop)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("Advice(%v, %q) = %q, want it to contain %q", tt.h, tt.desktop, got, tt.want)
		}
	}
}

func containsPrefix(calls []string, p string) bool {
	for _, c := range calls {
		if strings.HasPrefix(c, p) {
			return true
		}
	}
	return false
}

func TestResyncPushesIconAndTooltipAgain(t *testing.T) {
	t.Parallel()
	v, r := newFakeView()
	v.resync()
	v.step()
	if got := r.take(); len(got) != 0 {
		t.Errorf("resync before the first Render: %v", got)
	}
	show(v, online(5))
	r.take()
	v.resync()
	v.step()
	got := r.take()
	if len(got) != 2 || !strings.HasPrefix(got[0], "icon ") || got[1] != `tooltip "bob@example.com — 5 unread"` {
		t.Errorf("resync calls: %q", got)
	}
}

// stalledView is a fake View whose drawing goroutine runs (until Close
// or the end of the test) and is stuck on a stalled bus drawing online(1):
// each draw notes the model's Unread, then blocks until release is
// closed; drawn lists the notes. It wants a synctest bubble.
func stalledView(t *testing.T) (v *View, release chan struct{}, drawn func() []int) {
	v, _ = newFakeView()
	release = make(chan struct{})
	var mu sync.Mutex
	var unread []int
	v.draw = func(_, m app.Model, _ bool) {
		mu.Lock()
		unread = append(unread, m.Unread)
		mu.Unlock()
		<-release
	}
	ctx, stop := context.WithCancel(t.Context())
	v.stopDrawing = stop
	go v.drawLoop(ctx)
	v.Render(online(1))
	synctest.Wait() // the drawing goroutine is stuck in the bus now
	return v, release, func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(unread)
	}
}

// A stalled session bus blocks every systray setter. Render (the app's
// loop) and clicks (godbus's dispatch goroutine) must not wait for it, and
// once the bus moves again only the latest model is drawn.
func TestRenderNeverWaitsForAStuckDraw(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		v, unstick, drawn := stalledView(t)
		start := time.Now()
		for n := 2; n <= 50; n++ {
			v.Render(online(n)) // a deadlock here fails the bubble
		}
		v.resync()
		if _, ok := v.action(iQuit); !ok { // a click while the draw is stuck
			t.Error("Quit asks for nothing while drawing is stuck")
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Render and click took %v with the bus stuck, want no wait", d)
		}

		close(unstick)
		synctest.Wait()
		if diff := cmp.Diff([]int{1, 50}, drawn()); diff != "" {
			t.Errorf("models drawn (-want +got):\n%s", diff)
		}
		if tip, ok := v.shownTooltip(); !ok || tip != online(50).Tooltip {
			t.Errorf("on screen: %q, %v; want the latest model", tip, ok)
		}
	})
}

// The drawing goroutine draws each Render with the real drawing code, and
// resync pushes what is on screen again after it; it ends with ctx.
func TestDrawLoopDrawsAndResyncs(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		v, r := newFakeView()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { v.drawLoop(ctx); close(done) }()

		v.Render(online(3))
		synctest.Wait()
		if first := r.take(); !containsPrefix(first, `tooltip "bob@example.com — 3 unread"`) {
			t.Errorf("first draw lacks the tooltip: %q", first)
		}
		v.resync()
		synctest.Wait()
		if got := r.take(); len(got) != 2 || got[1] != `tooltip "bob@example.com — 3 unread"` {
			t.Errorf("resync calls: %q", got)
		}
		cancel()
		<-done
	})
}

// systray's setters panic once its bus connection is closed: the drawing
// goroutine takes that as the end of the item, not as a crash.
func TestDrawingStopsWhenTheItemIsGone(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		v, _ := newFakeView()
		draws := 0
		v.draw = func(app.Model, app.Model, bool) {
			draws++
			panic("dbus: connection closed by user")
		}
		go v.drawLoop(t.Context())
		v.Render(online(1))
		synctest.Wait()
		select {
		case <-v.drawn:
		default:
			t.Fatal("the drawing goroutine goes on after the item is gone")
		}
		v.Render(online(2)) // must neither block nor draw
		synctest.Wait()
		if draws != 1 {
			t.Errorf("%d draws, want 1", draws)
		}
	})
}

// Close ends drawing and waits for it, so that systray.Quit never closes
// the bus under a draw in progress; a draw stuck on the bus is given up on.
func TestCloseWaitsForTheDrawingGoroutine(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		v, release, drawn := stalledView(t) // drawing 1, stuck on the bus
		start := time.Now()
		v.Close(2 * time.Second)
		if waited := time.Since(start); waited != 2*time.Second {
			t.Errorf("Close waited %v for a stuck draw, want the 2s bound", waited)
		}
		close(release)
		synctest.Wait()
		v.Render(online(2)) // after Close: nothing is drawn
		synctest.Wait()
		if diff := cmp.Diff([]int{1}, drawn()); diff != "" {
			t.Errorf("models drawn (-want +got):\n%s", diff)
		}
		select {
		case <-v.drawn:
		default:
			t.Error("the drawing goroutine still runs after Close")
		}
	})
}

// Close returns as soon as a draw in progress finishes, well before its
// bound.
func TestCloseReturnsWhenTheDrawFinishes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		v, _ := newFakeView()
		v.draw = func(app.Model, app.Model, bool) { time.Sleep(100 * time.Millisecond) } // a slow bus, virtual time
		ctx, stop := context.WithCancel(t.Context())
		v.stopDrawing = stop
		go v.drawLoop(ctx)
		v.Render(online(1))
		synctest.Wait() // drawing
		start := time.Now()
		v.Close(2 * time.Second)
		if waited := time.Since(start); waited != 100*time.Millisecond {
			t.Errorf("Close waited %v, want the 100ms the draw still needed", waited)
		}
		select {
		case <-v.drawn:
		default:
			t.Error("the drawing goroutine still runs after Close returned")
		}
	})
}
