//go:build linux

package main

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
	if err := followPrepareForSleep(t.Context(), dial, slog.New(slog.DiscardHandler), func() {}); err == nil {
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
	if err := followPrepareForSleep(ctx, dial, slog.New(slog.DiscardHandler), func() { woke <- struct{}{} }); err != nil {
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
		t.Fatal("PrepareForSleep(true) was taken for a wake-up")
	case <-time.After(100 * time.Millisecond):
	}
}
