//go:build linux

package desktop

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// sysPowerSupply is where the kernel lists power supplies.
const sysPowerSupply = "/sys/class/power_supply"

// logindAutoSession is the session of the caller or, when the caller is
// in none (started by systemd --user, say), the user's graphical session
// (logind resolves it on every call; systemd 243 and later).
const logindAutoSession = dbus.ObjectPath("/org/freedesktop/login1/session/auto")

func newPowerProbe(o PowerOptions) powerProbe {
	return &linuxPower{
		sysfs: sysPowerSupply,
		dial: func(ctx context.Context) (*dbus.Conn, error) {
			addr := o.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
			if addr == "" {
				addr = "unix:path=/var/run/dbus/system_bus_socket"
			}
			return sessionbus.DialAddress(ctx, addr)
		},
		pid: os.Getpid(),
	}
}

// linuxPower reads the battery from sysfs and idleness from logind. It is
// used by one goroutine (Power.watch).
type linuxPower struct {
	sysfs string
	dial  func(context.Context) (*dbus.Conn, error)
	pid   int

	conn    *dbus.Conn      // the system bus; nil until dialled, or after it was lost
	session dbus.ObjectPath // found with GetSessionByPID when "auto" failed; "" otherwise
}

func (p *linuxPower) read(ctx context.Context) (PowerState, error) {
	var s PowerState
	var errBattery, errIdle error
	s.OnBattery, errBattery = onBatteryFromSysfs(p.sysfs)
	if errBattery != nil {
		errBattery = fmt.Errorf("battery: %w", errBattery)
	}
	s.Idle, errIdle = p.idle(ctx)
	if errIdle != nil {
		errIdle = fmt.Errorf("idle (logind): %w", errIdle)
	}
	return s, errors.Join(errBattery, errIdle)
}

func (p *linuxPower) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

// idle reports logind's IdleHint or LockedHint for this user's session.
// Every call is bounded by ctx. A lost bus is dialled again next time.
func (p *linuxPower) idle(ctx context.Context) (bool, error) {
	if p.conn == nil {
		c, err := p.dial(ctx)
		if err != nil {
			return false, err
		}
		p.conn = c
	}
	idle, err := p.sessionIdle(ctx)
	if err != nil && !p.conn.Connected() {
		p.close()
	}
	return idle, err
}

// sessionIdle reads the hints of the session that GetSessionByPID found,
// else of "auto", else asks GetSessionByPID (systemd before 243 has no
// "auto") and remembers its answer.
func (p *linuxPower) sessionIdle(ctx context.Context) (bool, error) {
	if p.session != "" {
		idle, err := p.sessionHints(ctx, p.session)
		if err != nil {
			p.session = "" // the session ended: look again next time
		}
		return idle, err
	}
	idle, errAuto := p.sessionHints(ctx, logindAutoSession)
	if errAuto == nil {
		return idle, nil
	}
	var path dbus.ObjectPath
	err := p.conn.Object(logindName, "/org/freedesktop/login1").
		CallWithContext(ctx, "org.freedesktop.login1.Manager.GetSessionByPID", 0, uint32(p.pid)).Store(&path)
	if err != nil {
		return false, fmt.Errorf("session auto: %w; GetSessionByPID: %w", errAuto, err)
	}
	idle, err = p.sessionHints(ctx, path)
	if err != nil {
		return false, err
	}
	p.session = path
	return idle, nil
}

// sessionHints reads IdleHint and LockedHint of the session at path. A
// logind too old for LockedHint (before systemd 230) still gives
// IdleHint.
func (p *linuxPower) sessionHints(ctx context.Context, path dbus.ObjectPath) (bool, error) {
	obj := p.conn.Object(logindName, path)
	get := func(name string) (bool, error) {
		var v dbus.Variant
		if err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.login1.Session", name).Store(&v); err != nil {
			return false, err
		}
		b, ok := v.Value().(bool)
		if !ok {
			return false, fmt.Errorf("%s is a %s, not a boolean", name, v.Signature())
		}
		return b, nil
	}
	idle, err := get("IdleHint")
	if err != nil || idle {
		return idle, err
	}
	locked, _ := get("LockedHint")
	return locked, nil
}

// onBatteryFromSysfs reports whether the machine runs on its battery,
// from the power supplies listed under root (/sys/class/power_supply):
// a system battery is discharging, and no external supply (mains, USB,
// wireless) is online. No such directory, or no battery (a desktop), is
// not on battery. Peripheral batteries (scope "Device": a mouse, a
// headset) and UPSes are not the machine's battery.
func onBatteryFromSysfs(root string) (bool, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	external, discharging := false, false
	for _, e := range entries {
		dir := filepath.Join(root, e.Name()) // a link to the device's directory
		switch typ := sysfsAttr(dir, "type"); {
		case typ == "Battery":
			if sysfsAttr(dir, "scope") == "Device" {
				continue
			}
			if sysfsAttr(dir, "status") == "Discharging" {
				discharging = true
			}
		case typ == "Mains", typ == "Wireless", typ == "BrickID", strings.HasPrefix(typ, "USB"):
			// online: 0 offline, 1 online (USB: 2, online and programmable).
			if on := sysfsAttr(dir, "online"); on != "" && on != "0" {
				external = true
			}
		}
	}
	return discharging && !external, nil
}

// sysfsAttr reads one attribute file; unreadable or absent is "".
func sysfsAttr(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
