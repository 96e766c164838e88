//go:build linux || freebsd || netbsd || openbsd || dragonfly

// Package sessionbus finds and connects to the D-Bus session bus without
// ever starting one.
//
// godbus's SessionBus (and so go-keyring, beeep and fyne.io/systray) runs
// dbus-launch when DBUS_SESSION_BUS_ADDRESS is unset and dbus-x11 is
// installed: that starts a private dbus-daemon nobody else is on and never
// stops it. Address looks where a running session keeps its bus and
// reports ErrNoBus otherwise; Dial opens a private connection bounded by a
// context, because godbus's Dial, Auth and Hello take none.
package sessionbus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/godbus/dbus/v5"
)

// ErrNoBus: no session bus address is known (DBUS_SESSION_BUS_ADDRESS is
// unset or "autolaunch:", and no bus socket is in the runtime directory).
var ErrNoBus = errors.New("no D-Bus session bus address (DBUS_SESSION_BUS_ADDRESS is unset and there is no $XDG_RUNTIME_DIR/bus)")

// Address returns the session bus address: $DBUS_SESSION_BUS_ADDRESS
// unless it is empty or "autolaunch:", else $XDG_RUNTIME_DIR/bus, else
// /run/user/<uid>/bus, whichever exists first. It never runs dbus-launch.
// The error is ErrNoBus when there is none.
func Address(getenv func(string) string, uid int, exists func(string) bool) (string, error) {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a, nil
	}
	for _, dir := range []string{getenv("XDG_RUNTIME_DIR"), fmt.Sprintf("/run/user/%d", uid)} {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, "bus"); exists(p) {
			return "unix:path=" + dbus.EscapeBusAddressValue(p), nil
		}
	}
	return "", ErrNoBus
}

// Lookup is Address for this process: its environment, its uid and the
// real file system.
func Lookup() (string, error) {
	return Address(os.Getenv, os.Getuid(), FileExists)
}

// FileExists reports whether p names an existing file (of any kind).
func FileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Dial opens a private connection to this process's session bus (see
// Lookup), authenticates and says Hello. ctx bounds only the connecting:
// if it ends first, the socket is closed and Dial returns ctx's error
// (wrapped). The connection returned outlives ctx; close it with Close.
func Dial(ctx context.Context) (*dbus.Conn, error) {
	addr, err := Lookup()
	if err != nil {
		return nil, err
	}
	return DialAddress(ctx, addr)
}

// DialAddress is Dial to a given address. The socket connect itself is not
// bounded by ctx (godbus takes no deadline for it): a local unix socket
// connects or fails at once, but a tcp: address could wait for the OS's
// connect timeout. Authentication and Hello are bounded.
func DialAddress(ctx context.Context, addr string) (*dbus.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("connecting to the session bus: %w", err)
	}
	conn, err := dbus.Dial(addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to the session bus: %w", err)
	}
	// Auth and Hello take no ctx: closing the connection ends a hung
	// handshake (its reads fail), so ctx's end closes it.
	unhook := context.AfterFunc(ctx, func() { _ = conn.Close() })
	fail := func(err error) (*dbus.Conn, error) {
		unhook()
		_ = conn.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("connecting to the session bus: %w", err)
	}
	if err := conn.Auth(nil); err != nil {
		return fail(err)
	}
	if err := conn.Hello(); err != nil {
		return fail(err)
	}
	if !unhook() {
		return fail(ctx.Err())
	}
	return conn, nil
}

// Export makes this process's environment name the session bus Lookup
// finds, so that libraries that use godbus's SessionBus (go-keyring,
// fyne.io/systray, beeep) connect to the same bus and never autolaunch
// one: godbus only reads $DBUS_SESSION_BUS_ADDRESS and
// /run/user/<uid>/bus, so a bus found as $XDG_RUNTIME_DIR/bus (or behind
// "autolaunch:") is written into $DBUS_SESSION_BUS_ADDRESS. It sets the
// process environment (os.Setenv): call it before those libraries first
// connect. The error is ErrNoBus when there is no bus; the environment is
// then left as it is.
func Export() error {
	return export(os.Getenv, os.Getuid(), FileExists, os.Setenv)
}

// export is Export with the environment, uid and file system passed in.
func export(getenv func(string) string, uid int, exists func(string) bool, setenv func(k, v string) error) error {
	addr, err := Address(getenv, uid, exists)
	if err != nil {
		return err
	}
	if getenv("DBUS_SESSION_BUS_ADDRESS") != addr {
		return setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	}
	return nil
}
