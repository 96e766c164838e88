//go:build !(linux || freebsd || netbsd || openbsd || dragonfly)

package notify

import "log/slog"

// newPlatformBackend: beeep on Windows, macOS and everything else without
// a freedesktop notification bus.
func newPlatformBackend(opts Options, _ func(key string), _ *slog.Logger) backend {
	return newBeeepBackend(opts.IconPath)
}
