// Package relay assembles the relay server: one upstream exmail listen
// connection (api.Watcher, every mailbox), the store (relay/store), the
// ingest that stores then publishes (relay/upstream) and the HTTP API
// (relay/server). cmd/exmail-relay is a thin main over relay/cli, which
// calls Run.
//
// Sub-packages:
//
//	relay/wire      the protocol vocabulary (event names, JSON lines, ids); std lib only
//	relay/store     the Store interface, secrets and hashing; storetest is its conformance suite
//	relay/store/sqlite    the default Store (modernc.org/sqlite, no cgo)
//	relay/store/postgres  a Store on PostgreSQL (pgx); one node for now
//	relay/server    the /v1 HTTP API, the subscription hub, /metrics
//	relay/upstream  exmail events → stored → published
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
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/upstream"
)

// Config is what Run needs. Zero optional fields take the defaults noted.
type Config struct {
	Store    store.Store  // required; Run does not close it
	API      *api.Client  // required: the enterprise admin client
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
}

// Run serves until ctx is done, then stops gracefully: every stream gets a
// shutdown event, the HTTP servers drain, the upstream connection closes.
// It returns nil after a stop by ctx, or the error that ended it.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Store == nil || cfg.API == nil || cfg.Listener == nil {
		return errors.New("relay: Store, API and Listener are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
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
	var in *upstream.Ingest
	if sopts.Counter == nil {
		// Live counts go through the ingest, which stores and publishes a
		// count that changed.
		sopts.Counter = counterFunc(func(ctx context.Context, alias string) (int, error) { return in.NewCount(ctx, alias) })
	}
	userEnroll := sopts.OnEnroll
	sopts.OnEnroll = func(alias string) {
		if _, err := in.Refresh(ctx, alias); err != nil && ctx.Err() == nil {
			log.Warn("relay: fetching a new device's unread count", "alias", alias, "err", err)
		}
		if userEnroll != nil {
			userEnroll(alias)
		}
	}
	srv := server.New(cfg.Store, cfg.API.Mail, sopts)
	in = upstream.New(cfg.Store, srv, cfg.API.Mail, upstream.Options{Logger: log})
	wopts := cfg.Watch
	wopts.Alias = ""
	if wopts.Logger == nil {
		wopts.Logger = log
	}
	w := api.NewWatcher(cfg.API, wopts)

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
	events := make(chan api.Event, 64)
	wg.Go(func() { srv.Run(ctx) })
	wg.Go(func() { w.Run(ctx, "0", events) })
	wg.Go(func() { in.Run(ctx, events) })
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
