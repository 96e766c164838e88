// Package notify shows desktop notifications ("toasts") for the tray
// notifier.
//
// A Notifier owns one worker goroutine (Run) and a small bounded queue.
// Toast never blocks: it only queues. The worker makes at most one call into
// the desktop's notification service at a time and bounds each call with
// Options.Timeout, because every backend can hang for ever when the
// notification daemon hangs (a SIGSTOPped dunst blocks beeep and godbus for
// more than 100 s).
//
// Backends:
//
//   - Linux and the BSDs: a native client of org.freedesktop.Notifications
//     on its own private session-bus connection. It supports clicks
//     (Options.OnClick) when the server has the "actions" capability. It
//     never falls back to beeep: beeep would fail the same way (it talks to
//     the same service, or runs notify-send/kdialog, which do), and its
//     notify-send would put the mail's sender and subject on a command line
//     that every user can read with ps.
//   - Windows and macOS: beeep. Clicks are not reported there. On Windows
//     the toast is shown under the AppUserModelID AppID (see AppID).
//
// The only package-level state this package touches is beeep.AppName, set
// once by the first call to New.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// AppID is the Windows AppUserModelID of the toasts, and the
// freedesktop "desktop-entry" hint on Linux.
//
// On Windows beeep passes beeep.AppName unchanged as go-toast's
// Notification.AppID (beeep v0.11.3 notify_windows.go, toastNotify), and
// go-toast v1.1.2 uses it both as the id given to
// ToastNotificationManager.CreateToastNotifierWithId and as the registry key
// HKCU\Software\Classes\AppUserModelId\<AppID> (wintoast/registry.go). So
// New sets beeep.AppName = AppID on Windows, not Options.AppName.
//
// go-toast writes DisplayName = AppID, CustomActivator and IconUri =
// Options.IconPath under that key, but only values that are missing or
// empty. Installers should therefore set the Start-menu shortcut's
// System.AppUserModel.ID to AppID and may pre-set
// HKCU\Software\Classes\AppUserModelId\exmail-notifier\DisplayName to the
// product name ("Exmail Notifier"), which go-toast then leaves alone.
const AppID = "exmail-notifier"

// Defaults for Options and for the toasts themselves.
const (
	DefaultTimeout = 5 * time.Second // Options.Timeout when zero
	DefaultAppName = "Exmail Notifier"

	queueSize  = 16              // toasts waiting for the worker; the oldest is dropped beyond this
	clickQueue = 16              // clicks waiting for the worker
	maxTitle   = 200             // runes
	maxBody    = 500             // runes
	expireTime = 8 * time.Second // how long a server should show a toast

	// hangGrace is how much longer than Timeout the worker waits before it
	// declares a call hung. Backends that honour ctx (the D-Bus one) end
	// the call themselves at Timeout and report their own cause.
	hangGrace = 250 * time.Millisecond
)

// Sentinel errors for the failure kinds callers act on. Match them with
// errors.Is; the *Error that carries them also holds the cause.
var (
	// ErrNoSessionBus: there is no D-Bus session bus to talk to (Linux/BSD).
	ErrNoSessionBus = errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset or its socket is gone): " +
		"run the notifier inside a desktop session")
	// ErrNoServer: the session bus works but nothing owns
	// org.freedesktop.Notifications, or it could not be started.
	ErrNoServer = errors.New("no notification server on the session bus: " +
		"install and start a notification daemon such as dunst, mako or your desktop's")
	// ErrTimeout: the notification service did not answer within
	// Options.Timeout. It may be hung.
	ErrTimeout = errors.New("the notification server did not answer in time (is it hung?)")
	// ErrRunning: Run was called more than once.
	ErrRunning = errors.New("notify: Run called twice")
)

// Error reports a failed call into the desktop notification service. Its
// text never contains the toast's title or body.
type Error struct {
	Op      string // "toast" or "probe"
	Backend string // "dbus", "beeep"
	Kind    error  // ErrNoSessionBus, ErrNoServer, ErrTimeout, or nil if unclassified
	Err     error  // the cause reported by the backend; may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("notify " + e.Op)
	if e.Backend != "" {
		b.WriteString(" (" + e.Backend + ")")
	}
	b.WriteString(": ")
	switch {
	case e.Kind != nil && e.Err != nil:
		b.WriteString(e.Kind.Error() + ": " + e.Err.Error())
	case e.Kind != nil:
		b.WriteString(e.Kind.Error())
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("unknown error")
	}
	return b.String()
}

