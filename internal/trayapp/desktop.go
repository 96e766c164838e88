package trayapp

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/notify"
	"github.com/exmail-notifier/exmail-notifier/tray"
)

const (
	// busCheckTimeout bounds hasDesktop's session-bus check: it runs on
	// the main goroutine before anything is shown, and a hung dbus-daemon
	// must not freeze the start.
	busCheckTimeout = 3 * time.Second
	// noHostGrace: at login the panel may start after us; only complain
	// about a missing tray host when it is still missing after this long.
	noHostGrace = 15 * time.Second
)

// HasDesktop reports whether a graphical session is there to show a tray
// icon and toasts. On Linux and the BSDs that is DISPLAY or
// WAYLAND_DISPLAY plus a session bus that answers within busCheckTimeout;
// Windows and macOS always have one. why says what is missing. Whether a
// tray host draws the icon is watchTrayHost's business, not this check's.
func HasDesktop(ctx context.Context, getenv func(string) string) (ok bool, why string) {
	switch runtime.GOOS {
	case "windows", "darwin":
		return true, ""
	}
	if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
		return false, "neither DISPLAY nor WAYLAND_DISPLAY is set"
	}
	ctx, cancel := context.WithTimeout(ctx, busCheckTimeout)
	defer cancel()
	if err := tray.CheckBus(ctx); err != nil {
		return false, "no D-Bus session bus (" + err.Error() + ")"
	}
	return true, ""
}

// watchTrayHost logs the tray host's state as it changes, with the fix
// for this desktop (XDG_CURRENT_DESKTOP) when there is none; if none
// appears within noHostGrace it also says so in one toast, since the user
// would otherwise see nothing at all until the first mail.
func watchTrayHost(ctx context.Context, log *slog.Logger, desktop string, n *notify.Notifier, lang app.Lang) {
	var mu sync.Mutex
	current := tray.HostUnknown
	t := time.AfterFunc(noHostGrace, func() {
		mu.Lock()
		h := current
		mu.Unlock()
		if h != tray.HostReady && n != nil && ctx.Err() == nil {
			title, body := noTrayToast(lang)
			n.Toast(title, body, "")
		}
	})
	defer t.Stop()
	err := tray.WatchHost(ctx, func(h tray.Host) {
		mu.Lock()
		current = h
		mu.Unlock()
		if h == tray.HostReady {
			log.Info("tray host ready")
			return
		}
		log.Warn("no tray host: "+tray.Advice(h, desktop), "host", h)
	})
	if err != nil && ctx.Err() == nil {
		log.Debug("tray host watch ended", "err", err)
	}
}

func noTrayToast(lang app.Lang) (title, body string) {
	if lang == app.Chinese {
		return "企业邮箱提醒正在运行", "此桌面没有系统托盘，因此看不到图标；新邮件提醒照常显示。GNOME 用户请安装 AppIndicator 扩展。"
	}
	return "Exmail Notifier is running", "This desktop has no system tray, so the icon is hidden; new-mail notifications still appear. On GNOME, install the AppIndicator extension."
}
