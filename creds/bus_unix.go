//go:build linux || freebsd || netbsd || openbsd || dragonfly

package creds

import (
	"os"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// platformBus is the check Keyring makes before each go-keyring call on
// Linux and the BSDs: go-keyring talks to the Secret Service through
// godbus's shared SessionBus, which runs dbus-launch when it finds no
// session bus (DBUS_SESSION_BUS_ADDRESS unset, no /run/user/<uid>/bus). That
// starts a private dbus-daemon nobody else is on, never stops it, and
// reports its empty keyring as locked. So Keyring fails with ErrUnavailable
// before go-keyring runs when there is no bus.
func platformBus() func() error {
	return func() error {
		return useSessionBus(os.Getenv, os.Getuid(), sessionbus.FileExists, os.Setenv)
	}
}

// useSessionBus finds the session bus without autolaunch and makes sure
// godbus will use that one: godbus itself only looks at
// $DBUS_SESSION_BUS_ADDRESS and /run/user/<uid>/bus, so a bus found as
// $XDG_RUNTIME_DIR/bus (or behind "autolaunch:") is put into
// $DBUS_SESSION_BUS_ADDRESS, as godbus does with what it discovers.
func useSessionBus(getenv func(string) string, uid int, exists func(string) bool, setenv func(k, v string) error) error {
	addr, err := sessionbus.Address(getenv, uid, exists)
	if err != nil {
		return err
	}
	if getenv("DBUS_SESSION_BUS_ADDRESS") != addr {
		return setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	}
	return nil
}
