// Package poll is an event source for backends that have no push: it asks
// a Counter for a mailbox's unread count at an interval and reports what
// it learns as the same api.Event values a listen connection produces —
// api.StateChanged for the connection, api.UnreadChanged for the count.
// Tencent's current API (package corpapi) without the relay's callbacks is
// such a backend: it gives counts, never senders or subjects.
package poll

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/internal/backoff"
)

// Defaults of Options.
const (
	DefaultEvery      = 60 * time.Second
	DefaultSlowEvery  = 5 * time.Minute
	DefaultMaxBackoff = 10 * time.Minute
)

// Counter reads a mailbox's unread count (corpapi's MailService, among
// others).
type Counter interface {
	NewCount(ctx context.Context, alias string) (int, error)
}

// Options tune a Source. Zero fields take the default noted on them.
type Options struct {
	// Every is the time between two counts while the session is in use.
	// Default 60 s.
	Every time.Duration
	// SlowEvery is the time between counts while Slow says the session is
	// idle or on battery. Default 5 min.
	SlowEvery time.Duration
	// Slow, when set, reports whether to poll at SlowEvery (the platform's
	// idle or battery state). nil: always Every.
	Slow func() bool
	// MaxBackoff caps the doubling waits after failures (rate limits
	// included). Default 10 min; the first wait is Every.
	MaxBackoff time.Duration
	// Timeout bounds one count. Default 30 s.
	Timeout time.Duration
	// Logger gets one line per state change. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.SlowEvery <= 0 {
		o.SlowEvery = DefaultSlowEvery
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.Every)
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Source polls one mailbox. It implements app.Source, and Reconnect asks
// for a count at once (after the machine wakes).
type Source struct {
	c     Counter
	alias string
	o     Options
	now   chan struct{} // capacity 1
}

// New returns a Source that counts alias's unread mail through c.
func New(c Counter, alias string, o Options) *Source {
	return &Source{c: c, alias: alias, o: o.withDefaults(), now: make(chan struct{}, 1)}
}

// Reconnect asks for a count at once, cutting any wait short. It never
// blocks.
func (s *Source) Reconnect() {
	select {
	case s.now <- struct{}{}:
	default:
	}
}

// Run polls until ctx ends, then returns ctx.Err(). It sends
// StateChanged{StateConnecting} first; after each successful count,
// StateOnline (when it was not online) and an UnreadChanged whenever the
// count differs from the last one sent; after a failure, StateRetrying
// (StateAuthFailed when the credentials were refused) with the error and
// the wait: backoff.Backoff from Every, doubling up to MaxBackoff.
func (s *Source) Run(ctx context.Context, out chan<- api.Event) error {
	send := func(ev api.Event) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !send(api.StateChanged{State: api.StateConnecting}) {
		return ctx.Err()
	}
	online, last := false, -1
	bo := backoff.Backoff{Min: s.o.Every}
	for {
		cctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
		n, err := s.c.NewCount(cctx, s.alias)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var wait time.Duration
		switch {
		case err == nil:
			bo.Reset()
			if !online {
				online = true
				s.o.Logger.Info("unread count: online", "every", s.every())
				if !send(api.StateChanged{State: api.StateOnline}) {
					return ctx.Err()
				}
			}
			if n != last {
				last = n
				if !send(api.UnreadChanged{User: s.alias, Unread: n}) {
					return ctx.Err()
				}
			}
			wait = s.every()
		default:
			online = false
			wait = bo.Next(s.o.MaxBackoff)
			state := api.StateRetrying
			if api.IsAuth(err) && !errors.Is(err, context.DeadlineExceeded) {
				state = api.StateAuthFailed
			}
			s.o.Logger.Warn("unread count failed; retrying", "err", err, "retry_in", wait.Round(time.Second))
			if !send(api.StateChanged{State: state, Err: err, RetryIn: wait}) {
				return ctx.Err()
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.now:
			t.Stop()
		case <-t.C:
		}
	}
}

func (s *Source) every() time.Duration {
	if s.o.Slow != nil && s.o.Slow() {
		return s.o.SlowEvery
	}
	return s.o.Every
}
