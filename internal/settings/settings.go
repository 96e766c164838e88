// Package settings is the tray's local web page: first run (enrollment with
// the company relay, or a direct or current-API login), the preferences, the
// account and doctor's checklist, so that nobody needs a terminal.
//
// The page is served on 127.0.0.1 at a random port. A browser gets in only
// through a one-time link (OneTimeURL) that the tray opens; the link sets a
// session cookie (HttpOnly, SameSite=Strict, Path=/) and redirects to the
// page. Every request is refused unless its Host is 127.0.0.1:PORT or
// localhost:PORT (DNS rebinding); every POST needs the session's CSRF token
// and an Origin header naming the page itself (cross-site form posts). The
// page works without JavaScript, loads nothing from elsewhere (its style sheet
// and one small script are embedded) and is sent with a strict
// Content-Security-Policy, Cache-Control: no-store, X-Frame-Options: DENY,
// X-Content-Type-Options: nosniff and Referrer-Policy: same-origin.
//
// Referrer-Policy is same-origin rather than no-referrer on purpose: under
// no-referrer a browser sends "Origin: null" with a form POST, and the Origin
// check could not tell the page's own forms from a sandboxed attacker
// (TestInARealBrowser fails under no-referrer with Chromium). The page links to
// no other origin, so no referrer ever leaves it.
//
// Secrets typed into the page (interface keys, application secrets,
// enrollment links and codes) are never written back into a page, a URL or a
// log line; an enrollment link waiting for the user's confirmation stays in
// this process's memory.
//
// Text is English or Simplified Chinese, following Backend.State's Lang.
// It imports no template engine (see README, Performance): pages are written
// by hand with every dynamic value escaped.
package settings

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
)

// Defaults for the zero values in Options.
const (
	DefaultAddr            = "127.0.0.1:0"
	DefaultLinkLifetime    = 2 * time.Minute
	DefaultSessionLifetime = time.Hour
	DefaultOfferLifetime   = 15 * time.Minute
	DefaultCallTimeout     = 45 * time.Second
)

var (
	// ErrUnreachable: a Backend may wrap it when the relay or the mail
	// server could not be reached; the page then says to check the
	// address and the network.
	ErrUnreachable = errors.New("the server could not be reached")
	// ErrNotStarted: OneTimeURL before Start.
	ErrNotStarted = errors.New("settings: the server is not started")
	// ErrClosed: Start after Close.
	ErrClosed = errors.New("settings: the server is closed")
)

