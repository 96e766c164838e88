//go:build linux

package tray

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/exmail-notifier/exmail-notifier/app"
)

// ranSystray: systray.Run keeps global state and works once per process.
var ranSystray atomic.Bool

// recordingWatcher is a StatusNotifierWatcher that reports who registers.
type recordingWatcher struct{ reg chan string }

func (w recordingWatcher) RegisterStatusNotifierItem(_ string, sender dbus.Sender) *dbus.Error {
	w.reg <- string(sender)
	return nil
}
func (recordingWatcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

// TestRunOnAPrivateBus runs the real tray (fyne.io/systray) against a fake
// watcher on a private bus, plays the tray host (reads the item, clicks
// the menu, activates the icon) and quits. systray can run once per
// process, so this is the package's only test of Run.
func TestRunOnAPrivateBus(t *testing.T) {
	if !ranSystray.CompareAndSwap(false, true) {
		t.Skip("systray runs once per process; it already ran here (go test -count > 1)")
	}
	addr := privateBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	desk, err := dialer(addr)(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer desk.Close()
	w := recordingWatcher{reg: make(chan string, 4)}
	if err := desk.Export(w, watcherPath, watcherIface); err != nil {
		t.Fatal(err)
	}
	if _, err := prop.Export(desk, watcherPath, map[string]map[string]*prop.Prop{watcherIface: {
		"IsStatusNotifierHostRegistered": {Value: true},
		"ProtocolVersion":                {Value: int32(0)},
		"RegisteredStatusNotifierItems":  {Value: []string{}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.RequestName(watcherName, dbus.NameFlagDoNotQueue); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	actions := make(chan app.Action, 4)
	views := make(chan *View, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Name: "Exmail Notifier", Actions: actions}, func(v *View) { views <- v })
	}()
	var v *View
	var sender string
	for v == nil || sender == "" {
		select {
		case v = <-views:
		case sender = <-w.reg:
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("the tray did not come up")
		}
	}
	// Render only queues the model: the tooltip reaches the bus when the
	// drawing goroutine has drawn it, which systray announces with
	// NewToolTip. Listen before rendering so no announcement is missed.
	newTip := make(chan *dbus.Signal, 16)
	desk.Signal(newTip)
	if err := desk.AddMatchSignal(dbus.WithMatchSender(sender),
		dbus.WithMatchInterface("org.kde.StatusNotifierItem"), dbus.WithMatchMember("NewToolTip")); err != nil {
		t.Fatal(err)
	}
	if err := desk.AddMatchSignal(dbus.WithMatchSender(sender),
		dbus.WithMatchInterface("com.canonical.dbusmenu")); err != nil {
		t.Fatal(err)
	}
	const subject = "build_bot — build_failed on ci_main"
	v.Render(online(2, app.RecentItem{Title: subject, MailID: "m1"}))

	item := desk.Object(sender, "/StatusNotifierItem")
	title, err := item.GetProperty("org.kde.StatusNotifierItem.Title")
	if err != nil || title.Value() != "Exmail Notifier" {
		t.Errorf("Title = %v (%v)", title, err)
	}
	var tip string // the ToolTip's title, read as the host check reads it
	tipTimeout := time.After(10 * time.Second)
	for tip != "bob@example.com — 2 unread" {
		select {
		case <-newTip:
		case <-tipTimeout:
			t.Fatalf("ToolTip title = %q (%v), never the rendered one", tip, err)
		}
		tip, err = exportedTooltip(t.Context(), item)
		if err != nil {
			t.Errorf("ToolTip: %v", err)
		}
	}

	menu := desk.Object(sender, "/StatusNotifierItem/menu")
	labels := func() map[string]int32 {
		var rev uint32
		var layout struct {
			ID       int32
			Props    map[string]dbus.Variant
			Children []dbus.Variant
		}
		if err := menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &layout); err != nil {
			t.Fatal(err)
		}
		ids := map[string]int32{}
		for _, c := range layout.Children {
			var child struct {
				ID       int32
				Props    map[string]dbus.Variant
				Children []dbus.Variant
			}
			if err := dbus.Store([]any{c.Value()}, &child); err != nil {
				t.Fatal(err)
			}
			if l, ok := child.Props["label"]; ok {
				ids[l.Value().(string)] = child.ID
			}
		}
		return ids
	}
	// A literal underscore travels as "__" (a single "_" would mark the
	// access key and vanish): the host shows the subject as written.
	const onTheWire = "build__bot — build__failed on ci__main"
	ids := labels()
	menuTimeout := time.After(10 * time.Second)
	for _, ok := ids[onTheWire]; !ok; _, ok = ids[onTheWire] {
		select {
		case <-newTip: // the menu's LayoutUpdated or ItemsPropertiesUpdated
		case <-menuTimeout:
			t.Fatalf("no recent-mail label %q in the menu %v", onTheWire, ids)
		}
		ids = labels()
	}
	want := func(what string, a app.Action) {
		t.Helper()
		select {
		case got := <-actions:
			if got != a {
				t.Errorf("%s: action %#v, want %#v", what, got, a)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: no action", what)
		}
	}
	for _, c := range []struct {
		label string
		want  app.Action
	}{{"Open mailbox", app.OpenMailbox{}}, {"Quit", app.Quit{}}} {
		id, ok := ids[c.label]
		if !ok {
			t.Fatalf("no %q in the menu %v", c.label, ids)
		}
		if err := menu.Call("com.canonical.dbusmenu.Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(0)).Err; err != nil {
			t.Fatal(err)
		}
		want("click "+c.label, c.want)
	}
	if err := item.Call("org.kde.StatusNotifierItem.Activate", 0, int32(0), int32(0)).Err; err != nil {
		t.Errorf("Activate: %v", err)
	}
	want("left click (Activate)", app.OpenMailbox{})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
