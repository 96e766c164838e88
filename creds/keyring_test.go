package creds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// fakeBackend is an OS store in a map. Its calls block while block is open
// (not nil and not closed), and fail with err when err is set.
type fakeBackend struct {
	mu    sync.Mutex
	m     map[string]string
	err   error
	block chan struct{}
	calls int
}

func (f *fakeBackend) wait() error {
	f.mu.Lock()
	f.calls++
	block, err := f.block, f.err
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	return err
}

func (f *fakeBackend) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeBackend) Get(service, user string) (string, error) {
	if err := f.wait(); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.m[service+"/"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return s, nil
}

func (f *fakeBackend) Set(service, user, pw string) error {
	if err := f.wait(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]string{}
	}
	f.m[service+"/"+user] = pw
	return nil
}

func (f *fakeBackend) Delete(service, user string) error {
	if err := f.wait(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[service+"/"+user]; !ok {
		return keyring.ErrNotFound
	}
	delete(f.m, service+"/"+user)
	return nil
}

func TestKeyringRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := &fakeBackend{}
	k := &Keyring{b: b}

	if err := k.Set(ctx, "admin", "0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	got := b.m["exmail-notifier/admin"]
	b.mu.Unlock()
	if got != "0123456789abcdef0123456789abcdef" {
		t.Errorf("stored under service/user %q, want the key", got)
	}
	s, err := k.Get(ctx, "admin")
	if err != nil || s.Reveal() != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("Get = %q, %v", s.Reveal(), err)
	}
	if err := k.Delete(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	_, err = k.Get(ctx, "admin")
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound wrapping keyring.ErrNotFound", err)
	}
	if err := k.Delete(ctx, "admin"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete of nothing: err = %v, want ErrNotFound", err)
	}
}

func TestKeyringRefusesEmpty(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{}
	k := &Keyring{b: b}
	if err := k.Set(t.Context(), "admin", ""); err == nil {
		t.Error("Set of an empty key: no error")
	}
	if err := k.Set(t.Context(), "", "k"); err == nil {
		t.Error("Set for an empty account: no error")
	}
	if n := b.callCount(); n != 0 {
		t.Errorf("the OS store was called %d times", n)
	}
}

