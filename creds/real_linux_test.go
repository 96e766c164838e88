//go:build linux

package creds_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/creds"
)

// These tests talk to a real Secret Service on the session bus. They are
// skipped unless EXMAIL_KEYRING_TEST says which bus they run on:
//
//	EXMAIL_KEYRING_TEST=1       gnome-keyring-daemon is running, unlocked
//	EXMAIL_KEYRING_TEST=lock    the same, and the keyring is ours to lock
//	                            (TestRealKeyringLocked leaves it locked: give
//	                            it a session of its own)
//	EXMAIL_KEYRING_TEST=absent  a bare bus where nothing provides org.freedesktop.secrets
//
// and DBUS_SESSION_BUS_ADDRESS is set (run them under dbus-run-session; see
// the commands in .ci/run). They never touch the desktop's own keyring
// unless pointed at it on purpose.
func needBus(t *testing.T, modes ...string) {
	t.Helper()
	if !slices.Contains(modes, os.Getenv("EXMAIL_KEYRING_TEST")) {
		t.Skipf("set EXMAIL_KEYRING_TEST=%s and run under dbus-run-session to test against a real session bus", modes[0])
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("EXMAIL_KEYRING_TEST is set but DBUS_SESSION_BUS_ADDRESS is not: run under dbus-run-session")
	}
}

func TestRealKeyringRoundTrip(t *testing.T) {
	needBus(t, "1", "lock")
	ctx := t.Context()
	k := &creds.Keyring{}
	acct := "exmail-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	const key = "0123456789abcdef0123456789abcdef"
	t.Cleanup(func() { _ = k.Delete(t.Context(), acct) })

	if _, err := k.Get(ctx, acct); !errors.Is(err, creds.ErrNotFound) {
		t.Fatalf("Get before Set: err = %v, want ErrNotFound", err)
	}
	if err := k.Set(ctx, acct, key); err != nil {
		t.Fatal(err)
	}
	got, err := k.Get(ctx, acct)
	if err != nil || got.Reveal() != key {
		t.Fatalf("Get = %q, %v; want the key", got.Reveal(), err)
	}
	if _, err := exec.LookPath("secret-tool"); err == nil {
		out, err := exec.CommandContext(ctx, "secret-tool", "lookup", "service", creds.Service, "username", acct).Output()
		if err != nil {
			t.Fatalf("secret-tool lookup: %v", err)
		}
		if string(out) != key {
			t.Errorf("secret-tool lookup printed %q, want the key", out)
		}
	} else {
		t.Log("secret-tool not installed: cross-check skipped")
	}
	if err := k.Set(ctx, acct, "fedcba9876543210fedcba9876543210"); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Get(ctx, acct); err != nil || got.Reveal() != "fedcba9876543210fedcba9876543210" {
		t.Errorf("Get after a second Set = %q, %v; want the new key", got.Reveal(), err)
	}
	if err := k.Delete(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get(ctx, acct); !errors.Is(err, creds.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := k.Delete(ctx, acct); !errors.Is(err, creds.ErrNotFound) {
		t.Errorf("Delete of nothing: err = %v, want ErrNotFound", err)
	}
}

// TestRealKeyringLocked locks the login collection of the throw-away
// keyring and expects ErrLocked. It runs after the round trip (tests run in
// source order) and leaves the keyring locked. Without DISPLAY the unlock
// prompt fails at once; with DISPLAY it would pop up a dialog, so the test
// is skipped then.
func TestRealKeyringLocked(t *testing.T) {
	needBus(t, "lock")
	if os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" {
		t.Skip("DISPLAY is set: locking the keyring would pop up an unlock prompt")
	}
	ctx := t.Context()
	k := &creds.Keyring{Timeout: 5 * time.Second}
	acct := "exmail-test-locked"
	if err := k.Set(ctx, acct, "0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	conn, err := dbus.SessionBus() // shared: not ours to close
	if err != nil {
		t.Fatal(err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err = conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		CallWithContext(ctx, "org.freedesktop.Secret.Service.Lock", 0,
			[]dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"}).Store(&locked, &prompt)
	if err != nil || len(locked) != 1 {
		t.Fatalf("locking the login collection: %v %v", locked, err)
	}
	start := time.Now()
	_, err = k.Get(ctx, acct)
	if !errors.Is(err, creds.ErrLocked) {
		t.Fatalf("Get from a locked keyring: err = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v; want an answer well before the timeout", d)
	}
	t.Logf("as the user sees it: %v", err)
}

func TestRealKeyringAbsent(t *testing.T) {
	needBus(t, "absent")
	k := &creds.Keyring{Timeout: 5 * time.Second}
	start := time.Now()
	_, err := k.Get(t.Context(), "admin")
	if !errors.Is(err, creds.ErrUnavailable) {
		t.Fatalf("Get on a bus without a Secret Service: err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v; want an answer well before the timeout", d)
	}
	t.Logf("as the user sees it: %v", err)
	if err := k.Set(t.Context(), "admin", "k"); !errors.Is(err, creds.ErrUnavailable) {
		t.Errorf("Set: err = %v, want ErrUnavailable", err)
	}
}

// TestRealKeyringDeadBus points the session bus address at a socket nobody
// listens on: go-keyring's dial fails at once and that is ErrUnavailable.
// It needs no bus, but godbus keeps one shared session connection per
// process, so it is skipped when the tests above may have opened it.
func TestRealKeyringDeadBus(t *testing.T) {
	if os.Getenv("EXMAIL_KEYRING_TEST") != "" {
		t.Skip("a real session bus is in use in this process")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+t.TempDir()+"/no-bus")
	_, err := (&creds.Keyring{}).Get(t.Context(), "admin")
	if !errors.Is(err, creds.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "gnome-keyring") {
		t.Errorf("error does not name the fix: %v", err)
	}
}

// TestRealKeyringNoBus is desktop-testing.md §4 row 2: no session bus at
// all, with dbus-launch on PATH. The real Keyring must say ErrUnavailable
// at once and never run dbus-launch (godbus's SessionBus would, leaking a
// dbus-daemon and then calling its empty keyring "locked"). A fake
// dbus-launch records whether anything ran it.
func TestRealKeyringNoBus(t *testing.T) {
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
		t.Skip("this machine has a user bus at /run/user/<uid>/bus")
	}
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	script := "#!/bin/sh\ntouch '" + ran + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "dbus-launch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", "")

	start := time.Now()
	_, err := (&creds.Keyring{}).Get(t.Context(), "admin")
	if !errors.Is(err, creds.ErrUnavailable) || errors.Is(err, creds.ErrLocked) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Get took %v, want an answer at once", d)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("dbus-launch was run")
	}
}
