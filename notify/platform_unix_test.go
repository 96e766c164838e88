//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

func TestFallbackBackend(t *testing.T) {
	t.Parallel()
	noServer := &Error{Op: "toast", Backend: "dbus", Kind: ErrNoServer, Err: errors.New("ServiceUnknown")}
	other := &Error{Op: "toast", Backend: "dbus", Err: errors.New("org.freedesktop.DBus.Error.AccessDenied")}
	timeout := &Error{Op: "toast", Backend: "dbus", Kind: ErrTimeout, Err: context.DeadlineExceeded}
	noBus := &Error{Op: "toast", Backend: "dbus", Kind: ErrNoSessionBus}
	beeepFailed := &Error{Op: "toast", Backend: "beeep", Err: errors.New("notify-send: exit status 1")}

	tests := []struct {
		name         string
		native       error
		fallback     error
		wantFallback bool
		wantIs       []error // nil error wanted when empty
	}{
		{name: "native works", native: nil},
		{name: "no server: beeep shows it", native: noServer, wantFallback: true},
		{name: "other D-Bus error: beeep shows it", native: other, wantFallback: true},
		{name: "both fail", native: noServer, fallback: beeepFailed, wantFallback: true, wantIs: []error{ErrNoServer, beeepFailed}},
		{name: "timeout: no fallback, beeep would hang too", native: timeout, wantIs: []error{ErrTimeout}},
		{name: "no session bus: no fallback, beeep would run dbus-launch", native: noBus, wantIs: []error{ErrNoSessionBus}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			native := &fakeBackend{errs: []error{tt.native, tt.native}}
			fallback := &fakeBackend{errs: []error{tt.fallback, tt.fallback}}
			logs := &logRecorder{}
			f := &fallbackBackend{native: native, fallback: fallback, log: slog.New(logs), seen: onceLog{log: slog.New(logs)}}

			for range 2 {
				err := f.show(t.Context(), toast{title: "x"})
				if len(tt.wantIs) == 0 && err != nil {
					t.Fatalf("show() = %v, want nil", err)
				}
				for _, target := range tt.wantIs {
					if !errors.Is(err, target) {
						t.Errorf("show() = %v, want it to match %v", err, target)
					}
				}
			}
			if got := fallback.calls > 0; got != tt.wantFallback {
				t.Errorf("fallback used = %v, want %v", got, tt.wantFallback)
			}
			fellBack := logs.find(slog.LevelWarn, "shown through beeep")
			if wantLines := map[bool]int{true: 1, false: 0}[tt.wantFallback && tt.fallback == nil]; len(fellBack) != wantLines {
				t.Errorf("fallback warnings = %q, want %d (once per distinct reason)", fellBack, wantLines)
			}
		})
	}
}

func TestSessionBusAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		files   []string
		want    string
		wantErr error
	}{
		{name: "from the environment", env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/dbus-x"}, want: "unix:path=/tmp/dbus-x"},
		{name: "XDG_RUNTIME_DIR/bus", env: map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, files: []string{"/run/user/1000/bus"}, want: "unix:path=/run/user/1000/bus"},
		{name: "/run/user/uid/bus", files: []string{"/run/user/1000/bus"}, want: "unix:path=/run/user/1000/bus"},
		{name: "autolaunch is never used", env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "autolaunch:"}, wantErr: ErrNoSessionBus},
		{name: "nothing", wantErr: ErrNoSessionBus},
		{name: "runtime dir without a bus", env: map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, wantErr: ErrNoSessionBus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exists := func(p string) bool {
				for _, f := range tt.files {
					if f == p {
						return true
					}
				}
				return false
			}
			got, err := sessionBusAddress(func(k string) string { return tt.env[k] }, 1000, exists)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("sessionBusAddress() = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// These need no bus: they check how the D-Bus backend fails without one.
func TestDBusBackend_NoSessionBus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		addr func() (string, error)
	}{
		{name: "no address at all", addr: func() (string, error) { return "", ErrNoSessionBus }},
		{name: "stale address", addr: func() (string, error) { return "unix:path=/nonexistent/exmail-test/bus", nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newDBusBackend(Options{AppName: "Exmail Notifier"}, func(string) {}, slog.New(&logRecorder{}))
			b.addr = tt.addr
			defer b.close()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()

			_, perr := b.probe(ctx)
			serr := b.show(ctx, toast{title: "x"})
			for _, err := range []error{perr, serr} {
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, ErrNoSessionBus) {
					t.Errorf("error = %v, want *Error matching ErrNoSessionBus", err)
				}
				if err != nil && !strings.Contains(err.Error(), "desktop session") {
					t.Errorf("error %q does not say what to do", err)
				}
			}
		})
	}
}

// The production Notifier with no session bus at all (desktop-testing.md
// §4, first row): Probe says so at once, Toast keeps going and logs once,
// and nothing falls back to beeep (whose godbus SessionBus would try
// dbus-launch).
func TestNew_NoSessionBus(t *testing.T) {
	// Not parallel: it changes the process environment.
	if fileExists(fmt.Sprintf("/run/user/%d/bus", os.Getuid())) {
		t.Skip("this machine has a user bus at /run/user/<uid>/bus")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", "")

	logs := &waitingRecorder{added: make(chan struct{}, 64)}
	n := New(Options{Logger: slog.New(logs)})
	start := time.Now()
	_, err := n.Probe(t.Context())
	if !errors.Is(err, ErrNoSessionBus) || time.Since(start) > time.Second {
		t.Errorf("Probe() = %v after %v, want ErrNoSessionBus at once", err, time.Since(start))
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	n.Toast("one", "", "")
	n.Toast("two", "", "")
	logs.waitFor(t, slog.LevelDebug, "failed again")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
	warns := logs.find(slog.LevelWarn)
	if len(warns) != 1 || !strings.Contains(warns[0], ErrNoSessionBus.Error()) {
		t.Errorf("want one warning about the missing session bus, got %q", warns)
	}
}
