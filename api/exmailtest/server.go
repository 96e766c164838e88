package exmailtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/faultq"
)

// Defaults used when the corresponding Options field is zero.
const (
	// DefaultClientID is the administrator account the token endpoint
	// accepts as client_id.
	DefaultClientID = "admin"
	// DefaultClientSecret is the 32-hex "interface key" the token endpoint
	// accepts as client_secret. (It is the example key of protocol.md §3.1.)
	DefaultClientSecret = "563a8c6a89d2368194c1c7889c508b34"
	// DefaultDomain is the enterprise's mail domain.
	DefaultDomain = "example.com"
	// DefaultTokenLifetime is the access token lifetime (expires_in).
	DefaultTokenLifetime = 24 * time.Hour
	// DefaultAuthKeyLifetime is how long an SSO auth_key stays usable.
	DefaultAuthKeyLifetime = 5 * time.Minute
	// DefaultPollTimeout is how long a LongPoll listen request is held
	// before it answers {"Ret":0}.
	DefaultPollTimeout = 30 * time.Second
	// DefaultMaxRequests is how many requests Requests remembers.
	DefaultMaxRequests = 1000
)

// Redacted replaces secret parameter values (access_token, client_secret,
// ticket) in Requests.
const Redacted = "REDACTED"

// Options configures a Server. Every zero field takes the default named
// on it.
type Options struct {
	// ClientID and ClientSecret are the credentials the token endpoint
	// accepts. Defaults: DefaultClientID, DefaultClientSecret.
	ClientID     string
	ClientSecret string

	// Domain is the enterprise's mail domain; user/sync, group/add and
	// user/check only accept addresses in it. Default DefaultDomain.
	Domain string

	// TokenLifetime is the lifetime of an access token and the expires_in
	// the token endpoint reports. Default DefaultTokenLifetime (86400 s).
	TokenLifetime time.Duration
	// SingleToken makes every newly issued token revoke the earlier ones
	// (protocol.md §8 question 6). By default all unexpired tokens work.
	SingleToken bool

	// AuthKeyLifetime is how long a mail/authkey ticket can be used.
	// Default DefaultAuthKeyLifetime.
	AuthKeyLifetime time.Duration

	// PollTimeout is how long a LongPoll listen request waits for an
	// event before it answers {"Ret":0}. Default DefaultPollTimeout.
	PollTimeout time.Duration
	// Framing is the initial shape of listen replies; see Framing and
	// SetFraming. The zero value is a chunked stream.
	Framing Framing
	// BufferEvents keeps the events published while no listen request is
	// connected and hands them to the next one. By default they are lost
	// (protocol.md §8 question 3).
	BufferEvents bool

	// Demo seeds the enterprise with SeedDemo at start.
	Demo bool

	// MaxRequests bounds the Requests log. Default DefaultMaxRequests.
	MaxRequests int

	// Logger receives one debug line per request (method and path only,
	// never a parameter value). Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	orDefault(&o.ClientID, DefaultClientID)
	orDefault(&o.ClientSecret, DefaultClientSecret)
	orDefault(&o.Domain, DefaultDomain)
	o.Domain = strings.ToLower(o.Domain)
	orDefault(&o.TokenLifetime, DefaultTokenLifetime)
	orDefault(&o.AuthKeyLifetime, DefaultAuthKeyLifetime)
	orDefault(&o.PollTimeout, DefaultPollTimeout)
	orDefault(&o.MaxRequests, DefaultMaxRequests)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// orDefault sets *v to def when *v is unset: empty, zero or negative.
func orDefault[T string | int | time.Duration](v *T, def T) {
	var zero T
	if *v == zero || *v < zero {
		*v = def
	}
}

// Server is the fake BizMail OpenApi: the token endpoint, every openapi/
// endpoint, the listen long connection and the SSO login page, over one
// in-memory enterprise. All methods are safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger

	url       string
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	srv       *http.Server
	ln        net.Listener
	transport *http.Transport
	client    *http.Client

	done      chan struct{} // closed by Close
	closeOnce sync.Once

	// active counts running handlers so that Close can wait for them.
	amu     sync.Mutex
	active  int
	closing bool
	idle    chan struct{} // closed when active drops to 0 while closing

	// mu guards the enterprise: tokens, auth keys, directory, mailboxes.
	mu  sync.Mutex
	ent enterprise

	hub hub

	faults  faultq.Queue[errReply]
	fmu     sync.Mutex // latency
	latency time.Duration

	rmu      sync.Mutex
	requests []Request
}

// New starts a Server on a real HTTP socket at 127.0.0.1:0. Close it when
// done.
func New(opts Options) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("exmailtest: listen on loopback: " + err.Error())
	}
	s := newServer(opts)
	s.url = "http://" + ln.Addr().String()
	dialer := &net.Dialer{}
	s.dial = dialer.DialContext
	s.transport = &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 16}
	s.serve(ln)
	return s
}

