//go:build !(linux || freebsd || openbsd || netbsd)

package tray

import (
	"context"
	"log/slog"
)

// CheckBus: Windows and macOS need no session bus.
func CheckBus(context.Context) error { return nil }

// trayBus: Windows and macOS need no bus connection for Run.
type trayBus struct{}

func openTrayBus(context.Context) (*trayBus, error) { return &trayBus{}, nil }

func (*trayBus) close() {}

// settle: only the Linux export has the race View.resync repairs.
func (*trayBus) settle(context.Context, *View, *slog.Logger) {}

// ProbeHost: Windows and macOS always have a notification area.
func ProbeHost(context.Context) Host { return HostReady }

// WatchHost calls fn(HostReady) once and waits for ctx: Windows and macOS
// always have a notification area.
func WatchHost(ctx context.Context, fn func(Host)) error {
	fn(HostReady)
	<-ctx.Done()
	return nil
}
