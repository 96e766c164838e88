//go:build darwin && cgo

package desktop

/*
#cgo LDFLAGS: -framework IOKit -framework CoreFoundation

#include <stdint.h>
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <IOKit/ps/IOPowerSources.h>

// exmailOnBattery: 1 when the providing power source is the battery, 0
// when it is not (AC, UPS), -1 when IOKit cannot say.
static int exmailOnBattery(void) {
	CFTypeRef info = IOPSCopyPowerSourcesInfo();
	if (info == NULL) {
		return -1;
	}
	// A "Get" function: the string belongs to info.
	CFStringRef type = IOPSGetProvidingPowerSourceType(info);
	int r = -1;
	if (type != NULL) {
		// kIOPMBatteryPowerKey (IOPM.h), spelled out.
		r = CFStringCompare(type, CFSTR("Battery Power"), 0) == kCFCompareEqualTo;
	}
	CFRelease(info);
	return r;
}

// exmailIdleNanos: nanoseconds since the last keyboard or mouse input
// (the HID system's HIDIdleTime, which needs no permission), or -1.
static int64_t exmailIdleNanos(void) {
	// Port 0 is the default main port (kIOMainPortDefault, called
	// kIOMasterPortDefault before macOS 12): spelled so to build with
	// either SDK. IOServiceMatching's dictionary is consumed.
	io_service_t hid = IOServiceGetMatchingService(0, IOServiceMatching("IOHIDSystem"));
	if (hid == IO_OBJECT_NULL) {
		return -1;
	}
	CFTypeRef v = IORegistryEntryCreateCFProperty(hid, CFSTR("HIDIdleTime"), kCFAllocatorDefault, 0);
	IOObjectRelease(hid);
	if (v == NULL) {
		return -1;
	}
	int64_t ns = -1;
	if (CFGetTypeID(v) == CFNumberGetTypeID()) {
		if (!CFNumberGetValue((CFNumberRef)v, kCFNumberSInt64Type, &ns)) {
			ns = -1;
		}
	} else if (CFGetTypeID(v) == CFDataGetTypeID() && CFDataGetLength((CFDataRef)v) == sizeof ns) {
		CFDataGetBytes((CFDataRef)v, CFRangeMake(0, sizeof ns), (UInt8 *)&ns);
	}
	CFRelease(v);
	return ns;
}
*/
import "C"

import (
	"context"
	"errors"
	"time"
)

// UNVERIFIED: written against Apple's documentation and widely used
// examples, never compiled or run here (darwin needs cgo and the macOS
// SDK). What it relies on:
//   - IOPSCopyPowerSourcesInfo + IOPSGetProvidingPowerSourceType (IOKit,
//     macOS 10.0+) name the source the Mac draws from: "AC Power",
//     "Battery Power" or "UPS Power";
//   - the IOHIDSystem registry entry's HIDIdleTime property is the time
//     since the last input in nanoseconds (a CFNumber; old systems gave
//     CFData), readable by any process without the Input Monitoring
//     permission that CGEventSource-based timers may ask for.
//
// Both are local, quick IOKit calls that take no deadline; they run on
// Power's own goroutine, never the caller's.

func newPowerProbe(o PowerOptions) powerProbe { return darwinPower{idleAfter: o.IdleAfter} }

type darwinPower struct{ idleAfter time.Duration }

func (p darwinPower) read(context.Context) (PowerState, error) {
	var s PowerState
	var errs []error
	switch C.exmailOnBattery() {
	case 1:
		s.OnBattery = true
	case 0:
	default:
		errs = append(errs, errors.New("IOKit gave no providing power source"))
	}
	if ns := int64(C.exmailIdleNanos()); ns >= 0 {
		s.Idle = time.Duration(ns) >= p.idleAfter
	} else {
		errs = append(errs, errors.New("IOKit gave no HIDIdleTime"))
	}
	return s, errors.Join(errs...)
}

func (darwinPower) close() {}
