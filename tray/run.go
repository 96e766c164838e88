package tray

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/systray"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/sessionbus"
)

// pauseHour is what "For 1 hour" asks for.
const pauseHour = time.Hour

// ErrNoSessionBus: the tray cannot be shown because there is no D-Bus
// session bus (Linux and the BSDs). Run returns it before touching systray,
// whose Quit would otherwise panic.
var ErrNoSessionBus = errors.New("no D-Bus session bus: the tray icon needs a desktop session")

// Options configure Run.
type Options struct {
	// Name is the tray item's title on Linux (the StatusNotifierItem Title
	// and Id), e.g. "Exmail Notifier". macOS shows no title.
	Name string
	// Actions receives the user's clicks, translated. A left click on the
	// icon is app.OpenMailbox.
	Actions chan<- app.Action
	// Logger receives debug lines about clicks and icon changes.
	Logger *slog.Logger
}

// Run shows the tray until ctx is done, then removes it and returns. It
// must be called on the main goroutine, and only once per process.
//
// ready is called once the menu exists, with the View to draw into; it
// runs on systray's own goroutine and must return quickly (start
// goroutines, do not block), or the menu never appears. ready is never
// called after Run has returned, even when ctx ends while systray is still
// starting (a signal right at start), so a caller may start work in it
// without checking.
//
// Run returns ErrNoSessionBus at once, without starting systray, when
// there is no session bus; the caller can still run without an icon.
func Run(ctx context.Context, o Options, ready func(*View)) (err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// One connection, bounded by a few seconds, both checks the bus and
	// later confirms the item's export (settle).
	bus, err := openTrayBus(ctx)
	if err != nil {
		return fmt.Errorf("%w (%v)", ErrNoSessionBus, err)
	}
	defer bus.close()
	// systray connects with godbus's SessionBus, which does not look in
	// $XDG_RUNTIME_DIR and would otherwise run dbus-launch: hand it the
	// bus just checked.
	if err := sessionbus.Export(); err != nil {
		log.Warn("tray: cannot export the session bus address", "err", err)
	}

	var view atomic.Pointer[View]
	// Before systray.Run: the SNI spec's ItemIsMenu is fixed at start.
	systray.SetOnTapped(func() {
		v := view.Load()
		if v == nil {
			return
		}
		a, ok := v.action(iOpen)
		if !ok {
			return
		}
		// This runs on the D-Bus dispatch goroutine: never block it.
		select {
		case o.Actions <- a:
		default:
			log.Warn("tray: left click dropped, the app is busy")
		}
	})
	setTitle(o.Name)

	stop := context.AfterFunc(ctx, func() {
		// Drawing must end before Quit closes systray's bus connection.
		if v := view.Load(); v != nil {
			v.Close(2 * time.Second)
		}
		systray.Quit()
	})
	defer stop()
	defer func() {
		// Belt and braces: systray.Quit panics in nativeEnd when its bus
		// connection was lost. Everything worth keeping has run by then.
		if r := recover(); r != nil {
			err = fmt.Errorf("tray: systray panicked on exit: %v", r)
		}
	}()
	// systray may still be running the ready callback when its Run
	// returns: returned, under mu, keeps ready from starting after that.
	var (
		mu       sync.Mutex
		returned bool
	)
	defer func() {
		mu.Lock()
		returned = true
		mu.Unlock()
	}()
	systray.Run(func() {
		mu.Lock()
		defer mu.Unlock()
		if returned {
			return
		}
		v := New(ctx, o.Actions, log)
		view.Store(v)
		if ready != nil {
			ready(v)
		}
		go bus.settle(ctx, v, log)
	}, nil)
	return nil
}
