// Package corp is the relay's upstream on Tencent's current exmail API
// (api.exmail.qq.com, protocol.md §5; package corpapi), the alternative to
// the v1.4 listen connection (relay.V14). It implements relay.Upstream and
// relay.Receiver:
//
//   - With the 新邮件提醒 application in callback mode (a Token and an
//     EncodingAESKey), Tencent POSTs every new mail and unread-count change
//     to the relay's /callback/exmail (corpapi/callback checks and decrypts
//     them). Each becomes the same stored event the v1.4 upstream makes:
//     new_mail (without a summary: the callback carries none) or unread.
//     Counts are still read after start and every SafetyEvery, in case a
//     callback was lost.
//   - Without callbacks, the holder polls mail/newcount: every LiveEvery
//     for a mailbox with an open stream, every IdleEvery for the others. A
//     count that changed is stored as an unread event (polling gives no
//     sender or subject).
//
// Polling stays within the enterprise's API quota: at most Concurrency
// calls at once, at most Budget a minute, jittered schedules, and after a
// rate limit or a failure a pause from the project's one retry policy
// (internal/backoff). The upstream state the streams show (online or
// offline) is whether the last calls worked. Single sign-on is
// service/get_login_url for the device's own mailbox, fetched at each
// request and never cached.
package corp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/corpapi/callback"
	"github.com/exmail-notifier/exmail-notifier/internal/backoff"
	"github.com/exmail-notifier/exmail-notifier/relay/upstream"
)

// Defaults of Options.
const (
	DefaultLiveEvery   = time.Minute
	DefaultIdleEvery   = 15 * time.Minute
	DefaultSafetyEvery = 30 * time.Minute
	DefaultConcurrency = 4
	DefaultBudget      = 1000 // calls a minute; WeChat Work allows 10,000 a minute per API and 150,000 an hour
	DefaultMinBackoff  = 5 * time.Second
	DefaultMaxBackoff  = 10 * time.Minute
)

// Options configures an Upstream. Client is required; every zero field
// takes the default noted on it.
type Options struct {
	// Client is the current API's client, with the 新邮件提醒
	// (NewMailSecret) and 单点登录 (SSOSecret) secrets.
	Client *corpapi.Client
	// Token and EncodingAESKey are the callback settings of the 新邮件提醒
	// application. Both empty: no callbacks; the counts are polled.
	Token, EncodingAESKey api.Secret
	// MaxSkew is how far a callback's timestamp may be from the local
	// clock. Default callback.DefaultMaxSkew (5 minutes).
	MaxSkew time.Duration

	// LiveEvery is how often, without callbacks, a mailbox with an open
	// stream on this node is counted. Default 60 s.
	LiveEvery time.Duration
	// IdleEvery is how often, without callbacks, the other mailboxes are
	// counted. Default 15 minutes.
	IdleEvery time.Duration
	// SafetyEvery is how often, with callbacks, every mailbox is counted
	// anyway, in case a callback was lost. Default 30 minutes.
	SafetyEvery time.Duration
	// Concurrency bounds the counts made at once. Default 4.
	Concurrency int
	// Budget bounds the counts made a minute (a token bucket with a burst
	// of Concurrency). Default 1000.
	Budget int
	// MinBackoff and MaxBackoff bound the pause of every count after a
	// rate limit or a failure: MinBackoff doubling up to MaxBackoff,
	// jittered, reset by a success. Defaults 5 s and 10 minutes.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one count. Default 30 s.
	Timeout time.Duration
	// ListEvery is how often the enrolled mailboxes are listed again.
	// Default 30 s.
	ListEvery time.Duration
	// Logger gets one line per state change, rate limit and refused
	// callback; never a secret, a token, a link or a mail's content.
	// Default: discard.
	Logger *slog.Logger
	// Rand is the jitter's source, in [0, 1). Default math/rand/v2.
	Rand func() float64
}

// Upstream is the current API as the relay's upstream. Its methods are
// safe for concurrent use.
type Upstream struct {
	c    *corpapi.Client
	o    Options
	log  *slog.Logger
	push bool
}

