// Package creds keeps the exmail interface key (接口key) in the OS
// credential store: the Secret Service on Linux (gnome-keyring, KWallet),
// the Keychain on macOS and the Credential Manager on Windows.
//
// The key is stored under the service name "exmail-notifier" with the admin
// account (the token's client_id) as the user name. It is the only secret
// the program keeps; access tokens live in memory and are never written
// anywhere.
//
// The OS store can block: go-keyring has no timeouts, and on Linux a hung
// Secret Service, or a locked keyring whose unlock prompt nobody answers,
// blocks a call forever. Every call of [Keyring] therefore runs under a
// deadline and fails with [ErrTimeout] when it passes.
package creds

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// Service is the service name under which the key is stored. On Linux it is
// the "service" attribute of the Secret Service item, so
//
//	secret-tool lookup service exmail-notifier username <admin account>
//
// prints the key.
const Service = "exmail-notifier"

// Sentinels that callers branch on with errors.Is. Errors from [Keyring]
// are *[Error] values that match one of them, or none when the OS store
// failed in a way this package does not recognise.
var (
	// ErrNotFound: no key is stored for the account.
	ErrNotFound = errors.New("creds: no interface key stored in the OS keyring")
	// ErrLocked: the keyring is locked, or its unlock prompt was dismissed.
	ErrLocked = errors.New("creds: the keyring is locked: unlock it (e.g. log in to your desktop session, or `seahorse`) and try again")
	// ErrUnavailable: there is no credential store to talk to (on Linux: no
	// session bus, or nothing on it provides org.freedesktop.secrets).
	ErrUnavailable = errors.New("creds: " + unavailableHint(runtime.GOOS))
	// ErrTimeout: the credential store did not answer in time.
	ErrTimeout = errors.New("creds: the OS keyring did not answer in time; it may be waiting for an unlock prompt, or hung")
)

func unavailableHint(goos string) string {
	switch goos {
	case "windows":
		return "the Windows Credential Manager is not available"
	case "darwin":
		return "the macOS Keychain is not available"
	}
	return "no Secret Service: install and start gnome-keyring or KWallet"
}

// Error reports a failed credential store operation. Its text names the
// fix where there is one, and never contains the secret.
type Error struct {
	Op      string // "get", "set" or "delete"
	Account string // the admin account the key belongs to
	Kind    error  // ErrNotFound, ErrLocked, ErrUnavailable, ErrTimeout, or nil
	Err     error  // what the OS store returned; nil for a timeout
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("creds: ")
	switch e.Op {
	case "get":
		b.WriteString("reading")
	case "set":
		b.WriteString("storing")
	case "delete":
		b.WriteString("deleting")
	default:
		b.WriteString(e.Op)
	}
	b.WriteString(" the interface key of ")
	b.WriteString(strconv.Quote(e.Account))
	b.WriteString(": ")
	if e.Kind != nil {
		b.WriteString(strings.TrimPrefix(e.Kind.Error(), "creds: "))
		if e.Err != nil && e.Kind != ErrNotFound {
			b.WriteString(" (" + e.Err.Error() + ")")
		}
		return b.String()
	}
	if e.Err != nil {
		b.WriteString("OS keyring: " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel and the underlying error, so errors.Is
// matches the sentinel and errors.As finds, say, a dbus.Error.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Memory is an in-process store for tests and demo runs. Its zero value is
// an empty store ready to use; it is safe for concurrent use.
type Memory struct {
	// Err, when set, is returned by every call instead of touching the
	// store: tests use it to play a locked or missing keyring.
	Err error

	mu sync.Mutex
	m  map[string]api.Secret
}

// MemoryWith returns a Memory holding, for each pair of strings, the
// secret (second) of the account (first): a keyring for tests and demos.
func MemoryWith(pairs ...string) *Memory {
	m := &Memory{}
	for i := 0; i+1 < len(pairs); i += 2 {
		_ = m.Set(context.Background(), pairs[i], api.Secret(pairs[i+1])) // Set fails only with Err set
	}
	return m
}

// Get returns the key stored for account, or an error matching ErrNotFound.
func (m *Memory) Get(ctx context.Context, account string) (api.Secret, error) {
	if m.Err != nil {
		return "", m.Err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[account]
	if !ok {
		return "", &Error{Op: "get", Account: account, Kind: ErrNotFound}
	}
	return s, nil
}

// Set stores secret for account, replacing any earlier one.
func (m *Memory) Set(ctx context.Context, account string, secret api.Secret) error {
	if m.Err != nil {
		return m.Err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string]api.Secret)
	}
	m.m[account] = secret
	return nil
}

// Delete removes the key of account; an error matching ErrNotFound says
// there was none.
func (m *Memory) Delete(ctx context.Context, account string) error {
	if m.Err != nil {
		return m.Err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[account]; !ok {
		return &Error{Op: "delete", Account: account, Kind: ErrNotFound}
	}
	delete(m.m, account)
	return nil
}

// Len returns how many keys are stored.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
