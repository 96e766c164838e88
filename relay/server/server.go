// Package server is the relay's HTTP side: the /v1 API that enrolled
// desktops use (an SSE event stream, the unread count, single sign-on and
// enrollment), /healthz, and a Prometheus /metrics handler to serve on a
// separate listener.
//
// Every /v1 call but enroll authenticates with a device token in the
// "Authorization: Bearer" header, and the device's mailbox comes from the
// token: nothing in a request chooses it. Events are stored first (by the
// caller of Publish, in the Store) and only then published, so a stream
// that drops can always resume from the store by Last-Event-ID.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

// Linker returns a fresh SSO URL for a mailbox (api.MailService does).
type Linker interface {
	LoginURL(ctx context.Context, alias, mailID string) (api.Secret, error)
}

// Counter fetches a mailbox's unread count upstream (api.MailService does).
type Counter interface {
	NewCount(ctx context.Context, alias string) (int, error)
}

// Interest is told which mailboxes have open streams on this server, so
// that events stored by another relay node reach them (relay/cluster
// implements it over NATS). A single node needs none.
type Interest interface {
	// Acquire is called when a stream of alias opens: after the stream is
	// registered for Publish, before the store is read for its replay. It
	// returns once every event of alias stored from then on will reach
	// Publish (through the other nodes' messages, or the store when one is
	// missed), or when ctx is done.
	Acquire(ctx context.Context, alias string)
	// Release is called once for every Acquire, when its stream ends.
	Release(alias string)
}

// LimitOp says what a Limiter does with a key's token bucket.
type LimitOp int

const (
	LimitPeek LimitOp = iota // report whether a token is left, spend none
	LimitTry                 // spend a token if one is left; report whether it did
	LimitTake                // spend a token (down to zero); report true
)

// Limiter is a token-bucket rate limiter shared by every relay node, so
// that a limit holds cluster-wide (relay/cluster implements it in
// PostgreSQL). key names the limit and the device or address; burst and
// every are the bucket's size and refill interval.
type Limiter interface {
	Limit(ctx context.Context, key string, burst int, every time.Duration, now time.Time, op LimitOp) (bool, error)
}

// Defaults of Options.
const (
	DefaultKeepalive    = 55 * time.Second
	DefaultRetry        = 2 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultQueue        = 16
	DefaultRevokePoll   = 250 * time.Millisecond
	DefaultSSOBurst     = 5
	DefaultSSOEvery     = 6 * time.Second
	DefaultEnrollFails  = 10
	DefaultEnrollWindow = 10 * time.Minute
	maxBody             = 4 << 10
	// MaxCallbackBody bounds a request body on Options.CallbackPath.
	MaxCallbackBody = 64 << 10
	replayPage      = 500
)

