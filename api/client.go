package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/backoff"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// Default endpoints of the legacy OpenApi v1.4 (protocol.md §1).
const (
	DefaultTokenURL = "https://exmail.qq.com/cgi-bin/token"
	DefaultBaseURL  = "http://openapi.exmail.qq.com:12211/openapi/"
	DefaultLoginURL = "https://exmail.qq.com/cgi-bin/login"
)

// maxBody bounds every reply the client reads into memory.
const maxBody = 1 << 20

// Config configures a Client. The zero value of each optional field selects
// the default documented on it.
type Config struct {
	ClientID     string // the enterprise admin account (client_id)
	ClientSecret Secret // the 32-hex "interface key" (接口key)

	BaseURL  string // API base, must end in "/"; defaults to DefaultBaseURL
	TokenURL string // defaults to DefaultTokenURL
	LoginURL string // SSO entry; defaults to DefaultLoginURL

	// Transport is the base transport. Defaults to a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Timeout bounds ordinary calls and token fetches (not Listen).
	// Defaults to 15 seconds.
	Timeout time.Duration
	// ReadRetries is how many times a read call is retried after a
	// transient failure (network error, HTTP 5xx, errcode 1002). Defaults
	// to 2; a negative value disables retries.
	ReadRetries int
	// TokenMargin is how long before its expiry a cached token is replaced.
	// Defaults to 5 minutes.
	TokenMargin time.Duration
	// Logger receives debug and warning lines. It never receives a secret.
	// Defaults to discarding.
	Logger *slog.Logger
	// InsecureTokenURL allows a plain-HTTP token endpoint on another
	// machine. The token request carries the permanent interface key, so
	// by default New refuses such a TokenURL (ErrInsecureTokenURL);
	// loopback addresses are always allowed (tests, the demo).
	InsecureTokenURL bool
}

// ErrInsecureTokenURL: the token URL is plain HTTP to another machine, so
// the interface key would cross the network in clear text.
var ErrInsecureTokenURL = errors.New("exmail: config: the token URL is plain HTTP to another machine: the interface key would cross the network in clear text")

// Client talks to the exmail OpenApi v1.4. It is safe for concurrent use.
//
// Calls are grouped by protocol area, go-github style: c.Mail, c.Users,
// c.Party and c.Groups. The listen connection is Client.Listen.
type Client struct {
	clientID string
	baseURL  *url.URL
	loginURL *url.URL
	hc       *http.Client // Timeout set: ordinary calls
	long     *http.Client // no Timeout: only for Listen, bounded by ctx
	tokens   *tokenCache
	log      *slog.Logger
	retries  int

	Mail   *MailService
	Users  *UserService
	Party  *PartyService
	Groups *GroupService
}

type service struct{ c *Client }

// New returns a Client for cfg. It does not contact the server; the first
// call fetches a token.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("exmail: config: the admin account (client id) is empty")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("exmail: config: the interface key is empty")
	}
	base, err := parseEndpoint("API base URL", cfg.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(base.Path, "/") {
		return nil, fmt.Errorf("exmail: config: API base URL %q must end in \"/\"", base.Redacted())
	}
	tokenURL, err := parseEndpoint("token URL", cfg.TokenURL, DefaultTokenURL)
	if err != nil {
		return nil, err
	}
	if tokenURL.Scheme == "http" && !isLoopback(tokenURL.Hostname()) && !cfg.InsecureTokenURL {
		return nil, fmt.Errorf("%w (%s)", ErrInsecureTokenURL, tokenURL.Redacted())
	}
	login, err := parseEndpoint("login URL", cfg.LoginURL, DefaultLoginURL)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.ReadRetries == 0 {
		cfg.ReadRetries = 2
	}
	if cfg.ReadRetries < 0 {
		cfg.ReadRetries = 0
	}
	if cfg.TokenMargin <= 0 {
		cfg.TokenMargin = 5 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		clientID: cfg.ClientID,
		baseURL:  base,
		loginURL: login,
		hc:       &http.Client{Transport: rt, Timeout: cfg.Timeout, CheckRedirect: noRedirect},
		long:     &http.Client{Transport: rt, CheckRedirect: noRedirect},
		log:      log,
		retries:  cfg.ReadRetries,
	}
	c.tokens = newTokenCache(cfg.ClientID, cfg.ClientSecret, tokenURL.String(), c.hc, cfg.TokenMargin)
	c.Mail = (*MailService)(&service{c})
	c.Users = (*UserService)(&service{c})
	c.Party = (*PartyService)(&service{c})
	c.Groups = (*GroupService)(&service{c})
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		log.Warn("the exmail API base URL is plain HTTP: the access token and mail metadata cross the network unencrypted (protocol.md §1)",
			"base", base.Redacted())
	}
	return c, nil
}

// ClientID returns the admin account the client authenticates as.
func (c *Client) ClientID() string { return c.clientID }

func parseEndpoint(what, raw, def string) (*url.URL, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("exmail: config: %s %q is not an http(s) URL", what, redactURLString(raw))
	}
	if u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("exmail: config: %s must not carry credentials or a query", what)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// callKind says whether a call may be retried after a transient failure.
type callKind int