// PipeURL is the URL of a Server made by NewPipe. Its host does not
// resolve; only Client and Transport can reach it.
const PipeURL = "http://exmailtest.invalid"

// NewPipe is New over an in-memory listener built on net.Pipe instead of
// a socket, so that it can run inside a testing/synctest bubble (call it
// inside the bubble, and Close it before the bubble ends). Only Client and
// Transport reach it; URL is PipeURL.
func NewPipe(opts Options) *Server {
	pl := newPipeListener()
	s := newServer(opts)
	s.url = PipeURL
	s.dial = pl.DialContext
	s.transport = &http.Transport{DialContext: pl.DialContext, MaxIdleConnsPerHost: 16}
	s.serve(pl)
	return s
}

func newServer(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts: opts,
		log:  opts.Logger,
		done: make(chan struct{}),
	}
	s.ent.init(opts.Domain)
	s.hub.init(opts.Framing, opts.BufferEvents)
	if opts.Demo {
		s.SeedDemo()
	}
	return s
}

type connKey struct{}

func (s *Server) serve(ln net.Listener) {
	s.ln = ln
	s.client = &http.Client{Transport: s.transport}
	s.srv = &http.Server{
		Handler:  s.Handler(),
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go func() { _ = s.srv.Serve(ln) }()
}

// Close shuts the server down: it ends every listen connection, closes
// every connection and waits for running handlers to return.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.hub.closeAll()
		if s.srv != nil {
			_ = s.srv.Close()
		}
		s.amu.Lock()
		s.closing = true
		var idle chan struct{}
		if s.active > 0 {
			s.idle = make(chan struct{})
			idle = s.idle
		}
		s.amu.Unlock()
		if idle != nil {
			<-idle
		}
		if s.transport != nil {
			s.transport.CloseIdleConnections()
		}
	})
}

// URL is the server's base URL without a trailing slash, e.g.
// http://127.0.0.1:43211.
func (s *Server) URL() string { return s.url }

// TokenURL is the token endpoint, URL()+"/cgi-bin/token".
func (s *Server) TokenURL() string { return s.url + "/cgi-bin/token" }

// APIBase is the OpenApi base, URL()+"/openapi/" (with the slash).
func (s *Server) APIBase() string { return s.url + "/openapi/" }

// LoginURL is the SSO entry, URL()+"/cgi-bin/login".
func (s *Server) LoginURL() string { return s.url + "/cgi-bin/login" }

// ClientID returns the client_id the token endpoint accepts.
func (s *Server) ClientID() string { return s.opts.ClientID }

// ClientSecret returns the client_secret the token endpoint accepts.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// Domain returns the enterprise's mail domain.
func (s *Server) Domain() string { return s.opts.Domain }

// Dial opens a raw connection to the server (a TCP socket, or a pipe for
// NewPipe), for tests that write HTTP by hand and read raw bytes.
func (s *Server) Dial(ctx context.Context) (net.Conn, error) {
	return s.dial(ctx, "tcp", strings.TrimPrefix(s.url, "http://"))
}

// Client returns an *http.Client (without a timeout, since listen is long)
// that reaches the server, also for NewPipe.
func (s *Server) Client() *http.Client { return s.client }

// Transport returns the RoundTripper behind Client.
func (s *Server) Transport() http.RoundTripper { return s.transport }

// Handler returns the server's HTTP handler, for mounting it elsewhere
// (for example in httptest.NewServer). Listen connections served that way
// are still dropped by DropListeners, by aborting the handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// route is one endpoint. Its name for FailNext and RequestsTo is
// normPath of its path ("mail/newcount", "listen", "cgi-bin/token").
type route struct {
	fn   func(s *Server, w http.ResponseWriter, r *http.Request, p params)
	auth bool // needs an access token
	sso  bool // browser page: GET/HEAD only
}

var routes = map[string]route{
	"/cgi-bin/token": {fn: (*Server).handleToken},
	"/cgi-bin/login": {fn: (*Server).handleLogin, sso: true},

	"/openapi/listen":             {fn: (*Server).handleListen, auth: true},
	"/openapi/mail/authkey":       {fn: (*Server).handleAuthKey, auth: true},
	"/openapi/mail/newcount":      {fn: (*Server).handleNewCount, auth: true},
	"/openapi/user/get":           {fn: (*Server).handleUserGet, auth: true},
	"/openapi/user/sync":          {fn: (*Server).handleUserSync, auth: true},
	"/openapi/user/list":          {fn: (*Server).handleUserList, auth: true},
	"/openapi/user/check":         {fn: (*Server).handleUserCheck, auth: true},
	"/openapi/user/openwxtoken":   {fn: (*Server).handleOpenWXToken, auth: true},
	"/openapi/user/closewxtoken":  {fn: (*Server).handleCloseWXToken, auth: true},
	"/openapi/party/sync":         {fn: (*Server).handlePartySync, auth: true},
	"/openapi/party/list":         {fn: (*Server).handlePartyList, auth: true},
	"/openapi/partyuser/list":     {fn: (*Server).handlePartyUserList, auth: true},
	"/openapi/group/add":          {fn: (*Server).handleGroupAdd, auth: true},
	"/openapi/group/delete":       {fn: (*Server).handleGroupDelete, auth: true},
	"/openapi/group/addmember":    {fn: (*Server).handleGroupAddMember, auth: true},
	"/openapi/group/deletemember": {fn: (*Server).handleGroupDeleteMember, auth: true},
	"/openapi/group/addallowlist": {fn: (*Server).handleGroupAddAllowList, auth: true},
	"/openapi/group/delallowlist": {fn: (*Server).handleGroupDelAllowList, auth: true},
}