// Options tunes a Server. Zero fields take the default noted on them.
type Options struct {
	// Keepalive is the interval of the ": keepalive" comment on idle
	// streams. Clients reconnect after 2×Keepalive+5 s of silence.
	// Default 55 s.
	Keepalive time.Duration
	// Retry is the reconnect delay sent as "retry:" on connect. Default 2 s.
	Retry time.Duration
	// WriteTimeout bounds each write to a stream; a client that does not
	// take the bytes in time is disconnected. Default 10 s.
	WriteTimeout time.Duration
	// Queue is how many events may wait for one stream before it is
	// disconnected as too slow (it then resumes from the store). Default 16.
	Queue int
	// RevokePoll is how often the store is asked for revocations made by
	// other processes (the revoke command). Default 250 ms.
	RevokePoll time.Duration
	// SSOBurst and SSOEvery are the per-device SSO rate limit: a burst of
	// SSOBurst, then one per SSOEvery. Defaults 5 and 6 s (10 a minute).
	SSOBurst int
	SSOEvery time.Duration
	// CountBurst and CountEvery are the per-device budget of live counts
	// on /v1/unread; beyond it the stored count is answered. Defaults 10
	// and 6 s.
	CountBurst int
	CountEvery time.Duration
	// EnrollFails failed enrollments within EnrollWindow from one source
	// address make further attempts from it answer 429 until the window
	// ends. Defaults 10 and 10 minutes.
	EnrollFails  int
	EnrollWindow time.Duration
	// TrustedProxies are the addresses whose X-Forwarded-For is believed
	// for the source address. Default none: the peer address is the source.
	TrustedProxies []netip.Prefix
	// Counter, if set, answers /v1/unread (within CountBurst/CountEvery)
	// and the first state for a mailbox whose count the store does not
	// know yet. relay.Run passes the ingest, which also stores a count
	// that changed.
	Counter Counter
	// OnEnroll, if set, is called (in its own goroutine) after a device
	// enrolled, e.g. to fetch the mailbox's count.
	OnEnroll func(alias string)
	// Interest, if set, is told which mailboxes have open streams here.
	Interest Interest
	// Callback, if set, is served at CallbackPath (every method: the
	// handler answers what it does not serve): the endpoint an upstream
	// pushes to (Tencent's current API, corpapi/callback). It takes no
	// bearer token, since the handler authenticates each request itself,
	// but bodies are bounded (MaxCallbackBody) and must arrive within
	// 10 s, like every other request body.
	Callback     http.Handler
	CallbackPath string
	// Limiter, if set, keeps the SSO, live-count and failed-enrollment
	// limits cluster-wide instead of per process. If it fails, the
	// process's own limiter answers (and the failure is logged).
	Limiter Limiter
	// Logger gets one line per lifecycle change and per refused request;
	// never a token, code or URL query. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Keepalive, DefaultKeepalive)
	def(&o.Retry, DefaultRetry)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.RevokePoll, DefaultRevokePoll)
	def(&o.SSOEvery, DefaultSSOEvery)
	def(&o.CountEvery, 6*time.Second)
	def(&o.EnrollWindow, DefaultEnrollWindow)
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.SSOBurst <= 0 {
		o.SSOBurst = DefaultSSOBurst
	}
	if o.CountBurst <= 0 {
		o.CountBurst = 10
	}
	if o.EnrollFails <= 0 {
		o.EnrollFails = DefaultEnrollFails
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Server serves the relay API for one Store.
type Server struct {
	st     store.Store
	linker Linker
	opts   Options
	log    *slog.Logger
	hub    *hub
	epoch  string

	sso    *limiter // per device
	counts *limiter // live counts per device
	enroll *limiter // failures per source address

	mu      sync.Mutex
	closing bool                 // Shutdown began: no more hijacked streams
	seen    map[string]time.Time // last-seen times not yet written
	streams sync.WaitGroup       // the hijacked streams' goroutines

	m metrics
}

type metrics struct {
	events, ssoOK, ssoLimited, ssoFailed, enrollOK, enrollFailed, unauthorized, revokedKicks atomic.Int64
	connects, resumes, resets, writeFailures                                                 atomic.Int64
	callbacksOK, callbacksRefused                                                            atomic.Int64
}

// New returns a Server over st; linker makes the SSO URLs. Call Run for
// its background work and Shutdown to end the streams.
func New(st store.Store, linker Linker, opts Options) *Server {
	opts = opts.withDefaults()
	return &Server{
		st: st, linker: linker, opts: opts, log: opts.Logger,
		hub:    newHub(opts.Queue),
		epoch:  st.Epoch(),
		sso:    newLimiter(opts.SSOBurst, opts.SSOEvery),
		counts: newLimiter(opts.CountBurst, opts.CountEvery),
		enroll: newLimiter(opts.EnrollFails, opts.EnrollWindow/time.Duration(opts.EnrollFails)),
	}
}

// Run polls the store for revocations (also those made by other processes)
// and closes the revoked devices' streams, until ctx is done. It returns
// ctx.Err().
func (s *Server) Run(ctx context.Context) error {
	_, last, err := s.st.Revocations(ctx, 0)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("relay: reading revocations", "err", err)
	}
	t := time.NewTicker(s.opts.RevokePoll)
	defer t.Stop()
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	defer s.flushSeen(context.WithoutCancel(ctx))
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sweep.C:
			s.sso.sweep(s.opts.Now())
			s.counts.sweep(s.opts.Now())
			s.enroll.sweep(s.opts.Now())
			s.flushSeen(ctx)
			continue
		case <-t.C:
		}
		ids, n, err := s.st.Revocations(ctx, last)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("relay: reading revocations", "err", err)
			}
			continue
		}
		last = n
		for _, id := range ids {
			s.kick(id)
		}
	}
}

// markSeen notes that dev made a request. The store is updated by Run at
// most once a minute per device, off the request path, so that a storm
// of reconnects after a restart does not queue on the database.
func (s *Server) markSeen(dev store.Device) {
	now := s.opts.Now()
	if now.Sub(dev.LastSeen) < time.Minute {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]time.Time{}
	}
	s.seen[dev.ID] = now
}

