// Package relay assembles the relay server: one upstream (by default the
// exmail v1.4 listen connection, api.Watcher for every mailbox; or
// Tencent's current API, relay/corp), the store (relay/store), the
// ingest that stores then publishes (relay/upstream) and the HTTP API
// (relay/server). cmd/exmail-relay is a thin main over relay/cli, which
// calls Run.
//
// Sub-packages:
//
//	relay/wire      the protocol vocabulary (event names, JSON lines, ids); std lib only
//	relay/store     the Store interface, secrets and hashing; storetest is its conformance suite
//	relay/store/sqlite    the default Store (modernc.org/sqlite, no cgo)
//	relay/store/postgres  a Store on PostgreSQL (pgx), with the upstream lease and fencing for scale-out
//	relay/store/memstore  a Store in memory (std lib only), for the desktop's demo and tests
//	relay/cluster   scale-out: several nodes on one PostgreSQL, NATS between them (implements Cluster)
//	relay/server    the /v1 HTTP API, the subscription hub, /metrics
//	relay/upstream  exmail events → stored → published
//	relay/corp      the upstream on Tencent's current API: its callbacks, or polled counts
//	relay/client    the desktop side (imports no storage)
//	relay/cli       the exmail-relay commands
//	relay/loadgen   the load generator behind cmd/exmail-relay-load
package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/upstream"
)

// Config is what Run needs. Zero optional fields take the defaults noted.
type Config struct {
	Store store.Store // required; Run does not close it
	// API is the v1.4 enterprise admin client, the default upstream
	// (V14(API, Watch)). Required unless Upstream is set.
	API *api.Client
	// Upstream, if set, is where mail comes from instead of API's listen
	// connection: relay/corp's Tencent's current API, for one.
	Upstream Upstream
	Listener net.Listener // required: the API listener; Run closes it
	// TLS, if set, serves the API over TLS on Listener.
	TLS *tls.Config
	// MetricsListener, if set, serves /metrics (Prometheus text).
	MetricsListener net.Listener
	// Server tunes the API (keepalive, limits, …).
	Server server.Options
	// Retention bounds the event log; applied every PruneEvery (default
	// 1 h) and at start.
	Retention  store.Retention
	PruneEvery time.Duration
	// Watch tunes the upstream listen connection (its Alias is ignored:
	// the relay listens for every mailbox).
	Watch api.WatchOptions
	// ShutdownTimeout bounds the graceful stop. Default 10 s.
	ShutdownTimeout time.Duration
	// Logger gets one line per lifecycle change. Default: discard.
	Logger *slog.Logger
	// Ready, if set, is called once the API is being served.
	Ready func(*server.Server)
	// Cluster, if set, makes this process one node of several sharing
	// Store: only the node that holds the cluster's upstream lease keeps
	// the upstream listen connection, and events reach every node's
	// streams through the Cluster. Nil: this process is the only one.
	Cluster Cluster
}

// Upstream is where the relay's mail comes from: Tencent's v1.4 listen
// connection (V14) or its current API (relay/corp). Whichever it is, it
// ends up as the same stored events, so desktops cannot tell them apart.
type Upstream interface {
	// NewCount reads a mailbox's unread count (for /v1/unread, a new
	// device and the refreshes).
	server.Counter
	// LoginURL makes a fresh one-time sign-in link for a mailbox (for
	// /v1/sso; the server passes the device's own alias).
	server.Linker
	// Hold feeds in, the ingest of the node that holds the upstream (the
	// only node, without a cluster), until ctx is done: the events it
	// reads, the counts it refreshes and the upstream's state. watched
	// reports whether a mailbox has an open stream on this node.
	Hold(ctx context.Context, in *upstream.Ingest, watched func(alias string) bool)
}

// Receiver is an Upstream that is also pushed to over HTTP (Tencent's
// callbacks on the current API). Run serves its handler on the API
// listener of every node, at its path, without a bearer token.
type Receiver interface {
	Upstream
	// Receiver returns the push endpoint's path and handler (nil when
	// this upstream takes no pushes after all). The handler
	// gives every message it accepts to push, which stores then publishes
	// it (persist, then publish) and returns an error only when it could
	// not be stored.
	Receiver(push func(ctx context.Context, evs ...api.Event) error) (path string, h http.Handler, err error)
}

// V14 is the v1.4 upstream: one enterprise-wide listen connection through
// c (api.Watcher with no alias; wopts.Alias is ignored), with counts and
// sign-in links from c.Mail. After every (re)connect the holder's ingest
// refreshes every enrolled mailbox's count: exmail replays nothing.
func V14(c *api.Client, wopts api.WatchOptions) Upstream {
	wopts.Alias = ""
	return &v14{c: c, wopts: wopts}
}

