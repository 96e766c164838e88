//go:build linux

package desktop

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// sessionBusForTest dials the test's session bus (CI runs the tests
// inside dbus-run-session), where the test plays logind.
func sessionBusForTest(t *testing.T) func(context.Context) (*dbus.Conn, error) {
	t.Helper()
	if _, err := sessionbus.Lookup(); err != nil {
		t.Skip("no session bus to play logind on (run under dbus-run-session)")
	}
	return sessionbus.Dial
}

func TestLogindResumeCallsWoke(t *testing.T) {
	dial := sessionBusForTest(t)
	// Without logind on the bus: an error at once, so the caller falls back.
	if err := followPrepareForSleep(t.Context(), dial, slog.New(slog.DiscardHandler), func() {}, func() {}); err == nil {
		t.Fatal("no logind on the bus, but no error")
	}

	logind, err := dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer logind.Close()
	if reply, err := logind.RequestName(logindName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("cannot play logind: %v %v", reply, err)
	}
	woke := make(chan struct{}, 4)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var watched *dbus.Conn
	capture := func(ctx context.Context) (*dbus.Conn, error) {
		c, err := dial(ctx)
		watched = c
		return c, err
	}
	lost := make(chan struct{})
	if err := followPrepareForSleep(ctx, capture, slog.New(slog.DiscardHandler), func() { woke <- struct{}{} }, func() { close(lost) }); err != nil {
		t.Fatalf("followPrepareForSleep: %v", err)
	}
	emit := func(going bool) {
		t.Helper()
		if err := logind.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForSleep", going); err != nil {
			t.Fatal(err)
		}
	}
	emit(true) // going to sleep: nothing to do yet
	emit(false)
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up reported after PrepareForSleep(false)")
	}
	select {
	case <-woke:
		// Both signals come in order on one connection: had (true) been
		// taken for a wake-up, it would be here already.
		t.Fatal("PrepareForSleep(true) was taken for a wake-up")
	default:
	}

	// The system bus goes away (dbus restarted): the follower hands over to
	// the wall-clock check once, instead of spinning on a closed channel.
	watched.Close()
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("losing the bus was not handed over to the fallback")
	}
}