// flushSeen writes the noted last-seen times.
func (s *Server) flushSeen(ctx context.Context) {
	s.mu.Lock()
	seen := s.seen
	s.seen = nil
	s.mu.Unlock()
	for id, t := range seen {
		if err := s.st.Seen(ctx, id, t); err != nil && ctx.Err() == nil {
			s.log.Warn("relay: recording last seen", "device", id, "err", err)
		}
	}
}

func (s *Server) kick(device string) {
	s.m.revokedKicks.Add(1)
	s.hub.revoke(device)
}

// Publish sends a stored event (as returned by Store.Append) to the
// mailbox's open streams. It never blocks on a stream.
func (s *Server) Publish(ev store.Event) {
	s.m.events.Add(1)
	f := frame(wire.ID{Epoch: s.epoch, Seq: ev.Seq}, ev.Kind, ev.Data)
	s.hub.publish(ev.Alias, message{seq: ev.Seq, unread: ev.Unread, frame: f, chunk: chunk(f)})
}

// SetUpstream records whether the upstream (exmail listen) connection is
// up; every open stream gets a fresh state event when it changes.
func (s *Server) SetUpstream(online bool) { s.hub.setUpstream(online) }

// Watched reports whether alias has an open event stream on this server
// (a desktop is looking now), e.g. to read its count more often.
func (s *Server) Watched(alias string) bool { return s.hub.watched(store.NormAlias(alias)) }

// Subscribers is how many event streams are open.
func (s *Server) Subscribers() int { return s.hub.subscribers() }

// Shutdown sends a shutdown event to every open stream and closes them;
// new streams are refused. It waits, at most WriteTimeout plus a second,
// for the streams that no handler holds (see handleEvents). Call it before
// http.Server.Shutdown, which waits for the other streams' handlers.
func (s *Server) Shutdown() {
	s.hub.shutdown()
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.streams.Wait(); close(done) }()
	t := time.NewTimer(s.opts.WriteTimeout + time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("relay: some streams did not end in time")
	}
}

// Handler is the API: /v1/* and /healthz (both refuse browser Origins).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.noBrowser(s.healthz))
	mux.HandleFunc("POST /v1/enroll", s.v1(s.handleEnroll))
	mux.HandleFunc("GET /v1/events", s.v1(s.authed(s.handleEvents)))
	mux.HandleFunc("GET /v1/unread", s.v1(s.authed(s.handleUnread)))
	mux.HandleFunc("POST /v1/sso", s.v1(s.authed(s.handleSSO)))
	if s.opts.Callback != nil && s.opts.CallbackPath != "" {
		mux.Handle(s.opts.CallbackPath, s.callback(s.opts.Callback))
	}
	return mux
}

// callback applies the rules of the push endpoint: no caching, a bounded
// body that must come quickly, and no bearer token (h checks its own
// signature). It counts what h accepted and refused, for /metrics.
func (s *Server) callback(h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet {
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(10 * time.Second))
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxCallbackBody)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.status < 300 {
			s.m.callbacksOK.Add(1)
		} else {
			s.m.callbacksRefused.Add(1)
		}
	}
}

// statusWriter records the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// HTTPServer returns an http.Server for Handler on addr with the timeouts
// and limits a public endpoint needs. It has no WriteTimeout: streams set
// a deadline per write instead.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	up := wire.UpstreamOffline
	if s.hub.upstream.Load() {
		up = wire.UpstreamOnline
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "upstream": up})
}

// noBrowser refuses requests that carry an Origin header: no web page may
// read the relay, not even its health (which tells whether exmail is up).
func (s *Server) noBrowser(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			w.Header().Set("Cache-Control", "no-store")
			s.log.Info("relay: refused a browser request", "path", r.URL.Path, "source", s.source(r))
			writeError(w, http.StatusForbidden, "browser origins are not allowed")
			return
		}
		h(w, r)
	}
}

// v1 applies the rules of every /v1 call: no browser origins, no
// credentials in the query string, no caching.
func (s *Server) v1(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Header.Get("Origin") != "" {
			s.log.Info("relay: refused a browser request", "path", r.URL.Path, "source", s.source(r))
			writeError(w, http.StatusForbidden, "browser origins are not allowed")
			return
		}
		if credentialInQuery(r) {
			s.m.unauthorized.Add(1)
			s.log.Warn("relay: refused a credential in a URL; use the Authorization header", "path", r.URL.Path, "source", s.source(r))
			unauthorized(w)
			return
		}
		if r.Method != http.MethodGet {
			// Bodies are small and must come quickly. (No server-wide
			// ReadTimeout: it would cancel the streams' contexts.)
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(10 * time.Second))
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r)
	}
}

