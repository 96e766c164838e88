package corptest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/faultq"
)

// Defaults used when the corresponding Options field is zero.
const (
	DefaultCorpID          = "wm0000corptest"
	DefaultContactsSecret  = "contacts-secret-0123456789abcdefghijklmnopq"
	DefaultSSOSecret       = "sso-secret-0123456789abcdefghijklmnopqrstuv"
	DefaultNewMailSecret   = "newmail-secret-0123456789abcdefghijklmnopq"
	DefaultDomain          = "example.com"
	DefaultTokenLifetime   = 7200 * time.Second
	DefaultLoginLifetime   = 300 * time.Second
	DefaultCallbackToken   = "QDG6eKcorptest"
	DefaultCallbackAESKey  = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	DefaultInvalidCode     = CodeInvalidToken
	DefaultMaxRequests     = 1000
	defaultCallbackTimeout = 10 * time.Second
)

// Error codes the fake answers. 40001 and 40014 are documented by
// protocol.md §5; the others are WeChat Work's global codes, chosen here
// because the exmail API shares its style (see the package doc).
const (
	CodeBusy              = -1
	CodeInvalidCredential = 40001
	CodeInvalidCorpID     = 40013
	CodeInvalidToken      = 40014
	CodeInvalidParameter  = 40058
	CodeMissingToken      = 41001
	CodeMissingCorpID     = 41002
	CodeMissingSecret     = 41004
	CodeTokenExpired      = 42001
	CodeRateLimited       = 45009
	CodeNoPrivilege       = 60011
	CodeUserNotFound      = 60111
	CodeInvalidDepartment = 60123
)

// App names a system application; its secret's tokens are good only for
// its endpoints.
type App string

const (
	AppContacts App = "contacts" // 通讯录管理
	AppSSO      App = "sso"      // 单点登录
	AppNewMail  App = "newmail"  // 新邮件提醒
)

// Options configures a Server. Every zero field takes the default named
// on it.
type Options struct {
	// CorpID and the three application secrets gettoken accepts.
	// Defaults: DefaultCorpID, DefaultContactsSecret, DefaultSSOSecret,
	// DefaultNewMailSecret.
	CorpID         string
	ContactsSecret string
	SSOSecret      string
	NewMailSecret  string

	// Domain is the enterprise's mail domain. Default DefaultDomain.
	Domain string

	// TokenLifetime is expires_in of gettoken and the tokens' lifetime.
	// Default DefaultTokenLifetime (7200 s).
	TokenLifetime time.Duration
	// LoginLifetime is how long a get_login_url URL can be used (once).
	// Default DefaultLoginLifetime (300 s).
	LoginLifetime time.Duration
	// InvalidTokenCode is the errcode for an unknown access token:
	// DefaultInvalidCode (40014), or 40001, the other reading of
	// protocol.md §5. InvalidateTokens can override it.
	InvalidTokenCode int

	// NewCountRequiresDates makes mail/newcount answer 40058 when
	// begin_date or end_date is missing (one reading of the inconsistent
	// official page). By default both variants work.
	NewCountRequiresDates bool
	// CountAsString sends mail/newcount's count as a string ("3").
	CountAsString bool
	// ListChildrenOnly makes department/list?id=N return only N's direct
	// children (protocol.md's "1 = root's children") instead of N and all
	// its descendants (WeChat Work's rule, the default).
	ListChildrenOnly bool

	// CallbackURL, if set, receives the 新邮件提醒 callbacks (see
	// SetCallbackURL). CallbackToken and CallbackAESKey are the Token and
	// the 43-character EncodingAESKey. Defaults: DefaultCallbackToken,
	// DefaultCallbackAESKey.
	CallbackURL    string
	CallbackToken  string
	CallbackAESKey string
	// CallbackFormat is how callback messages are written; the zero
	// value is XML message in an XML envelope, as on the official page.
	CallbackFormat Format

	// Demo seeds the enterprise with SeedDemo at start.
	Demo bool
	// MaxRequests bounds the Requests log. Default DefaultMaxRequests.
	MaxRequests int
	// Logger receives one debug line per request (method and path only)
	// and per callback. Default: discard.
	Logger *slog.Logger
}

