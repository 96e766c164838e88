//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// newPlatformBackend: the native D-Bus client, with beeep behind it.
func newPlatformBackend(opts Options, clicked func(key string), log *slog.Logger) backend {
	return &fallbackBackend{
		native:   newDBusBackend(opts, clicked, log),
		fallback: newBeeepBackend(opts.IconPath),
		log:      log,
		seen:     onceLog{log: log},
	}
}

// fallbackBackend tries native first and, when it fails, fallback (beeep:
// notify-send, kdialog). It does not fall back
//   - on a timeout: the server is hung, and beeep would hang on it too, with
//     no way to stop it;
//   - when there is no session bus at all: beeep uses godbus' SessionBus,
//     which would run dbus-launch and leak a private bus daemon, and
//     notify-send needs the bus as well.
type fallbackBackend struct {
	native, fallback backend
	log              *slog.Logger
	seen             onceLog // reasons for falling back, logged once each
}

func (f *fallbackBackend) show(ctx context.Context, t toast) error {
	err := f.native.show(ctx, t)
	if err == nil || errors.Is(err, ErrTimeout) || errors.Is(err, ErrNoSessionBus) || ctx.Err() != nil {
		return err
	}
	if ferr := f.fallback.show(ctx, t); ferr != nil {
		return fmt.Errorf("%w; fallback: %w", err, ferr)
	}
	if f.seen.once(err.Error()) {
		f.log.Warn("native D-Bus notification failed; shown through beeep instead (clicks are not reported)", "reason", err)
	}
	return nil
}

func (f *fallbackBackend) probe(ctx context.Context) (ServerInfo, error) {
	return f.native.probe(ctx)
}

func (f *fallbackBackend) close() {
	f.native.close()
	f.fallback.close()
}