// credentialInQuery reports a query string that carries a token or code:
// a parameter named like one, or any value with a relay secret's prefix.
func credentialInQuery(r *http.Request) bool {
	if r.URL.RawQuery == "" {
		return false
	}
	q := r.URL.Query()
	for k, vs := range q {
		switch strings.ToLower(k) {
		case "token", "access_token", "auth", "authorization", "bearer", "code":
			return true
		}
		for _, v := range vs {
			if strings.HasPrefix(v, wire.TokenPrefix) || strings.HasPrefix(v, wire.CodePrefix) {
				return true
			}
		}
	}
	return false
}

type authedHandler func(w http.ResponseWriter, r *http.Request, dev store.Device)

// authed resolves the bearer token to an active device, or answers 401.
// Unknown, malformed and revoked tokens get the same answer.
func (s *Server) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			s.m.unauthorized.Add(1)
			unauthorized(w)
			return
		}
		var (
			dev store.Device
			err error
		)
		offload(func() {
			dev, err = s.st.DeviceByToken(r.Context(), store.HashSecret(tok))
		})
		if err == nil && dev.Active() {
			s.markSeen(dev)
		}
		switch {
		case errors.Is(err, store.ErrNotFound), err == nil && !dev.Active():
			s.m.unauthorized.Add(1)
			unauthorized(w)
			return
		case err != nil:
			s.log.Error("relay: looking up a device", "err", err)
			writeError(w, http.StatusServiceUnavailable, "unavailable")
			return
		}
		h(w, r, dev)
	}
}

