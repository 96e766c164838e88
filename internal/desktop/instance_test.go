package desktop

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// shortDir is a temp dir with a path short enough for a unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "exn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestSecondLaunchHandsOverAndExits(t *testing.T) {
	t.Parallel()
	dir := shortDir(t)
	first, err := AcquireInstance(t.Context(), dir, "tray")
	if err != nil {
		t.Fatalf("first launch: %v", err)
	}
	defer first.Close()
	opened := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan struct{})
	go func() {
		first.Serve(ctx, slog.New(slog.DiscardHandler), Requests{Open: func() { opened <- struct{}{} }})
		close(served)
	}()

	if _, err := AcquireInstance(t.Context(), dir, "tray"); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second launch: err = %v, want ErrAlreadyRunning", err)
	}
	select {
	case <-opened:
	default:
		t.Error("the running instance was not asked to open the mailbox")
	}

	// Another name is another lock: the demo may run beside the tray.
	demo, err := AcquireInstance(t.Context(), dir, "demo")
	if err != nil {
		t.Errorf("demo beside tray: %v", err)
	} else {
		demo.Close()
	}

	cancel()
	<-served
	first.Close()
	again, err := AcquireInstance(t.Context(), dir, "tray")
	if err != nil {
		t.Fatalf("launch after the first quit: %v", err)
	}
	again.Close()
}

func TestStaleSocketIsReplaced(t *testing.T) {
	t.Parallel()
	dir := shortDir(t)
	path := filepath.Join(dir, "exmail-notifier-tray.sock")
	// A crashed run leaves its socket file behind: bind it, then close the
	// fd without unlinking.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket file missing: %v", err)
	}
	l, err := AcquireInstance(t.Context(), dir, "tray")
	if err != nil {
		t.Fatalf("launch over a stale socket: %v", err)
	}
	l.Close()
}

// TestInstanceDirTrustsOnlyAPrivateRuntimeDir: $XDG_RUNTIME_DIR holds the
// lock socket only when it is this user's own 0700 directory; anything
// else (a shared or world-writable directory, a symbolic link, a file)
// falls back to the user's cache directory.
func TestInstanceDirTrustsOnlyAPrivateRuntimeDir(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("XDG_RUNTIME_DIR is a Unix convention")
	}
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return d
	}
	private := mk("private", 0o700)
	shared := mk("shared", 0o777)
	groupReadable := mk("group", 0o750)
	link := filepath.Join(base, "link")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		runtime string
		trusted bool
	}{
		{"this user's 0700 directory", private, true},
		{"a world-writable directory", shared, false},
		{"a group-readable directory", groupReadable, false},
		{"a symbolic link to a private directory", link, false},
		{"a file", file, false},
		{"missing", filepath.Join(base, "missing"), false},
		{"relative", "run/user/1000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := InstanceDir(func(k string) string {
				if k == "XDG_RUNTIME_DIR" {
					return tt.runtime
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			if (got == tt.runtime) != tt.trusted {
				t.Errorf("InstanceDir = %q with XDG_RUNTIME_DIR=%q; trusted = %v, want %v", got, tt.runtime, got == tt.runtime, tt.trusted)
			}
		})
	}
}

// TestAskToQuit: after enrolling, the new account needs a fresh tray; the
// running one is asked to quit, and AskToQuit returns once its lock is free.
func TestAskToQuit(t *testing.T) {
	t.Parallel()
	dir := shortDir(t)
	if running, err := AskToQuit(t.Context(), dir, "tray"); running || err != nil {
		t.Fatalf("with nothing running: AskToQuit = %v, %v; want false, nil", running, err)
	}
	first, err := AcquireInstance(t.Context(), dir, "tray")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go first.Serve(ctx, slog.New(slog.DiscardHandler), Requests{Quit: func() {
		cancel()      // the app ends…
		first.Close() // …and its lock goes with it
	}})
	if running, err := AskToQuit(t.Context(), dir, "tray"); !running || err != nil {
		t.Fatalf("AskToQuit = %v, %v; want true, nil", running, err)
	}
	again, err := AcquireInstance(t.Context(), dir, "tray")
	if err != nil {
		t.Fatalf("the lock is not free after the quit: %v", err)
	}
	again.Close()
}
