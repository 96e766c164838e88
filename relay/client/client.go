// Package client is the desktop side of the relay: enrollment, and a
// Source that follows the relay's event stream and hands the existing app
// core the same api.Event values an api.Watcher would, plus the Counter
// and Linker calls (/v1/unread, /v1/sso).
//
// It imports only package api, relay/wire and the standard library: the
// desktop binary links no storage or broker code through it.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

// Errors; branch with errors.Is.
var (
	// ErrUnauthorized: the relay refused the device token (revoked or
	// unknown). Enroll again with a new code.
	ErrUnauthorized = errors.New("relay: the device token was refused (revoked or unknown); enroll this device again")
	// ErrEnrollRefused: the enrollment code is unknown, used or expired
	// (the relay does not say which).
	ErrEnrollRefused = errors.New("relay: the enrollment code is unknown, used or expired; ask IT for a new one")
	// ErrRateLimited: the relay answered 429.
	ErrRateLimited = errors.New("relay: too many requests; try again shortly")
	// ErrUpstreamOffline: the relay is up but cannot reach exmail. It is
	// the Err of the StateRetrying a Source sends while that lasts.
	ErrUpstreamOffline = errors.New("relay: the relay cannot reach the mail server right now")
	// ErrForeignAlias: a call named a mailbox other than this device's.
	ErrForeignAlias = errors.New("relay: this device may only see its own mailbox")
	// ErrStalled: the stream carried nothing, not even a keepalive, for
	// 2×keepalive+5 s.
	ErrStalled = errors.New("relay: the event stream went silent")
	// ErrOversized: the relay sent a stream event larger than any it
	// sends (1 MiB); the stream is dropped and reopened.
	ErrOversized = errors.New("relay: the event stream sent an oversized event")
	// ErrShutdown: the relay said it is stopping.
	ErrShutdown = errors.New("relay: the relay is restarting")
	// ErrInsecureURL: a relay URL that is not https (plain http is allowed
	// on loopback only).
	ErrInsecureURL = errors.New("relay: the relay URL must be https:// (http:// only on this machine)")
)

// StatusError is a reply with an unexpected HTTP status.
type StatusError struct {
	Op     string // "events", "unread", "sso", "enroll"
	Status int
	Msg    string // the relay's {"error"} text, if any
}

func (e *StatusError) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("relay %s: HTTP %d: %s", e.Op, e.Status, e.Msg)
	}
	return fmt.Sprintf("relay %s: HTTP %d", e.Op, e.Status)
}

// Defaults of Config.
const (
	DefaultKeepalive  = 55 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 30 * time.Second
	callTimeout       = 15 * time.Second
	maxLine           = 1 << 20
	maxEvent          = maxLine // one event's data lines together
)

// Config configures a Source. Zero fields take the defaults noted.
type Config struct {
	// URL is the relay's base URL, e.g. https://relay.example.com.
	URL string
	// Token is the device token from Enroll.
	Token api.Secret
	// Alias is the enrolled mailbox (Enrollment.Alias). NewCount and
	// LoginURL refuse any other; a stream for another mailbox is an error.
	Alias string
	// HTTPClient makes the requests. It must have no overall Timeout
	// (the stream is long); calls bound themselves. Default: a client
	// with a clone of http.DefaultTransport.
	HTTPClient *http.Client
	// Keepalive is the relay's keepalive interval; silence for
	// 2×Keepalive+5 s means the stream is dead. Default 55 s.
	Keepalive time.Duration
	// MinBackoff and MaxBackoff bound the jittered, doubling waits between
	// reconnects. Defaults 1 s and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// Logger gets one line per connection change. Default: discard.
	Logger *slog.Logger
}

// Source follows a relay's event stream. It implements the app's Source,
// Counter and Linker.
type Source struct {
	cfg       Config
	base      *url.URL
	hc        *http.Client
	log       *slog.Logger
	reconnect chan struct{}

	mu     sync.Mutex
	lastID string
}

// New checks cfg and returns a Source.
func New(cfg Config) (*Source, error) {
	u, err := checkURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(cfg.Token.Reveal(), wire.TokenPrefix) {
		return nil, errors.New("relay: not a device token")
	}
	if cfg.Alias == "" {
		return nil, errors.New("relay: the enrolled mailbox (Alias) is required")
	}
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = DefaultKeepalive
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hc := noRedirects(cfg.HTTPClient)
	return &Source{cfg: cfg, base: u, hc: hc, log: cfg.Logger, reconnect: make(chan struct{}, 1)}, nil
}

// checkURL accepts https URLs, and http ones whose host is a loopback
// address or "localhost".
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("relay: %q is not a relay URL", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, ErrInsecureURL
		}
	default:
		return nil, ErrInsecureURL
	}
	return u, nil
}

