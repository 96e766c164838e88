package desktop

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// Idle and battery. A backend without push (package poll) asks for the
// unread count every minute while the session is in use, and less often
// when nobody is at the computer or it runs on battery. Power tells it
// which, from a value refreshed in the background, so asking costs an
// atomic load.
//
// Where the answer comes from:
//   - Linux: battery from /sys/class/power_supply (power_linux.go), idle
//     from logind's IdleHint and LockedHint of this user's session on the
//     system bus (the desktop sets them after its own idle delay);
//   - Windows: GetSystemPowerStatus, and GetLastInputInfo against
//     PowerOptions.IdleAfter;
//   - macOS (cgo): IOKit's providing power source, and the HID system's
//     idle time against IdleAfter (power_darwin.go; unverified, see there);
//   - anywhere else, or when a source fails: not on battery, not idle.

// Defaults of PowerOptions.
const (
	DefaultPowerEvery   = time.Minute
	DefaultIdleAfter    = 10 * time.Minute
	DefaultPowerTimeout = 2 * time.Second
)

// PowerOptions tune a Power. Zero fields take the default noted on them.
type PowerOptions struct {
	// Every is how often the platform is asked. Default 1 min: Slow's
	// answer is at most that old, and the poll it steers waits a minute
	// or more anyway.
	Every time.Duration
	// IdleAfter is how long without keyboard or mouse input counts as
	// idle on Windows and macOS. Default 10 min. Linux uses logind's
	// IdleHint instead, which the desktop sets after its own idle delay
	// (the one that dims or locks the screen).
	IdleAfter time.Duration
	// Timeout bounds one question to the platform (on Linux, each D-Bus
	// call to logind, and connecting to the system bus). Default 2 s.
	Timeout time.Duration
	// Logger gets a debug line when the state changes or a source starts
	// or stops failing. Default: discard.
	Logger *slog.Logger
	// Getenv reads the environment (DBUS_SYSTEM_BUS_ADDRESS on Linux).
	// Default os.Getenv.
	Getenv func(string) string
	// OnChange, when set, is called on Power's goroutine with the new
	// state each time it changes (not for the first answer). It must not
	// block. A poll waiting SlowEvery can be cut short with it when the
	// user comes back: if !s.Slow() { src.Reconnect() }.
	OnChange func(PowerState)
}

func (o PowerOptions) withDefaults() PowerOptions {
	if o.Every <= 0 {
		o.Every = DefaultPowerEvery
	}
	if o.IdleAfter <= 0 {
		o.IdleAfter = DefaultIdleAfter
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultPowerTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	return o
}

// PowerState is what the platform last said.
type PowerState struct {
	OnBattery bool // running on battery: there is one, discharging, and no external power
	Idle      bool // nobody has used the session for a while, or it is locked
}

// Slow reports whether to do background work less often.
func (s PowerState) Slow() bool { return s.OnBattery || s.Idle }

// powerProbe asks the platform once. ctx carries the deadline of
// PowerOptions.Timeout; a probe whose calls cannot take one (a local
// syscall) returns at once anyway. It returns what it could learn: a part
// it could not read is false, and err says why.
type powerProbe interface {
	read(ctx context.Context) (PowerState, error)
	close()
}

// Power is the last PowerState the platform reported, refreshed in the
// background. Its methods are safe for concurrent use and never block. The
// zero Power (and a nil *Power) reports "not slow".
type Power struct {
	state atomic.Uint32 // bit 0: on battery, bit 1: idle
}

// NewPowerWatch starts watching the platform's battery and idle state
// until ctx ends: it asks at once, then every o.Every, each time within
// o.Timeout, on one goroutine of its own. Until the first answer, and
// where the platform has no source, the state is "not slow". It never
// fails: a source that cannot be read counts as false (logged at debug).
func NewPowerWatch(ctx context.Context, o PowerOptions) *Power {
	o = o.withDefaults()
	p := &Power{}
	probe := newPowerProbe(o)
	if probe == nil {
		return p
	}
	go p.watch(ctx, o, probe)
	return p
}

// Slow reports whether the machine is on battery or its session idle, as
// last seen. It is what poll.Options.Slow wants.
func (p *Power) Slow() bool { return p.State().Slow() }

// State returns the last state seen.
func (p *Power) State() PowerState {
	if p == nil {
		return PowerState{}
	}
	v := p.state.Load()
	return PowerState{OnBattery: v&1 != 0, Idle: v&2 != 0}
}

func (p *Power) set(s PowerState) {
	var v uint32
	if s.OnBattery {
		v |= 1
	}
	if s.Idle {
		v |= 2
	}
	p.state.Store(v)
}

// watch refreshes p from probe until ctx ends, then closes probe.
func (p *Power) watch(ctx context.Context, o PowerOptions, probe powerProbe) {
	defer probe.close()
	t := time.NewTicker(o.Every)
	defer t.Stop()
	var last PowerState
	lastErr := ""
	for first := true; ; first = false {
		rctx, cancel := context.WithTimeout(ctx, o.Timeout)
		s, err := probe.read(rctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		p.set(s)
		if first || s != last {
			o.Logger.Debug("power state", "on_battery", s.OnBattery, "idle", s.Idle)
			if !first && o.OnChange != nil {
				o.OnChange(s)
			}
			last = s
		}
		if e := errText(err); e != lastErr {
			if err != nil {
				o.Logger.Debug("cannot read part of the power state; counting it as false", "err", err)
			} else {
				o.Logger.Debug("power state readable again")
			}
			lastErr = e
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// errNoPowerSource is what a part of the state that this platform cannot
// read says.
var errNoPowerSource = errors.New("not available on this platform")

// Windows' answers, decided here so that any platform's tests check them.

// windowsOnBattery reads SYSTEM_POWER_STATUS: ACLineStatus 0 is offline
// (1 online, 255 unknown); BatteryFlag 128 is "no system battery" (255
// unknown). On battery means: off the mains, and a battery is there.
func windowsOnBattery(acLineStatus, batteryFlag byte) bool {
	return acLineStatus == 0 && batteryFlag != 128 && batteryFlag != 255
}

// windowsIdleFor is how long ago the last input came, from GetTickCount
// and LASTINPUTINFO.dwTime: both are milliseconds since boot in 32 bits,
// which wrap after 49.7 days; unsigned subtraction is right across the
// wrap.
func windowsIdleFor(now, lastInput uint32) time.Duration {
	return time.Duration(now-lastInput) * time.Millisecond
}
