// Package cluster lets several exmail-relay processes ("nodes") serve one
// relay, as relay.md's "Scale-out" describes:
//
//   - PostgreSQL (relay/store/postgres) is the truth: devices, the audit
//     trail and every event, stored before it is published.
//   - Core NATS is the doorbell. The upstream holder publishes each stored
//     event on its mailbox's subject; a node subscribes only to the
//     mailboxes it has streams of. NATS is at-most-once, so a node reads
//     what it missed from PostgreSQL: a stream that sees a gap fills it
//     from the store, and every Sweep (and at once after a NATS reconnect
//     or a slow-consumer drop) a node compares the newest seq of each of
//     its mailboxes with what it delivered and delivers the newest event it
//     missed, whose streams then fill the rest. JetStream is not needed.
//   - Exactly one node, the holder of the lease (a PostgreSQL session
//     advisory lock on a pinned connection, postgres.AcquireLease), keeps
//     the upstream listen connection. Each takeover increments a fencing
//     term; the holder's appends carry it and are refused once stale, so a
//     deposed holder cannot write. new_mail is deduplicated on (mailbox,
//     mail id), so a brief overlap of two holders never notifies twice.
//     A new holder calls mail/newcount for every enrolled mailbox.
//   - Rate limits (SSO links, live counts, failed enrollments) are kept in
//     PostgreSQL, so they hold cluster-wide.
//   - The holder announces the upstream state every Heartbeat; the other
//     nodes report the upstream offline when no announcement came for
//     three Heartbeats.
//   - Every NATS message is authenticated: HMAC-SHA256 over its subject
//     and body, with a key derived from Options.Key (the interface key,
//     which every node holds to take the upstream over) and the store's
//     epoch. A NATS client without that key cannot inject an event into a
//     mailbox, announce the upstream state or ask for refreshes; a message
//     that fails the check is dropped and counted (Forged). NATS still
//     sees event content (subjects, senders): give it TLS and
//     authentication on any network but a private one.
//
// Node implements relay.Cluster. Only relay/cli links this package: the
// desktop binary links neither NATS nor pgx.
package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/exmail-notifier/exmail-notifier/relay"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/postgres"
	"github.com/exmail-notifier/exmail-notifier/relay/upstream"
)

// Options tunes a Node. Zero fields take the defaults noted.
type Options struct {
	// NATS is the NATS server URL (or several, comma-separated). Required.
	NATS string
	// Key is a secret every node shares; messages between nodes are
	// authenticated with a key derived from it. exmail-relay serve passes
	// the interface key. Required.
	Key []byte
	// Name identifies the node in NATS and in logs. Default "exmail-relay".
	Name string
	// Heartbeat is how often the holder announces the upstream state.
	// Default 1 s.
	Heartbeat time.Duration
	// Sweep is how often a node checks PostgreSQL for events it missed.
	// Default 2 s.
	Sweep time.Duration
	// LeaseCheck is how often the holder checks its lease connection.
	// Default 1 s.
	LeaseCheck time.Duration
	// Logger: default discard. Never logs an event's content.
	Logger *slog.Logger
}

// Node is one relay process's membership of the cluster.
type Node struct {
	db     *postgres.DB
	nc     *nats.Conn
	opts   Options
	log    *slog.Logger
	prefix string // "exmail.relay.<store epoch>."
	mac    []byte // the message-authentication key
	msgs   chan *nats.Msg
	sweep  chan struct{}

	local   upstream.Publisher
	refresh func(ctx context.Context, alias string)

	mu        sync.Mutex
	interests map[string]*interest

	term     atomic.Int64 // our lease's term while we hold it, else 0
	online   atomic.Bool  // the upstream state, as the holder saw it
	heard    atomic.Int64 // the highest holder term heard
	lastBeat atomic.Int64 // when the holder was last heard (unix ns)

	fills  atomic.Int64 // events a sweep found missing
	forged atomic.Int64 // NATS messages that failed authentication
}

