//go:build linux

package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/godbus/dbus/v5"
)

const logindName = "org.freedesktop.login1"

// watchLogind follows logind's PrepareForSleep signal on the system bus
// and calls woke after each resume. It returns an error within a few
// seconds when there is no system bus or no logind; otherwise it returns
// nil at once and follows the signal until ctx ends.
func watchLogind(ctx context.Context, log *slog.Logger, woke func()) error {
	return followPrepareForSleep(ctx, systemBus, log, woke)
}

// systemBus opens a private connection to the system bus that lives as
// long as ctx.
func systemBus(ctx context.Context) (*dbus.Conn, error) {
	conn, err := dbus.SystemBusPrivate(dbus.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// followPrepareForSleep is watchLogind on the bus that dial connects to.
// dial's connection must close when its ctx ends.
func followPrepareForSleep(ctx context.Context, dial func(context.Context) (*dbus.Conn, error), log *slog.Logger, woke func()) error {
	life, stop := context.WithCancel(ctx)
	// godbus's handshake takes no deadline: a hung bus is cut off by
	// ending the connection's context.
	hung := time.AfterFunc(3*time.Second, stop)
	conn, err := dial(life)
	if err == nil {
		var has bool
		err = conn.BusObject().CallWithContext(life, "org.freedesktop.DBus.NameHasOwner", 0, logindName).Store(&has)
		if err == nil && !has {
			err = errors.New("logind is not on the system bus")
		}
	}
	if err == nil {
		err = conn.AddMatchSignal(
			dbus.WithMatchSender(logindName),
			dbus.WithMatchObjectPath("/org/freedesktop/login1"),
			dbus.WithMatchInterface("org.freedesktop.login1.Manager"),
			dbus.WithMatchMember("PrepareForSleep"),
		)
	}
	if !hung.Stop() && err == nil {
		err = errors.New("the system bus did not answer in time")
	}
	if err != nil {
		stop()
		return err
	}
	signals := make(chan *dbus.Signal, 4)
	conn.Signal(signals)
	go func() {
		defer stop()
		for {
			select {
			case <-life.Done():
				return
			case s := <-signals:
				if s == nil || s.Name != "org.freedesktop.login1.Manager.PrepareForSleep" || len(s.Body) != 1 {
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