const (
	read  callKind = iota // retried on transient failures, with jitter
	write                 // never retried, except once after a token refresh
)

// call posts form to op (a path relative to the API base, e.g.
// "mail/newcount") and decodes the JSON reply into out (nil: ignore the
// body). An errcode 1200 invalidates the token and retries once; read calls
// also retry transient failures up to c.retries times.
func (c *Client) call(ctx context.Context, kind callKind, op string, form url.Values, out any) error {
	refreshed := false
	for attempt := 0; ; attempt++ {
		body, tok, err := c.roundTrip(ctx, op, form)
		if err == nil {
			err = decodeReply(op, body, out)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrInvalidToken) && !refreshed && tok != "" {
			refreshed = true
			c.tokens.invalidate(tok)
			c.log.Debug("exmail: token rejected; fetching a new one", "op", op)
			continue
		}
		if kind == write || attempt >= c.retries || !transient(err) {
			return err
		}
		d := backoff.Retry(attempt)
		c.log.Debug("exmail: transient failure; retrying", "op", op, "attempt", attempt+1, "in", d, "err", err)
		if err := sleep(ctx, d, nil); err != nil {
			return err
		}
	}
}

// roundTrip performs one authenticated POST and returns the body and the
// token it used.
func (c *Client) roundTrip(ctx context.Context, op string, form url.Values) ([]byte, string, error) {
	req, tok, err := c.newRequest(ctx, op, form)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, tok, transportError(ctx, op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, tok, transportError(ctx, op, err)
	}
	if len(body) > maxBody {
		return nil, tok, &Error{Op: op, HTTPStatus: resp.StatusCode, Message: "reply larger than 1 MiB"}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Op: op, HTTPStatus: resp.StatusCode, Message: safetext.Line(string(body), 200)}
		// An errcode inside an error status still says more than the status.
		if env, ok := parseEnvelope(body); ok {
			e.Code, e.Name = int(env.Code), env.Name
		}
		return nil, tok, e
	}
	return body, tok, nil
}

// newRequest builds an authenticated form POST to op. It fetches (or
// reuses) the access token and returns it so the caller can invalidate it.
// The token travels only in the Authorization header, never in the URL.
func (c *Client) newRequest(ctx context.Context, op string, form url.Values) (*http.Request, string, error) {
	tok, err := c.tokens.get(ctx)
	if err != nil {
		return nil, "", err
	}
	u, err := c.baseURL.Parse(op)
	if err != nil {
		return nil, "", fmt.Errorf("exmail %s: %w", op, err)
	}
	if tokenInBody[op] {
		form = cloneWith(form, "access_token", tok.Reveal())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", fmt.Errorf("exmail %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	req.Header.Set("User-Agent", "exmail-notifier")
	return req, tok.Reveal(), nil
}

// tokenInBody lists the calls whose PDF examples carry access_token in the
// form body instead of the Bearer header: the four v1.4 additions
// (protocol.md §2.1, §3.18, §3.19). They get both; the body copy is
// harmless elsewhere too, but the other calls keep the token out of the
// body as every working client does.
var tokenInBody = map[string]bool{
	"group/addallowlist": true,
	"group/delallowlist": true,
	"user/openwxtoken":   true,
	"user/closewxtoken":  true,
}

// cloneWith returns a copy of form with key set to value.
func cloneWith(form url.Values, key, value string) url.Values {
	c := make(url.Values, len(form)+1)
	for k, v := range form {
		c[k] = v
	}
	c.Set(key, value)
	return c
}

// envelope is the error shape of protocol.md §2.3.
type envelope struct {
	Code Int    `json:"errcode"`
	Name string `json:"error"`
}

func parseEnvelope(body []byte) (envelope, bool) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return env, false
	}
	return env, env.Code != 0 || env.Name != ""
}

// decodeReply turns a 200 body into out, or into *Error when it carries an
// errcode. An empty body is success (write calls answer with nothing); a
// read call that needs a body reports it.
func decodeReply(op string, body []byte, out any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		if out != nil {
			return &Error{Op: op, HTTPStatus: http.StatusOK, Message: "empty reply"}
		}
		return nil
	}
	if env, ok := parseEnvelope(trimmed); ok {
		return &Error{Op: op, HTTPStatus: http.StatusOK, Code: int(env.Code), Name: safetext.Line(env.Name, 80)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		return &Error{Op: op, HTTPStatus: http.StatusOK, Message: "malformed reply: " + safetext.Line(err.Error(), 120)}
	}
	return nil
}

// transportError wraps a network failure without leaking anything secret:
// request URLs carry no token (it is in a header), but the URL is reduced
// to scheme, host and path all the same.
func transportError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURLString(ue.URL)
	}
	return fmt.Errorf("exmail %s: %w", op, &netError{err})
}

// netError marks a transport failure as transient.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// transient reports whether err is worth retrying: a network failure, an
// HTTP 5xx or errcode 1002.
func transient(err error) bool {
	var ne *netError
	return errors.As(err, &ne) || errors.Is(err, ErrUnavailable)
}

// redactURLString keeps scheme, host and path and drops user info, query
// and fragment, where tickets and tokens could hide.
func redactURLString(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable URL]"
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}
