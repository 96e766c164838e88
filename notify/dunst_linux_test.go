//go:build linux

package notify

// An opt-in test against the real dunst notification daemon. It starts
// dunst itself on the private bus, so dunst needs an X display, and DISPLAY
// must be exported before the bus starts (desktop-testing.md §7.1):
//
//	apt-get install -y --no-install-recommends dunst xvfb
//	EXMAIL_REAL_DUNST=1 xvfb-run -a dbus-run-session \
//	  --config-file=.ci/bare-session.conf -- \
//	  go test -race -count=1 -run TestRealDunst -v ./notify/

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/syncbuf"
)

const dunstIface = "org.dunstproject.cmd0"

func TestRealDunst(t *testing.T) {
	if os.Getenv("EXMAIL_REAL_DUNST") != "1" {
		t.Skip("set EXMAIL_REAL_DUNST=1 and run under xvfb-run and dbus-run-session to test against a real dunst")
	}
	needBus(t)
	if os.Getenv("DISPLAY") == "" {
		t.Fatal("EXMAIL_REAL_DUNST=1 needs an X display: run under xvfb-run -a")
	}
	dunstBin, err := exec.LookPath("dunst")
	if err != nil {
		t.Fatal("EXMAIL_REAL_DUNST=1 but dunst is not installed: apt-get install dunst")
	}

	// Subscribe before starting dunst, so its arrival cannot be missed.
	watch := privateConn(t)
	if err := watch.AddMatchSignal(dbus.WithMatchSender("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchOption("arg0", fdoName)); err != nil {
		t.Fatal(err)
	}
	owners := make(chan *dbus.Signal, 4)
	watch.Signal(owners)

	var dunstLog syncbuf.Buffer
	cmd := exec.Command(dunstBin, "-config", "/dev/null") // built-in defaults, not the host's config
	cmd.Stdout, cmd.Stderr = &dunstLog, &dunstLog
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("dunst output:\n%s", dunstLog.String())
		}
	})
	select {
	case <-owners:
	case <-time.After(failsafe):
		t.Fatal("dunst did not take org.freedesktop.Notifications")
	}

	keys := make(chan string, 4)
	logs := &waitingRecorder{added: make(chan struct{}, 64)}
	n, _ := startNotifier(t, Options{
		AppName:  "Exmail Notifier",
		IconPath: writeIcon(t),
		OnClick:  func(key string) { keys <- key },
		Timeout:  500 * time.Millisecond,
		Logger:   slog.New(logs),
	})

	info, err := n.Probe(t.Context())
	if err != nil {
		t.Fatalf("Probe() = %v", err)
	}
	t.Logf("server: %+v", info)
	if info.Name != "dunst" || !info.Actions || info.Backend != "dbus" {
		t.Errorf("Probe() = %+v, want dunst with actions over dbus", info)
	}

	n.Toast("New mail from Alice", "Q3 <report> & numbers", "mail-dunst-1")
	dunst := watch.Object(fdoName, fdoPath)
	waitDisplayed(t, dunst)

	// What `dunstctl action 0` does: invoke the default action of the
	// first displayed toast, as a click on it would.
	if err := dunst.Call(dunstIface+".NotificationAction", 0, uint32(0)).Err; err != nil {
		t.Fatalf("NotificationAction: %v", err)
	}
	select {
	case k := <-keys:
		if k != "mail-dunst-1" {
			t.Errorf("OnClick(%q), want mail-dunst-1", k)
		}
	case <-time.After(failsafe):
		t.Fatalf("dunst's click did not reach OnClick; logs:\n%s", logs)
	}
	if warns := logs.find(slog.LevelWarn); len(warns) != 0 {
		t.Errorf("unexpected warnings: %q", warns)
	}

	// A hung daemon (desktop-testing.md §4: beeep blocks >100 s on a
	// SIGSTOPped dunst): Probe and the worker give up after Timeout.
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = n.Probe(t.Context())
	if elapsed := time.Since(start); !errors.Is(err, ErrTimeout) || elapsed > 2*time.Second {
		t.Errorf("Probe() of a stopped dunst = %v after %v, want ErrTimeout after about 500ms", err, elapsed)
	}
	n.Toast("while dunst is stopped", "", "")
	logs.waitFor(t, slog.LevelWarn, "desktop notification failed", ErrTimeout.Error())

	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	n.Toast("after dunst continued", "", "")
	logs.waitFor(t, slog.LevelInfo, "work again")
}

// waitDisplayed polls dunst's displayedLength property. dunst moves a toast
// from its queue to the screen in its main loop, shortly after it answered
// Notify, and it signals nothing when it does; this is the one poll in the
// package's tests, and it runs only in this opt-in test.
func waitDisplayed(t *testing.T, dunst dbus.BusObject) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(failsafe)
	for {
		v, err := dunst.GetProperty(dunstIface + ".displayedLength")
		if err != nil {
			t.Fatalf("displayedLength: %v", err)
		}
		if n, _ := v.Value().(uint32); n >= 1 {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("dunst never displayed the toast")
		}
	}
}

func writeIcon(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(16, 16, color.RGBA{R: 0xe0, A: 0xff})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "icon.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
