// Package upstream turns the relay's one enterprise-wide exmail listen
// connection (an api.Watcher with no alias) into stored, published events
// for the mailboxes that have enrolled devices.
package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

// Store is what Ingest needs of the relay's store.
type Store interface {
	AppendBatch(ctx context.Context, evs []store.Event) ([]store.Event, error)
	Enrolled(ctx context.Context, alias string) (bool, error)
	Aliases(ctx context.Context) ([]string, error)
	Mailbox(ctx context.Context, alias string) (store.Mailbox, error)
}

// Publisher gets every stored event, and the upstream state
// (server.Server implements it).
type Publisher interface {
	Publish(ev store.Event)
	SetUpstream(online bool)
}

// Counter fetches a mailbox's unread count (api.MailService).
type Counter interface {
	NewCount(ctx context.Context, alias string) (int, error)
}

// Length limits, in runes, of the text fields kept from a push.
const (
	maxAddr    = 320
	maxSubject = 500
	maxSummary = 1000
	maxMailID  = 256
)

// Options tunes an Ingest. Zero fields take the defaults noted.
type Options struct {
	// RefreshConcurrency bounds the mail/newcount calls made at once after
	// a (re)connect. Default 4.
	RefreshConcurrency int
	// Logger gets one line per state change and per failure; never a
	// subject, a sender or a summary. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Ingest stores and publishes upstream events. Its methods are safe for
// concurrent use.
type Ingest struct {
	st      Store
	pub     Publisher
	counter Counter
	opts    Options
	log     *slog.Logger

	mu sync.Mutex // one append-and-publish at a time: publication in seq order
	wg sync.WaitGroup
}

// New returns an Ingest that writes to st, publishes to pub and asks
// counter for counts after every upstream (re)connect.
func New(st Store, pub Publisher, counter Counter, opts Options) *Ingest {
	if opts.RefreshConcurrency <= 0 {
		opts.RefreshConcurrency = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Ingest{st: st, pub: pub, counter: counter, opts: opts, log: opts.Logger}
}

// Run consumes a Watcher's events until ctx is done (or events is
// closed), then waits for its background refreshes and returns ctx.Err():
//
//   - StateOnline: the upstream is up; every enrolled mailbox's count is
//     fetched (mail/newcount) and stored as an unread event when it differs
//     from the stored one, since exmail replays nothing that was pushed
//     while the relay was away;
//   - StateRetrying, StateAuthFailed: the upstream is down;
//   - NewMail, UnreadChanged of an enrolled mailbox: cleaned, stored
//     (fsync), then published; a new_mail already stored, and an unread
//     count equal to the stored one, are dropped.
//
// Events of mailboxes without an active device are dropped unread.
func (in *Ingest) Run(ctx context.Context, events <-chan api.Event) error {
	defer in.wg.Wait()
	for {
		var ev api.Event
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok = <-events:
			if !ok {
				return ctx.Err()
			}
		}
		// Group commit: take what is already queued (up to maxBatch, and
		// up to a state change, which keeps its place in the order) and
		// store it in one transaction.
		batch := []api.Event{ev}
	drain:
		for len(batch) < maxBatch {
			if _, state := batch[len(batch)-1].(api.StateChanged); state {
				break
			}
			select {
			case e, ok := <-events:
				if !ok {
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		in.process(ctx, batch)
	}
}

// maxBatch bounds the events stored in one transaction.
const maxBatch = 256

// toStored is the stored event for ev, a NewMail or an UnreadChanged of
// a mailbox with an active device (ok false otherwise: another event, no
// alias, not enrolled). enrolled caches the store's answers for one batch.
func (in *Ingest) toStored(ctx context.Context, ev api.Event, now time.Time, enrolled map[string]bool) (_ store.Event, ok bool, err error) {
	var user string
	switch ev := ev.(type) {
	case api.NewMail:
		user = ev.User
	case api.UnreadChanged:
		user = ev.User
	default:
		return store.Event{}, false, nil
	}
	alias := store.NormAlias(user)
	if alias == "" {
		return store.Event{}, false, nil
	}
	on, seen := enrolled[alias]
	if !seen {
		if on, err = in.st.Enrolled(ctx, alias); err != nil {
			return store.Event{}, false, fmt.Errorf("relay upstream: checking enrollment: %w", err)
		}
		enrolled[alias] = on
	}
	if !on {
		return store.Event{}, false, nil
	}
	if m, isMail := ev.(api.NewMail); isMail {
		return newMailEvent(alias, m, now), true, nil
	}
	return unreadEvent(alias, ev.(api.UnreadChanged).Unread, now), true, nil
}

func (in *Ingest) process(ctx context.Context, batch []api.Event) {
	now := in.opts.Now()
	var evs []store.Event
	enrolled := map[string]bool{}
	for _, ev := range batch {
		switch ev := ev.(type) {
		case api.NewMail, api.UnreadChanged:
			se, ok, err := in.toStored(ctx, ev, now, enrolled)
			if err != nil {
				in.log.Error("relay upstream: checking enrollment", "err", err)
			}
			if ok {
				evs = append(evs, se)
			}
		case api.StateChanged: // the batch's last event
			in.commit(ctx, evs...)
			evs = nil
			switch ev.State {
			case api.StateOnline:
				in.log.Info("relay upstream: online")
				in.pub.SetUpstream(true)
				in.wg.Go(func() { in.RefreshAll(ctx) })
			case api.StateRetrying, api.StateAuthFailed:
				in.log.Warn("relay upstream: offline", "state", ev.State.String(), "err", ev.Err, "retry_in", ev.RetryIn.Round(time.Millisecond))
				in.pub.SetUpstream(false)
			}
		}
	}
	in.commit(ctx, evs...)
}

func newMailEvent(alias string, ev api.NewMail, now time.Time) store.Event {
	line := wire.NewMailLine{
		Time: now.Format(wire.TimeFormat), Event: wire.KindNewMail, Alias: alias,
		MailID:  wire.Clean(ev.MailID, maxMailID),
		From:    wire.Clean(ev.Sender, maxAddr),
		To:      wire.Clean(ev.Receiver, maxAddr),
		Subject: wire.Clean(ev.Subject, maxSubject),
		Summary: wire.Clean(ev.Summary, maxSummary),
		Unread:  max(ev.Unread, 0),
	}
	data, _ := wire.Marshal(line)
	return store.Event{Alias: alias, Kind: wire.KindNewMail, MailID: line.MailID, Unread: line.Unread, Data: data, Time: now}
}

func unreadEvent(alias string, n int, now time.Time) store.Event {
	n = max(n, 0)
	data, _ := wire.Marshal(wire.UnreadLine{Time: now.Format(wire.TimeFormat), Event: wire.KindUnread, Alias: alias, Unread: n})
	return store.Event{Alias: alias, Kind: wire.KindUnread, Unread: n, Data: data, Time: now}
}

// commit stores evs in one transaction, then publishes what was stored.
// A failure is logged: the events are lost (the upstream replays nothing).
func (in *Ingest) commit(ctx context.Context, evs ...store.Event) {
	if len(evs) == 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.commitLocked(ctx, evs); err != nil && ctx.Err() == nil {
		in.log.Error("relay upstream: storing events; they are lost", "events", len(evs), "err", err)
	}
}

// commitLocked stores evs (but counts equal to the stored one) in one
// transaction, then publishes what was stored. It returns the store's
// error; nothing was published then.
func (in *Ingest) commitLocked(ctx context.Context, evs []store.Event) error {
	// A count equal to the mailbox's current one says nothing new (a
	// refresh and a push may both report it).
	unread := map[string]int{}
	kept := evs[:0:0]
	for _, ev := range evs {
		cur, ok := unread[ev.Alias]
		if !ok {
			cur = -1
			if m, err := in.st.Mailbox(ctx, ev.Alias); err == nil {
				cur = m.Unread
			}
		}
		if ev.Kind == wire.KindUnread && cur == ev.Unread {
			continue
		}
		unread[ev.Alias] = ev.Unread
		kept = append(kept, ev)
	}
	if len(kept) == 0 {
		return nil
	}
	stored, err := in.st.AppendBatch(ctx, kept)
	if err != nil {
		return err
	}
	if d := len(kept) - len(stored); d > 0 {
		in.log.Debug("relay upstream: new mails already stored; dropped", "mails", d)
	}
	for _, ev := range stored {
		in.pub.Publish(ev)
	}
	return nil
}

// Push stores, then publishes, events that were pushed to the relay
// (Tencent's callbacks on the current API) rather than read from a
// connection: the NewMail and UnreadChanged of enrolled mailboxes, cleaned
// and deduplicated exactly as Run does (so the streams cannot tell the
// upstreams apart). Other events, and events of mailboxes without an
// active device, are dropped. Unlike Run it returns an error when the
// events could not be stored, so that the pusher can send them again; a
// new mail stored before is dropped without error.
func (in *Ingest) Push(ctx context.Context, evs ...api.Event) error {
	now := in.opts.Now()
	var out []store.Event
	enrolled := map[string]bool{}
	for _, ev := range evs {
		se, ok, err := in.toStored(ctx, ev, now, enrolled)
		if err != nil {
			return err
		}
		if ok {
			out = append(out, se)
		}
	}
	if len(out) == 0 {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.commitLocked(ctx, out); err != nil {
		return fmt.Errorf("relay upstream: storing pushed events: %w", err)
	}
	return nil
}

// SetUpstream publishes whether the upstream works, for upstreams that
// have no connection whose state Run could follow (polling).
func (in *Ingest) SetUpstream(online bool) { in.pub.SetUpstream(online) }

// Aliases lists the mailboxes with an active device.
func (in *Ingest) Aliases(ctx context.Context) ([]string, error) { return in.st.Aliases(ctx) }

// Refresh fetches alias's unread count and, if it differs from the stored
// one, stores and publishes an unread event. If an event for alias was
// stored while the count was being fetched, that newer event wins and
// nothing is written. It returns the count fetched.
func (in *Ingest) Refresh(ctx context.Context, alias string) (int, error) {
	alias = store.NormAlias(alias)
	before, err := in.st.Mailbox(ctx, alias)
	if err != nil {
		return 0, err
	}
	n, err := in.counter.NewCount(ctx, alias)
	if err != nil {
		return 0, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	m, err := in.st.Mailbox(ctx, alias)
	if err != nil {
		return n, err
	}
	if m.LastSeq == before.LastSeq && m.Unread != n {
		if err := in.commitLocked(ctx, []store.Event{unreadEvent(alias, n, in.opts.Now())}); err != nil {
			return n, fmt.Errorf("relay upstream: storing an unread count: %w", err)
		}
	}
	return n, nil
}

// NewCount is Refresh: the live count, which also brings the relay's
// stored count (and every stream of the mailbox) up to date.
func (in *Ingest) NewCount(ctx context.Context, alias string) (int, error) {
	return in.Refresh(ctx, alias)
}

// RefreshAll refreshes every mailbox with an active device, a few at a
// time. Failures are logged.
func (in *Ingest) RefreshAll(ctx context.Context) {
	aliases, err := in.st.Aliases(ctx)
	if err != nil {
		if ctx.Err() == nil {
			in.log.Error("relay upstream: listing enrolled mailboxes", "err", err)
		}
		return
	}
	sem := make(chan struct{}, in.opts.RefreshConcurrency)
	var wg sync.WaitGroup
	failed := 0
	var mu sync.Mutex
	for _, a := range aliases {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := in.Refresh(ctx, a); err != nil && ctx.Err() == nil {
				mu.Lock()
				failed++
				mu.Unlock()
				in.log.Warn("relay upstream: fetching an unread count", "alias", a, "err", err)
			}
		})
	}
	wg.Wait()
	in.log.Info("relay upstream: unread counts refreshed", "mailboxes", len(aliases), "failed", failed)
}
