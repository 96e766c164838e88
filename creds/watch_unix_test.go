//go:build linux || freebsd || netbsd || openbsd || dragonfly

package creds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// TestWatchChanges plays a Secret Service on the test's session bus (run
// the tests under dbus-run-session) under a name of its own, so that a
// real keyring on the same bus does not interfere.
func TestWatchChanges(t *testing.T) {
	addr, err := sessionbus.Lookup()
	if err != nil {
		t.Skip("no session bus to play the Secret Service on (run under dbus-run-session)")
	}
	service := fmt.Sprintf("org.freedesktop.secrets.test%d", os.Getpid())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	changes, err := watchChanges(ctx, addr, service, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	// The service appears.
	keyring, err := sessionbus.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer keyring.Close()
	if reply, err := keyring.RequestName(service, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("cannot play the Secret Service: %v %v", reply, err)
	}
	waitChange(t, changes, "the service appeared")

	const coll = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	propsChanged := func(locked bool) {
		t.Helper()
		err := keyring.Emit(coll, "org.freedesktop.DBus.Properties.PropertiesChanged", collectionIface,
			map[string]dbus.Variant{"Locked": dbus.MakeVariant(locked)}, []string{})
		if err != nil {
			t.Fatal(err)
		}
	}
	propsChanged(false)
	waitChange(t, changes, "the collection was unlocked")

	if err := keyring.Emit(coll, collectionIface+".ItemCreated", dbus.ObjectPath(coll+"/1")); err != nil {
		t.Fatal(err)
	}
	waitChange(t, changes, "an item was created")

	// The end of ctx closes the channel.
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-changes:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the channel was not closed after ctx ended")
		}
	}
}

func waitChange(t *testing.T, changes <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-changes:
		if !ok {
			t.Fatalf("channel closed; want a change: %s", what)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no change reported: %s", what)
	}
}

func TestWatchChangesWithoutBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	if _, err := sessionbus.Lookup(); err == nil {
		t.Skip("a session bus is found at /run/user/<uid>/bus")
	}
	if _, err := WatchChanges(t.Context()); !errors.Is(err, ErrCannotWatch) {
		t.Fatalf("err = %v, want ErrCannotWatch", err)
	}
}

// A bus that takes the connection and never answers must not hold up the
// watch beyond its set-up bound.
func TestWatchChangesHungBus(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // never answers
		}
	}()
	_, err = watchChanges(t.Context(), "unix:path="+sock, "org.freedesktop.secrets.hung", 10*time.Millisecond)
	if !errors.Is(err, ErrCannotWatch) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrCannotWatch after the set-up deadline", err)
	}
}

// TestUsableHint: which signals are worth one more read of the keyring.
func TestUsableHint(t *testing.T) {
	t.Parallel()
	const svc = "org.freedesktop.secrets"
	props := func(iface string, changed map[string]dbus.Variant) *dbus.Signal {
		return &dbus.Signal{Name: "org.freedesktop.DBus.Properties.PropertiesChanged", Body: []any{iface, changed, []string{}}}
	}
	owner := func(name, old, new string) *dbus.Signal {
		return &dbus.Signal{Name: "org.freedesktop.DBus.NameOwnerChanged", Body: []any{name, old, new}}
	}
	tests := []struct {
		name string
		sig  *dbus.Signal
		want bool
	}{
		{"service appears", owner(svc, "", ":1.7"), true},
		{"service goes away", owner(svc, ":1.7", ""), false},
		{"another name appears", owner("org.example.Other", "", ":1.8"), false},
		{"collection unlocked", props(collectionIface, map[string]dbus.Variant{"Locked": dbus.MakeVariant(false)}), true},
		{"collection locked", props(collectionIface, map[string]dbus.Variant{"Locked": dbus.MakeVariant(true)}), false},
		{"collection properties invalidated", props(collectionIface, map[string]dbus.Variant{}), true},
		{"another interface's properties", props("org.example.Other", map[string]dbus.Variant{"Locked": dbus.MakeVariant(false)}), false},
		{"item created", &dbus.Signal{Name: collectionIface + ".ItemCreated", Body: []any{dbus.ObjectPath("/x/1")}}, true},
		{"item deleted", &dbus.Signal{Name: collectionIface + ".ItemDeleted", Body: []any{dbus.ObjectPath("/x/1")}}, false},
		{"short body", &dbus.Signal{Name: "org.freedesktop.DBus.NameOwnerChanged", Body: []any{svc}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := usableHint(tt.sig, svc); got != tt.want {
				t.Errorf("usableHint = %v, want %v", got, tt.want)
			}
		})
	}
}