// interest is a mailbox with streams on this node.
type interest struct {
	refs  int
	sub   *nats.Subscription
	last  uint64        // the newest seq delivered to local
	ready chan struct{} // closed once subscribed and last is read
}

// msg is an event on the wire between nodes: the stored event itself, so
// that a node reads PostgreSQL only for what it missed.
type msg struct {
	Alias  string          `json:"a"`
	Seq    uint64          `json:"s"`
	Kind   string          `json:"k"`
	Unread int             `json:"u"`
	Term   int64           `json:"t"`
	Data   json.RawMessage `json:"d"`
}

// state is the holder's announcement of the upstream state.
type state struct {
	Term   int64 `json:"t"`
	Online bool  `json:"o"`
	At     int64 `json:"at"` // when it was sent (unix ms): a replayed one is stale
}

// maxSkew is how far apart the nodes' clocks may be.
const maxSkew = 30 * time.Second

var _ relay.Cluster = (*Node)(nil)

// New connects to NATS for db's relay. Close it after relay.Run returns.
func New(ctx context.Context, db *postgres.DB, opts Options) (*Node, error) {
	if opts.NATS == "" {
		return nil, errors.New("relay cluster: no NATS URL")
	}
	if len(opts.Key) == 0 {
		return nil, errors.New("relay cluster: no key to authenticate messages between nodes")
	}
	if opts.Name == "" {
		opts.Name = "exmail-relay"
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = time.Second
	}
	if opts.Sweep <= 0 {
		opts.Sweep = 2 * time.Second
	}
	if opts.LeaseCheck <= 0 {
		opts.LeaseCheck = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		db: db, opts: opts, log: opts.Logger,
		prefix:    "exmail.relay." + db.Epoch() + ".",
		mac:       macKey(opts.Key, db.Epoch()),
		msgs:      make(chan *nats.Msg, 1<<16),
		sweep:     make(chan struct{}, 1),
		interests: map[string]*interest{},
	}
	nc, err := nats.Connect(opts.NATS,
		nats.Name(opts.Name),
		nats.NoEcho(), // our own publications are delivered locally already
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.log.Warn("relay cluster: NATS disconnected; events from other nodes come from PostgreSQL meanwhile", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			n.log.Info("relay cluster: NATS reconnected")
			n.sweepSoon()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			n.log.Warn("relay cluster: NATS", "err", err)
			n.sweepSoon() // a slow-consumer drop: read what was lost
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("relay cluster: connecting to NATS: %w", err)
	}
	n.nc = nc
	return n, nil
}

// Close closes the NATS connection.
func (n *Node) Close() error {
	n.nc.Close()
	return nil
}

func (n *Node) sweepSoon() {
	select {
	case n.sweep <- struct{}{}:
	default:
	}
}

// macKey derives the message-authentication key from the shared secret
// and the store's epoch, so that it is never the secret itself.
func macKey(secret []byte, epoch string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("exmail-relay cluster messages v1\x00" + epoch))
	return m.Sum(nil)
}

func (n *Node) sum(subject string, body []byte) []byte {
	m := hmac.New(sha256.New, n.mac)
	m.Write([]byte(subject))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)
}

// publish sends body on subject, authenticated: MAC (32 bytes) then body.
func (n *Node) publish(subject string, body []byte) error {
	return n.nc.Publish(subject, append(n.sum(subject, body), body...))
}

// open returns an authenticated message's body, or false (and counts it)
// if the message was not sent by a node holding the key.
func (n *Node) open(m *nats.Msg) ([]byte, bool) {
	if len(m.Data) < sha256.Size {
		n.forged.Add(1)
		return nil, false
	}
	mac, body := m.Data[:sha256.Size], m.Data[sha256.Size:]
	if !hmac.Equal(mac, n.sum(m.Subject, body)) {
		n.forged.Add(1)
		return nil, false
	}
	return body, true
}

// Forged reports how many NATS messages failed authentication and were
// dropped.
func (n *Node) Forged() int64 { return n.forged.Load() }