// Options configure a Server.
type Options struct {
	// Backend reads and changes the account and the preferences. Required.
	Backend Backend
	// Lang is the page's language until Backend.State names one, and of
	// the pages shown before a session exists. "" is English.
	Lang app.Lang
	// Log gets one line per refusal and per change (never a secret). nil
	// discards.
	Log *slog.Logger
	// Addr is the listen address; DefaultAddr (127.0.0.1, a random port)
	// when "". It must be a loopback address.
	Addr string
	// DeviceName is what IT sees for this computer after an enrollment;
	// the host name when "".
	DeviceName string
	// LinkLifetime bounds how long an unused one-time link works
	// (DefaultLinkLifetime when zero).
	LinkLifetime time.Duration
	// SessionLifetime bounds a browser session (DefaultSessionLifetime).
	// Keep it short: browsers send cookies for 127.0.0.1 to every port, so
	// a page the user visits on another local port (another user's server)
	// receives the session cookie; PeerCheck closes that on Linux.
	SessionLifetime time.Duration
	// PeerCheck, when set, must confirm that each connection comes from a
	// process of this user (remote and local are the connection's
	// addresses); a false or an error refuses the request with 403. On
	// Linux pass internal/handoff's socket-owner check (the kernel's socket
	// table). nil checks nothing, as handoff on macOS and Windows.
	PeerCheck func(remote, local net.Addr) (bool, error)
	// OfferLifetime bounds how long an enrollment link waits for the
	// user's confirmation, whether offered by OfferEnrollment or typed
	// into the page (DefaultOfferLifetime).
	OfferLifetime time.Duration
	// CallTimeout bounds each Backend call (DefaultCallTimeout).
	CallTimeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is the settings page. Its methods are safe for concurrent use.
type Server struct {
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	ln       net.Listener
	srv      *http.Server
	port     string
	closed   bool
	links    map[[32]byte]time.Time // sha256(one-time secret) → expiry
	sessions map[[32]byte]*session  // sha256(cookie value) → session
	pending  map[string]*pending    // confirmation id → enrollment waiting
	offered  string                 // id of the enrollment OfferEnrollment made, "" if none
	lastLang app.Lang
}

type session struct {
	csrf    string
	expires time.Time
}

// pending is an enrollment link or code that waits for the confirm click.
type pending struct {
	input     api.Secret
	relayFlag string
	relayURL  string
	expires   time.Time
	offered   bool // came from OfferEnrollment (the exmail-notifier:// link)
}

// New checks o and returns a Server; nothing listens until Start.
func New(o Options) (*Server, error) {
	if o.Backend == nil {
		return nil, errors.New("settings: Options.Backend is nil")
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("settings: listen address %q: %w", o.Addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil, fmt.Errorf("settings: listen address %q is not an IPv4 loopback address", o.Addr)
	}
	if o.DeviceName == "" {
		o.DeviceName, _ = os.Hostname()
	}
	if o.LinkLifetime <= 0 {
		o.LinkLifetime = DefaultLinkLifetime
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = DefaultSessionLifetime
	}
	if o.OfferLifetime <= 0 {
		o.OfferLifetime = DefaultOfferLifetime
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lang == "" {
		o.Lang = app.English
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		o:        o,
		log:      log,
		links:    map[[32]byte]time.Time{},
		sessions: map[[32]byte]*session{},
		pending:  map[string]*pending{},
		lastLang: o.Lang,
	}, nil
}

// Start listens on Options.Addr and serves until ctx ends or Close. It
// returns once the listener is open (the error is a listen error).
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.ln != nil {
		return errors.New("settings: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp4", s.o.Addr)
	if err != nil {
		return fmt.Errorf("settings: listen: %w", err)
	}
	s.ln = ln
	s.port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv := s.srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("settings page stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	s.log.Info("settings page listening", "addr", ln.Addr().String())
	return nil
}

// Close stops the server; the links and sessions end with it.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	srv := s.srv
	s.links, s.sessions, s.pending, s.offered = map[[32]byte]time.Time{}, map[[32]byte]*session{}, map[string]*pending{}, ""
	s.mu.Unlock()
	if srv != nil {
		return srv.Close()
	}
	return nil
}

// Origin is "http://127.0.0.1:PORT", or "" before Start.
func (s *Server) Origin() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return "http://127.0.0.1:" + s.port
}

// OneTimeURL mints a fresh one-time link to the page,
// http://127.0.0.1:PORT/s/<256 random bits>, for the tray to open in the
// browser. It is a Secret: open it with handoff.Open, so that the opener's
// command line (readable by every user) carries handoff's peer-checked link,
// never this one. The link works once, within Options.LinkLifetime; earlier unused
// links stay valid until used or expired. Its first use starts a session and
// lands on the page (on the enrollment confirmation when OfferEnrollment left
// one waiting).
func (s *Server) OneTimeURL() (api.Secret, error) {
	tok := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil || s.closed {
		return "", ErrNotStarted
	}
	now := s.o.Now()
	s.gcLocked(now)
	s.links[sha256.Sum256([]byte(tok))] = now.Add(s.o.LinkLifetime)
	return api.Secret("http://127.0.0.1:" + s.port + "/s/" + tok), nil
}

// OfferEnrollment keeps an enrollment link (exmail-notifier://enroll?…, or a
// bare code for a relay the Backend already knows) for the page: the next
// page view shows it masked, with the relay's address, and enrolls only when
// the user clicks Enroll. It replaces an earlier offer and expires after
// Options.OfferLifetime. The link never appears in a URL, a page or a log.
func (s *Server) OfferEnrollment(link api.Secret) {
	id := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.offered != "" {
		delete(s.pending, s.offered)
	}
	s.pending[id] = &pending{input: link, expires: s.o.Now().Add(s.o.OfferLifetime), offered: true}
	s.offered = id
}

// gcLocked drops what has expired.
func (s *Server) gcLocked(now time.Time) {
	for k, exp := range s.links {
		if !now.Before(exp) {
			delete(s.links, k)
		}
	}
	for k, ss := range s.sessions {
		if !now.Before(ss.expires) {
			delete(s.sessions, k)
		}
	}
	for k, p := range s.pending {
		if !now.Before(p.expires) {
			delete(s.pending, k)
			if s.offered == k {
				s.offered = ""
			}
		}
	}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
