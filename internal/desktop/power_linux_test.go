//go:build linux

package desktop

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/godbus/dbus/v5"
)

// fakeSysfs writes supplies as /sys/class/power_supply does: one
// directory per supply ("name": "attr=value;attr=value"), reached through
// a symlink like the kernel's.
func fakeSysfs(t *testing.T, supplies map[string]string) string {
	t.Helper()
	devices := t.TempDir()
	root := t.TempDir()
	for name, attrs := range supplies {
		dir := filepath.Join(devices, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for kv := range strings.SplitSeq(attrs, ";") {
			k, v, _ := strings.Cut(kv, "=")
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(dir, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestOnBatteryFromSysfs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		supplies map[string]string
		want     bool
	}{
		{"desktop: nothing listed", nil, false},
		{"desktop: mains only", map[string]string{"AC": "type=Mains;online=1"}, false},
		{"laptop on mains, charging", map[string]string{
			"AC": "type=Mains;online=1", "BAT0": "type=Battery;status=Charging",
		}, false},
		{"laptop on mains, full", map[string]string{
			"AC": "type=Mains;online=1", "BAT0": "type=Battery;status=Full",
		}, false},
		{"laptop on battery", map[string]string{
			"AC": "type=Mains;online=0", "BAT0": "type=Battery;status=Discharging",
		}, true},
		{"weak charger: discharging while plugged in", map[string]string{
			"AC": "type=Mains;online=1", "BAT0": "type=Battery;status=Discharging",
		}, false},
		{"on battery, no mains entry at all", map[string]string{
			"BAT0": "type=Battery;status=Discharging",
		}, true},
		{"USB-C power delivery online", map[string]string{
			"ucsi-source-psy-USBC000:001": "type=USB;online=2", "BAT0": "type=Battery;status=Discharging",
		}, false},
		{"USB-C offline, mains offline", map[string]string{
			"ucsi-source-psy-USBC000:001": "type=USB;online=0", "ADP1": "type=Mains;online=0", "BAT1": "type=Battery;status=Discharging",
		}, true},
		{"second battery discharges, first idles", map[string]string{
			"AC": "type=Mains;online=0", "BAT0": "type=Battery;status=Not charging", "BAT1": "type=Battery;status=Discharging",
		}, true},
		{"only a wireless mouse's battery discharges", map[string]string{
			"AC": "type=Mains;online=0", "hidpp_battery_0": "type=Battery;scope=Device;status=Discharging",
		}, false},
		{"a UPS on battery is not the machine's battery", map[string]string{
			"ups": "type=UPS;online=0;status=Discharging",
		}, false},
		{"unreadable attributes count as absent", map[string]string{
			"BAT0": "type=Battery",
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := onBatteryFromSysfs(fakeSysfs(t, tc.supplies))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("onBatteryFromSysfs = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("no power_supply directory", func(t *testing.T) {
		t.Parallel()
		got, err := onBatteryFromSysfs(filepath.Join(t.TempDir(), "absent"))
		if got || err != nil {
			t.Errorf("got %v, %v; want false, nil", got, err)
		}
	})
}

// fakeLogind plays logind's session objects on a test bus.
type fakeLogind struct {
	sessions map[dbus.ObjectPath]map[string]bool // path → IdleHint, LockedHint; nil: no such session
	byPID    dbus.ObjectPath                     // GetSessionByPID's answer; "" fails
	pid      *atomic.Uint32                      // what GetSessionByPID was asked (on godbus's goroutine)
}

type fakeLogindManager struct{ f *fakeLogind }

func (m fakeLogindManager) GetSessionByPID(pid uint32) (dbus.ObjectPath, *dbus.Error) {
	m.f.pid.Store(pid)
	if m.f.byPID == "" {
		return "", dbus.NewError("org.freedesktop.login1.NoSessionForPID", []any{"PID does not belong to any known session"})
	}
	return m.f.byPID, nil
}

type fakeSessionProps struct{ hints map[string]bool }

func (s fakeSessionProps) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	if s.hints == nil {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownObject", []any{"Unknown object"})
	}
	v, ok := s.hints[name]
	if iface != "org.freedesktop.login1.Session" || !ok {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{name})
	}
	return dbus.MakeVariant(v), nil
}

func TestLogindIdle(t *testing.T) {
	// Not parallel: it owns org.freedesktop.login1 on the test bus, as
	// TestLogindResumeCallsWoke does.
	dial := sessionBusForTest(t)
	const mine = dbus.ObjectPath("/org/freedesktop/login1/session/_32")
	for _, tc := range []struct {
		name    string
		f       fakeLogind
		want    bool
		wantErr bool
		askPID  bool
	}{
		{"auto session in use", fakeLogind{sessions: map[dbus.ObjectPath]map[string]bool{
			logindAutoSession: {"IdleHint": false, "LockedHint": false},
		}}, false, false, false},
		{"auto session idle", fakeLogind{sessions: map[dbus.ObjectPath]map[string]bool{
			logindAutoSession: {"IdleHint": true, "LockedHint": false},
		}}, true, false, false},
		{"auto session locked", fakeLogind{sessions: map[dbus.ObjectPath]map[string]bool{
			logindAutoSession: {"IdleHint": false, "LockedHint": true},
		}}, true, false, false},
		{"logind before LockedHint", fakeLogind{sessions: map[dbus.ObjectPath]map[string]bool{
			logindAutoSession: {"IdleHint": true},
		}}, true, false, false},
		{"no auto (systemd < 243): GetSessionByPID", fakeLogind{
			sessions: map[dbus.ObjectPath]map[string]bool{mine: {"IdleHint": true, "LockedHint": false}},
			byPID:    mine,
		}, true, false, true},
		{"no session at all", fakeLogind{sessions: map[dbus.ObjectPath]map[string]bool{}}, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logind, err := dial(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer logind.Close()
			if reply, err := logind.RequestName(logindName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
				t.Fatalf("cannot play logind: %v %v", reply, err)
			}
			f := tc.f
			f.pid = new(atomic.Uint32)
			if err := logind.Export(fakeLogindManager{&f}, "/org/freedesktop/login1", "org.freedesktop.login1.Manager"); err != nil {
				t.Fatal(err)
			}
			if _, ok := f.sessions[logindAutoSession]; !ok {
				// A logind without "auto" has no such object. Export one
				// that says so: a call to a path nobody exported makes
				// godbus (v5.2.2) walk up to /org/freedesktop/login1 and
				// read its interfaces without their lock, which the race
				// detector reports.
				f.sessions[logindAutoSession] = nil
			}
			for path, hints := range f.sessions {
				if err := logind.Export(fakeSessionProps{hints}, path, "org.freedesktop.DBus.Properties"); err != nil {
					t.Fatal(err)
				}
			}

			p := &linuxPower{sysfs: t.TempDir(), dial: dial, pid: 4242}
			defer p.close()
			ctx, cancel := context.WithTimeout(t.Context(), DefaultPowerTimeout)
			defer cancel()
			s, err := p.read(ctx)
			if (err != nil) != tc.wantErr {
				t.Fatalf("read: %+v, %v; want error %v", s, err, tc.wantErr)
			}
			if s.Idle != tc.want || s.OnBattery {
				t.Errorf("state %+v, want idle %v, not on battery", s, tc.want)
			}
			if tc.askPID && f.pid.Load() != 4242 {
				t.Errorf("GetSessionByPID asked for pid %d, want 4242", f.pid.Load())
			}
			if !tc.askPID && f.pid.Load() != 0 {
				t.Errorf("GetSessionByPID asked although the auto session answered")
			}
			if tc.askPID && !tc.wantErr {
				if p.session != mine {
					t.Errorf("remembered session %q, want %q", p.session, mine)
				}
				// Next time, the remembered session is asked directly.
				f.pid.Store(0)
				if s, err := p.read(ctx); err != nil || !s.Idle || f.pid.Load() != 0 {
					t.Errorf("second read: %+v, %v, GetSessionByPID asked again: %v", s, err, f.pid.Load() != 0)
				}
			}
		})
	}
}

func TestLogindIdleWithoutABus(t *testing.T) {
	t.Parallel()
	noBus := errors.New("no system bus")
	p := &linuxPower{
		sysfs: fakeSysfs(t, map[string]string{"AC": "type=Mains;online=0", "BAT0": "type=Battery;status=Discharging"}),
		dial:  func(context.Context) (*dbus.Conn, error) { return nil, noBus },
	}
	defer p.close()
	s, err := p.read(t.Context())
	if !errors.Is(err, noBus) {
		t.Errorf("err = %v, want the dial's error", err)
	}
	if !s.OnBattery || s.Idle {
		t.Errorf("state %+v: the battery must still be read, idle false", s)
	}
}

func TestNewPowerProbeReadsGetenv(t *testing.T) {
	t.Parallel()
	asked := ""
	probe := newPowerProbe(PowerOptions{Getenv: func(k string) string {
		asked = k
		return "unix:path=" + filepath.Join(t.TempDir(), "nobody-listens")
	}}.withDefaults())
	defer probe.close()
	if _, err := probe.read(t.Context()); err == nil || !strings.Contains(err.Error(), "idle") {
		t.Errorf("read with no bus at the address: err = %v, want an idle error", err)
	}
	if asked != "DBUS_SYSTEM_BUS_ADDRESS" {
		t.Errorf("read $%s, want DBUS_SYSTEM_BUS_ADDRESS", asked)
	}
}