// TestKeyringErrorsHideSecret: even a backend that echoes the key in its
// error does not get it into the error text.
func TestKeyringErrorsHideSecret(t *testing.T) {
	t.Parallel()
	const key = "0123456789abcdef0123456789abcdef"
	k := &Keyring{b: &fakeBackend{err: fmt.Errorf("cannot store %s", key)}}
	err := k.Set(t.Context(), "admin", key)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), key) {
		t.Errorf("error text contains the key: %v", err)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"not found", keyring.ErrNotFound, ErrNotFound},
		{"wrapped not found", fmt.Errorf("x: %w", keyring.ErrNotFound), ErrNotFound},
		{"no secret service (value)", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown",
			Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"}}, ErrUnavailable},
		{"no secret service (pointer)", dbus.NewError("org.freedesktop.DBus.Error.ServiceUnknown", nil), ErrUnavailable},
		{"activation failed", dbus.Error{Name: "org.freedesktop.DBus.Error.Spawn.ChildExited"}, ErrUnavailable},
		{"item locked", dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked"}, ErrLocked},
		{"no reply", dbus.Error{Name: "org.freedesktop.DBus.Error.NoReply"}, ErrTimeout},
		{"other D-Bus error", dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied"}, nil},
		{"login keyring locked", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"), ErrLocked},
		{"no login keyring yet", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"), ErrLocked},
		{"no dbus-launch", &exec.Error{Name: "dbus-launch", Err: exec.ErrNotFound}, ErrUnavailable},
		{"no bus address", errors.New("dbus: couldn't determine address of session bus"), ErrUnavailable},
		{"dead bus address", &net.OpError{Op: "dial", Net: "unix", Err: errors.New("connect: no such file or directory")}, ErrUnavailable},
		{"bus closed", dbus.ErrClosed, ErrUnavailable},
		{"auth failed", errors.New("dbus: authentication failed"), ErrUnavailable},
		{"unknown", errors.New("something else"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := classify(tt.err); got != tt.want {
				t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
			// And through a Keyring call: typed, and errors.As still finds
			// the OS store's own error.
			_, err := (&Keyring{b: &fakeBackend{err: tt.err}}).Get(t.Context(), "admin")
			var e *Error
			if !errors.As(err, &e) || e.Op != "get" || e.Account != "admin" || e.Kind != tt.want {
				t.Fatalf("Get: err = %#v, want *Error{get, admin, %v}", err, tt.want)
			}
			if !reflect.DeepEqual(e.Err, tt.err) {
				t.Errorf("Get: err carries %#v, want the OS store's error %#v", e.Err, tt.err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Get: errors.Is(err, %v) = false", tt.want)
			}
		})
	}
}

// TestKeyringTimeout: a hung OS store makes calls fail with ErrTimeout at
// their deadline; calls queued behind the stuck one fail too, at their own
// deadline; once the store answers, calls work again.
func TestKeyringTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		block := make(chan struct{})
		b := &fakeBackend{block: block, m: map[string]string{"exmail-notifier/admin": "k"}}
		k := &Keyring{b: b}

		start := time.Now()
		_, err := k.Get(ctx, "admin")
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Get on a hung store: err = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != DefaultTimeout {
			t.Errorf("gave up after %v, want DefaultTimeout %v", d, DefaultTimeout)
		}

		k.Timeout = 3 * time.Second
		start = time.Now()
		if err := k.Delete(ctx, "admin"); !errors.Is(err, ErrTimeout) {
			t.Fatalf("Delete queued behind the stuck call: err = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("gave up after %v, want 3s", d)
		}
		if n := b.callCount(); n != 1 {
			t.Errorf("the OS store was entered %d times, want 1 (calls are serialised)", n)
		}

		b.mu.Lock()
		b.block = nil
		b.mu.Unlock()
		close(block) // the stuck call returns; its answer is dropped
		synctest.Wait()
		s, err := k.Get(ctx, "admin")
		if err != nil || s.Reveal() != "k" {
			t.Fatalf("Get after the store recovered = %q, %v", s.Reveal(), err)
		}
	})
}

// TestKeyringCanceled: the caller's context ends a call early, with the
// context's error rather than ErrTimeout.
func TestKeyringCanceled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		defer close(block)
		k := &Keyring{b: &fakeBackend{block: block}}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := k.Get(ctx, "admin")
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("returned after %v, want 1s", d)
		}
	})
}

// With no session bus, every call fails with ErrUnavailable at once,
// without touching the OS store, even while an earlier call is stuck in it.
func TestKeyringNoBus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		defer close(block)
		b := &fakeBackend{block: block}
		busUp := true
		var mu sync.Mutex
		noBus := errors.New("no D-Bus session bus address")
		k := &Keyring{b: b, bus: func() error {
			mu.Lock()
			defer mu.Unlock()
			if busUp {
				return nil
			}
			return noBus
		}}
		go func() { _, _ = k.Get(t.Context(), "admin") }() // stuck in the store
		synctest.Wait()
		mu.Lock()
		busUp = false
		mu.Unlock()

		start := time.Now()
		for _, call := range []func() error{
			func() error { _, err := k.Get(t.Context(), "admin"); return err },
			func() error { return k.Set(t.Context(), "admin", "k") },
			func() error { return k.Delete(t.Context(), "admin") },
		} {
			err := call()
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, noBus) {
				t.Errorf("err = %v, want ErrUnavailable wrapping the bus error", err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("the calls took %v, want no wait at all", d)
		}
		if n := b.callCount(); n != 1 {
			t.Errorf("the store was called %d times, want only the first (stuck) call", n)
		}
	})
}
