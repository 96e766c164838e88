package desktop

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	powerKernel32            = windows.NewLazySystemDLL("kernel32.dll")
	powerUser32              = windows.NewLazySystemDLL("user32.dll")
	procGetSystemPowerStatus = powerKernel32.NewProc("GetSystemPowerStatus")
	procGetTickCount         = powerKernel32.NewProc("GetTickCount")
	procGetLastInputInfo     = powerUser32.NewProc("GetLastInputInfo")
)

// systemPowerStatus is SYSTEM_POWER_STATUS.
type systemPowerStatus struct {
	ACLineStatus        byte
	BatteryFlag         byte
	BatteryLifePercent  byte
	SystemStatusFlag    byte
	BatteryLifeTime     uint32
	BatteryFullLifeTime uint32
}

// lastInputInfo is LASTINPUTINFO.
type lastInputInfo struct {
	cbSize uint32
	dwTime uint32
}

func newPowerProbe(o PowerOptions) powerProbe {
	p := &windowsPower{idleAfter: o.IdleAfter}
	// LazyProc.Call panics when the function is missing: find them first.
	p.battery = procGetSystemPowerStatus.Find() == nil
	p.input = procGetLastInputInfo.Find() == nil && procGetTickCount.Find() == nil
	return p
}

// windowsPower asks kernel32 and user32. The calls are local and return at
// once; they take no deadline.
type windowsPower struct {
	idleAfter      time.Duration
	battery, input bool // whether the functions exist
}

func (p *windowsPower) read(context.Context) (PowerState, error) {
	var s PowerState
	var errs []error
	if p.battery {
		var ps systemPowerStatus
		if r, _, err := procGetSystemPowerStatus.Call(uintptr(unsafe.Pointer(&ps))); r == 0 {
			errs = append(errs, fmt.Errorf("GetSystemPowerStatus: %w", err))
		} else {
			s.OnBattery = windowsOnBattery(ps.ACLineStatus, ps.BatteryFlag)
		}
	} else {
		errs = append(errs, fmt.Errorf("GetSystemPowerStatus: %w", errNoPowerSource))
	}
	if p.input {
		li := lastInputInfo{cbSize: uint32(unsafe.Sizeof(lastInputInfo{}))}
		if r, _, err := procGetLastInputInfo.Call(uintptr(unsafe.Pointer(&li))); r == 0 {
			errs = append(errs, fmt.Errorf("GetLastInputInfo: %w", err))
		} else {
			now, _, _ := procGetTickCount.Call()
			s.Idle = windowsIdleFor(uint32(now), li.dwTime) >= p.idleAfter
		}
	} else {
		errs = append(errs, fmt.Errorf("GetLastInputInfo: %w", errNoPowerSource))
	}
	return s, errors.Join(errs...)
}

func (p *windowsPower) close() {}