func (s *Server) enter() bool {
	s.amu.Lock()
	defer s.amu.Unlock()
	if s.closing {
		return false
	}
	s.active++
	return true
}

func (s *Server) leave() {
	s.amu.Lock()
	defer s.amu.Unlock()
	s.active--
	if s.active == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	defer s.leave()

	p, raw, perr := readParams(r)
	s.record(r, raw)
	s.log.Debug("exmailtest: request", "method", r.Method, "path", r.URL.Path)

	if !s.wait(r.Context(), s.currentLatency()) {
		return
	}
	rt, ok := routes[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case rt.sso && (r.Method == http.MethodGet || r.Method == http.MethodHead):
	case !rt.sso && (r.Method == http.MethodGet || r.Method == http.MethodPost):
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if s.injectFault(normPath(r.URL.Path), w) {
		return
	}
	if perr != nil {
		writeError(w, errInvalidRequest)
		return
	}
	if rt.auth && !s.authorized(r, p) {
		writeError(w, errInvalidToken)
		return
	}
	rt.fn(s, w, r, p)
}

// wait sleeps for d (the Latency knob) unless ctx or the server ends
// first. It reports whether the request should go on.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// params holds request parameters keyed by lower-cased name, since the
// server matches names case-insensitively (protocol.md §2.2).
type params map[string][]string

// get returns the first value of name, trimmed of spaces.
func (p params) get(name string) string {
	if v := p[name]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

func (p params) has(name string) bool { _, ok := p[name]; return ok }

// all returns every value of name, trimmed, in the order sent.
func (p params) all(name string) []string {
	var out []string
	for _, v := range p[name] {
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

const maxBody = 1 << 20

// readParams reads the form body (whatever the Content-Type says: the
// live server ignores it, protocol.md §1) and the query string. Body
// values come first, as in net/http.
func readParams(r *http.Request) (params, url.Values, error) {
	raw := url.Values{}
	var perr error
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		switch {
		case err != nil:
			perr = err
		case len(b) > maxBody:
			perr = errors.New("body too large")
		}
		if len(bytes.TrimSpace(b)) > 0 {
			v, err := url.ParseQuery(string(b))
			if err != nil && perr == nil {
				perr = err
			}
			for k, vs := range v {
				raw[k] = append(raw[k], vs...)
			}
		}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil && perr == nil {
		perr = err
	}
	for k, vs := range q {
		raw[k] = append(raw[k], vs...)
	}
	p := params{}
	for k, vs := range raw {
		lk := strings.ToLower(k)
		p[lk] = append(p[lk], vs...)
	}
	return p, raw, perr
}

// authorized reports whether the request carries a valid access token as
// "Authorization: Bearer" or as an access_token parameter (§2.1). Basic
// credentials are not accepted on API calls (§8 question 7).
func (s *Server) authorized(r *http.Request, p params) bool {
	if tok, ok := bearer(r); ok && s.validToken(tok) {
		return true
	}
	for _, tok := range p.all("access_token") {
		if s.validToken(tok) {
			return true
		}
	}
	return false
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):]), true
	}
	return "", false
}

// contentTypeJSON is what JSON replies carry. The protocol does not
// document the header; clients must not depend on it.
const contentTypeJSON = "text/plain; charset=utf-8"

// marshal encodes v as compact JSON without HTML escaping (so a Sender
// keeps its literal "<addr>") and without a trailing newline.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("exmailtest: marshal: " + err.Error())
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func writeJSON(w http.ResponseWriter, v any) {
	b := marshal(v)
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Header().Set("Content-Length", itoa(len(b)))
	_, _ = w.Write(b)
}

// writeEmpty is the success reply of write endpoints: HTTP 200, no body.
func writeEmpty(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// writeError writes an errcode reply: HTTP 200 with
// {"errcode":"<digits>","error":"<name>"} (§2.3).
func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, errorBody(e.Code, e.Name))
}

type errorReply struct {
	ErrCode string `json:"errcode"`
	Error   string `json:"error,omitempty"`
}

func errorBody(code int, name string) errorReply {
	return errorReply{ErrCode: itoa(code), Error: name}
}
