//go:build linux || freebsd || netbsd || openbsd || dragonfly

package creds

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// defaultCollection is the Secret Service's alias for the collection
// go-keyring reads from.
const defaultCollection = dbus.ObjectPath("/org/freedesktop/secrets/aliases/default")

// Usable reports whether reading the key may work now, without ever
// prompting: the Secret Service runs (NameHasOwner of
// org.freedesktop.secrets) and its default collection is unlocked (its
// Locked property, read with org.freedesktop.DBus.Properties.Get, which
// never asks the user). It says nothing about whether the key is stored.
// ctx and a few seconds bound it. The error (when the bus or the
// collection cannot be asked) means "unknown".
func Usable(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, watchSetupTimeout)
	defer cancel()
	conn, err := sessionbus.Dial(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	return usable(ctx, conn, secretsName)
}

// usable is Usable on conn, for the service name (tests play one).
func usable(ctx context.Context, conn *dbus.Conn, service string) (bool, error) {
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, service).Store(&owned); err != nil {
		return false, fmt.Errorf("asking whether the Secret Service runs: %w", err)
	}
	if !owned {
		return false, nil // not running: nothing to read from
	}
	var v dbus.Variant
	err := conn.Object(service, defaultCollection).
		CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, collectionIface, "Locked").Store(&v)
	if err != nil {
		return false, fmt.Errorf("asking whether the default collection is locked: %w", err)
	}
	locked, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the default collection's Locked is a %s, not a boolean", v.Signature())
	}
	return !locked, nil
}