func (n *Node) subject(alias string) string {
	h := sha256.Sum256([]byte(alias))
	return n.prefix + "ev." + hex.EncodeToString(h[:12])
}

// Attach implements relay.Cluster.
func (n *Node) Attach(local upstream.Publisher, refresh func(ctx context.Context, alias string)) {
	n.local, n.refresh = local, refresh
}

// Run implements relay.Cluster: it delivers other nodes' events and
// states, answers refresh requests while holding the lease, announces the
// upstream state, and sweeps for missed events, until ctx is done.
func (n *Node) Run(ctx context.Context) error {
	if n.local == nil {
		return errors.New("relay cluster: Run before Attach")
	}
	upSub, err := n.nc.Subscribe(n.prefix+"up", func(m *nats.Msg) {
		if body, ok := n.open(m); ok {
			n.onState(body)
		}
	})
	if err != nil {
		return fmt.Errorf("relay cluster: %w", err)
	}
	defer upSub.Unsubscribe()
	refreshes := make(chan struct{}, 8)
	rfSub, err := n.nc.Subscribe(n.prefix+"refresh", func(m *nats.Msg) {
		body, ok := n.open(m)
		if !ok || n.term.Load() == 0 {
			return
		}
		alias := store.NormAlias(string(body))
		select {
		case refreshes <- struct{}{}:
			go func() {
				defer func() { <-refreshes }()
				n.refresh(ctx, alias)
			}()
		default: // too many at once: the count is a hint
		}
	})
	if err != nil {
		return fmt.Errorf("relay cluster: %w", err)
	}
	defer rfSub.Unsubscribe()
	n.lastBeat.Store(time.Now().UnixNano())

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-n.msgs:
				body, ok := n.open(m)
				if !ok {
					continue
				}
				var ev msg
				if json.Unmarshal(body, &ev) != nil || ev.Alias == "" || n.subject(ev.Alias) != m.Subject {
					continue
				}
				n.deliver(store.Event{Alias: ev.Alias, Seq: ev.Seq, Kind: ev.Kind, Unread: ev.Unread, Data: ev.Data}, false)
			}
		}
	})
	wg.Go(func() {
		hb := time.NewTicker(n.opts.Heartbeat)
		defer hb.Stop()
		sw := time.NewTicker(n.opts.Sweep)
		defer sw.Stop()
		lim := time.NewTicker(time.Hour)
		defer lim.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-hb.C:
				n.beat()
			case <-sw.C:
				n.sweepOnce(ctx)
			case <-n.sweep:
				n.sweepOnce(ctx)
			case <-lim.C:
				if err := n.db.SweepLimits(ctx, time.Now().Add(-time.Hour)); err != nil && ctx.Err() == nil {
					n.log.Warn("relay cluster: forgetting old rate-limit buckets", "err", err)
				}
			}
		}
	})
	<-ctx.Done()
	return ctx.Err()
}

// beat announces the upstream state if we hold the lease, or else notices
// a silent holder.
func (n *Node) beat() {
	if term := n.term.Load(); term != 0 {
		n.announce(term)
		return
	}
	if time.Since(time.Unix(0, n.lastBeat.Load())) > 3*n.opts.Heartbeat {
		n.local.SetUpstream(false)
	}
}

func (n *Node) announce(term int64) {
	b, _ := json.Marshal(state{Term: term, Online: n.online.Load(), At: time.Now().UnixMilli()})
	if err := n.publish(n.prefix+"up", b); err != nil {
		n.log.Debug("relay cluster: announcing the upstream state", "err", err)
	}
}

func (n *Node) onState(data []byte) {
	var s state
	if json.Unmarshal(data, &s) != nil {
		return
	}
	// A replayed announcement is stale; the window allows for the nodes'
	// clocks disagreeing by up to maxSkew.
	if age := time.Since(time.UnixMilli(s.At)); age > maxSkew || age < -maxSkew {
		return
	}
	for {
		h := n.heard.Load()
		if s.Term < h {
			return // a deposed holder
		}
		if n.heard.CompareAndSwap(h, s.Term) {
			break
		}
	}
	n.lastBeat.Store(time.Now().UnixNano())
	if n.term.Load() == 0 {
		n.local.SetUpstream(s.Online)
	}
}

