//go:build linux

package notify

// Bus tests: they talk to a REAL dbus-daemon. The test process itself plays
// the notification server: it owns org.freedesktop.Notifications on the
// session bus and records what the Notifier sends. Run them under a private
// bus where nothing is D-Bus-activatable:
//
//	dbus-run-session --config-file=.ci/bare-session.conf -- go test -race ./notify/...
//
// They skip when DBUS_SESSION_BUS_ADDRESS is unset. They do not call
// t.Parallel: the service name can have only one owner at a time, and the
// degraded test needs it to have none.

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
)

func needBus(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no session bus: run under dbus-run-session --config-file=.ci/bare-session.conf -- go test ./notify/...")
	}
}

// privateConn is a private, ready-to-use session-bus connection that the
// test closes at the end.
func privateConn(t *testing.T) *dbus.Conn {
	t.Helper()
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.Auth(nil); err != nil {
		t.Fatal(err)
	}
	if err := conn.Hello(); err != nil {
		t.Fatal(err)
	}
	return conn
}

// notifyCall is one org.freedesktop.Notifications.Notify call as received.
type notifyCall struct {
	App      string
	Replaces uint32
	Icon     string
	Summary  string
	Body     string
	Actions  []string
	Hints    map[string]any
	Timeout  int32
}

// fakeServer implements org.freedesktop.Notifications.
type fakeServer struct {
	caps  []string
	calls chan notifyCall
	hang  chan struct{} // when non-nil, Notify and GetServerInformation wait for it

	mu sync.Mutex
	id uint32
}

func (s *fakeServer) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	if s.hang != nil {
		<-s.hang
	}
	h := make(map[string]any, len(hints))
	for k, v := range hints {
		h[k] = v.Value()
	}
	s.mu.Lock()
	s.id++
	id := s.id
	s.mu.Unlock()
	s.calls <- notifyCall{app, replaces, icon, summary, body, actions, h, timeout}
	return id, nil
}

func (s *fakeServer) GetCapabilities() ([]string, *dbus.Error) { return s.caps, nil }

func (s *fakeServer) GetServerInformation() (string, string, string, string, *dbus.Error) {
	if s.hang != nil {
		<-s.hang
	}
	return "fake", "exmail-test", "1", "1.2", nil
}

func (s *fakeServer) CloseNotification(uint32) *dbus.Error { return nil }

// serve exports s as the session's notification server until the test
// ends, and returns the connection it is served on (to emit signals).
func serve(t *testing.T, s *fakeServer) *dbus.Conn {
	t.Helper()
	if s.calls == nil {
		s.calls = make(chan notifyCall, 16)
	}
	conn := privateConn(t)
	if err := conn.Export(s, fdoPath, fdoIface); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(fdoName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName(%s) = %v, %v: is a notification daemon already running on this bus?", fdoName, reply, err)
	}
	return conn
}

func (s *fakeServer) next(t *testing.T) notifyCall {
	t.Helper()
	select {
	case c := <-s.calls:
		return c
	case <-time.After(failsafe):
		t.Fatal("the server received no Notify call")
		return notifyCall{}
	}
}

func emit(t *testing.T, conn *dbus.Conn, member string, args ...any) {
	t.Helper()
	if err := conn.Emit(fdoPath, fdoIface+"."+member, args...); err != nil {
		t.Fatal(err)
	}
}

// startNotifier runs a production Notifier (New) until the test ends.
func startNotifier(t *testing.T, opts Options) (*Notifier, *logRecorder) {
	t.Helper()
	logs := &logRecorder{}
	if opts.Logger == nil {
		opts.Logger = slog.New(logs)
	}
	n := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run() = %v", err)
			}
		case <-time.After(failsafe):
			t.Error("Run did not return after its ctx was cancelled")
		}
	})
	return n, logs
}

func receiveKey(t *testing.T, keys <-chan string) string {
	t.Helper()
	select {
	case k := <-keys:
		return k
	case <-time.After(failsafe):
		t.Fatal("OnClick was not called")
		return ""
	}
}