type v14 struct {
	c     *api.Client
	wopts api.WatchOptions
}

func (u *v14) NewCount(ctx context.Context, alias string) (int, error) {
	return u.c.Mail.NewCount(ctx, alias)
}

func (u *v14) LoginURL(ctx context.Context, alias, mailID string) (api.Secret, error) {
	return u.c.Mail.LoginURL(ctx, alias, mailID)
}

func (u *v14) Hold(ctx context.Context, in *upstream.Ingest, _ func(string) bool) {
	events := make(chan api.Event, 64)
	w := api.NewWatcher(u.c, u.wopts)
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx, "0", events) })
	wg.Go(func() { in.Run(ctx, events) })
	wg.Wait()
}

// Cluster lets several relay processes share one store. relay/cluster
// implements it over PostgreSQL (the truth, and the lease) and core NATS
// (the doorbell between nodes); relay itself links neither.
type Cluster interface {
	// Acquire and Release are the server's Interest: this node has
	// streams of a mailbox, so it wants the mailbox's events.
	server.Interest
	// Limit keeps the server's rate limits cluster-wide.
	server.Limiter
	// Attach says where events and upstream states published by other
	// nodes go (this node's server), and what to call when another node
	// asks the holder to refresh a mailbox's count. Run calls it once,
	// before anything else.
	Attach(local upstream.Publisher, refresh func(ctx context.Context, alias string))
	// Run carries messages between this node and the others until ctx is
	// done, then returns ctx.Err().
	Run(ctx context.Context) error
	// Publish and SetUpstream deliver what this node, as the holder,
	// stored (persist, then publish) and saw upstream: to its own streams
	// and to every other node's.
	upstream.Publisher
	// Lead blocks until this node holds the upstream lease, or ctx is done.
	Lead(ctx context.Context) (Lease, error)
	// AskRefresh asks the holder, whichever node it is, to refresh alias's
	// stored unread count (mail/newcount). At most once: a lost request
	// leaves the count as it was until the next event.
	AskRefresh(alias string)
}

// Lease is a node's hold on the upstream listen connection.
type Lease interface {
	// Store is where the holder's ingest writes: appends fenced by the
	// lease's term, refused once another node has taken over.
	Store() upstream.Store
	// Done is closed when the lease is lost.
	Done() <-chan struct{}
	// Release gives the lease up; it may be called more than once.
	Release()
}

