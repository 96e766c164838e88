//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// Mail content must never reach another process's command line. With a
// session bus but no notification server (bare-session.conf in CI), the
// native toast fails; a fake notify-send and kdialog on PATH record
// whether anything fell back to them.
func TestNew_NoFallbackToCommands(t *testing.T) {
	// Not parallel: it changes PATH.
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no session bus; run under dbus-run-session --config-file=.ci/bare-session.conf")
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "argv")
	for _, name := range []string{"notify-send", "kdialog"} {
		script := "#!/bin/sh\necho \"$0 $*\" >> '" + record + "'\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))

	logs := &waitingRecorder{added: make(chan struct{}, 64)}
	n := New(Options{Logger: slog.New(logs)})
	if _, err := n.Probe(t.Context()); err == nil {
		t.Skip("a notification server answers on this bus; the native toast would not fail")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	n.Toast("alice@example.com", "Salary review", "m1")
	logs.waitFor(t, slog.LevelWarn, "desktop notification failed")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
	if b, err := os.ReadFile(record); err == nil {
		t.Errorf("a fallback command ran with the mail on its command line: %q", b)
	}
}

// newPlatformBackend is the D-Bus client itself, with nothing behind it.
func TestNewPlatformBackendIsDBusOnly(t *testing.T) {
	t.Parallel()
	b := newPlatformBackend(Options{}, func(string) {}, slog.New(&logRecorder{}))
	defer b.close()
	if _, ok := b.(*dbusBackend); !ok {
		t.Errorf("newPlatformBackend() = %T, want *dbusBackend (no fallback)", b)
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
	if sessionbus.FileExists(fmt.Sprintf("/run/user/%d/bus", os.Getuid())) {
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
