package notify

import (
	"context"
	"runtime"

	"github.com/gen2brain/beeep"
)

// beeepBackend shows toasts with beeep.Notify: WinRT toasts through
// go-toast on Windows, terminal-notifier or osascript on macOS, and
// D-Bus, notify-send or kdialog elsewhere. It has no ctx, no click
// reporting and no server information; the Notifier bounds its calls.
type beeepBackend struct {
	icon   string
	notify func(title, body string, icon any) error // beeep.Notify
}

func newBeeepBackend(icon string) *beeepBackend {
	return &beeepBackend{icon: icon, notify: beeep.Notify}
}

// setBeeepAppName sets the beeep global once per process (from New). On
// Windows beeep uses AppName as the toast's AppUserModelID, so it must be
// AppID there (see AppID); elsewhere it is the name servers display.
func setBeeepAppName(appName string) {
	if runtime.GOOS == "windows" {
		beeep.AppName = AppID
		return
	}
	beeep.AppName = appName
}

func (b *beeepBackend) show(_ context.Context, t toast) error {
	title, body := t.title, t.body
	if runtime.GOOS == "windows" {
		title, body = windowsSafe(title), windowsSafe(body)
	}
	if err := b.notify(title, body, b.icon); err != nil {
		return &Error{Op: "toast", Backend: "beeep", Err: err}
	}
	return nil
}

func (b *beeepBackend) probe(context.Context) (ServerInfo, error) {
	return ServerInfo{Name: runtime.GOOS + " notifications via beeep", Backend: "beeep"}, nil
}

func (b *beeepBackend) close() {}