// New checks opts and returns an Upstream. It contacts no server.
func New(opts Options) (*Upstream, error) {
	if opts.Client == nil {
		return nil, errors.New("relay corp: a corpapi client is required")
	}
	if (opts.Token == "") != (opts.EncodingAESKey == "") {
		return nil, errors.New("relay corp: the callback Token and EncodingAESKey go together")
	}
	if opts.Token != "" {
		if _, err := callback.NewCrypto(opts.Token, opts.EncodingAESKey, opts.Client.CorpID()); err != nil {
			return nil, err
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.LiveEvery, DefaultLiveEvery)
	def(&opts.IdleEvery, DefaultIdleEvery)
	def(&opts.SafetyEvery, DefaultSafetyEvery)
	def(&opts.MinBackoff, DefaultMinBackoff)
	def(&opts.MaxBackoff, DefaultMaxBackoff)
	def(&opts.Timeout, 30*time.Second)
	def(&opts.ListEvery, 30*time.Second)
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	return &Upstream{c: opts.Client, o: opts, log: opts.Logger, push: opts.Token != ""}, nil
}

// Callbacks reports whether Tencent's callbacks are configured.
func (u *Upstream) Callbacks() bool { return u.push }

// NewCount reads alias's unread count (mail/newcount).
func (u *Upstream) NewCount(ctx context.Context, alias string) (int, error) {
	return u.c.Mail.NewCount(ctx, alias)
}

// LoginURL returns a fresh one-time sign-in link for alias
// (service/get_login_url). The current API cannot open one mail, so
// mailID is ignored and the inbox opens.
func (u *Upstream) LoginURL(ctx context.Context, alias, mailID string) (api.Secret, error) {
	return u.c.Mail.LoginURL(ctx, alias, mailID)
}

// Receiver returns the callback endpoint (callback.Path) and its handler,
// which gives every accepted message to push as api.NewMail or
// api.UnreadChanged; a push that fails makes Tencent resend. It returns a
// nil handler without callbacks.
func (u *Upstream) Receiver(push func(ctx context.Context, evs ...api.Event) error) (string, http.Handler, error) {
	if !u.push {
		return "", nil, nil
	}
	h, err := callback.NewHandler(callback.Options{
		Token: u.o.Token, EncodingAESKey: u.o.EncodingAESKey, CorpID: u.c.CorpID(),
		MaxSkew: u.o.MaxSkew,
		Deliver: func(ctx context.Context, m callback.Message) error { return push(ctx, m.Event()) },
		Logger:  u.log,
	})
	if err != nil {
		return "", nil, err
	}
	return callback.Path, h, nil
}

// Hold counts the enrolled mailboxes through in until ctx is done (see
// the package doc for the schedule), and publishes the upstream state
// through in: online after a count (or, before any, a token) that worked,
// offline after one that failed other than by a rate limit or an unknown
// mailbox.
func (u *Upstream) Hold(ctx context.Context, in *upstream.Ingest, watched func(alias string) bool) {
	if watched == nil {
		watched = func(string) bool { return false }
	}
	p := &poller{u: u, in: in, watched: watched, sched: map[string]*entry{},
		bo: backoff.Backoff{Min: u.o.MinBackoff, Rand: u.o.Rand}}
	p.run(ctx)
}

// entry is one mailbox's schedule.
type entry struct {
	last     time.Time // the last count that worked (or found no mailbox); zero: due now
	jit      float64   // this period's jitter factor, in [0.75, 1.25)
	inflight bool
}

type result struct {
	alias string
	err   error
}

type poller struct {
	u       *Upstream
	in      *upstream.Ingest
	watched func(string) bool
	sched   map[string]*entry
	bo      backoff.Backoff
	pause   time.Time // no count before this (after a rate limit or failure)
	state   int       // 0 unknown, 1 online, -1 offline
	tokens  float64   // the budget's bucket
	filled  time.Time
}

// every is how long after its last count alias is due again.
func (p *poller) every(alias string) time.Duration {
	switch {
	case p.u.push:
		return p.u.o.SafetyEvery
	case p.watched(alias):
		return p.u.o.LiveEvery
	}
	return p.u.o.IdleEvery
}

func (p *poller) due(alias string, e *entry) time.Time {
	if e.last.IsZero() {
		return time.Time{}
	}
	return e.last.Add(time.Duration(float64(p.every(alias)) * e.jit))
}

func (p *poller) jitter() float64 { return 0.75 + p.u.o.Rand()/2 }

// take spends one of the budget's tokens if there is one; otherwise it
// returns when the next one comes.
func (p *poller) take(now time.Time) (bool, time.Time) {
	burst := float64(p.u.o.Concurrency)
	per := time.Minute / time.Duration(p.u.o.Budget)
	if p.filled.IsZero() {
		p.tokens, p.filled = burst, now
	}
	p.tokens = min(burst, p.tokens+float64(now.Sub(p.filled))/float64(per))
	p.filled = now
	if p.tokens >= 1 {
		p.tokens--
		return true, time.Time{}
	}
	return false, now.Add(time.Duration((1 - p.tokens) * float64(per)))
}

func (p *poller) setState(online bool, err error) {
	s := -1
	if online {
		s = 1
	}
	if s == p.state {
		return
	}
	p.state = s
	if online {
		p.u.log.Info("relay upstream (current API): online")
	} else {
		p.u.log.Warn("relay upstream (current API): offline", "err", err, "retry_in", time.Until(p.pause).Round(time.Millisecond))
	}
	p.in.SetUpstream(online)
}

// fail pauses every count after err and reports the state it implies.
func (p *poller) fail(now time.Time, alias string, err error) {
	wait := p.bo.Next(p.u.o.MaxBackoff)
	p.pause = now.Add(wait)
	if errors.Is(err, corpapi.ErrRateLimited) {
		// The API works; we asked too often.
		p.u.log.Warn("relay upstream (current API): rate limited; pausing the counts", "retry_in", wait.Round(time.Millisecond))
		return
	}
	if alias != "" && p.state >= 0 {
		p.u.log.Debug("relay upstream (current API): a count failed", "alias", alias, "err", err)
	}
	p.setState(false, err)
}

// probe checks the new-mail application's token: the state before any
// mailbox was counted.
func (p *poller) probe(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, p.u.o.Timeout)
	err := p.u.c.CheckToken(cctx, corpapi.AppNewMail)
	cancel()
	switch {
	case ctx.Err() != nil:
	case err != nil:
		p.fail(time.Now(), "", err)
	default:
		p.bo.Reset()
		p.setState(true, nil)
	}
}