// Format selects the shape of callback messages (protocol.md §5 shows
// XML; JSON is the other reading).
type Format struct {
	JSONMessage  bool // the decrypted message is JSON, not XML
	JSONEnvelope bool // the POST body is {"encrypt":…}, not <xml><Encrypt>
	// UnreadAsMail labels UnRead messages MsgType "Mail", as the
	// mirrored doc page's sample does.
	UnreadAsMail bool
}

func (o Options) withDefaults() Options {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&o.CorpID, DefaultCorpID)
	def(&o.ContactsSecret, DefaultContactsSecret)
	def(&o.SSOSecret, DefaultSSOSecret)
	def(&o.NewMailSecret, DefaultNewMailSecret)
	def(&o.Domain, DefaultDomain)
	def(&o.CallbackToken, DefaultCallbackToken)
	def(&o.CallbackAESKey, DefaultCallbackAESKey)
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	if o.LoginLifetime <= 0 {
		o.LoginLifetime = DefaultLoginLifetime
	}
	if o.InvalidTokenCode == 0 {
		o.InvalidTokenCode = DefaultInvalidCode
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Server is the fake API. All methods are safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
	url  string
	hc   *http.Client // for callbacks

	mu          sync.Mutex
	tokens      map[string]token
	invalidCode int // errcode for unknown tokens
	logins      map[string]login
	ent         enterprise

	cmu sync.Mutex // callbacks: config, faults, last nonce
	cb  callbackState

	faults faultq.Queue[errReply]

	rmu      sync.Mutex
	requests []Request
}

type token struct {
	app     App
	expires time.Time
}

type login struct {
	userid  string
	expires time.Time
}

// New starts a Server on a real HTTP socket at 127.0.0.1:0. Close it when
// done.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("corptest: listen on loopback: " + err.Error())
	}
	s := &Server{
		opts:        opts,
		log:         opts.Logger,
		ln:          ln,
		url:         "http://" + ln.Addr().String(),
		hc:          &http.Client{Timeout: defaultCallbackTimeout},
		tokens:      map[string]token{},
		logins:      map[string]login{},
		invalidCode: opts.InvalidTokenCode,
	}
	s.ent.init(opts.Domain)
	if err := s.initCallback(); err != nil {
		panic("corptest: " + err.Error())
	}
	if opts.Demo {
		s.SeedDemo()
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

// Close shuts the server down and waits for running handlers.
func (s *Server) Close() {
	_ = s.srv.Close()
	s.hc.CloseIdleConnections()
}

// URL is the server's root, e.g. http://127.0.0.1:43211.
func (s *Server) URL() string { return s.url }

// BaseURL is the API base, URL()+"/cgi-bin/" (Config.BaseURL of the
// client).
func (s *Server) BaseURL() string { return s.url + "/cgi-bin/" }

// CorpID returns the corpid gettoken accepts.
func (s *Server) CorpID() string { return s.opts.CorpID }

// Secret returns the secret gettoken accepts for app.
func (s *Server) Secret(app App) string {
	switch app {
	case AppContacts:
		return s.opts.ContactsSecret
	case AppSSO:
		return s.opts.SSOSecret
	case AppNewMail:
		return s.opts.NewMailSecret
	}
	return ""
}

// Domain returns the enterprise's mail domain.
func (s *Server) Domain() string { return s.opts.Domain }

// route is one endpoint.
type route struct {
	fn   func(s *Server, w http.ResponseWriter, r *http.Request, p params)
	app  App // "" = no token needed
	post bool
}

var routes = map[string]route{
	"gettoken":              {fn: (*Server).handleGetToken},
	"user/get":              {fn: (*Server).handleUserGet, app: AppContacts},
	"user/simplelist":       {fn: (*Server).handleSimpleList, app: AppContacts},
	"department/list":       {fn: (*Server).handleDepartmentList, app: AppContacts},
	"service/get_login_url": {fn: (*Server).handleLoginURL, app: AppSSO},
	"mail/newcount":         {fn: (*Server).handleNewCount, app: AppNewMail, post: true},
	"login":                 {fn: (*Server).handleLogin},
}

// routeName turns "/cgi-bin/mail/newcount" into "mail/newcount".
func routeName(path string) string {
	path = strings.TrimPrefix(path, "/")
	path = strings.TrimPrefix(path, "cgi-bin/")
	if path == "" {
		return "*"
	}
	return path
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	name := routeName(r.URL.Path)
	p, perr := readParams(r)
	s.record(r, name)
	s.log.Debug("corptest: request", "method", r.Method, "path", r.URL.Path)
	rt, ok := routes[name]
	if !ok || !strings.HasPrefix(r.URL.Path, "/cgi-bin/") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && !(rt.post && r.Method == http.MethodPost) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if s.injectFault(name, w) {
		return
	}
	if perr != nil {
		writeError(w, CodeInvalidParameter, "invalid parameter")
		return
	}
	if rt.app != "" {
		if code, msg := s.authorize(p.get("access_token"), rt.app); code != 0 {
			writeError(w, code, msg)
			return
		}
	}
	rt.fn(s, w, r, p)
}

// params holds the query string and, for POST, the JSON body's fields
// (strings or numbers, as text). The token is only read from the query
// (protocol.md §5: "access_token always in the URL query string").
type params struct {
	query url.Values
	body  map[string]string
}

func (p params) get(name string) string {
	if v, ok := p.body[name]; ok && name != "access_token" {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(p.query.Get(name))
}

func (p params) has(name string) bool {
	if _, ok := p.body[name]; ok {
		return true
	}
	return p.query.Has(name)
}

const maxBody = 1 << 20

func readParams(r *http.Request) (params, error) {
	p := params{query: r.URL.Query()}
	if r.Method != http.MethodPost {
		return p, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return p, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return p, err
	}
	p.body = map[string]string{}
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			p.body[k] = s
			continue
		}
		p.body[k] = string(v)
	}
	return p, nil
}

