//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// The freedesktop Desktop Notifications service.
const (
	fdoName  = "org.freedesktop.Notifications"
	fdoPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	fdoIface = "org.freedesktop.Notifications"

	actionDefault = "default" // the action a click on the toast's body invokes
	actionLabel   = "Open"
	category      = "email.arrived"

	maxKeys  = 64 // clickable toasts remembered; servers do not always send NotificationClosed
	maxEarly = 16 // clicks on ids not known yet
)

// dbusBackend talks to org.freedesktop.Notifications on its own private
// session-bus connection. It never uses godbus' shared SessionBus (fyne
// systray and go-keyring use that one, and closing it breaks them), never
// lets godbus run dbus-launch, and only ever closes its own connection. The
// connection is made on first use and again after it dies.
type dbusBackend struct {
	appName string
	icon    string
	addr    func() (string, error) // the session bus address (sessionbus.Lookup)
	clicked func(key string)
	log     *slog.Logger

	mu    sync.Mutex
	conn  *dbus.Conn
	caps  map[string]bool   // the current server's capabilities; nil until asked
	keys  map[uint32]string // notification id → key, for clicks
	order []uint32          // ids in keys, oldest first
	early []uint32          // clicked ids not (yet) in keys; see remember
}

func newDBusBackend(opts Options, clicked func(string), log *slog.Logger) *dbusBackend {
	return &dbusBackend{
		appName: opts.AppName,
		icon:    opts.IconPath,
		addr:    sessionbus.Lookup,
		clicked: clicked,
		log:     log,
		keys:    make(map[uint32]string),
	}
}

// connection returns the live connection, making one if needed.
func (b *dbusBackend) connection(ctx context.Context, op string) (*dbus.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil && b.conn.Connected() {
		return b.conn, nil
	}
	b.dropLocked()

	addr, err := b.addr()
	if err != nil {
		return nil, &Error{Op: op, Backend: "dbus", Kind: ErrNoSessionBus}
	}
	conn, err := sessionbus.DialAddress(ctx, addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, classify(op, err)
		}
		return nil, &Error{Op: op, Backend: "dbus", Kind: ErrNoSessionBus, Err: err}
	}
	fail := func(err error) (*dbus.Conn, error) {
		_ = conn.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, classify(op, fmt.Errorf("connecting to the session bus: %w", err))
	}
	// Clicks and closes from whoever owns the service name, and changes
	// of that owner (a restarted or replaced daemon numbers its toasts
	// afresh and may have other capabilities).
	rules := [][]dbus.MatchOption{
		{dbus.WithMatchSender(fdoName), dbus.WithMatchObjectPath(fdoPath),
			dbus.WithMatchInterface(fdoIface), dbus.WithMatchMember("ActionInvoked")},
		{dbus.WithMatchSender(fdoName), dbus.WithMatchObjectPath(fdoPath),
			dbus.WithMatchInterface(fdoIface), dbus.WithMatchMember("NotificationClosed")},
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchInterface("org.freedesktop.DBus"),
			dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchOption("arg0", fdoName)},
	}
	for _, r := range rules {
		if err := conn.AddMatchSignalContext(ctx, r...); err != nil {
			return fail(err)
		}
	}
	signals := make(chan *dbus.Signal, 16)
	conn.Signal(signals)
	go b.watch(signals)

	b.conn, b.caps = conn, nil
	b.forgetAllLocked()
	return conn, nil
}

// dropLocked closes the current connection, if any. b.mu is held.
func (b *dbusBackend) dropLocked() {
	if b.conn != nil {
		_ = b.conn.Close()
		b.conn, b.caps = nil, nil
	}
}

// drop closes conn if it is still the current connection.
func (b *dbusBackend) drop(conn *dbus.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn == conn {
		b.dropLocked()
	}
}

func (b *dbusBackend) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropLocked()
}

// watch turns signals into clicks until the connection closes (godbus then
// closes the channel).
func (b *dbusBackend) watch(signals <-chan *dbus.Signal) {
	for sig := range signals {
		switch sig.Name {
		case fdoIface + ".ActionInvoked":
			var id uint32
			var action string
			if sig.Path != fdoPath || dbus.Store(sig.Body, &id, &action) != nil || action != actionDefault {
				continue
			}
			if key := b.click(id); key != "" {
				b.clicked(key)
			}
		case fdoIface + ".NotificationClosed":
			var id, reason uint32
			if sig.Path == fdoPath && dbus.Store(sig.Body, &id, &reason) == nil {
				b.take(id)
			}
		case "org.freedesktop.DBus.NameOwnerChanged":
			var name, from, to string
			if dbus.Store(sig.Body, &name, &from, &to) == nil && name == fdoName {
				b.mu.Lock()
				b.caps = nil
				b.forgetAllLocked()
				b.mu.Unlock()
			}
		}
	}
}

// remember makes toast id clickable. A click can overtake the Notify reply
// that tells us the id: the signal and the reply travel on the same
// connection, but the reply is handled on the calling goroutine and the
// signal on the watch goroutine. So a click on an id we do not know yet is
// kept in early, and remember fires it. Ids are unique per server, so an
// early id from another application's toast never matches a later reply;
// early is cleared on every remember and bounded.
func (b *dbusBackend) remember(id uint32, key string) {
	b.mu.Lock()
	early := slices.Contains(b.early, id)
	b.early = b.early[:0]
	if early {
		b.mu.Unlock()
		b.clicked(key)
		return
	}
	defer b.mu.Unlock()
	if _, ok := b.keys[id]; !ok {
		b.order = append(b.order, id)
	}
	b.keys[id] = key
	for len(b.order) > maxKeys {
		delete(b.keys, b.order[0])
		b.order = b.order[1:]
	}
}