func bearer(r *http.Request) (api.Secret, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(p):])
	if !strings.HasPrefix(tok, wire.TokenPrefix) || len(tok) > 128 {
		return "", false
	}
	return api.Secret(tok), true
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="exmail-relay"`)
	writeError(w, http.StatusUnauthorized, "unauthorized")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := wire.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, wire.ErrorReply{Error: msg})
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// source is the client's address: the peer, or for a trusted proxy the
// rightmost untrusted X-Forwarded-For entry.
func (s *Server) source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	src := s.source(r)
	now := s.opts.Now()
	if !s.limit(r.Context(), "enroll", s.enroll, src, LimitPeek) {
		s.log.Warn("relay: enrollment attempts throttled", "source", src)
		w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.EnrollWindow.Seconds())))
		writeError(w, http.StatusTooManyRequests, "too many failed attempts; try again later")
		return
	}
	var req wire.EnrollRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "the body must be {\"code\":…,\"name\":…}")
		return
	}
	code := api.Secret(strings.TrimSpace(req.Code))
	name := wire.Clean(req.Name, 64)
	if name == "" {
		name = "unnamed"
	}
	fail := func(result string) {
		s.m.enrollFailed.Add(1)
		s.limit(r.Context(), "enroll", s.enroll, src, LimitTake)
		s.audit(r.Context(), store.Audit{Time: now, Action: "enroll", Source: src, Result: result})
		s.log.Info("relay: enrollment refused", "source", src)
		unauthorized(w)
	}
	if !strings.HasPrefix(code.Reveal(), wire.CodePrefix) {
		fail("invalid code")
		return
	}
	tok := store.NewToken()
	dev, err := s.st.Enroll(r.Context(), store.HashSecret(code), store.HashSecret(tok), name, now)
	switch {
	case errors.Is(err, store.ErrCodeInvalid):
		fail("invalid code")
		return
	case err != nil:
		s.log.Error("relay: enrolling", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable")
		return
	}
	s.m.enrollOK.Add(1)
	s.audit(r.Context(), store.Audit{Time: now, Device: dev.ID, Alias: dev.Alias, Action: "enroll", Source: src, Result: "ok"})
	s.log.Info("relay: device enrolled", "device", dev.ID, "alias", dev.Alias, "source", src)
	if s.opts.OnEnroll != nil {
		go s.opts.OnEnroll(dev.Alias)
	}
	writeJSON(w, http.StatusOK, wire.EnrollReply{Token: tok.Reveal(), Alias: dev.Alias, DeviceID: dev.ID})
}

func (s *Server) audit(ctx context.Context, a store.Audit) {
	if err := s.st.AddAudit(context.WithoutCancel(ctx), a); err != nil {
		s.log.Error("relay: writing the audit trail", "action", a.Action, "err", err)
	}
}

// unread is the mailbox's count as the relay knows it, asking upstream
// (Counter) only when the store has none yet, and then only within the
// device's count budget: streams a device opens over and over must not
// spend the enterprise's API quota (found by review). Past the budget it
// is 0 until the store learns the count.
func (s *Server) unread(ctx context.Context, dev store.Device) (int, error) {
	m, err := s.st.Mailbox(ctx, dev.Alias)
	if err != nil {
		return 0, err
	}
	if m.Unread >= 0 || s.opts.Counter == nil || !s.limit(ctx, "count", s.counts, dev.ID, LimitTry) {
		return max(m.Unread, 0), nil
	}
	return s.opts.Counter.NewCount(ctx, dev.Alias)
}

// liveUnread is the count upstream (Counter) within the device's budget,
// else, or when upstream fails, the stored one.
func (s *Server) liveUnread(ctx context.Context, dev store.Device) (int, error) {
	if s.opts.Counter != nil && s.limit(ctx, "count", s.counts, dev.ID, LimitTry) {
		n, err := s.opts.Counter.NewCount(ctx, dev.Alias)
		if err == nil {
			return n, nil
		}
		s.log.Warn("relay: unread count upstream; answering the stored one", "device", dev.ID, "err", err)
		if m, merr := s.st.Mailbox(ctx, dev.Alias); merr == nil && m.Unread >= 0 {
			return m.Unread, nil
		}
		return 0, err
	}
	m, err := s.st.Mailbox(ctx, dev.Alias)
	return max(m.Unread, 0), err
}

// handleUnread answers the count upstream (mail/newcount), so that it is
// exact even just after a change; beyond a per-device budget (a burst of
// CountBurst, then one per CountEvery) it answers the stored count.
func (s *Server) handleUnread(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var (
		n   int
		err error
	)
	offload(func() { n, err = s.liveUnread(r.Context(), dev) })
	if err != nil {
		s.log.Warn("relay: unread count", "device", dev.ID, "err", err)
		writeError(w, http.StatusBadGateway, "the unread count is not available")
		return
	}
	writeJSON(w, http.StatusOK, wire.UnreadReply{Alias: dev.Alias, Unread: n})
}

// handleSSO makes a fresh SSO URL for the device's own mailbox. Any alias
// in the request is ignored. Every call is audited; a device gets at most
// SSOBurst at once, then one per SSOEvery.
func (s *Server) handleSSO(w http.ResponseWriter, r *http.Request, dev store.Device) {
	src, now := s.source(r), s.opts.Now()
	a := store.Audit{Time: now, Device: dev.ID, Alias: dev.Alias, Action: "sso", Source: src}
	var req wire.SSORequest
	if r.ContentLength != 0 {
		if err := readJSON(r, &req); err != nil {
			a.Result = "bad request"
			s.audit(r.Context(), a)
			writeError(w, http.StatusBadRequest, "the body must be {} or {\"mail_id\":…}")
			return
		}
	}
	if !s.limit(r.Context(), "sso", s.sso, dev.ID, LimitTry) {
		s.m.ssoLimited.Add(1)
		a.Result = "rate limited"
		s.audit(r.Context(), a)
		w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.SSOEvery.Seconds()+0.5)))
		writeError(w, http.StatusTooManyRequests, "too many sign-in links; try again shortly")
		return
	}
	mailID := wire.Clean(req.MailID, 256)
	u, err := s.linker.LoginURL(r.Context(), dev.Alias, mailID)
	if err != nil {
		s.m.ssoFailed.Add(1)
		a.Result = "upstream error"
		s.audit(r.Context(), a)
		s.log.Warn("relay: SSO link", "device", dev.ID, "err", err)
		writeError(w, http.StatusBadGateway, "the sign-in link is not available")
		return
	}
	s.m.ssoOK.Add(1)
	a.Result = "ok"
	s.audit(r.Context(), a)
	writeJSON(w, http.StatusOK, wire.SSOReply{URL: u.Reveal()})
}

// frame renders one SSE event.
func frame(id wire.ID, kind string, data []byte) []byte {
	b := make([]byte, 0, len(data)+64)
	b = append(b, "id: "...)
	b = append(b, id.String()...)
	b = append(b, "\nevent: "...)
	b = append(b, kind...)
	b = append(b, "\ndata: "...)
	b = append(b, data...) // compact JSON: one line
	return append(b, "\n\n"...)
}

var errStreamEnded = errors.New("stream ended")

// streamWriter is where follow writes a stream's bytes.
type streamWriter interface {
	write(b []byte) error
	writeMessage(m message) error // a published event, rendered once for all
}

// chunk frames b as one HTTP/1.1 chunk.
func chunk(b []byte) []byte {
	c := make([]byte, 0, len(b)+12)
	c = fmt.Appendf(c, "%x\r\n", len(b))
	c = append(c, b...)
	return append(c, crlf...)
}

// stream writes to one SSE response with a deadline per write.
type stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (st *stream) writeMessage(m message) error { return st.write(m.frame) }

func (st *stream) write(b []byte) error {
	st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
	if _, err := st.w.Write(b); err != nil {
		return err
	}
	return st.rc.Flush()
}

// rawStream continues a chunked HTTP/1.1 SSE response on a hijacked
// connection: one chunk per write, straight to the socket.
type rawStream struct {
	conn    net.Conn
	timeout time.Duration
}

var crlf = []byte("\r\n")

func (rs *rawStream) write(b []byte) error {
	rs.conn.SetWriteDeadline(time.Now().Add(rs.timeout))
	_, err := rs.conn.Write(chunk(b))
	return err
}

func (rs *rawStream) writeMessage(m message) error {
	rs.conn.SetWriteDeadline(time.Now().Add(rs.timeout))
	_, err := rs.conn.Write(m.chunk)
	return err
}

// end writes the last chunk: the response ends cleanly.
func (rs *rawStream) end() {
	rs.conn.SetWriteDeadline(time.Now().Add(rs.timeout))
	io.WriteString(rs.conn, "0\r\n\r\n")
}

// offload runs f on a fresh goroutine and waits for it. Store calls go
// through it from handlers whose goroutine lives as long as a stream: the
// SQLite driver needs a deep stack, and a goroutine keeps a grown stack
// until the next collections shrink it, which for ten thousand idle
// streams is most of their memory.
func offload(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// handleEvents serves GET /v1/events. It follows relay.md's replay rule:
// subscribe first (live events queue up), read seq > cursor from the store
// and send it, then send the queue, dropping what was already sent.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, dev store.Device) {
	sb, ok := s.hub.subscribe(dev.Alias, dev.ID)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	if sb.why.Load() == endRevoked { // revoked between the lookup and now
		s.hub.unsubscribe(sb) // no Interest acquired yet: nothing to release
		writeError(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	if s.opts.Interest != nil {
		offload(func() { s.opts.Interest.Acquire(r.Context(), dev.Alias) })
	}
	var (
		st     *stream
		last   uint64
		unread int
		abort  bool
	)
	offload(func() { st, last, unread, abort = s.startStream(w, r, dev) })
	if st == nil || abort {
		s.unsubscribe(sb)
		if abort {
			panic(http.ErrAbortHandler) // drop the connection
		}
		return // answered with an error status
	}
	// On HTTP/1.x, take the connection over: the stream then costs one
	// small goroutine and no net/http buffers (about a third of the memory
	// of a stream that a handler holds). A client that goes away is then
	// noticed at the next write, at the latest the next keepalive.
	if hj, ok := w.(http.Hijacker); ok && r.ProtoMajor == 1 && st.rc.Flush() == nil && s.addStream() {
		if conn, _, err := hj.Hijack(); err != nil {
			s.streams.Done()
		} else {
			rs := &rawStream{conn: conn, timeout: s.opts.WriteTimeout}
			go func() {
				defer s.streams.Done()
				defer conn.Close()
				defer s.unsubscribe(sb)
				if s.follow(context.Background(), rs, sb, dev, last, unread) {
					rs.end()
				}
			}()
			return
		}
	}
	defer s.unsubscribe(sb)
	if !s.follow(r.Context(), st, sb, dev, last, unread) {
		// Close the connection rather than end the response cleanly: a
		// slow or revoked client must not keep it for another request.
		panic(http.ErrAbortHandler)
	}
}

// unsubscribe ends sb's registration with the hub and its Interest.
func (s *Server) unsubscribe(sb *sub) {
	s.hub.unsubscribe(sb)
	if s.opts.Interest != nil {
		s.opts.Interest.Release(sb.alias)
	}
}

// addStream counts a hijacked stream for Shutdown to wait for, unless
// Shutdown began.
func (s *Server) addStream() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.streams.Add(1)
	return true
}

// startStream answers the request's headers, the retry hint, a reset if
// the client's Last-Event-ID cannot be resumed, the state event and the
// replay. It returns the stream (nil after an error answer), where the
// replay ended, and whether the connection must be dropped.
func (s *Server) startStream(w http.ResponseWriter, r *http.Request, dev store.Device) (st *stream, last uint64, unread int, abort bool) {
	ctx := r.Context()
	mb, err := s.st.Mailbox(ctx, dev.Alias)
	if err != nil {
		s.log.Error("relay: reading a mailbox", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable")
		return nil, 0, 0, false
	}
	unread = mb.Unread
	if unread < 0 {
		if n, err := s.unread(ctx, dev); err == nil {
			unread = n
		}
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	st = &stream{w: w, rc: http.NewResponseController(w), timeout: s.opts.WriteTimeout}
	s.m.connects.Add(1)

	// Where the client stands, and whether we can bring it up to date.
	cursor, reset := mb.LastSeq, false
	if lei := r.Header.Get("Last-Event-ID"); lei != "" {
		id, err := wire.ParseID(lei)
		if err == nil && id.Epoch == s.epoch && mb.Resumable(id.Seq) {
			cursor = id.Seq
			s.m.resumes.Add(1)
		} else {
			reset = true
			s.m.resets.Add(1)
		}
	}
	var first []byte
	first = fmt.Appendf(first, "retry: %d\n\n", s.opts.Retry.Milliseconds())
	if reset {
		data, _ := wire.Marshal(wire.ResetData{Reason: "unknown or expired event id"})
		first = append(first, frame(wire.ID{Epoch: s.epoch, Seq: cursor}, wire.KindReset, data)...)
	}
	first = append(first, s.stateFrame(dev.Alias, cursor, max(unread, 0))...)
	if st.write(first) != nil {
		return st, 0, 0, true
	}
	last = cursor
	for last < mb.LastSeq { // the replay, page by page, up to what the store held
		evs, err := s.st.EventsAfter(ctx, dev.Alias, last, replayPage)
		if err != nil || len(evs) == 0 {
			if err != nil && ctx.Err() == nil {
				s.log.Error("relay: replaying events", "err", err)
			}
			break
		}
		for _, ev := range evs {
			if err := st.write(frame(wire.ID{Epoch: s.epoch, Seq: ev.Seq}, ev.Kind, ev.Data)); err != nil {
				return st, 0, 0, true
			}
			last, unread = ev.Seq, ev.Unread
		}
	}
	return st, last, unread, false
}

// follow sends the live events of sb after seq last until the stream
// ends. It reports false when the connection must be dropped (a failed
// write, a slow reader, a revoked device) rather than ended cleanly.
func (s *Server) follow(ctx context.Context, st streamWriter, sb *sub, dev store.Device, last uint64, unread int) bool {
	ka := time.NewTicker(s.opts.Keepalive)
	defer ka.Stop()
	for {
		var err error
		select {
		case m := <-sb.ch:
			if m.seq <= last {
				continue // already sent by the replay
			}
			if m.seq > last+1 {
				// A gap: stored, but its publication was missed (another
				// publisher raced this one). Fill it from the store.
				var (
					evs  []store.Event
					ferr error
				)
				offload(func() { evs, ferr = s.st.EventsAfter(ctx, dev.Alias, last, int(m.seq-last)) })
				if ferr != nil {
					return false
				}
				for _, ev := range evs {
					if ev.Seq >= m.seq {
						break
					}
					if err = st.write(frame(wire.ID{Epoch: s.epoch, Seq: ev.Seq}, ev.Kind, ev.Data)); err != nil {
						return false
					}
					last = ev.Seq
				}
			}
			err = st.writeMessage(m)
			last, unread = m.seq, m.unread
		case <-sb.upstream:
			err = st.write(s.stateFrame(dev.Alias, last, max(unread, 0)))
		case <-ka.C:
			err = st.write([]byte(": keepalive\n\n"))
		case <-sb.done:
			switch sb.why.Load() {
			case endShutdown:
				st.write(frame(wire.ID{Epoch: s.epoch, Seq: last}, wire.KindShutdown, []byte("{}")))
				return true
			case endRevoked:
				s.log.Info("relay: closed a revoked device's stream", "device", dev.ID)
			case endSlow:
				s.log.Info("relay: disconnected a slow stream", "device", dev.ID)
			case endReplaced:
				s.log.Info("relay: closed a device's oldest stream: it opened more than allowed", "device", dev.ID, "max", maxPerDevice)
			}
			return false
		case <-ctx.Done():
			return true
		}
		if err != nil {
			s.m.writeFailures.Add(1)
			s.log.Info("relay: dropped a stream that could not be written", "device", dev.ID, "err", err)
			return false
		}
	}
}

func (s *Server) stateFrame(alias string, seq uint64, unread int) []byte {
	up := wire.UpstreamOffline
	if s.hub.upstream.Load() {
		up = wire.UpstreamOnline
	}
	data, _ := wire.Marshal(wire.StateData{Alias: alias, Unread: unread, Upstream: up})
	return frame(wire.ID{Epoch: s.epoch, Seq: seq}, wire.KindState, data)
}

// MetricsHandler serves the Prometheus text format. Serve it on its own
// listener (--metrics-listen), not next to the API.
func (s *Server) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		up := 0
		if s.hub.upstream.Load() {
			up = 1
		}
		var b strings.Builder
		g := func(name, help, typ string, v int64) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, typ, name, v)
		}
		g("exmail_relay_subscribers", "Open event streams.", "gauge", int64(s.hub.subscribers()))
		g("exmail_relay_upstream_online", "1 while the upstream listen connection is online.", "gauge", int64(up))
		g("exmail_relay_events_published_total", "Stored events published to streams.", "counter", s.m.events.Load())
		g("exmail_relay_stream_connects_total", "Event streams opened.", "counter", s.m.connects.Load())
		g("exmail_relay_stream_resumes_total", "Streams resumed from a Last-Event-ID.", "counter", s.m.resumes.Load())
		g("exmail_relay_stream_resets_total", "Streams that got a reset.", "counter", s.m.resets.Load())
		g("exmail_relay_slow_disconnects_total", "Streams disconnected for reading too slowly.", "counter", s.hub.slow.Load())
		g("exmail_relay_stream_write_failures_total", "Streams dropped because a write failed or timed out.", "counter", s.m.writeFailures.Load())
		g("exmail_relay_revocations_total", "Revocations that closed a device's streams.", "counter", s.m.revokedKicks.Load())
		g("exmail_relay_unauthorized_total", "Requests refused with 401.", "counter", s.m.unauthorized.Load())
		g("exmail_relay_enroll_ok_total", "Successful enrollments.", "counter", s.m.enrollOK.Load())
		g("exmail_relay_enroll_failed_total", "Failed enrollments.", "counter", s.m.enrollFailed.Load())
		g("exmail_relay_sso_ok_total", "SSO links issued.", "counter", s.m.ssoOK.Load())
		g("exmail_relay_sso_limited_total", "SSO requests refused by the rate limit.", "counter", s.m.ssoLimited.Load())
		g("exmail_relay_sso_failed_total", "SSO requests that failed upstream.", "counter", s.m.ssoFailed.Load())
		if s.opts.Callback != nil {
			g("exmail_relay_callbacks_accepted_total", "Upstream callbacks answered with success.", "counter", s.m.callbacksOK.Load())
			g("exmail_relay_callbacks_refused_total", "Upstream callbacks refused (signature, timestamp, nonce, CorpID, decryption, size) or not stored.", "counter", s.m.callbacksRefused.Load())
		}
		io.WriteString(w, b.String())
	})
}

// limit applies op to key's bucket of the named limit: through
// Options.Limiter (cluster-wide) if set and working, else through l.
func (s *Server) limit(ctx context.Context, name string, l *limiter, key string, op LimitOp) bool {
	now := s.opts.Now()
	if s.opts.Limiter != nil {
		ok, err := s.opts.Limiter.Limit(ctx, name+":"+key, l.burst, l.every, now, op)
		if err == nil {
			return ok
		}
		s.log.Warn("relay: the shared rate limiter failed; applying this node's", "limit", name, "err", err)
	}
	switch op {
	case LimitPeek:
		return l.allowed(key, now)
	case LimitTry:
		return l.try(key, now)
	default:
		l.take(key, now)
		return true
	}
}

// limiter is a token bucket per key: burst tokens, one more every every.
type limiter struct {
	burst int
	every time.Duration
	mu    sync.Mutex
	m     map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{burst: burst, every: every, m: map[string]*bucket{}}
}

func (l *limiter) refill(key string, now time.Time) *bucket {
	b := l.m[key]
	if b == nil {
		b = &bucket{tokens: float64(l.burst), at: now}
		l.m[key] = b
	}
	if now.After(b.at) {
		b.tokens = min(float64(l.burst), b.tokens+float64(now.Sub(b.at))/float64(l.every))
		b.at = now
	}
	return b
}

// allowed reports whether key has a token left (without taking it).
func (l *limiter) allowed(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refill(key, now).tokens >= 1
}

// try spends one of key's tokens if it has one, and reports whether it did.
func (l *limiter) try(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// take spends one of key's tokens.
func (l *limiter) take(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, now)
	b.tokens = max(b.tokens-1, 0)
}

// sweep forgets full buckets, so the map holds only recent keys.
func (l *limiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.m {
		if l.refill(k, now).tokens >= float64(l.burst) {
			delete(l.m, k)
		}
	}
}