func TestBus_NotifyCallAndClick(t *testing.T) {
	needBus(t)
	srv := &fakeServer{caps: []string{"actions", "body", "body-markup", "icon-static"}}
	srvConn := serve(t, srv)
	keys := make(chan string, 4)
	n, _ := startNotifier(t, Options{
		AppName:  "Exmail Notifier",
		IconPath: "/opt/exmail-notifier/icon.png",
		OnClick:  func(key string) { keys <- key },
	})

	n.Toast("New mail from Alice", "Q3 <draft> & notes", "mail-42")
	got := srv.next(t)
	want := notifyCall{
		App:      "Exmail Notifier",
		Icon:     "/opt/exmail-notifier/icon.png",
		Summary:  "New mail from Alice",
		Body:     "Q3 &lt;draft&gt; &amp; notes", // the server announced body-markup
		Actions:  []string{"default", "Open"},
		Hints:    map[string]any{"desktop-entry": "exmail-notifier", "category": "email.arrived"},
		Timeout:  8000,
		Replaces: 0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Notify call mismatch (-want +got):\n%s", diff)
	}

	emit(t, srvConn, "ActionInvoked", uint32(1), "default")
	if k := receiveKey(t, keys); k != "mail-42" {
		t.Errorf("OnClick(%q), want mail-42", k)
	}

	// A toast without a key offers no action; clicks on it, on unknown ids,
	// repeated clicks and other actions must not reach OnClick.
	n.Toast("3 new mails", "", "")
	if got := srv.next(t); len(got.Actions) != 0 {
		t.Errorf("toast without key: actions = %q, want none", got.Actions)
	}
	n.Toast("New mail from Bob", "hi", "mail-43")
	if got := srv.next(t); len(got.Actions) != 2 {
		t.Fatalf("toast with key: actions = %q", got.Actions)
	}
	emit(t, srvConn, "ActionInvoked", uint32(1), "default") // already clicked
	emit(t, srvConn, "ActionInvoked", uint32(2), "default") // no key
	emit(t, srvConn, "ActionInvoked", uint32(99), "default")
	emit(t, srvConn, "ActionInvoked", uint32(3), "reply") // not our action
	emit(t, srvConn, "ActionInvoked", uint32(3), "default")
	if k := receiveKey(t, keys); k != "mail-43" {
		t.Errorf("OnClick(%q), want mail-43 (the only real click)", k)
	}
}

func TestBus_ClosedToastIsNotClickable(t *testing.T) {
	needBus(t)
	srv := &fakeServer{caps: []string{"actions", "body"}}
	srvConn := serve(t, srv)
	keys := make(chan string, 4)
	n, _ := startNotifier(t, Options{OnClick: func(key string) { keys <- key }})

	n.Toast("a", "", "mail-1")
	srv.next(t)
	n.Toast("b", "", "mail-2")
	srv.next(t)
	emit(t, srvConn, "NotificationClosed", uint32(1), uint32(1)) // expired
	emit(t, srvConn, "ActionInvoked", uint32(1), "default")
	emit(t, srvConn, "ActionInvoked", uint32(2), "default")
	if k := receiveKey(t, keys); k != "mail-2" {
		t.Errorf("OnClick(%q), want mail-2: mail-1 was closed", k)
	}
}

func TestBus_ServerWithoutActions(t *testing.T) {
	needBus(t)
	srv := &fakeServer{caps: []string{"body"}}
	serve(t, srv)
	n, _ := startNotifier(t, Options{})

	n.Toast("", "a < b", "mail-1")
	got := srv.next(t)
	if len(got.Actions) != 0 {
		t.Errorf("actions = %q, want none: the server has no \"actions\" capability", got.Actions)
	}
	if got.Body != "a < b" {
		t.Errorf("body = %q, want it unescaped: the server has no body-markup", got.Body)
	}
	if got.Summary != DefaultAppName {
		t.Errorf("summary = %q, want the app name for an empty title", got.Summary)
	}
	if got.App != DefaultAppName {
		t.Errorf("app_name = %q, want %q", got.App, DefaultAppName)
	}
}

func TestBus_Probe(t *testing.T) {
	needBus(t)
	serve(t, &fakeServer{caps: []string{"actions", "body"}})
	n := New(Options{Logger: slog.New(&logRecorder{})})
	got, err := n.Probe(t.Context())
	if err != nil {
		t.Fatalf("Probe() error = %v", err)
	}
	want := ServerInfo{Name: "fake", Vendor: "exmail-test", Version: "1", Spec: "1.2", Actions: true, Backend: "dbus"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Probe() mismatch (-want +got):\n%s", diff)
	}
}

