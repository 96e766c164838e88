//go:build linux || freebsd || openbsd || netbsd

package tray

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

const (
	watcherName  = "org.kde.StatusNotifierWatcher"
	watcherPath  = "/StatusNotifierWatcher"
	watcherIface = "org.kde.StatusNotifierWatcher"
	probeTimeout = 3 * time.Second
)

// dialBus opens a private connection to the session bus, never
// auto-launching one (godbus's SessionBus would run dbus-launch and leak a
// dbus-daemon), and gives up after probeTimeout or when ctx ends: a hung
// dbus-daemon must not hold up the caller.
func dialBus(ctx context.Context) (*dbus.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return sessionbus.Dial(ctx)
}

// CheckBus reports whether the tray can reach a session bus: it connects,
// authenticates and says Hello, bounded by ctx (and at most a few
// seconds), then hangs up. It is the cheap check before Run; use ProbeHost
// to learn whether an icon would be drawn.
func CheckBus(ctx context.Context) error {
	conn, err := dialBus(ctx)
	if err != nil {
		return err
	}
	return conn.Close()
}

// trayBus is Run's own connection: it checks the bus before systray starts
// and then serves settle, so that starting the tray connects once.
type trayBus struct{ conn *dbus.Conn }

func openTrayBus(ctx context.Context) (*trayBus, error) {
	conn, err := dialBus(ctx)
	if err != nil {
		return nil, err
	}
	return &trayBus{conn: conn}, nil
}

func (b *trayBus) close() { _ = b.conn.Close() }

// ProbeHost checks once whether a tray item would be shown. It is bounded
// by ctx and a few seconds; a bus it cannot reach in time is HostNoBus.
func ProbeHost(ctx context.Context) Host {
	conn, err := dialBus(ctx)
	if err != nil {
		return HostNoBus
	}
	defer conn.Close()
	return probe(ctx, conn)
}

func probe(ctx context.Context, conn *dbus.Conn) Host {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var has bool
	err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&has)
	if err != nil || !has {
		return HostNoWatcher
	}
	var v dbus.Variant
	err = conn.Object(watcherName, watcherPath).CallWithContext(ctx,
		"org.freedesktop.DBus.Properties.Get", 0, watcherIface, "IsStatusNotifierHostRegistered").Store(&v)
	if err != nil {
		// A watcher without the property is assumed to draw (old hosts).
		return HostReady
	}
	if b, ok := v.Value().(bool); ok && !b {
		return HostNoHost
	}
	return HostReady
}

// WatchHost calls fn with the tray host's state now and after each change,
// until ctx is done. It follows the watcher's NameOwnerChanged and the
// host (un)registered signals. With no session bus it calls fn(HostNoBus)
// and returns an error.
func WatchHost(ctx context.Context, fn func(Host)) error {
	return watchHost(ctx, dialBus, fn)
}

func watchHost(ctx context.Context, dial func(context.Context) (*dbus.Conn, error), fn func(Host)) error {
	conn, err := dial(ctx)
	if err != nil {
		fn(HostNoBus)
		return fmt.Errorf("tray host: %w", err)
	}
	defer conn.Close()
	sig := make(chan *dbus.Signal, 16)
	conn.Signal(sig)
	for _, opts := range [][]dbus.MatchOption{
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchInterface("org.freedesktop.DBus"),
			dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, watcherName)},
		{dbus.WithMatchInterface(watcherIface), dbus.WithMatchMember("StatusNotifierHostRegistered")},
		{dbus.WithMatchInterface(watcherIface), dbus.WithMatchMember("StatusNotifierHostUnregistered")},
		{dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged"),
			dbus.WithMatchObjectPath(watcherPath)},
	} {
		if err := conn.AddMatchSignalContext(ctx, opts...); err != nil {
			return fmt.Errorf("tray host: watch: %w", err)
		}
	}
	last := probe(ctx, conn)
	fn(last)
	for {
		select {
		case <-ctx.Done():
			return nil
		case s, ok := <-sig:
			if !ok || s == nil {
				return errors.New("tray host: the session bus connection closed")
			}
			if h := probe(ctx, conn); h != last && ctx.Err() == nil {
				last = h
				fn(h)
			}
		}
	}
}

// settle makes sure what the first Render drew reaches the bus: it waits
// until this process's tray item answers, then pushes the icon and tooltip
// again until the exported tooltip is the one on screen (see
// View.resync). It gives up after a few seconds, or when the connection
// closes.
func (b *trayBus) settle(ctx context.Context, v *View, log *slog.Logger) {
	item := b.conn.Object(fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", os.Getpid()), "/StatusNotifierItem")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	exported := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			log.Debug("tray: could not confirm the exported tooltip")
			return
		case <-tick.C:
		}
		want, drawn := v.shownTooltip()
		if !drawn {
			continue
		}
		got, err := exportedTooltip(ctx, item)
		if err != nil {
			if !b.conn.Connected() {
				return // Run closed it, or the bus went away
			}
			continue // not exported yet
		}
		if !exported {
			// Just exported: systray may not have recorded that yet, so
			// the first push might be lost too; the loop checks again.
			exported = true
			v.resync()
			continue
		}
		if got == want {
			return
		}
		log.Debug("tray: the exported tooltip is stale; pushing it again")
		v.resync()
	}
}

func exportedTooltip(ctx context.Context, item dbus.BusObject) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var val dbus.Variant
	err := item.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		"org.kde.StatusNotifierItem", "ToolTip").Store(&val)
	if err != nil {
		return "", err
	}
	var tip struct {
		Name  string
		Icons []struct {
			W, H int32
			Pix  []byte
		}
		Title, Text string
	}
	if err := dbus.Store([]any{val.Value()}, &tip); err != nil {
		return "", err
	}
	return tip.Title, nil
}
