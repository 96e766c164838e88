//go:build linux || freebsd || netbsd || openbsd || dragonfly

package creds

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// fakeCollection is the default collection's Properties: only Locked.
// Any other call (Unlock, a secret read) would be a prompt.
type fakeCollection struct{ locked atomic.Bool }

func (c *fakeCollection) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	if iface != collectionIface || prop != "Locked" {
		return dbus.Variant{}, dbus.MakeFailedError(fmt.Errorf("no property %s.%s", iface, prop))
	}
	return dbus.MakeVariant(c.locked.Load()), nil
}

// TestUsable plays a Secret Service under a name of its own on the test's
// session bus (run under dbus-run-session).
func TestUsable(t *testing.T) {
	if _, err := sessionbus.Lookup(); err != nil {
		t.Skip("no session bus to play the Secret Service on (run under dbus-run-session)")
	}
	service := fmt.Sprintf("org.freedesktop.secrets.usable%d", os.Getpid())
	conn, err := sessionbus.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	if ok, err := usable(t.Context(), conn, service); ok || err != nil {
		t.Errorf("no service: usable = %v, %v; want false, nil", ok, err)
	}

	keyring, err := sessionbus.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer keyring.Close()
	coll := &fakeCollection{}
	coll.locked.Store(true)
	if err := keyring.Export(coll, defaultCollection, "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	if reply, err := keyring.RequestName(service, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("cannot play the Secret Service: %v %v", reply, err)
	}
	if ok, err := usable(t.Context(), conn, service); ok || err != nil {
		t.Errorf("locked: usable = %v, %v; want false, nil", ok, err)
	}
	coll.locked.Store(false)
	if ok, err := usable(t.Context(), conn, service); !ok || err != nil {
		t.Errorf("unlocked: usable = %v, %v; want true, nil", ok, err)
	}
	if err := keyring.Export(nil, defaultCollection, "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	if _, err := usable(t.Context(), conn, service); err == nil {
		t.Error("no default collection: usable gave no error; want unknown")
	}
}