// click returns the key of toast id and forgets it, or keeps id in early
// when it is not known (yet) and returns "".
func (b *dbusBackend) click(id uint32) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if key := b.takeLocked(id); key != "" {
		return key
	}
	if len(b.early) >= maxEarly {
		b.early = b.early[1:]
	}
	b.early = append(b.early, id)
	return ""
}

// take forgets id and returns its key ("" if unknown).
func (b *dbusBackend) take(id uint32) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.takeLocked(id)
}

func (b *dbusBackend) takeLocked(id uint32) string {
	key, ok := b.keys[id]
	if !ok {
		return ""
	}
	delete(b.keys, id)
	for i, v := range b.order {
		if v == id {
			b.order = append(b.order[:i], b.order[i+1:]...)
			break
		}
	}
	return key
}

func (b *dbusBackend) forgetAllLocked() {
	clear(b.keys)
	b.order = b.order[:0]
	b.early = b.early[:0]
}

// capabilities asks the server once per connection and server.
func (b *dbusBackend) capabilities(ctx context.Context, conn *dbus.Conn) (map[string]bool, error) {
	b.mu.Lock()
	caps := b.caps
	b.mu.Unlock()
	if caps != nil {
		return caps, nil
	}
	var list []string
	err := conn.Object(fdoName, fdoPath).CallWithContext(ctx, fdoIface+".GetCapabilities", 0).Store(&list)
	if err != nil {
		return nil, err
	}
	caps = make(map[string]bool, len(list))
	for _, c := range list {
		caps[c] = true
	}
	b.mu.Lock()
	if b.conn == conn {
		b.caps = caps
	}
	b.mu.Unlock()
	return caps, nil
}

func (b *dbusBackend) show(ctx context.Context, t toast) error {
	conn, err := b.connection(ctx, "toast")
	if err != nil {
		return err
	}
	err = b.send(ctx, conn, t)
	if err != nil && !conn.Connected() && ctx.Err() == nil {
		// The bus connection died under us (the bus restarted, say):
		// reconnect once.
		b.drop(conn)
		if conn, err = b.connection(ctx, "toast"); err != nil {
			return err
		}
		err = b.send(ctx, conn, t)
	}
	if err != nil {
		b.mu.Lock()
		b.caps = nil // ask again next time: the server may have changed
		b.mu.Unlock()
		return classify("toast", err)
	}
	return nil
}

func (b *dbusBackend) send(ctx context.Context, conn *dbus.Conn, t toast) error {
	caps, err := b.capabilities(ctx, conn)
	if err != nil {
		return err
	}
	summary, body := t.title, t.body
	if summary == "" {
		summary = b.appName
	}
	if caps["body-markup"] {
		body = escapeMarkup(body)
	}
	actions := []string{}
	if t.key != "" && caps["actions"] {
		actions = []string{actionDefault, actionLabel}
	}
	hints := map[string]dbus.Variant{
		"desktop-entry": dbus.MakeVariant(AppID),
		"category":      dbus.MakeVariant(category),
	}
	if t.silent {
		hints["suppress-sound"] = dbus.MakeVariant(true)
	}
	var id uint32
	err = conn.Object(fdoName, fdoPath).CallWithContext(ctx, fdoIface+".Notify", 0,
		b.appName, uint32(0), b.icon, summary, body, actions, hints,
		int32(expireTime/time.Millisecond)).Store(&id)
	if err != nil {
		return err
	}
	if len(actions) > 0 {
		b.remember(id, t.key)
	}
	return nil
}

func (b *dbusBackend) probe(ctx context.Context) (ServerInfo, error) {
	conn, err := b.connection(ctx, "probe")
	if err != nil {
		return ServerInfo{}, err
	}
	info := ServerInfo{Backend: "dbus"}
	err = conn.Object(fdoName, fdoPath).CallWithContext(ctx, fdoIface+".GetServerInformation", 0).
		Store(&info.Name, &info.Vendor, &info.Version, &info.Spec)
	if err != nil {
		return ServerInfo{}, classify("probe", err)
	}
	b.mu.Lock()
	b.caps = nil // a probe always asks afresh
	b.mu.Unlock()
	caps, err := b.capabilities(ctx, conn)
	if err != nil {
		return ServerInfo{}, classify("probe", err)
	}
	info.Actions = caps["actions"]
	return info, nil
}

// classify wraps a godbus error in *Error with the kind callers act on.
func classify(op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	e = &Error{Op: op, Backend: "dbus", Err: err}
	var de dbus.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = ErrTimeout
	case errors.As(err, &de) && (de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
		de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
		strings.HasPrefix(de.Name, "org.freedesktop.DBus.Error.Spawn.")):
		// Nobody owns the name and it is not activatable, or its
		// activation failed (dunst without DISPLAY dies with signal 5).
		e.Kind = ErrNoServer
		e.Err = fmt.Errorf("%s: %w", de.Name, err)
	}
	return e
}
