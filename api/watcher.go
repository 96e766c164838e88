package api

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/backoff"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// Listener is what a Watcher needs: one listen round trip. *Client
// implements it; tests use a script.
type Listener interface {
	Listen(ctx context.Context, ver Version, alias string) iter.Seq2[Event, error]
}

// Errors a Watcher reports in StateChanged.Err besides those of Listen.
var (
	// ErrStalled: the connection carried nothing for WatchOptions.IdleTimeout
	// and was treated as dead.
	ErrStalled = errors.New("exmail listen: no data within the idle timeout")
	// ErrEmptyReply: the server ended the reply at once with nothing but an
	// acknowledgement in it. Retried with backoff so it cannot spin.
	ErrEmptyReply = errors.New("exmail listen: the server ended the reply at once, with no event")
)

// Defaults of WatchOptions.
const (
	DefaultIdleTimeout    = 2 * time.Minute
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = 2 * time.Minute
	DefaultAuthMaxBackoff = 30 * time.Minute
	DefaultBlockedWait    = 15 * time.Minute
)

// stableAfter is how long a connection must have been online for a
// failure after it to count as a fresh start: the backoff resets.
const stableAfter = 30 * time.Second

// WatchOptions tunes a Watcher. Zero fields take the default noted on them.
type WatchOptions struct {
	// Alias is the mailbox whose events are wanted, compared ignoring
	// case; events of other mailboxes are dropped before they are decoded
	// or logged. Empty: every mailbox of the enterprise.
	Alias string
	// IdleTimeout: a connection that yields nothing for this long is dead
	// and is replaced. If it had been online, the replacement is quiet
	// (no state change): the server may simply have nothing to say.
	// Defaults to DefaultIdleTimeout (2 minutes).
	IdleTimeout time.Duration
	// MinBackoff is the first wait after a failure, and also the least
	// time between the starts of two requests, so that at most about one
	// request a second is made whatever the server does. Defaults to 1 s.
	MinBackoff time.Duration
	// MaxBackoff caps the doubling waits after failures. Defaults to 2
	// minutes.
	MaxBackoff time.Duration
	// AuthMaxBackoff caps them while the credentials are rejected
	// (IsAuth; StateAuthFailed). Defaults to 30 minutes. Kick retries at
	// once.
	AuthMaxBackoff time.Duration
	// BlockedWait is the wait after ErrIPNotAllowed: this computer's
	// address is not on the allow list, which only an admin can fix.
	// Defaults to 15 minutes. Kick retries at once.
	BlockedWait time.Duration
	// Logger gets one line per state change, and debug lines. It never
	// gets a subject, a sender, a summary, or an event of another
	// mailbox. Defaults to discarding.
	Logger *slog.Logger
}

func (o WatchOptions) withDefaults() WatchOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	def(&o.AuthMaxBackoff, DefaultAuthMaxBackoff)
	def(&o.BlockedWait, DefaultBlockedWait)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	o.AuthMaxBackoff = max(o.AuthMaxBackoff, o.MaxBackoff)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Watcher keeps an openapi/listen connection open for as long as it runs
// (weeks), reconnecting with the latest address-book version after every
// end, failure or silence, and publishing its State.
type Watcher struct {
	l         Listener
	opts      WatchOptions
	kick      chan struct{} // capacity 1; Kick asks for an immediate retry
	reconnect chan struct{} // capacity 1; Reconnect drops the connection
	rand      func() float64
}

// NewWatcher returns a Watcher that listens through l.
func NewWatcher(l Listener, opts WatchOptions) *Watcher {
	return &Watcher{l: l, opts: opts.withDefaults(), kick: make(chan struct{}, 1), reconnect: make(chan struct{}, 1)}
}

// errReconnect ends a connection on Reconnect's request.
var errReconnect = errors.New("reconnecting on request (the machine woke up or the network changed)")

// Reconnect drops the current connection, which may be dead without
// knowing it after the machine slept or the network changed, and connects
// again at once (also cutting a pending wait short). The new connection
// goes through StateConnecting, so consumers refresh what they hold. It
// never blocks.
func (w *Watcher) Reconnect() {
	select {
	case w.reconnect <- struct{}{}:
	default:
	}
	w.Kick()
}