// Unwrap returns the kind and the cause, so errors.Is sees both.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Options configure a Notifier.
type Options struct {
	// AppName is shown by the notification server, e.g. "Exmail Notifier".
	// Default DefaultAppName. (On Windows the toasts use AppID instead.)
	AppName string
	// IconPath is an absolute path to a PNG that lives as long as the
	// process. It is a path, not bytes: with bytes beeep writes a temporary
	// file per toast and go-toast records a path that soon disappears.
	IconPath string
	// OnClick is called when the user clicks a toast that was given a
	// non-empty key. It runs on Run's goroutine and must return quickly
	// (hand the key to a channel). Only the native D-Bus backend reports
	// clicks, and only when the server supports actions.
	OnClick func(key string)
	// Timeout bounds every call into the desktop service. Default
	// DefaultTimeout.
	Timeout time.Duration
	// Logger receives failures (once per distinct error) and drops.
	// Default slog.Default().
	Logger *slog.Logger
}

// ServerInfo describes the notification service, for `doctor`.
type ServerInfo struct {
	Name, Vendor, Version string // from GetServerInformation on D-Bus
	Spec                  string // the Desktop Notifications spec version the server implements
	Actions               bool   // clicks reach OnClick
	Backend               string // "dbus", "beeep"
}

// toast is one queued notification, already capped.
type toast struct {
	title, body, key string
	silent           bool // ask the server not to play a sound
}

// backend is what the worker calls. Implementations may block for ever and
// may ignore ctx; the Notifier bounds them.
type backend interface {
	show(ctx context.Context, t toast) error
	probe(ctx context.Context) (ServerInfo, error)
	close()
}

// Notifier shows desktop notifications one at a time. Create it with New
// and start its worker with Run.
type Notifier struct {
	backend backend
	log     *slog.Logger
	timeout time.Duration
	onClick func(key string)

	queue  chan toast
	clicks chan string

	qmu     sync.Mutex // serialises the drop-oldest step in Toast
	dropped int        // toasts dropped because the queue was full; guarded by qmu

	running atomic.Bool
	seen    onceLog
	silent  atomic.Bool // SetSound(false)
}

// SetSound turns the notification sound on or off for the toasts that
// follow (the user's preference; on by default). On Linux and the BSDs it
// asks the notification server with the "suppress-sound" hint; the
// Windows and macOS backends cannot choose yet and keep the system's.
func (n *Notifier) SetSound(on bool) { n.silent.Store(!on) }

var setAppName sync.Once

// New returns a Notifier for this platform. It sets beeep.AppName (the one
// global it touches) the first time it is called.
func New(opts Options) *Notifier {
	opts = opts.withDefaults()
	setAppName.Do(func() { setBeeepAppName(opts.AppName) })
	return newNotifier(opts, func(clicked func(string), log *slog.Logger) backend {
		return newPlatformBackend(opts, clicked, log)
	})
}

