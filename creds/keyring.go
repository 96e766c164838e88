package creds

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// DefaultTimeout bounds each Keyring call when Keyring.Timeout is zero.
//
// Ten seconds is long enough for a slow Secret Service to start by D-Bus
// activation (about 0.2 s on an idle machine), and short enough that the
// tray does not look frozen: on timeout it shows "needs attention" and the
// user can retry. An unlock prompt left open longer than this makes the
// call fail with ErrTimeout; the OS call itself is still pending and may
// complete later (go-keyring cannot be cancelled).
const DefaultTimeout = 10 * time.Second

// backend is the OS store as go-keyring exposes it.
type backend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// goKeyring is the real OS store.
type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, pw string) error       { return keyring.Set(service, user, pw) }
func (goKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

// Keyring is the OS credential store. Its zero value is ready to use and
// safe for concurrent use.
//
// Calls are serialised: a call stuck in the OS store holds up the ones
// after it (they fail with ErrTimeout at their own deadline), so a hung
// Secret Service costs at most one blocked goroutine, not one per call.
type Keyring struct {
	// Timeout bounds each call, including the wait for an earlier stuck
	// call. Zero means DefaultTimeout.
	Timeout time.Duration

	b    backend      // nil: go-keyring
	bus  func() error // checked before each call; nil: no check (set with b == nil: platformBus)
	once sync.Once
	sem  chan struct{} // one token: held while an OS call runs
}

// Get returns the interface key stored for the admin account.
func (k *Keyring) Get(ctx context.Context, account string) (api.Secret, error) {
	var s string
	err := k.do(ctx, "get", account, func(b backend) (err error) {
		s, err = b.Get(Service, account)
		return err
	})
	if err != nil {
		return "", err
	}
	return api.Secret(s), nil
}

// Set stores the interface key for the admin account, replacing any
// earlier one.
func (k *Keyring) Set(ctx context.Context, account string, secret api.Secret) error {
	if secret == "" {
		return errors.New("creds: refusing to store an empty interface key")
	}
	err := k.do(ctx, "set", account, func(b backend) error {
		return b.Set(Service, account, secret.Reveal())
	})
	var e *Error
	if errors.As(err, &e) && e.Err != nil && strings.Contains(e.Err.Error(), secret.Reveal()) {
		// No known backend echoes the secret, but make sure of it.
		e.Err = errors.New("[error text withheld: it contained the key]")
	}
	return err
}

// Delete removes the key of the admin account. An error matching
// ErrNotFound says there was none.
func (k *Keyring) Delete(ctx context.Context, account string) error {
	return k.do(ctx, "delete", account, func(b backend) error {
		return b.Delete(Service, account)
	})
}

// do runs fn against the OS store under the deadline.
func (k *Keyring) do(ctx context.Context, op, account string, fn func(backend) error) error {
	k.once.Do(func() {
		k.sem = make(chan struct{}, 1)
		if k.b == nil {
			k.b = goKeyring{}
			k.bus = platformBus()
		}
	})
	if account == "" {
		return &Error{Op: op, Account: account, Err: errors.New("the admin account is empty")}
	}
	if k.bus != nil {
		// Before the semaphore: no bus is known at once, even while an
		// earlier call is stuck in the OS store.
		if err := k.bus(); err != nil {
			return &Error{Op: op, Account: account, Kind: ErrUnavailable, Err: err}
		}
	}
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	expired := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return &Error{Op: op, Account: account, Kind: ErrTimeout}
	}

	select {
	case k.sem <- struct{}{}:
	case <-timer.C:
		return expired()
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan error, 1) // buffered: a late answer must not block
	go func() {
		defer func() { <-k.sem }()
		done <- fn(k.b)
	}()
	select {
	case err := <-done:
		if err != nil {
			return &Error{Op: op, Account: account, Kind: classify(err), Err: err}
		}
		return nil
	case <-timer.C:
		return expired()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// D-Bus error names that mean "nobody provides the Secret Service".
var unavailableNames = map[string]bool{
	"org.freedesktop.DBus.Error.ServiceUnknown":        true, // not running, not activatable
	"org.freedesktop.DBus.Error.NameHasNoOwner":        true,
	"org.freedesktop.DBus.Error.Spawn.ExecFailed":      true, // activation failed
	"org.freedesktop.DBus.Error.Spawn.ChildExited":     true,
	"org.freedesktop.DBus.Error.Spawn.ChildSignaled":   true,
	"org.freedesktop.DBus.Error.Spawn.ServiceNotFound": true,
	"org.freedesktop.DBus.Error.Disconnected":          true,
}

// classify maps an error of the OS store onto a sentinel, or nil when it is
// none of them.
func classify(err error) error {
	if errors.Is(err, keyring.ErrNotFound) {
		return ErrNotFound
	}
	if name, ok := dbusName(err); ok {
		switch {
		case unavailableNames[name]:
			return ErrUnavailable
		case name == "org.freedesktop.Secret.Error.IsLocked":
			return ErrLocked
		case name == "org.freedesktop.DBus.Error.NoReply", name == "org.freedesktop.DBus.Error.Timeout":
			return ErrTimeout
		}
		return nil
	}
	var ee *exec.Error // godbus could not run dbus-launch: no session bus
	if errors.As(err, &ee) {
		return ErrUnavailable
	}
	var oe *net.OpError // the session bus address is set, but nobody listens
	if errors.As(err, &oe) || errors.Is(err, dbus.ErrClosed) {
		return ErrUnavailable
	}
	return classifyText(err.Error())
}

// dbusName returns the name of a D-Bus error reply. godbus returns them as
// dbus.Error values; accept pointers too.
func dbusName(err error) (string, bool) {
	var v dbus.Error
	if errors.As(err, &v) {
		return v.Name, true
	}
	var p *dbus.Error
	if errors.As(err, &p) && p != nil {
		return p.Name, true
	}
	return "", false
}

// classifyText recognises the errors that go-keyring and godbus return as
// plain strings (errors.New / fmt.Errorf, with no type to match):
//
//   - go-keyring's Secret Service backend reports a locked collection, and
//     a dismissed unlock prompt, as "failed to unlock correct collection
//     '/org/freedesktop/secrets/…'" (desktop-testing.md §4);
//   - godbus reports a missing session bus as "dbus: couldn't determine
//     address of session bus", and a failed handshake as "dbus:
//     authentication failed".
//
// This is the one place that inspects error text.
func classifyText(msg string) error {
	switch {
	case strings.Contains(msg, "failed to unlock correct collection"):
		return ErrLocked
	case strings.Contains(msg, "couldn't determine address of session bus"),
		strings.Contains(msg, "dbus: authentication failed"):
		return ErrUnavailable
	}
	return nil
}