// Run serves until ctx is done, then stops gracefully: every stream gets a
// shutdown event, the HTTP servers drain, the upstream connection closes.
// It returns nil after a stop by ctx, or the error that ended it.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Store == nil || (cfg.API == nil && cfg.Upstream == nil) || cfg.Listener == nil {
		return errors.New("relay: Store, API (or Upstream) and Listener are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	up := cfg.Upstream
	if up == nil {
		wopts := cfg.Watch
		if wopts.Logger == nil {
			wopts.Logger = log
		}
		up = V14(cfg.API, wopts)
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = time.Hour
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	sopts := cfg.Server
	if sopts.Logger == nil {
		sopts.Logger = log
	}
	// cur is the ingest that stores upstream events: always there for a
	// single node, and only while this node holds the lease in a cluster.
	var cur atomic.Pointer[upstream.Ingest]
	cl := cfg.Cluster
	refresh := func(ctx context.Context, alias string) (int, error) {
		if in := cur.Load(); in != nil {
			return in.Refresh(ctx, alias)
		}
		// Not the holder: ask upstream, and have the holder store a
		// count that changed.
		n, err := up.NewCount(ctx, alias)
		if err == nil && cl != nil {
			if m, merr := cfg.Store.Mailbox(ctx, alias); merr == nil && m.Unread != n {
				cl.AskRefresh(alias)
			}
		}
		return n, err
	}
	if sopts.Counter == nil {
		// Live counts go through the ingest, which stores and publishes a
		// count that changed.
		sopts.Counter = counterFunc(refresh)
	}
	userEnroll := sopts.OnEnroll
	sopts.OnEnroll = func(alias string) {
		if _, err := refresh(ctx, alias); err != nil && ctx.Err() == nil {
			log.Warn("relay: fetching a new device's unread count", "alias", alias, "err", err)
		}
		if userEnroll != nil {
			userEnroll(alias)
		}
	}
	if cl != nil {
		if sopts.Interest == nil {
			sopts.Interest = cl
		}
		if sopts.Limiter == nil {
			sopts.Limiter = cl
		}
	}
	// Pushes (callbacks) may reach any node: the holder's ingest stores
	// them when this node holds the upstream; otherwise an ingest of its
	// own, unfenced and publishing through the cluster, does (the store
	// drops a new mail stored twice).
	var pushIn *upstream.Ingest // set once the server exists, before it serves
	if recv, ok := up.(Receiver); ok {
		push := func(ctx context.Context, evs ...api.Event) error {
			if in := cur.Load(); in != nil {
				return in.Push(ctx, evs...)
			}
			return pushIn.Push(ctx, evs...)
		}
		path, h, err := recv.Receiver(push)
		if err != nil {
			return err
		}
		if h != nil {
			sopts.Callback, sopts.CallbackPath = h, path
			log.Info("relay: receiving upstream callbacks", "path", path)
		}
	}
	srv := server.New(cfg.Store, up, sopts)
	if _, ok := up.(Receiver); ok {
		var local upstream.Publisher = srv
		if cl != nil {
			local = cl
		}
		pushIn = upstream.New(cfg.Store, local, up, upstream.Options{Logger: log})
	}
	// hold runs the upstream and the ingest into st until ctx is done.
	hold := func(ctx context.Context, st upstream.Store, pub upstream.Publisher) {
		in := upstream.New(st, pub, up, upstream.Options{Logger: log})
		cur.Store(in)
		defer cur.Store(nil)
		up.Hold(ctx, in, srv.Watched)
	}

	if cl != nil {
		// Before the API serves: a push may publish through cl at once.
		cl.Attach(srv, func(ctx context.Context, alias string) {
			if in := cur.Load(); in != nil {
				if _, err := in.Refresh(ctx, alias); err != nil && ctx.Err() == nil {
					log.Warn("relay: refreshing a count another node asked for", "alias", alias, "err", err)
				}
			}
		})
	}
	hs := srv.HTTPServer(cfg.Listener.Addr().String())
	hs.TLSConfig = cfg.TLS
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Go(func() {
		var err error
		if cfg.TLS != nil {
			err = hs.ServeTLS(cfg.Listener, "", "")
		} else {
			err = hs.Serve(cfg.Listener)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	})
	var ms *http.Server
	if cfg.MetricsListener != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		ms = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 8 << 10}
		wg.Go(func() {
			if err := ms.Serve(cfg.MetricsListener); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		})
	}
	wg.Go(func() { srv.Run(ctx) })
	if cl == nil {
		wg.Go(func() { hold(ctx, cfg.Store, srv) })
	} else {
		wg.Go(func() {
			if err := cl.Run(ctx); err != nil && ctx.Err() == nil {
				errc <- err
			}
		})
		wg.Go(func() { lead(ctx, cl, hold, log) })
	}
	wg.Go(func() { prune(ctx, cfg.Store, cfg.Retention, cfg.PruneEvery, log) })
	log.Info("relay: serving", "addr", cfg.Listener.Addr().String(), "tls", cfg.TLS != nil, "epoch", cfg.Store.Epoch())
	if cfg.Ready != nil {
		cfg.Ready(srv)
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		log.Error("relay: serving failed", "err", err)
	}
	log.Info("relay: stopping")
	srv.Shutdown() // streams get a shutdown event and end
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer scancel()
	if serr := hs.Shutdown(sctx); serr != nil {
		hs.Close()
	}
	if ms != nil {
		ms.Close()
	}
	cancel()
	wg.Wait()
	log.Info("relay: stopped")
	return err
}

// lead holds the upstream listen connection whenever this node holds the
// cluster's lease, until ctx is done. Each takeover starts a fresh
// watcher, whose first "online" makes the ingest call mail/newcount for
// every enrolled mailbox: exmail replays nothing.
func lead(ctx context.Context, cl Cluster, hold func(context.Context, upstream.Store, upstream.Publisher), log *slog.Logger) {
	for ctx.Err() == nil {
		lease, err := cl.Lead(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("relay: waiting for the upstream lease", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		log.Info("relay: holding the upstream lease; opening the upstream listen")
		lctx, lcancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lease.Done():
			case <-lctx.Done():
			}
			lcancel()
		}()
		hold(lctx, lease.Store(), cl)
		lcancel()
		lease.Release()
		if ctx.Err() == nil {
			log.Warn("relay: lost the upstream lease; the upstream listen is closed")
		}
	}
}

type counterFunc func(ctx context.Context, alias string) (int, error)

func (f counterFunc) NewCount(ctx context.Context, alias string) (int, error) { return f(ctx, alias) }

func prune(ctx context.Context, st store.Store, r store.Retention, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := st.Prune(ctx, r, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("relay: applying retention", "err", err)
		case n > 0:
			log.Info("relay: retention deleted old events", "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
