package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/corpapi/callback"
	"github.com/exmail-notifier/exmail-notifier/relay"
	"github.com/exmail-notifier/exmail-notifier/relay/cluster"
	"github.com/exmail-notifier/exmail-notifier/relay/corp"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/postgres"
)

const serveUsage = `Usage: exmail-relay serve --listen ADDR [--tls-cert FILE --tls-key FILE] [--db DSN]
                          [--nats URL] [--metrics-listen ADDR] [--keepalive 55s]
                          [--upstream v14|corp] [--secret-file FILE]
                          [--corp-sso-secret-file FILE] [--corp-mail-secret-file FILE]
                          [--callback-secret-file FILE]

Runs the relay until SIGINT or SIGTERM (then stops gracefully, exit 0):
one upstream for every mailbox, and the /v1 API that enrolled desktops
use. Plain HTTP is allowed only on a loopback address (behind a
TLS-terminating proxy on the same machine); any other address needs
--tls-cert and --tls-key.

The upstream (--upstream, default $EXMAIL_RELAY_UPSTREAM, else v14):

v14, BizMail OpenApi v1.4: one listen connection. The admin account comes
from EXMAIL_AGENT; the endpoints from EXMAIL_TOKEN_URL, EXMAIL_API_URL and
EXMAIL_LOGIN_URL; the interface key from --secret-file,
$CREDENTIALS_DIRECTORY/exmail-secret (systemd
LoadCredential=exmail-secret:/etc/exmail-relay/secret) or EXMAIL_SECRET.

corp, Tencent's current API (api.exmail.qq.com): the corpid comes from
EXMAIL_CORPID, the endpoint from EXMAIL_CORP_API_URL (default
https://api.exmail.qq.com/cgi-bin/); the secret of the 单点登录 (SSO)
application from --corp-sso-secret-file, the credential
exmail-corp-sso-secret or EXMAIL_CORP_SSO_SECRET; the secret of the
新邮件提醒 (new-mail reminder) application from --corp-mail-secret-file,
the credential exmail-corp-mail-secret or EXMAIL_CORP_MAIL_SECRET.
  With callbacks: set the 新邮件提醒 application to callback mode with the
  URL https://<this relay>/callback/exmail (Tencent calls only ports 80,
  443 and 8080), and give the relay the same Token and 43-character
  EncodingAESKey: --callback-secret-file (Token on the first line, key on
  the second), the credential exmail-callback, or EXMAIL_CALLBACK_TOKEN
  and EXMAIL_CALLBACK_AES_KEY. New mail is then pushed, with sender and
  subject; counts are still read after start and every 30 minutes.
  Without callbacks the relay polls mail/newcount: every --corp-poll-live
  for a mailbox a desktop is watching, every --corp-poll-idle for the
  others, at most --corp-poll-budget calls a minute; desktops then get
  counts only (no sender or subject).

Secrets are never accepted as flag values, and never written to the
database or a log.

Scale-out: with --db postgres://… and --nats nats://… (or EXMAIL_RELAY_NATS,
the place for a URL with a password), several serve processes share the
work. Exactly one of them, the holder of a PostgreSQL advisory lock, keeps
the upstream listen connection (or, on the current API, polls the counts;
callbacks are taken by any node); when it dies another takes over within
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
	uf := addUpstreamFlags(f, true)
	pollLive := f.Duration("corp-poll-live", corp.DefaultLiveEvery, "corp without callbacks: how often a mailbox with an open stream is counted")
	pollIdle := f.Duration("corp-poll-idle", corp.DefaultIdleEvery, "corp without callbacks: how often the other mailboxes are counted")
	pollBudget := f.Int("corp-poll-budget", corp.DefaultBudget, "corp: at most this many mail/newcount calls a minute")
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
	if *pollLive < time.Second || *pollIdle < *pollLive || *pollBudget < 1 {
		return f.usageErrorf("--corp-poll-live must be at least 1s, --corp-poll-idle at least that, --corp-poll-budget at least 1")
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

	up, err := uf.open(f, e, true, true)
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
	// upstream retries, and devices see "upstream offline").
	var rcfg relay.Config
	switch up.kind {
	case upstreamCorp:
		cu, err := startCorp(ctx, e, up, log, corp.Options{LiveEvery: *pollLive, IdleEvery: *pollIdle, Budget: *pollBudget})
		if err != nil {
			return err
		}
		rcfg.Upstream = cu
	default:
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		_, err = up.v14.CheckToken(cctx)
		ccancel()
		switch {
		case api.IsAuth(err):
			return fmt.Errorf("the admin account or interface key was rejected: %w", err)
		case err != nil:
			log.Warn("relay: exmail is not reachable yet; retrying in the background", "err", err)
		}
		rcfg.API = up.v14
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
		node, err := cluster.New(ctx, pg, cluster.Options{NATS: *natsURL, Key: up.clusterKey(), Name: fmt.Sprintf("exmail-relay %s/%d", host, os.Getpid()), Logger: log})
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
	rcfg.Store, rcfg.Listener, rcfg.TLS, rcfg.MetricsListener = st, ln, tlsConf, mln
	rcfg.Server = server.Options{Keepalive: *keepalive, TrustedProxies: trusted}
	rcfg.Retention = store.Retention{MaxEvents: *maxEvents, MaxAge: *maxAge, ContentAge: *contentAge, DeviceIdle: *deviceIdle}
	rcfg.Logger, rcfg.Cluster = log, cl
	rcfg.Ready = func(*server.Server) {
		if e.Ready != nil {
			e.Ready(ln.Addr().String())
		}
	}
	err = relay.Run(ctx, rcfg)
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

// startCorp checks the current API's secrets and returns its upstream.
// A secret the server rejects is fatal, naming the variable to fix; an
// unreachable server is not.
func startCorp(ctx context.Context, e Env, up *upstreamConn, log *slog.Logger, o corp.Options) (*corp.Upstream, error) {
	for _, chk := range []struct {
		app corpapi.App
		env string
	}{{corpapi.AppNewMail, corpMail.env}, {corpapi.AppSSO, corpSSO.env}} {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := up.corp.CheckToken(cctx, chk.app)
		cancel()
		switch {
		case api.IsAuth(err):
			return nil, fmt.Errorf("the corpid (EXMAIL_CORPID) or the secret of the %s application (%s) was rejected: %w", chk.app, chk.env, err)
		case err != nil:
			log.Warn("relay: Tencent's current API is not reachable yet; retrying in the background", "app", chk.app.String(), "err", err)
		}
	}
	o.Client, o.Logger = up.corp, log
	o.Token, o.EncodingAESKey = up.cbToken, up.cbAESKey
	cu, err := corp.New(o)
	if err != nil {
		return nil, err
	}
	if cu.Callbacks() {
		where := "<the relay's public URL>" + callback.Path
		if pub := strings.TrimRight(e.Getenv("EXMAIL_RELAY_URL"), "/"); pub != "" {
			where = pub + callback.Path
			if u, err := url.Parse(pub); err == nil && u.Port() != "" && u.Port() != "80" && u.Port() != "443" && u.Port() != "8080" {
				log.Warn("relay: Tencent calls back only on ports 80, 443 and 8080; EXMAIL_RELAY_URL names another", "port", u.Port())
			}
		}
		log.Info("relay: upstream is Tencent's current API with callbacks; set the 新邮件提醒 application's callback URL to this", "url", where)
	} else {
		log.Info("relay: upstream is Tencent's current API without callbacks: polling mail/newcount (counts only)", "live_every", o.LiveEvery, "idle_every", o.IdleEvery, "budget_per_minute", o.Budget)
	}
	return cu, nil
}