func (o Options) withDefaults() Options {
	if o.AppName == "" {
		o.AppName = DefaultAppName
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// newNotifier builds a Notifier around the backend that mk returns. mk gets
// the function a backend calls when a toast with a key is clicked.
func newNotifier(opts Options, mk func(clicked func(key string), log *slog.Logger) backend) *Notifier {
	opts = opts.withDefaults()
	n := &Notifier{
		log:     opts.Logger.With("component", "notify"),
		timeout: opts.Timeout,
		onClick: opts.OnClick,
		queue:   make(chan toast, queueSize),
		clicks:  make(chan string, clickQueue),
	}
	n.seen.log = n.log
	n.backend = mk(n.clicked, n.log)
	return n
}

// clicked hands a click to the worker. It never blocks: backends call it
// from their signal goroutines.
func (n *Notifier) clicked(key string) {
	if key == "" {
		return
	}
	select {
	case n.clicks <- key:
	default:
		n.log.Warn("toast click dropped: too many clicks waiting", "key", key)
	}
}

// Toast queues a toast and never blocks. key (e.g. a mail id) identifies it
// for OnClick; "" for none. Title and body are capped to 200 and 500 runes.
// When the queue is full the oldest waiting toast is dropped and counted in
// the log.
func (n *Notifier) Toast(title, body, key string) {
	t := toast{title: capText(title, maxTitle), body: capText(body, maxBody), key: key, silent: n.silent.Load()}
	n.qmu.Lock()
	defer n.qmu.Unlock()
	for {
		select {
		case n.queue <- t:
			return
		default:
		}
		select {
		case <-n.queue:
			n.dropped++
			if n.dropped == 1 || n.dropped%queueSize == 0 {
				n.log.Warn("toast queue full: dropped the oldest toast", "dropped_total", n.dropped)
			} else {
				n.log.Debug("toast queue full: dropped the oldest toast", "dropped_total", n.dropped)
			}
		default:
		}
	}
}

// Run is the single worker; it returns nil when ctx is done. Call it once.
//
// At most one call into the backend is outstanding. A call that times out
// (Options.Timeout) is logged once. A backend that ignores its deadline
// keeps its goroutine; no second call starts while it hangs, and toasts that
// arrive meanwhile wait in the bounded queue. After a timeout the backlog is
// stale: the next call shows only the newest waiting toast and the others
// are counted as dropped.
//
// Failures are logged once per distinct error (repeats at debug level) and
// never stop the worker: with no notification daemon the tray keeps
// counting and the log says how to fix it.
func (n *Notifier) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer n.backend.close()

	var (
		pending  chan error // result of the outstanding call; nil when idle
		deadline *time.Timer
		expired  <-chan time.Time
		stalled  bool // the last call timed out
		stale    bool // the backlog built up during a stall: coalesce it
	)
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	for {
		var next <-chan toast
		if pending == nil {
			next = n.queue
		}
		select {
		case <-ctx.Done():
			return nil

		case key := <-n.clicks:
			if n.onClick != nil {
				n.onClick(key)
			}

		case t := <-next:
			if stalled || stale {
				t = n.coalesce(t)
				stale = false
			}
			pending = make(chan error, 1)
			go func(ch chan<- error) {
				cctx, cancel := context.WithTimeout(ctx, n.timeout)
				defer cancel()
				ch <- n.backend.show(cctx, t)
			}(pending)
			deadline = time.NewTimer(n.timeout + hangGrace)
			expired = deadline.C

		case err := <-pending:
			pending, expired = nil, nil
			deadline.Stop()
			timedOut := errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
			if stalled && !timedOut {
				stale, stalled = true, false // it answers again; the backlog is old
			}
			switch {
			case err == nil:
				if stale || n.seen.any() {
					n.log.Info("desktop notifications work again")
				}
				n.seen.reset()
			case timedOut:
				if !stalled {
					if !errors.Is(err, ErrTimeout) {
						err = &Error{Op: "toast", Kind: ErrTimeout, Err: err}
					}
					n.seen.report(err)
				}
				stalled = true
			default:
				n.seen.report(err)
			}

		case <-expired:
			// The call ignored its deadline and is still running. Keep
			// waiting for it (never start a second one) but say so now.
			expired = nil
			stalled = true
			n.seen.report(&Error{Op: "toast", Kind: ErrTimeout,
				Err: fmt.Errorf("no answer after %v; toasts wait (and the oldest are dropped) until it answers", n.timeout)})
		}
	}
}

// coalesce drains the queue after a stall and returns the newest toast
// (t itself if nothing else waits), logging how many were skipped.
func (n *Notifier) coalesce(t toast) toast {
	skipped := 0
	for {
		select {
		case newer := <-n.queue:
			t = newer
			skipped++
			continue
		default:
		}
		break
	}
	if skipped > 0 {
		n.log.Warn("notification service was not answering: showing only the newest waiting toast", "dropped", skipped)
	}
	return t
}

// Probe reports whether a notification server is reachable and what it
// supports (for `doctor`). It returns within Options.Timeout. Errors are
// *Error values; errors.Is(err, ErrNoServer), ErrNoSessionBus and
// ErrTimeout tell the cases apart.
func (n *Notifier) Probe(ctx context.Context) (ServerInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	type result struct {
		info ServerInfo
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		info, err := n.backend.probe(ctx)
		ch <- result{info, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil && errors.Is(r.err, context.DeadlineExceeded) && !errors.Is(r.err, ErrTimeout) {
			r.err = &Error{Op: "probe", Kind: ErrTimeout, Err: r.err}
		}
		return r.info, r.err
	case <-ctx.Done():
		if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
			return ServerInfo{}, err // the caller gave up
		}
		return ServerInfo{}, &Error{Op: "probe", Kind: ErrTimeout}
	}
}

// onceLog logs each distinct error once at Warn and repeats at Debug. The
// set is bounded and is cleared when a toast succeeds, so a failure that
// comes back is reported again.
type onceLog struct {
	log  *slog.Logger
	mu   sync.Mutex
	seen map[string]bool
}

const maxSeen = 32

func (o *onceLog) report(err error) {
	msg := err.Error()
	o.mu.Lock()
	first := !o.seen[msg]
	if first {
		if o.seen == nil || len(o.seen) >= maxSeen {
			o.seen = make(map[string]bool)
		}
		o.seen[msg] = true
	}
	o.mu.Unlock()
	if first {
		o.log.Warn("desktop notification failed", "err", err)
	} else {
		o.log.Debug("desktop notification failed again", "err", err)
	}
}

// once reports whether msg is new, and remembers it: report without the
// logging, for callers that write their own message.
func (o *onceLog) once(msg string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[msg] {
		return false
	}
	if o.seen == nil || len(o.seen) >= maxSeen {
		o.seen = make(map[string]bool)
	}
	o.seen[msg] = true
	return true
}

func (o *onceLog) any() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.seen) > 0
}

func (o *onceLog) reset() {
	o.mu.Lock()
	o.seen = nil
	o.mu.Unlock()
}