func TestBus_HungServerTimesOut(t *testing.T) {
	needBus(t)
	srv := &fakeServer{caps: []string{"actions"}, hang: make(chan struct{})}
	serve(t, srv)
	t.Cleanup(func() { close(srv.hang) }) // runs before the server's conn closes

	const timeout = 150 * time.Millisecond
	b := newDBusBackend(Options{AppName: "x", Timeout: timeout}, func(string) {}, slog.New(&logRecorder{}))
	defer b.close()
	n := newNotifier(Options{Timeout: timeout, Logger: slog.New(&logRecorder{})},
		func(func(string), *slog.Logger) backend { return b })

	start := time.Now()
	_, err := n.Probe(t.Context())
	if elapsed := time.Since(start); !errors.Is(err, ErrTimeout) || elapsed > failsafe/2 {
		t.Errorf("Probe() against a hung server = %v after %v, want ErrTimeout after about %v", err, elapsed, timeout)
	}

	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	err = b.show(ctx, toast{title: "x", key: "k"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrTimeout {
		t.Errorf("show() against a hung server = %v, want *Error{Kind: ErrTimeout}", err)
	}
}

func TestBus_ReconnectsAfterTheConnectionDies(t *testing.T) {
	needBus(t)
	srv := &fakeServer{caps: []string{"actions"}}
	srvConn := serve(t, srv)
	keys := make(chan string, 4)
	b := newDBusBackend(Options{AppName: "x"}, func(k string) { keys <- k }, slog.New(&logRecorder{}))
	defer b.close()
	ctx, cancel := context.WithTimeout(t.Context(), failsafe)
	defer cancel()

	if err := b.show(ctx, toast{title: "one"}); err != nil {
		t.Fatal(err)
	}
	srv.next(t)
	b.mu.Lock()
	first := b.conn
	b.mu.Unlock()
	_ = first.Close() // as if the bus dropped us

	if err := b.show(ctx, toast{title: "two", key: "mail-2"}); err != nil {
		t.Fatalf("show() after the connection died = %v, want a fresh connection", err)
	}
	if got := srv.next(t); got.Summary != "two" {
		t.Errorf("summary = %q, want two", got.Summary)
	}
	b.mu.Lock()
	second := b.conn
	b.mu.Unlock()
	if second == first || second == nil || !second.Connected() {
		t.Error("the backend did not make a new connection")
	}
	emit(t, srvConn, "ActionInvoked", uint32(2), "default")
	if k := receiveKey(t, keys); k != "mail-2" {
		t.Errorf("click after reconnect: key %q, want mail-2", k)
	}
}

// The degraded mode of desktop-testing.md §4: a bus, but no notification
// daemon on it and nothing activatable (bare-session.conf).
func TestBus_NoNotificationServer(t *testing.T) {
	needBus(t)
	probe := privateConn(t)
	var owned bool
	if err := probe.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, fdoName).Store(&owned); err != nil {
		t.Fatal(err)
	}
	if owned {
		t.Skip("a notification server owns " + fdoName + " on this bus; run under bare-session.conf")
	}

	rec := &waitingRecorder{added: make(chan struct{}, 64)}
	n, _ := startNotifier(t, Options{Timeout: 5 * time.Second, Logger: slog.New(rec)})

	start := time.Now()
	_, err := n.Probe(t.Context())
	elapsed := time.Since(start)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrNoServer) {
		t.Fatalf("Probe() = %v, want *Error matching ErrNoServer", err)
	}
	if !strings.Contains(err.Error(), "install and start a notification daemon such as dunst, mako") {
		t.Errorf("Probe() error %q does not name the fix", err)
	}
	if elapsed > time.Second {
		t.Errorf("Probe() took %v with no server; want it at once, well under the 5s Timeout", elapsed)
	}

	start = time.Now()
	n.Toast("one", "", "mail-1")
	n.Toast("two", "", "mail-2")
	if elapsed := time.Since(start); elapsed > 50*time.Millisecond {
		t.Errorf("Toast took %v; it must never block", elapsed)
	}
	// The worker logs the first failure once, and the second at debug.
	rec.waitFor(t, slog.LevelDebug, "failed again")
	warns := rec.find(slog.LevelWarn, "desktop notification failed")
	if len(warns) != 1 || !strings.Contains(warns[0], ErrNoServer.Error()) {
		t.Errorf("want one warning naming the fix, got %q\nall logs:\n%s", warns, rec)
	}
}
