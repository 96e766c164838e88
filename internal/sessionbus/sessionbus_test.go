//go:build linux || freebsd || netbsd || openbsd || dragonfly

package sessionbus

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		files   []string
		want    string
		wantErr error
	}{
		{name: "from the environment", env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/dbus-x"}, want: "unix:path=/tmp/dbus-x"},
		{name: "the environment wins over the runtime dir", env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/dbus-x", "XDG_RUNTIME_DIR": "/run/user/1000"}, files: []string{"/run/user/1000/bus"}, want: "unix:path=/tmp/dbus-x"},
		{name: "XDG_RUNTIME_DIR/bus", env: map[string]string{"XDG_RUNTIME_DIR": "/tmp/rt"}, files: []string{"/tmp/rt/bus", "/run/user/1000/bus"}, want: "unix:path=/tmp/rt/bus"},
		{name: "/run/user/uid/bus", files: []string{"/run/user/1000/bus"}, want: "unix:path=/run/user/1000/bus"},
		{name: "the path is escaped", env: map[string]string{"XDG_RUNTIME_DIR": "/tmp/a b"}, files: []string{"/tmp/a b/bus"}, want: "unix:path=/tmp/a%20b/bus"},
		{name: "autolaunch is never used", env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "autolaunch:"}, wantErr: ErrNoBus},
		{name: "nothing", wantErr: ErrNoBus},
		{name: "runtime dir without a bus", env: map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, wantErr: ErrNoBus},
		{name: "another user's bus is not ours", files: []string{"/run/user/0/bus"}, wantErr: ErrNoBus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exists := func(p string) bool { return slices.Contains(tt.files, p) }
			got, err := Address(func(k string) string { return tt.env[k] }, 1000, exists)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Address() = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// A bus that accepts the connection and then never answers must not hold
// Dial beyond its context: here the context ends as soon as the server
// has the connection, and Dial returns that error instead of hanging in
// Auth.
func TestDialAddressIsBoundedByCtx(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
		cancel() // the "deadline" passes while the handshake waits
	}()

	conn, err := DialAddress(ctx, "unix:path="+sock)
	if c, ok := <-accepted; ok {
		defer c.Close()
	}
	if err == nil {
		conn.Close()
		t.Fatal("DialAddress() to a silent bus succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("DialAddress() = %v, want context.Canceled", err)
	}
}

func TestDialAddressAfterCtxEnded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := DialAddress(ctx, "unix:path=/nonexistent/bus"); !errors.Is(err, context.Canceled) {
		t.Errorf("DialAddress() = %v, want context.Canceled", err)
	}
}

func TestDialAddressNobodyListens(t *testing.T) {
	t.Parallel()
	_, err := DialAddress(t.Context(), "unix:path="+filepath.Join(t.TempDir(), "bus"))
	if err == nil {
		t.Fatal("DialAddress() to a missing socket succeeded")
	}
}

// Under dbus-run-session (CI), Dial reaches the real bus and the
// connection outlives the dial's context.
func TestDialRealBus(t *testing.T) {
	t.Parallel()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no session bus; run under dbus-run-session")
	}
	ctx, cancel := context.WithCancel(t.Context())
	conn, err := Dial(ctx)
	cancel()
	if err != nil {
		t.Fatalf("Dial() = %v", err)
	}
	defer conn.Close()
	var id string
	if err := conn.BusObject().CallWithContext(t.Context(), "org.freedesktop.DBus.GetId", 0).Store(&id); err != nil || id == "" {
		t.Errorf("GetId after the dial context ended = %q, %v; want the bus id", id, err)
	}
}