// isLoopback reports whether host is "localhost" or a loopback address.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

func (s *Source) endpoint(path string) string { return s.base.String() + path }

// Reconnect drops the stream, which may be dead without knowing it after
// the machine slept or the network changed, and connects again at once
// (cutting a pending backoff short). It never blocks.
func (s *Source) Reconnect() {
	select {
	case s.reconnect <- struct{}{}:
	default:
	}
}

var errReconnect = errors.New("relay: reconnecting on request")

// Run follows the stream until ctx is done, then returns ctx.Err(). It
// sends on out, in order:
//
//   - api.StateChanged{StateConnecting} before each connection attempt;
//   - for each "state" event: StateChanged{StateOnline} when the relay's
//     upstream is online (StateRetrying with ErrUpstreamOffline when it is
//     not), then api.UnreadChanged with the count;
//   - api.NewMail and api.UnreadChanged for the stream's new_mail and
//     unread events;
//   - StateChanged{StateRetrying} (StateAuthFailed with ErrUnauthorized
//     after a 401) with the error and the wait, when a connection ends.
//
// It resumes from the last event id it received (Last-Event-ID), so
// nothing is missed or repeated across reconnects while the relay has the
// events; otherwise the relay sends a reset and a fresh state. Waits run
// from MinBackoff to MaxBackoff with jitter, reset after a healthy
// connection, and are cut short by Reconnect.
func (s *Source) Run(ctx context.Context, out chan<- api.Event) error {
	r := &run{s: s, out: out, state: -1}
	attempt := 0
	for {
		if !r.setState(ctx, api.StateChanged{State: api.StateConnecting}) {
			return ctx.Err()
		}
		select { // a Reconnect from before this attempt is stale
		case <-s.reconnect:
		default:
		}
		healthy, err := r.connect(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if healthy {
			attempt = 0
		}
		if errors.Is(err, errReconnect) {
			s.log.Info("relay: reconnecting", "reason", "requested")
			continue
		}
		wait := s.backoff(attempt)
		attempt++
		next := api.StateRetrying
		if errors.Is(err, ErrUnauthorized) {
			next, wait = api.StateAuthFailed, s.cfg.MaxBackoff
		}
		s.log.Warn("relay: stream ended; reconnecting", "err", err, "retry_in", wait.Round(time.Millisecond))
		if !r.setState(ctx, api.StateChanged{State: next, Err: err, RetryIn: wait}) {
			return ctx.Err()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.reconnect:
			t.Stop()
		case <-t.C:
		}
	}
}

// backoff is the wait after the attempt-th consecutive failure: doubling
// from MinBackoff, capped at MaxBackoff, with ±20 % jitter.
func (s *Source) backoff(attempt int) time.Duration {
	d := s.cfg.MinBackoff
	for range attempt {
		d *= 2
		if d >= s.cfg.MaxBackoff {
			d = s.cfg.MaxBackoff
			break
		}
	}
	j := 0.8 + 0.4*rand.Float64()
	return min(time.Duration(float64(d)*j), s.cfg.MaxBackoff)
}

type run struct {
	s     *Source
	out   chan<- api.Event
	state api.State
	upErr error // the Err of the last state sent
}

func (r *run) send(ctx context.Context, ev api.Event) bool {
	select {
	case r.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// deliver sends ev for dispatch: an event handed over counts as received
// (its id is kept) even if ctx ends just after.
func (r *run) deliver(ctx context.Context, ev api.Event) (bool, error) {
	if !r.send(ctx, ev) {
		return false, ctx.Err()
	}
	return true, nil
}

// setState sends sc unless it repeats the last state (with the same error).
func (r *run) setState(ctx context.Context, sc api.StateChanged) bool {
	if sc.State == r.state && sc.State != api.StateRetrying && sc.State != api.StateAuthFailed {
		return true
	}
	if sc.State == r.state && errors.Is(sc.Err, ErrUpstreamOffline) && errors.Is(r.upErr, ErrUpstreamOffline) {
		return true
	}
	r.state, r.upErr = sc.State, sc.Err
	return r.send(ctx, sc)
}

// connect holds one stream. healthy reports that a state event arrived.
func (r *run) connect(ctx context.Context) (healthy bool, err error) {
	s := r.s
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := 2*s.cfg.Keepalive + 5*time.Second
	wd := time.AfterFunc(idle, func() { cancel(ErrStalled) })
	defer wd.Stop()
	go func() {
		select {
		case <-s.reconnect:
			cancel(errReconnect)
		case <-cctx.Done():
		}
	}()
	cause := func(err error) error {
		if c := context.Cause(cctx); c != nil && ctx.Err() == nil && !errors.Is(c, context.Canceled) {
			return c
		}
		return err
	}

	req, err := http.NewRequestWithContext(cctx, http.MethodGet, s.endpoint("/v1/events"), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.Token.Reveal())
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	s.mu.Lock()
	if s.lastID != "" {
		req.Header.Set("Last-Event-ID", s.lastID)
	}
	s.mu.Unlock()
	resp, err := s.hc.Do(req)
	if err != nil {
		return false, cause(scrubURL(err))
	}
	defer resp.Body.Close()
	if err := statusError("events", resp); err != nil {
		return false, err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("relay events: unexpected content type %q", ct)
	}

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var (
		id, kind string
		data     bytes.Buffer
		hasID    bool
	)
	for sc.Scan() {
		wd.Reset(idle)
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if len(line) == 0 { // dispatch
			if kind == "" && data.Len() == 0 {
				continue
			}
			if kind == "" {
				kind = "message"
			}
			ok, err := r.dispatch(cctx, kind, bytes.TrimSuffix(data.Bytes(), []byte("\n")))
			if hasID && (err == nil || errors.Is(err, ErrShutdown)) {
				// Handed over (or nothing to hand over): resume after it.
				s.mu.Lock()
				s.lastID = id
				s.mu.Unlock()
			}
			if err != nil {
				return healthy, err
			}
			if ok && kind == wire.KindState {
				healthy = true
			}
			id, kind, hasID = "", "", false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue // comment: keepalive
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			id, hasID = string(value), true
		case "event":
			kind = string(value)
		case "data":
			if data.Len()+len(value)+1 > maxEvent {
				return healthy, ErrOversized
			}
			data.Write(value)
			data.WriteByte('\n')
		case "retry":
			// The relay's hint; this client's own backoff applies.
		}
	}
	if err := sc.Err(); err != nil {
		return healthy, cause(scrubURL(err))
	}
	return healthy, cause(io.ErrUnexpectedEOF)
}

// dispatch maps one stream event onto api events. ok reports that the
// event was understood and passed on.
func (r *run) dispatch(ctx context.Context, kind string, data []byte) (ok bool, err error) {
	alias := r.s.cfg.Alias
	switch kind {
	case wire.KindState:
		var st wire.StateData
		if err := json.Unmarshal(data, &st); err != nil {
			return false, fmt.Errorf("relay events: bad state event: %w", err)
		}
		if !strings.EqualFold(st.Alias, alias) {
			return false, fmt.Errorf("%w: the relay streams %q", ErrForeignAlias, st.Alias)
		}
		sc := api.StateChanged{State: api.StateOnline}
		if st.Upstream != wire.UpstreamOnline {
			sc = api.StateChanged{State: api.StateRetrying, Err: ErrUpstreamOffline}
		}
		if !r.setState(ctx, sc) {
			return false, ctx.Err()
		}
		return r.deliver(ctx, api.UnreadChanged{User: alias, Unread: st.Unread})
	case wire.KindNewMail:
		var l wire.NewMailLine
		if err := json.Unmarshal(data, &l); err != nil {
			return false, fmt.Errorf("relay events: bad new_mail event: %w", err)
		}
		if !strings.EqualFold(l.Alias, alias) {
			return false, nil // not ours: never shown
		}
		return r.deliver(ctx, api.NewMail{User: alias, MailID: l.MailID, Sender: l.From, Receiver: l.To, Subject: l.Subject, Summary: l.Summary, Unread: l.Unread})
	case wire.KindUnread:
		var l wire.UnreadLine
		if err := json.Unmarshal(data, &l); err != nil {
			return false, fmt.Errorf("relay events: bad unread event: %w", err)
		}
		if !strings.EqualFold(l.Alias, alias) {
			return false, nil
		}
		return r.deliver(ctx, api.UnreadChanged{User: alias, Unread: l.Unread})
	case wire.KindReset:
		r.s.log.Info("relay: the relay could not resume the stream; a fresh state follows")
		return true, nil
	case wire.KindShutdown:
		return true, ErrShutdown
	}
	return false, nil // unknown kinds are for newer clients
}

// scrubURL drops the URL from a *url.Error: it holds no secret here, but
// error text stays short and the same for every endpoint.
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("relay: %s: %w", ue.Op, ue.Err)
	}
	return err
}

func statusError(op string, resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized:
		if op == "enroll" {
			return ErrEnrollRefused
		}
		return ErrUnauthorized
	case http.StatusTooManyRequests:
		return ErrRateLimited
	}
	var e wire.ErrorReply
	json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
	return &StatusError{Op: op, Status: resp.StatusCode, Msg: wire.Clean(e.Error, 200)}
}