// Kick cuts a pending wait after a failure short, for example after the
// user fixed the interface key or the machine woke up. It never blocks. A
// Kick while no wait is pending is forgotten when the next attempt starts.
func (w *Watcher) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run holds the connection until ctx is done, then returns ctx.Err(). It
// starts from address-book version from and sends on out, in order and
// without dropping any (a slow reader slows the Watcher down):
//
//   - every event Listen yields except Ack, which only makes the state
//     StateOnline, and Skipped (another mailbox's object), which only
//     keeps the watchdog quiet;
//   - a StateChanged whenever the state changes, and for every failure
//     (with Err and RetryIn).
//
// A reply that ends normally is reconnected at once (long-poll servers
// answer one event per request); failures wait with jittered exponential
// backoff that resets once a connection was healthy; no two requests start
// less than MinBackoff apart. Run must not be called twice at once on one
// Watcher. It leaves no goroutine behind.
func (w *Watcher) Run(ctx context.Context, from Version, out chan<- Event) error {
	r := &runner{
		w:     w,
		out:   out,
		log:   w.opts.Logger,
		ver:   from,
		state: -1,
		bo:    backoff.Backoff{Min: w.opts.MinBackoff, Rand: w.rand},
	}
	return r.run(ctx)
}

// runner is the state of one Run.
type runner struct {
	w         *Watcher
	out       chan<- Event
	log       *slog.Logger
	ver       Version
	state     State
	bo        backoff.Backoff
	lastStart time.Time
}

// attempt is the outcome of one Listen.
type attempt struct {
	err      error
	start    time.Time
	online   time.Time // when the first event arrived; zero if none
	events   int       // events passed on (not Ack, not Skipped)
	others   int       // Skipped: objects of other mailboxes
	duration time.Duration
}

// verdict is what a finished attempt means for the Watcher: whether to
// tell consumers, what state comes next and how to wait.
type verdict struct {
	kind  verdictKind
	err   error // the failure (kind failed), after the empty-reply rule
	next  State // kind failed: StateRetrying or StateAuthFailed
	reset bool  // the backoff starts afresh
	// kind failed: the wait is the backoff's next, at most upTo; or, when
	// fixed is set, fixed with jitter (the allow list: only an admin can
	// fix it, so doubling means nothing).
	upTo, fixed time.Duration
}

type verdictKind int

const (
	// quiet: a normal end (long poll, token rotation) or a silent but
	// acknowledged connection. Reconnect without a state change.
	quiet verdictKind = iota
	// reconnect: Reconnect asked. Connect again at once, through
	// StateConnecting, so consumers refresh what they hold.
	reconnect
	// failed: publish next with the error and the wait; Kick cuts the
	// wait short.
	failed
)

// classify decides what attempt a means; it is pure. An attempt that got
// nothing at all and ended sooner than MinBackoff is a failure
// (ErrEmptyReply), so that a server answering at once cannot make the
// Watcher spin. A failure after a connection that was online for
// stableAfter starts the backoff afresh; rejected credentials on a
// connection that never came online mean StateAuthFailed and the longer
// AuthMaxBackoff.
func classify(a attempt, now time.Time, o WatchOptions) verdict {
	err := a.err
	if err == nil && a.events+a.others == 0 && a.duration < o.MinBackoff {
		err = ErrEmptyReply
	}
	switch {
	case errors.Is(err, errReconnect):
		return verdict{kind: reconnect, reset: true}
	case err == nil, errors.Is(err, ErrStalled) && !a.online.IsZero():
		return verdict{kind: quiet, reset: true}
	}
	v := verdict{
		kind:  failed,
		err:   err,
		next:  StateRetrying,
		reset: !a.online.IsZero() && now.Sub(a.online) >= stableAfter,
		upTo:  o.MaxBackoff,
	}
	switch {
	case errors.Is(err, ErrIPNotAllowed):
		v.fixed = o.BlockedWait
	case IsAuth(err) && a.online.IsZero():
		v.next, v.upTo = StateAuthFailed, o.AuthMaxBackoff
	}
	return v
}

