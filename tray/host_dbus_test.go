//go:build linux

package tray

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// privateBus starts a dbus-daemon of its own, with nothing activatable, and
// returns its address. It skips the test when dbus-daemon is missing.
func privateBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon not installed")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir=`+dir+`</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--print-address")
	// Dies with the test binary even when a timeout kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(addr)
}

func dialer(addr string) func(context.Context) (*dbus.Conn, error) {
	return func(ctx context.Context) (*dbus.Conn, error) {
		return sessionbus.DialAddress(ctx, addr)
	}
}

type watcher struct{}

func (watcher) RegisterStatusNotifierItem(string, dbus.Sender) *dbus.Error { return nil }
func (watcher) RegisterStatusNotifierHost(string) *dbus.Error              { return nil }

// TestWatchHostFollowsTheWatcher plays a desktop whose tray comes and goes:
// first no watcher, then a watcher without a host, then a host, then the
// panel quits.
func TestWatchHostFollowsTheWatcher(t *testing.T) {
	t.Parallel()
	addr := privateBus(t)
	desk, err := dialer(addr)(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer desk.Close()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan Host, 8)
	done := make(chan error, 1)
	go func() { done <- watchHost(ctx, dialer(addr), func(h Host) { got <- h }) }()
	next := func(want Host, what string) {
		t.Helper()
		select {
		case h := <-got:
			if h != want {
				t.Fatalf("%s: host = %v, want %v", what, h, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no report (want %v)", what, want)
		}
	}
	next(HostNoWatcher, "bare bus")

	if err := desk.Export(watcher{}, watcherPath, watcherIface); err != nil {
		t.Fatal(err)
	}
	props, err := prop.Export(desk, watcherPath, map[string]map[string]*prop.Prop{watcherIface: {
		"IsStatusNotifierHostRegistered": {Value: false, Emit: prop.EmitTrue},
		"ProtocolVersion":                {Value: int32(0)},
		"RegisteredStatusNotifierItems":  {Value: []string{}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := desk.RequestName(watcherName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", r, err)
	}
	next(HostNoHost, "watcher without host")

	props.SetMust(watcherIface, "IsStatusNotifierHostRegistered", true)
	if err := desk.Emit(watcherPath, watcherIface+".StatusNotifierHostRegistered"); err != nil {
		t.Fatal(err)
	}
	next(HostReady, "host registered")

	if _, err := desk.ReleaseName(watcherName); err != nil {
		t.Fatal(err)
	}
	next(HostNoWatcher, "panel quit")

	cancel()
	if err := <-done; err != nil {
		t.Errorf("watchHost returned %v after cancel", err)
	}
}

func TestWatchHostWithoutBus(t *testing.T) {
	t.Parallel()
	var got []Host
	err := watchHost(t.Context(), dialer("unix:path=/nonexistent/bus"), func(h Host) { got = append(got, h) })
	if err == nil || len(got) != 1 || got[0] != HostNoBus {
		t.Errorf("watchHost on no bus: err=%v reports=%v; want an error and [no-session-bus]", err, got)
	}
}

// A dbus-daemon that accepts connections but never answers (hung) must not
// hold up CheckBus or ProbeHost beyond their context: hasDesktop calls
// them on the main goroutine before anything is shown.
func TestBusChecksAreBoundedByCtx(t *testing.T) {
	// Not parallel: it points DBUS_SESSION_BUS_ADDRESS at the hung bus.
	sock := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+sock)

	for _, check := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"CheckBus", CheckBus},
		{"ProbeHost", func(ctx context.Context) error {
			if h := ProbeHost(ctx); h != HostNoBus {
				return fmt.Errorf("ProbeHost = %v", h)
			}
			return ctx.Err()
		}},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			c, err := l.Accept()
			cancel() // the caller's deadline passes while the handshake hangs
			if err == nil {
				defer c.Close()
				<-t.Context().Done()
			}
		}()
		if err := check.run(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("%s on a hung bus = %v, want it to give up with the context", check.name, err)
		}
	}
}
