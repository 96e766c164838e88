//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notify

import "log/slog"

// newPlatformBackend: the native D-Bus client alone.
//
// There is deliberately no beeep fallback here. beeep on Linux and the
// BSDs tries the same org.freedesktop.Notifications service through
// godbus's SessionBus (which may run dbus-launch and leak a bus daemon),
// then notify-send and kdialog, which talk to that same service. So when
// the native client fails, beeep fails too for the same reason (no server,
// access denied, a hung daemon) - and on the way it would put the mail's
// sender and subject on the notify-send command line, where every user on
// the machine can read them with ps.
func newPlatformBackend(opts Options, clicked func(key string), log *slog.Logger) backend {
	return newDBusBackend(opts, clicked, log)
}
