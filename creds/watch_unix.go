//go:build linux || freebsd || netbsd || openbsd || dragonfly

package creds

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// watchSetupTimeout bounds connecting to the session bus and subscribing
// (and Usable): a bus that does not answer must not hold up the tray.
const watchSetupTimeout = 3 * time.Second

const (
	secretsName     = "org.freedesktop.secrets"
	collectionIface = "org.freedesktop.Secret.Collection"
)

// WatchChanges reports when the keyring may have become usable, without
// ever asking it anything (a read from a locked keyring pops an unlock
// prompt). It listens on the session bus for:
//
//   - the Secret Service appearing (NameOwnerChanged of
//     org.freedesktop.secrets to a new owner),
//   - a collection's properties changing (PropertiesChanged on
//     org.freedesktop.Secret.Collection, e.g. Locked turning false), except
//     when the change says Locked is now true,
//   - an item being created or changed in a collection (a key stored).
//
// Each such event puts one value into the returned channel (events that
// come while one is pending are merged). The channel is closed when ctx
// ends or the bus connection is lost. The error is ErrCannotWatch
// (wrapped) when there is no session bus to listen on.
//
// Connecting and subscribing are bounded by a few seconds (and ctx).
func WatchChanges(ctx context.Context) (<-chan struct{}, error) {
	addr, err := sessionbus.Lookup()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCannotWatch, err)
	}
	return watchChanges(ctx, addr, secretsName, watchSetupTimeout)
}

// watchChanges is WatchChanges on the bus at addr, for the service name
// (tests play one of their own), with setup bounding the set-up.
func watchChanges(ctx context.Context, addr, service string, setup time.Duration) (<-chan struct{}, error) {
	setupCtx, cancel := context.WithTimeout(ctx, setup)
	defer cancel()
	// The connection outlives setupCtx (see sessionbus.DialAddress).
	conn, err := sessionbus.DialAddress(setupCtx, addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCannotWatch, err)
	}
	rules := [][]dbus.MatchOption{
		{dbus.WithMatchInterface("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, service)},
		{dbus.WithMatchSender(service), dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchArg(0, collectionIface)},
		{dbus.WithMatchSender(service), dbus.WithMatchInterface(collectionIface)},
	}
	for _, r := range rules {
		if err := conn.AddMatchSignalContext(setupCtx, r...); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("%w: subscribing on the session bus: %w", ErrCannotWatch, err)
		}
	}
	signals := make(chan *dbus.Signal, 16)
	conn.Signal(signals)
	out := make(chan struct{}, 1)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	go func() {
		defer close(out)
		defer stop()
		defer conn.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case sig, ok := <-signals:
				if !ok {
					return // the connection is gone
				}
				if !usableHint(sig, service) {
					continue
				}
				select {
				case out <- struct{}{}:
				default: // one is pending already
				}
			}
		}
	}()
	return out, nil
}

// usableHint reports whether sig may mean the keyring became usable.
func usableHint(sig *dbus.Signal, service string) bool {
	switch sig.Name {
	case "org.freedesktop.DBus.NameOwnerChanged":
		// name, old owner, new owner: only an appearing service counts.
		if len(sig.Body) == 3 {
			name, _ := sig.Body[0].(string)
			owner, _ := sig.Body[2].(string)
			return name == service && owner != ""
		}
		return false
	case "org.freedesktop.DBus.Properties.PropertiesChanged":
		if len(sig.Body) < 2 {
			return false
		}
		if iface, _ := sig.Body[0].(string); iface != collectionIface {
			return false
		}
		if changed, ok := sig.Body[1].(map[string]dbus.Variant); ok {
			if v, ok := changed["Locked"]; ok {
				if locked, ok := v.Value().(bool); ok && locked {
					return false // it was just locked
				}
			}
		}
		return true
	case collectionIface + ".ItemCreated", collectionIface + ".ItemChanged":
		return true
	}
	return false
}
