//go:build linux || freebsd || netbsd || openbsd || dragonfly

package creds

import "github.com/exmail-notifier/exmail-notifier/internal/sessionbus"

// platformBus is the check Keyring makes before each go-keyring call on
// Linux and the BSDs: go-keyring talks to the Secret Service through
// godbus's shared SessionBus, which runs dbus-launch when it finds no
// session bus (DBUS_SESSION_BUS_ADDRESS unset, no /run/user/<uid>/bus). That
// starts a private dbus-daemon nobody else is on, never stops it, and
// reports its empty keyring as locked. So Keyring fails with ErrUnavailable
// before go-keyring runs when there is no bus, and otherwise exports the
// bus it found (sessionbus.Export) so that go-keyring uses that one.
func platformBus() func() error {
	return func() error {
		return sessionbus.Export()
	}
}