// deliver hands ev to this node's streams unless they already have it.
// Remote events (fromHolder false) go only to mailboxes with streams.
func (n *Node) deliver(ev store.Event, fromHolder bool) {
	n.mu.Lock()
	i := n.interests[ev.Alias]
	switch {
	case i != nil && ev.Seq <= i.last:
		n.mu.Unlock()
		return
	case i != nil:
		i.last = ev.Seq
	case !fromHolder:
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	n.local.Publish(ev)
}

// sweepOnce delivers, for each mailbox with streams here, the newest
// stored event if it was not delivered (its streams fill any gap before
// it from the store).
func (n *Node) sweepOnce(ctx context.Context) {
	n.mu.Lock()
	aliases := make([]string, 0, len(n.interests))
	for a, i := range n.interests {
		select {
		case <-i.ready:
			aliases = append(aliases, a)
		default:
		}
	}
	n.mu.Unlock()
	for len(aliases) > 0 {
		chunk := aliases[:min(len(aliases), 5000)]
		aliases = aliases[len(chunk):]
		last, err := n.db.LastSeqs(ctx, chunk)
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("relay cluster: sweeping for missed events", "err", err)
			}
			return
		}
		for _, a := range chunk {
			seq := last[a]
			n.mu.Lock()
			i := n.interests[a]
			behind := i != nil && seq > i.last
			n.mu.Unlock()
			if !behind {
				continue
			}
			evs, err := n.db.EventsAfter(ctx, a, seq-1, 1)
			if err != nil || len(evs) == 0 {
				continue
			}
			n.fills.Add(1)
			n.log.Debug("relay cluster: delivering an event NATS did not bring", "alias", a, "seq", seq)
			n.deliver(evs[0], false)
		}
	}
}

// Fills is how many events sweeps found missing (for tests and metrics).
func (n *Node) Fills() int64 { return n.fills.Load() }

// Publish implements upstream.Publisher for the holder's ingest: ev was
// stored; it goes to this node's streams, then to the other nodes.
func (n *Node) Publish(ev store.Event) {
	n.deliver(ev, true)
	b, _ := json.Marshal(msg{Alias: ev.Alias, Seq: ev.Seq, Kind: ev.Kind, Unread: ev.Unread, Term: n.term.Load(), Data: ev.Data})
	if err := n.publish(n.subject(ev.Alias), b); err != nil {
		n.log.Debug("relay cluster: publishing an event; the other nodes' sweeps will find it", "err", err)
	}
}

// SetUpstream implements upstream.Publisher for the holder's ingest.
func (n *Node) SetUpstream(online bool) {
	n.online.Store(online)
	n.local.SetUpstream(online)
	if term := n.term.Load(); term != 0 {
		n.announce(term)
	}
}

// AskRefresh implements relay.Cluster.
func (n *Node) AskRefresh(alias string) {
	if err := n.publish(n.prefix+"refresh", []byte(store.NormAlias(alias))); err != nil {
		n.log.Debug("relay cluster: asking the holder for a refresh", "err", err)
	}
}

