package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay"
	"github.com/exmail-notifier/exmail-notifier/relay/cluster"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/postgres"
)

const serveUsage = `Usage: exmail-relay serve --listen ADDR [--tls-cert FILE --tls-key FILE] [--db DSN]
                          [--nats URL] [--metrics-listen ADDR] [--keepalive 55s] [--secret-file FILE]

Runs the relay until SIGINT or SIGTERM (then stops gracefully, exit 0):
one upstream listen connection for every mailbox, and the /v1 API that
enrolled desktops use. Plain HTTP is allowed only on a loopback address
(behind a TLS-terminating proxy on the same machine); any other address
needs --tls-cert and --tls-key.

The admin account comes from EXMAIL_AGENT; the endpoints from
EXMAIL_TOKEN_URL, EXMAIL_API_URL and EXMAIL_LOGIN_URL; the interface key
from --secret-file, $CREDENTIALS_DIRECTORY/exmail-secret (systemd
LoadCredential=exmail-secret:/etc/exmail-relay/secret) or EXMAIL_SECRET.
It is never accepted as a flag value, and never written to the database or
a log.

Scale-out: with --db postgres://… and --nats nats://… (or EXMAIL_RELAY_NATS,
the place for a URL with a password), several serve processes share the
work. Exactly one of them, the holder of a PostgreSQL advisory lock, keeps
the upstream listen connection; when it dies another takes over within
seconds. Every node serves streams, and events reach them over NATS (and
from PostgreSQL when NATS lost one). The lock needs a direct connection to
PostgreSQL or a session-mode pooler, never a transaction-mode pooler.
`

type prefixes []netip.Prefix

func (p *prefixes) String() string { return fmt.Sprint(*p) }
func (p *prefixes) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return err
			}
			part = netip.PrefixFrom(a, a.BitLen()).String()
		}
		pr, err := netip.ParsePrefix(part)
		if err != nil {
			return err
		}
		*p = append(*p, pr)
	}
	return nil
}

func cmdServe(ctx context.Context, e Env, args []string) error {
	f := newFlags(e, "serve", serveUsage)
	listen := f.String("listen", "", "the API address, e.g. :8443 (TLS) or 127.0.0.1:8080 (plain HTTP behind a local proxy)")
	db := dbFlag(f)
	cert := f.String("tls-cert", "", "the TLS certificate chain (PEM)")
	key := f.String("tls-key", "", "the TLS private key (PEM)")
	metrics := f.String("metrics-listen", "", "serve Prometheus /metrics on this address (keep it private)")
	keepalive := f.Duration("keepalive", server.DefaultKeepalive, "keepalive comment interval on idle streams; clients reconnect after 2×this+5s of silence")
	secretFile := f.String("secret-file", "", "read the interface key from this file")
	var trusted prefixes
	f.Var(&trusted, "trusted-proxy", "addresses or CIDRs whose X-Forwarded-For is trusted (repeatable, comma-separated)")
	maxEvents := f.Int("retention-events", 1000, "keep at most this many events per mailbox")
	maxAge := f.Duration("retention-age", 30*24*time.Hour, "delete events older than this")
	contentAge := f.Duration("content-age", 7*24*time.Hour, "drop subjects and summaries of events older than this")
	deviceIdle := f.Duration("device-idle", 180*24*time.Hour, "revoke devices not seen for this long")
	natsURL := f.String("nats", "", "scale-out: the NATS server (nats://host:4222) that carries events between relay nodes; needs --db postgres://… (a URL with a password belongs in EXMAIL_RELAY_NATS, not in argv)")
	debug := f.Bool("debug", false, "log debug lines")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return f.usageErrorf("serve takes no arguments, got %q", pos[0])
	}
	if *listen == "" {
		return f.usageErrorf("--listen is required")
	}
	if (*cert == "") != (*key == "") {
		return f.usageErrorf("--tls-cert and --tls-key go together")
	}
	if *natsURL == "" {
		*natsURL = e.Getenv("EXMAIL_RELAY_NATS")
	}
	if *keepalive < time.Second {
		return f.usageErrorf("--keepalive must be at least 1s, got %v", *keepalive)
	}
	if *cert == "" {
		if ok, err := loopback(*listen); err != nil {
			return f.usageErrorf("--listen: %v", err)
		} else if !ok {
			return f.usageErrorf("--listen %s is not a loopback address: plain HTTP would carry device tokens in clear; add --tls-cert and --tls-key", *listen)
		}
	}
	if *metrics != "" {
		if ok, err := loopback(*metrics); err != nil {
			return f.usageErrorf("--metrics-listen: %v", err)
		} else if !ok {
			fmt.Fprintf(e.Stderr, "exmail-relay serve: warning: /metrics on %s is reachable from the network; firewall it\n", *metrics)
		}
	}

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: level}))

	c, secret, err := apiClient(e, *secretFile)
	if err != nil {
		return err
	}
	var tlsConf *tls.Config
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// A rejected key is fatal at start; an unreachable server is not (the
	// watcher retries, and devices see "upstream offline").
	cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
	_, err = c.CheckToken(cctx)
	ccancel()
	switch {
	case api.IsAuth(err):
		return fmt.Errorf("the admin account or interface key was rejected: %w", err)
	case err != nil:
		log.Warn("relay: exmail is not reachable yet; retrying in the background", "err", err)
	}

	st, err := openStore(ctx, e, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	var cl relay.Cluster
	if *natsURL != "" {
		pg, ok := st.(*postgres.DB)
		if !ok {
			return f.usageErrorf("--nats needs --db postgres://…: the nodes share PostgreSQL")
		}
		host, _ := os.Hostname()
		node, err := cluster.New(ctx, pg, cluster.Options{NATS: *natsURL, Key: []byte(secret.Reveal()), Name: fmt.Sprintf("exmail-relay %s/%d", host, os.Getpid()), Logger: log})
		if err != nil {
			return err
		}
		defer node.Close()
		cl = node
		log.Info("relay: scale-out node; the upstream listen is held by whichever node holds the lease")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	var mln net.Listener
	if *metrics != "" {
		if mln, err = net.Listen("tcp", *metrics); err != nil {
			ln.Close()
			return err
		}
		log.Info("relay: metrics", "addr", mln.Addr().String())
	}
	err = relay.Run(ctx, relay.Config{
		Store: st, API: c, Listener: ln, TLS: tlsConf, MetricsListener: mln,
		Server:    server.Options{Keepalive: *keepalive, TrustedProxies: trusted},
		Retention: store.Retention{MaxEvents: *maxEvents, MaxAge: *maxAge, ContentAge: *contentAge, DeviceIdle: *deviceIdle},
		Logger:    log,
		Cluster:   cl,
		Ready: func(*server.Server) {
			if e.Ready != nil {
				e.Ready(ln.Addr().String())
			}
		},
	})
	if mln != nil {
		mln.Close()
	}
	return err
}

// loopback reports whether addr (host:port) listens on loopback only.
// An empty host means every interface.
func loopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		if host == "" {
			return false, nil
		}
		return false, errors.New("use an IP address, or localhost")
	}
	return a.IsLoopback(), nil
}
