//go:build linux

package desktop

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

const logindName = "org.freedesktop.login1"

// watchLogind follows logind's PrepareForSleep signal on the system bus
// and calls woke after each resume. It returns an error within a few
// seconds when there is no system bus or no logind; otherwise it returns
// nil at once and follows the signal until ctx ends.
func watchLogind(ctx context.Context, log *slog.Logger, woke func()) error {
	return followPrepareForSleep(ctx, systemBus, log, woke, func() { watchWallClock(ctx, wakeCheckEvery, woke) })
}

// systemBus connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS, else
// the standard socket); ctx bounds the connecting only.
func systemBus(ctx context.Context) (*dbus.Conn, error) {
	addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	if addr == "" {
		addr = "unix:path=/var/run/dbus/system_bus_socket"
	}
	return sessionbus.DialAddress(ctx, addr)
}

// followPrepareForSleep is watchLogind on the bus that dial connects to.
// When the bus connection is lost later, its goroutine calls lost and ends.
func followPrepareForSleep(ctx context.Context, dial func(context.Context) (*dbus.Conn, error), log *slog.Logger, woke, lost func()) error {
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := dial(sctx)
	if err != nil {
		return err
	}
	var has bool
	err = conn.BusObject().CallWithContext(sctx, "org.freedesktop.DBus.NameHasOwner", 0, logindName).Store(&has)
	if err == nil && !has {
		err = errors.New("logind is not on the system bus")
	}
	if err == nil {
		err = conn.AddMatchSignalContext(sctx,
			dbus.WithMatchSender(logindName),
			dbus.WithMatchObjectPath("/org/freedesktop/login1"),
			dbus.WithMatchInterface("org.freedesktop.login1.Manager"),
			dbus.WithMatchMember("PrepareForSleep"),
		)
	}
	if err != nil {
		conn.Close()
		return err
	}
	signals := make(chan *dbus.Signal, 4)
	conn.Signal(signals)
	go func() {
		defer conn.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case s, ok := <-signals:
				if !ok {
					// The system bus went away (dbus restarted): godbus closed
					// the channel. Watch the wall clock from now on.
					log.Debug("lost the system bus; watching the wall clock for wake-ups")
					lost()
					return
				}
				if s.Name != "org.freedesktop.login1.Manager.PrepareForSleep" || len(s.Body) != 1 {
					continue
				}
				if going, _ := s.Body[0].(bool); !going {
					log.Info("the machine woke up: reconnecting")
					woke()
				}
			}
		}
	}()
	return nil
}