// Acquire implements server.Interest: it subscribes to alias's events
// (waiting until the NATS server has the subscription), then reads where
// alias's log stands. Every event stored after that read either arrives
// over NATS or is found by a sweep.
func (n *Node) Acquire(ctx context.Context, alias string) {
	alias = store.NormAlias(alias)
	n.mu.Lock()
	if i := n.interests[alias]; i != nil {
		i.refs++
		n.mu.Unlock()
		select {
		case <-i.ready:
		case <-ctx.Done():
		}
		return
	}
	i := &interest{refs: 1, ready: make(chan struct{})}
	n.interests[alias] = i
	n.mu.Unlock()

	sub, err := n.nc.ChanSubscribe(n.subject(alias), n.msgs)
	if err == nil {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = n.nc.FlushWithContext(fctx)
		cancel()
	}
	if err != nil && ctx.Err() == nil {
		n.log.Warn("relay cluster: subscribing to a mailbox's events; sweeps deliver them meanwhile", "err", err)
	}
	m, merr := n.db.Mailbox(ctx, alias)

	n.mu.Lock()
	defer n.mu.Unlock()
	i.sub = sub
	if merr == nil {
		i.last = max(i.last, m.LastSeq)
	}
	close(i.ready)
	if i.refs == 0 { // every stream ended meanwhile
		n.drop(alias, i)
	}
}

// Release implements server.Interest.
func (n *Node) Release(alias string) {
	alias = store.NormAlias(alias)
	n.mu.Lock()
	defer n.mu.Unlock()
	i := n.interests[alias]
	if i == nil {
		return
	}
	i.refs--
	if i.refs > 0 {
		return
	}
	select {
	case <-i.ready:
		n.drop(alias, i)
	default: // Acquire drops it when done
	}
}

func (n *Node) drop(alias string, i *interest) {
	if i.sub != nil {
		i.sub.Unsubscribe()
	}
	if n.interests[alias] == i {
		delete(n.interests, alias)
	}
}

// Interests is how many mailboxes this node is subscribed to.
func (n *Node) Interests() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.interests)
}

// Limit implements server.Limiter in PostgreSQL.
func (n *Node) Limit(ctx context.Context, key string, burst int, every time.Duration, now time.Time, op server.LimitOp) (bool, error) {
	pop := postgres.LimitPeek
	switch op {
	case server.LimitTry:
		pop = postgres.LimitTry
	case server.LimitTake:
		pop = postgres.LimitTake
	}
	return n.db.Limit(ctx, key, burst, every, now, pop)
}

// Lead implements relay.Cluster: it blocks until this node holds the
// upstream lease.
func (n *Node) Lead(ctx context.Context) (relay.Lease, error) {
	pl, err := n.db.AcquireLease(ctx, n.opts.LeaseCheck)
	if err != nil {
		return nil, err
	}
	l := &lease{n: n, pl: pl}
	n.term.Store(pl.Term())
	for h := n.heard.Load(); h < pl.Term() && !n.heard.CompareAndSwap(h, pl.Term()); h = n.heard.Load() {
	}
	n.online.Store(false)
	n.log.Info("relay cluster: took the upstream lease", "term", pl.Term())
	return l, nil
}

type lease struct {
	n    *Node
	pl   *postgres.Lease
	once sync.Once
}

func (l *lease) Store() upstream.Store { return fenced{Fenced: l.n.db.Fenced(l.pl.Term()), l: l} }

func (l *lease) Done() <-chan struct{} { return l.pl.Done() }

func (l *lease) Release() {
	l.once.Do(func() {
		l.n.term.CompareAndSwap(l.pl.Term(), 0)
		l.pl.Release()
		l.n.online.Store(false)
		l.n.lastBeat.Store(time.Now().UnixNano()) // give the next holder three heartbeats
		l.n.local.SetUpstream(false)
		l.n.log.Info("relay cluster: gave up the upstream lease", "term", l.pl.Term())
	})
}

// fenced gives the lease up as soon as a write is refused as stale.
type fenced struct {
	postgres.Fenced
	l *lease
}

func (f fenced) AppendBatch(ctx context.Context, evs []store.Event) ([]store.Event, error) {
	out, err := f.Fenced.AppendBatch(ctx, evs)
	if errors.Is(err, store.ErrFenced) {
		f.l.n.log.Warn("relay cluster: another node took the upstream lease; this node's writes are refused", "term", f.l.pl.Term())
		go f.l.pl.Release()
	}
	return out, err
}

// Holding reports whether this node holds the upstream lease.
func (n *Node) Holding() bool { return n.term.Load() != 0 }
