package desktop

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
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
		first.Serve(ctx, slog.New(slog.DiscardHandler), func() { opened <- struct{}{} })
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
