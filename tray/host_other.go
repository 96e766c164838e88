//go:build !(linux || freebsd || openbsd || netbsd)

package tray

import (
	"context"
	"log/slog"
)

// checkBus: Windows and macOS need no session bus.
func checkBus(context.Context) error { return nil }

// ProbeHost: Windows and macOS always have a notification area.
func ProbeHost(context.Context) Host { return HostReady }

// WatchHost calls fn(HostReady) once and waits for ctx: Windows and macOS
// always have a notification area.
func WatchHost(ctx context.Context, fn func(Host)) error {
	fn(HostReady)
	<-ctx.Done()
	return nil
}

// settle: only the Linux export has the race View.resync repairs.
func settle(context.Context, *View, *slog.Logger) {}