// call makes one JSON request and decodes the reply into out.
func call(ctx context.Context, hc *http.Client, method, u, op string, token api.Secret, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := wire.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token.Reveal())
	}
	resp, err := hc.Do(req)
	if err != nil {
		return scrubURL(err)
	}
	defer resp.Body.Close()
	if err := statusError(op, resp); err != nil {
		return err
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(out); err != nil {
		return fmt.Errorf("relay %s: bad reply: %w", op, err)
	}
	return nil
}

func (s *Source) own(alias string) error {
	if !strings.EqualFold(strings.TrimSpace(alias), s.cfg.Alias) {
		return ErrForeignAlias
	}
	return nil
}

// NewCount returns the unread count of the device's own mailbox (GET
// /v1/unread). Any other alias is ErrForeignAlias, without a request.
func (s *Source) NewCount(ctx context.Context, alias string) (int, error) {
	if err := s.own(alias); err != nil {
		return 0, err
	}
	var rep wire.UnreadReply
	if err := call(ctx, s.hc, http.MethodGet, s.endpoint("/v1/unread"), "unread", s.cfg.Token, nil, &rep); err != nil {
		return 0, err
	}
	if err := s.own(rep.Alias); err != nil {
		return 0, err
	}
	return rep.Unread, nil
}