// authorize checks an access token for app: 41001 missing, the invalid
// code (40014 or 40001) unknown, 42001 expired, 60011 another
// application's token.
func (s *Server) authorize(tok string, app App) (int, string) {
	if tok == "" {
		return CodeMissingToken, "access_token missing"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	switch {
	case !ok && s.invalidCode == CodeInvalidCredential:
		return CodeInvalidCredential, "invalid credential, access_token is invalid or not latest"
	case !ok:
		return s.invalidCode, "invalid access_token"
	case !time.Now().Before(t.expires):
		return CodeTokenExpired, "access_token expired"
	case t.app != app:
		return CodeNoPrivilege, "no privilege to access/modify contact/party/agent"
	}
	return 0, ""
}

// handleGetToken serves GET gettoken?corpid=&corpsecret= (protocol.md §5).
func (s *Server) handleGetToken(w http.ResponseWriter, r *http.Request, p params) {
	corpid, secret := p.get("corpid"), p.get("corpsecret")
	switch {
	case corpid == "":
		writeError(w, CodeMissingCorpID, "corpid missing")
		return
	case secret == "":
		writeError(w, CodeMissingSecret, "corpsecret missing")
		return
	case corpid != s.opts.CorpID:
		writeError(w, CodeInvalidCorpID, "invalid corpid")
		return
	}
	var app App
	for _, a := range []App{AppContacts, AppSSO, AppNewMail} {
		if secret == s.Secret(a) {
			app = a
		}
	}
	if app == "" {
		writeError(w, CodeInvalidCredential, "invalid credential")
		return
	}
	tok := s.IssueToken(app)
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": int(s.opts.TokenLifetime / time.Second)})
}

// IssueToken makes a new access token for app, valid for TokenLifetime,
// as gettoken would.
func (s *Server) IssueToken(app App) string {
	tok := randomString(48) // 64 characters (the doc: 64–512 bytes)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, t := range s.tokens {
		if !now.Before(t.expires) {
			delete(s.tokens, k)
		}
	}
	s.tokens[tok] = token{app: app, expires: now.Add(s.opts.TokenLifetime)}
	return tok
}

// Tokens returns the unexpired tokens issued for app (tests search
// output for them).
func (s *Server) Tokens(app App) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k, t := range s.tokens {
		if t.app == app && time.Now().Before(t.expires) {
			out = append(out, k)
		}
	}
	return out
}

// ExpireTokens makes every issued token expired: the next call with one
// answers 42001.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for k, t := range s.tokens {
		t.expires = past
		s.tokens[k] = t
	}
}

// InvalidateTokens forgets every issued token ("token invalidated
// mid-stream"): the next call with one answers code, 40001 or 40014 (0
// keeps the current code).
func (s *Server) InvalidateTokens(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
	if code != 0 {
		s.invalidCode = code
	}
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// writeError answers HTTP 200 {"errcode":<code>,"errmsg":<msg>}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg})
}