// run is the Watcher's loop: listen, classify what the attempt means,
// publish it, wait.
func (r *runner) run(ctx context.Context) error {
	if !r.setState(ctx, StateChanged{State: StateConnecting}) {
		return ctx.Err()
	}
	for {
		select { // a Kick or Reconnect from before this attempt is stale
		case <-r.w.kick:
		default:
		}
		select {
		case <-r.w.reconnect:
		default:
		}
		a := r.listen(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		v := classify(a, time.Now(), r.w.opts)
		if err := r.follow(ctx, v); err != nil {
			return err
		}
	}
}

// follow publishes v and waits as it says, never starting two requests
// less than MinBackoff apart. It returns ctx.Err() when ctx ends.
func (r *runner) follow(ctx context.Context, v verdict) error {
	if v.reset {
		r.bo.Reset()
	}
	sinceStart := func() time.Duration { return time.Until(r.lastStart.Add(r.w.opts.MinBackoff)) }
	switch v.kind {
	case quiet:
		r.log.Debug("exmail listen: reconnecting", "reason", reason(v.err), "ver", r.ver.String())
		return sleep(ctx, sinceStart(), nil)
	case reconnect:
		r.log.Info("exmail listen: reconnecting", "reason", errReconnect.Error())
		if err := sleep(ctx, sinceStart(), nil); err != nil {
			return err
		}
		return r.connecting(ctx)
	}
	var wait time.Duration
	if v.fixed > 0 {
		wait = r.bo.Jitter(v.fixed)
	} else {
		wait = r.bo.Next(v.upTo)
	}
	wait = max(wait, sinceStart())
	if !r.setState(ctx, StateChanged{State: v.next, Err: v.err, RetryIn: wait}) {
		return ctx.Err()
	}
	if err := sleep(ctx, wait, r.w.kick); err != nil {
		return err
	}
	// Even after a Kick, keep requests MinBackoff apart.
	if err := sleep(ctx, sinceStart(), nil); err != nil {
		return err
	}
	return r.connecting(ctx)
}

// connecting publishes StateConnecting before the next attempt.
func (r *runner) connecting(ctx context.Context) error {
	if !r.setState(ctx, StateChanged{State: StateConnecting}) {
		return ctx.Err()
	}
	return nil
}

func reason(err error) string {
	if err == nil {
		return "the server ended the reply"
	}
	return err.Error()
}

// listen runs one Listen under a watchdog and forwards its events.
func (r *runner) listen(ctx context.Context) attempt {
	idle := r.w.opts.IdleTimeout
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := fmt.Errorf("%w (%v)", ErrStalled, idle)
	wd := time.AfterFunc(idle, func() { cancel(stalled) })
	defer wd.Stop()
	go func() {
		select {
		case <-r.w.reconnect:
			cancel(errReconnect)
		case <-lctx.Done():
		}
	}()

	a := attempt{start: time.Now()}
	r.lastStart = a.start
	for ev, err := range r.w.l.Listen(lctx, r.ver, r.w.opts.Alias) {
		if err != nil {
			a.err = err
			break
		}
		wd.Stop() // a slow reader of out is not a silent server
		if a.online.IsZero() {
			a.online = time.Now()
			if r.state != StateOnline && !r.setState(ctx, StateChanged{State: StateOnline}) {
				break
			}
		}
		switch ev := ev.(type) {
		case Skipped: // another mailbox's: alive, and not an empty reply
			a.others++
			wd.Reset(idle)
			continue
		case Ack:
			if ev.Ret != 0 {
				r.log.Debug("exmail listen: acknowledgement with an undocumented Ret", "ret", ev.Ret)
			}
			wd.Reset(idle)
			continue
		case VersionChanged:
			if ev.Ver != "" {
				r.ver = ev.Ver
			}
		case Unknown:
			r.log.Debug("exmail listen: unrecognised object; passed on", "keys", keysOf(ev.Raw), "bytes", len(ev.Raw))
		}
		a.events++
		if !r.send(ctx, ev) {
			break
		}
		wd.Reset(idle)
	}
	a.duration = time.Since(a.start)
	if ctx.Err() == nil {
		switch context.Cause(lctx) {
		case stalled:
			a.err = stalled
		case errReconnect:
			a.err = errReconnect
		}
	}
	return a
}

// setState publishes a state change and logs it in one line. It reports
// false if ctx ended first.
func (r *runner) setState(ctx context.Context, sc StateChanged) bool {
	r.state = sc.State
	switch sc.State {
	case StateConnecting:
		r.log.Info("exmail listen: connecting", "ver", r.ver.String())
	case StateOnline:
		r.log.Info("exmail listen: online")
	case StateRetrying:
		r.log.Warn("exmail listen: connection failed; retrying", "err", sc.Err, "retry_in", sc.RetryIn.Round(time.Millisecond))
	case StateAuthFailed:
		r.log.Error("exmail listen: credentials rejected; retrying later", "err", sc.Err, "retry_in", sc.RetryIn.Round(time.Millisecond))
	}
	return r.send(ctx, sc)
}

func (r *runner) send(ctx context.Context, ev Event) bool {
	select {
	case r.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// keysOf lists the member names of an object for a debug line: names,
// never values, and at most 10 of them.
func keysOf(raw []byte) string {
	var keys []string
	m := members{b: raw}
	for len(keys) < 10 {
		k, _, ok := m.next()
		if !ok {
			break
		}
		keys = append(keys, safetext.Line(text(k), 40))
	}
	return strings.Join(keys, ",")
}