// LoginURL returns a fresh single sign-on URL for the device's own mailbox
// (POST /v1/sso), opening mailID if not "". Any other alias is
// ErrForeignAlias, without a request. The URL is a credential.
func (s *Source) LoginURL(ctx context.Context, alias, mailID string) (api.Secret, error) {
	if err := s.own(alias); err != nil {
		return "", err
	}
	var rep wire.SSOReply
	if err := call(ctx, s.hc, http.MethodPost, s.endpoint("/v1/sso"), "sso", s.cfg.Token, wire.SSORequest{MailID: mailID}, &rep); err != nil {
		return "", err
	}
	if rep.URL == "" {
		return "", errors.New("relay sso: empty link")
	}
	// The browser goes wherever the relay says: at least never to a
	// plain-HTTP page off this machine (a ticket in clear text).
	if u, err := url.Parse(rep.URL); err != nil || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) || u.Host == "" {
		return "", errors.New("relay sso: the relay answered a sign-in link that is not https; not opened")
	}
	return api.Secret(rep.URL), nil
}

// noRedirects returns a copy of hc (nil: a client over a clone of
// http.DefaultTransport) that follows no redirect: a redirect could take
// the device token (Go keeps Authorization on a same-host redirect, even
// from https to http) or a re-posted enrollment code elsewhere.
func noRedirects(hc *http.Client) *http.Client {
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// Enrollment is what Enroll returns: keep Token in the keyring, and Alias
// and the relay URL in the config.
type Enrollment struct {
	Token    api.Secret
	Alias    string
	DeviceID string
}

// Enroll trades a one-time enrollment code for a device token (POST
// /v1/enroll). name is what IT sees in "exmail-relay devices" (e.g. the
// host name). A refused code is ErrEnrollRefused; too many refused codes
// from one address are ErrRateLimited.
func Enroll(ctx context.Context, relayURL string, code api.Secret, name string) (Enrollment, error) {
	return EnrollClient(ctx, nil, relayURL, code, name)
}

// EnrollClient is Enroll through hc (nil: a default client), e.g. one
// that trusts a private CA.
func EnrollClient(ctx context.Context, hc *http.Client, relayURL string, code api.Secret, name string) (Enrollment, error) {
	u, err := checkURL(relayURL)
	if err != nil {
		return Enrollment{}, err
	}
	hc = noRedirects(hc)
	var rep wire.EnrollReply
	if err := call(ctx, hc, http.MethodPost, u.String()+"/v1/enroll", "enroll", "", wire.EnrollRequest{Code: code.Reveal(), Name: name}, &rep); err != nil {
		return Enrollment{}, err
	}
	if !strings.HasPrefix(rep.Token, wire.TokenPrefix) || rep.Alias == "" {
		return Enrollment{}, errors.New("relay enroll: bad reply")
	}
	return Enrollment{Token: api.Secret(rep.Token), Alias: rep.Alias, DeviceID: rep.DeviceID}, nil
}

// ParseEnrollLink reads an exmail-notifier://enroll?relay=…&code=… link
// (what "exmail-relay enroll" prints) into the relay URL and the code.
func ParseEnrollLink(link string) (relayURL string, code api.Secret, err error) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || u.Scheme != "exmail-notifier" || (u.Host != "enroll" && u.Opaque != "enroll" && strings.TrimPrefix(u.Path, "/") != "enroll") {
		return "", "", errors.New("relay: not an enrollment link")
	}
	q := u.Query()
	relayURL, c := q.Get("relay"), q.Get("code")
	if _, err := checkURL(relayURL); err != nil {
		return "", "", err
	}
	if !strings.HasPrefix(c, wire.CodePrefix) {
		return "", "", errors.New("relay: the enrollment link has no code")
	}
	return relayURL, api.Secret(c), nil
}