func (p *poller) list(ctx context.Context) {
	aliases, err := p.in.Aliases(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.u.log.Error("relay upstream (current API): listing enrolled mailboxes", "err", err)
		}
		return
	}
	seen := make(map[string]bool, len(aliases))
	for _, a := range aliases {
		seen[a] = true
		if p.sched[a] == nil {
			p.sched[a] = &entry{jit: p.jitter()} // due now: the first count after start or enrollment
		}
	}
	for a, e := range p.sched {
		if !seen[a] && !e.inflight {
			delete(p.sched, a)
		}
	}
}

func (p *poller) run(ctx context.Context) {
	o := p.u.o
	results := make(chan result, o.Concurrency)
	inflight := 0
	defer func() {
		for ; inflight > 0; inflight-- {
			<-results
		}
	}()
	p.probe(ctx)
	p.list(ctx)
	nextList := time.Now().Add(o.ListEvery)
	// Wake at least this often, to notice a mailbox whose stream opened.
	tick := min(max(o.LiveEvery/2, 10*time.Millisecond), 5*time.Second)
	counted := false
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(nextList) {
			p.list(ctx)
			nextList = now.Add(o.ListEvery)
		}
		wake := earlier(nextList, now.Add(tick))
		if now.Before(p.pause) {
			wake = earlier(wake, p.pause)
		} else {
			if p.state < 0 && len(p.sched) == 0 {
				p.probe(ctx) // nothing to count: check the token again
				continue
			}
			type dueAt struct {
				alias string
				at    time.Time
			}
			var due []dueAt
			for a, e := range p.sched {
				if e.inflight {
					continue
				}
				if at := p.due(a, e); !now.Before(at) {
					due = append(due, dueAt{a, at})
				} else {
					wake = earlier(wake, at)
				}
			}
			slices.SortFunc(due, func(a, b dueAt) int { return a.at.Compare(b.at) })
			for _, d := range due {
				if inflight >= o.Concurrency {
					break
				}
				ok, next := p.take(now)
				if !ok {
					wake = earlier(wake, next)
					break
				}
				p.sched[d.alias].inflight = true
				inflight++
				go func() {
					cctx, cancel := context.WithTimeout(ctx, o.Timeout)
					defer cancel()
					_, err := p.in.Refresh(cctx, d.alias)
					results <- result{d.alias, err}
				}()
			}
		}
		t := time.NewTimer(max(time.Until(wake), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case r := <-results:
			t.Stop()
			inflight--
			p.done(ctx, r)
			if !counted && inflight == 0 && r.err == nil {
				counted = true
				p.u.log.Info("relay upstream (current API): unread counts read", "mailboxes", len(p.sched), "callbacks", p.u.push)
			}
		case <-t.C:
		}
	}
}

// done records the outcome of one count.
func (p *poller) done(ctx context.Context, r result) {
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	e := p.sched[r.alias]
	if e == nil {
		return
	}
	e.inflight = false
	switch {
	case r.err == nil:
		e.last, e.jit = now, p.jitter()
		p.bo.Reset()
		p.setState(true, nil)
	case errors.Is(r.err, corpapi.ErrNotFound):
		// The mailbox is gone upstream; the API works. Try again at the
		// usual pace.
		e.last, e.jit = now, p.jitter()
		p.u.log.Warn("relay upstream (current API): an enrolled mailbox does not exist upstream", "alias", r.alias)
	case apiWide(r.err):
		p.fail(now, r.alias, fmt.Errorf("counting %s: %w", r.alias, r.err))
	default:
		// This mailbox's trouble (an errcode about it, the store refusing
		// its count): the API works for the others, so no global pause and
		// no offline state; this one waits its usual turn.
		e.last, e.jit = now, p.jitter()
		p.u.log.Warn("relay upstream (current API): a count failed", "alias", r.alias, "err", r.err)
	}
}

// apiWide reports whether err says the API as a whole is not usable now
// (rate limited, credentials refused, unavailable, unreachable), so that
// every count should pause and desktops see the upstream offline.
func apiWide(err error) bool {
	var ne net.Error
	return errors.Is(err, corpapi.ErrRateLimited) || api.IsAuth(err) || errors.Is(err, corpapi.ErrUnavailable) ||
		errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
