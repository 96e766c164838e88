package corpapi

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
	"sync/atomic"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/internal/backoff"
)

// DefaultBaseURL is the current exmail API (protocol.md §5).
const DefaultBaseURL = "https://api.exmail.qq.com/cgi-bin/"

// maxBody bounds every reply the client reads into memory.
const maxBody = 1 << 20

// App is one of the enterprise's system applications. Each has its own
// secret (corpsecret), and a token is good only for its application's
// calls (protocol.md §5).
type App int

const (
	AppContacts App = iota + 1 // 通讯录管理: user/get, user/simplelist, department/list
	AppSSO                     // 单点登录: service/get_login_url
	AppNewMail                 // 新邮件提醒: mail/newcount (and the callback mode)
)

func (a App) String() string {
	switch a {
	case AppContacts:
		return "address book (通讯录管理)"
	case AppSSO:
		return "single sign-on (单点登录)"
	case AppNewMail:
		return "new-mail reminder (新邮件提醒)"
	}
	return fmt.Sprintf("App(%d)", int(a))
}

// Config configures a Client. CorpID and at least one secret are
// required; the zero value of every other field selects the default
// documented on it.
type Config struct {
	// CorpID is the enterprise's corpid, shown at the bottom of
	// 工具箱 → 应用中心 in the admin console.
	CorpID string
	// The secrets (corpsecret) of the system applications, shown on each
	// application's page in 工具箱 → 应用中心. Only the applications the
	// caller uses need one: a desktop needs SSOSecret and NewMailSecret,
	// a directory tool ContactsSecret. A call whose application has no
	// secret fails with ErrNoSecret.
	ContactsSecret api.Secret
	SSOSecret      api.Secret
	NewMailSecret  api.Secret

	// BaseURL is the API base and must end in "/". Defaults to
	// DefaultBaseURL.
	BaseURL string
	// HTTPClient makes the requests. Defaults to a client with a
	// 15-second timeout over a clone of http.DefaultTransport. The client
	// is copied, never changed; redirects are never followed (the URL
	// carries the token).
	HTTPClient *http.Client
	// ReadRetries is how many times a call is retried after a transient
	// failure (network error, HTTP 5xx, errcode -1) with jittered
	// backoff. Defaults to 2; a negative value disables retries. Rate
	// limits (ErrRateLimited) are not retried.
	ReadRetries int
	// TokenMargin is how long before its expires_in a cached token is
	// replaced. Defaults to 5 minutes (capped at half the lifetime).
	TokenMargin time.Duration
	// Logger receives debug lines (endpoint, attempt, error). It never
	// receives a secret, a token, a URL query or a login URL. Defaults
	// to discarding.
	Logger *slog.Logger
}

// Client talks to the current exmail API. It is safe for concurrent use.
// Calls are grouped go-github style: c.Users, c.Departments and c.Mail.
type Client struct {
	corpID  string
	base    *url.URL
	hc      *http.Client
	tokens  map[App]*tokenCache
	log     *slog.Logger
	retries int

	// newCountDates is set once mail/newcount refused a request without
	// begin_date/end_date; from then on NewCount sends them.
	newCountDates atomic.Bool

	Users       *UserService
	Departments *DepartmentService
	Mail        *MailService
}

type service struct{ c *Client }

// UserService covers user/get and user/simplelist (application
// 通讯录管理).
type UserService service

// DepartmentService covers department/list (application 通讯录管理).
type DepartmentService service

// MailService covers mail/newcount (新邮件提醒) and
// service/get_login_url (单点登录). It satisfies the tray's Counter and
// Linker interfaces.
type MailService service

// New returns a Client for cfg. It does not contact the server; the first
// call of each application fetches its token.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.CorpID) == "" {
		return nil, errors.New("exmail corpapi: config: the corpid is empty")
	}
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("exmail corpapi: config: base URL %q is not an http(s) URL", redactURL(raw))
	}
	if base.User != nil || base.RawQuery != "" || !strings.HasSuffix(base.Path, "/") {
		return nil, fmt.Errorf("exmail corpapi: config: base URL %q must end in \"/\" and carry no credentials or query", redactURL(raw))
	}
	if cfg.ReadRetries == 0 {
		cfg.ReadRetries = 2
	}
	cfg.ReadRetries = max(cfg.ReadRetries, 0)
	if cfg.TokenMargin <= 0 {
		cfg.TokenMargin = 5 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc = http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 15 * time.Second}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{corpID: cfg.CorpID, base: base, hc: &hc, log: log, retries: cfg.ReadRetries, tokens: map[App]*tokenCache{}}
	for app, secret := range map[App]api.Secret{AppContacts: cfg.ContactsSecret, AppSSO: cfg.SSOSecret, AppNewMail: cfg.NewMailSecret} {
		if secret != "" {
			c.tokens[app] = &tokenCache{app: app, secret: secret, margin: cfg.TokenMargin, fetch: c.getToken}
		}
	}
	if len(c.tokens) == 0 {
		return nil, errors.New("exmail corpapi: config: no application secret given")
	}
	c.Users = (*UserService)(&service{c})
	c.Departments = (*DepartmentService)(&service{c})
	c.Mail = (*MailService)(&service{c})
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		log.Warn("exmail corpapi: the base URL is plain HTTP: access tokens travel in its query string unencrypted", "base", redactURL(raw))
	}
	return c, nil
}

// CorpID returns the enterprise's corpid.
func (c *Client) CorpID() string { return c.corpID }

// TokenExpiry returns when the cached token of app stops being used, or
// the zero time if there is none (for doctor-style reports).
func (c *Client) TokenExpiry(app App) time.Time {
	if t := c.tokens[app]; t != nil {
		return t.expires()
	}
	return time.Time{}
}

// CheckToken fetches (or reuses) app's token: a cheap way to check the
// corpid and the secret.
func (c *Client) CheckToken(ctx context.Context, app App) error {
	t := c.tokens[app]
	if t == nil {
		return &argError{op: opGetToken, msg: "no secret for the " + app.String() + " application", noSecret: true}
	}
	_, err := t.get(ctx)
	return err
}

const opGetToken = "gettoken"

// getToken performs GET gettoken?corpid=&corpsecret= (protocol.md §5).
// It is retried like a read; its errors match ErrAuth unless transient.
func (c *Client) getToken(ctx context.Context, app App, secret api.Secret) (api.Secret, time.Duration, error) {
	q := url.Values{"corpid": {c.corpID}, "corpsecret": {secret.Reveal()}}
	var out struct {
		AccessToken string   `json:"access_token"`
		ExpiresIn   *api.Int `json:"expires_in"`
	}
	err := c.retry(ctx, opGetToken, func() error {
		return c.do(ctx, opGetToken, q, &out, secret)
	})
	if err != nil {
		return "", 0, err
	}
	if out.AccessToken == "" {
		return "", 0, &Error{Op: opGetToken, HTTPStatus: http.StatusOK, Message: "the reply carried no access_token"}
	}
	var life time.Duration
	if out.ExpiresIn != nil && *out.ExpiresIn > 0 {
		life = time.Duration(*out.ExpiresIn) * time.Second
	}
	c.log.Debug("exmail corpapi: token fetched", "app", app.String(), "expires_in", life)
	return api.Secret(out.AccessToken), life, nil
}

// call performs an authenticated GET op?query&access_token= with app's
// token and decodes the reply into out. A refused token (ErrInvalidToken) is dropped, a new one
// fetched and the call retried once; transient failures are retried up
// to c.retries times.
func (c *Client) call(ctx context.Context, app App, op string, query url.Values, out any) error {
	tc := c.tokens[app]
	if tc == nil {
		return &argError{op: op, msg: "needs the secret of the " + app.String() + " application", noSecret: true}
	}
	refreshed := false
	for {
		tok, err := tc.get(ctx)
		if err != nil {
			return err
		}
		q := make(url.Values, len(query)+1)
		for k, v := range query {
			q[k] = v
		}
		q.Set("access_token", tok.Reveal())
		err = c.retry(ctx, op, func() error { return c.do(ctx, op, q, out, tok) })
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrInvalidToken) && !refreshed {
			refreshed = true
			tc.invalidate(tok)
			c.log.Debug("exmail corpapi: token refused; fetching a new one", "op", op, "app", app.String())
			continue
		}
		return err
	}
}

// retry runs try, and again after a transient failure, at most c.retries
// more times, with jittered exponential backoff.
func (c *Client) retry(ctx context.Context, op string, try func() error) error {
	for attempt := 0; ; attempt++ {
		err := try()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt >= c.retries || !transient(err) {
			return err
		}
		d := backoff.Retry(attempt)
		c.log.Debug("exmail corpapi: transient failure; retrying", "op", op, "attempt", attempt+1, "in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// do performs one GET op?q and decodes the reply. Every call the client
// makes is a GET with its parameters in the query (protocol.md §5).
// secrets are scrubbed from anything the server sends back before it
// reaches an error.
func (c *Client) do(ctx context.Context, op string, q url.Values, out any, secrets ...api.Secret) error {
	u, err := c.base.Parse(op)
	if err != nil {
		return fmt.Errorf("exmail corpapi %s: %w", op, err)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		// The message of a URL parse error may quote the URL.
		return fmt.Errorf("exmail corpapi %s: cannot build the request", op)
	}
	req.Header.Set("User-Agent", "exmail-notifier")
	resp, err := c.hc.Do(req)
	if err != nil {
		return transportError(ctx, op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return transportError(ctx, op, err)
	}
	if len(raw) > maxBody {
		return &Error{Op: op, HTTPStatus: resp.StatusCode, Message: "reply larger than 1 MiB"}
	}
	env, isEnv := parseEnvelope(raw)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Op: op, HTTPStatus: resp.StatusCode}
		if isEnv {
			e.Code, e.Message = int(env.Code), scrub(env.Msg, secrets)
		}
		return e
	}
	if !isEnv {
		return &Error{Op: op, HTTPStatus: resp.StatusCode, Message: "the reply is not a JSON object"}
	}
	if env.Code != 0 {
		return &Error{Op: op, HTTPStatus: resp.StatusCode, Code: int(env.Code), Message: scrub(env.Msg, secrets)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return &Error{Op: op, HTTPStatus: resp.StatusCode, Message: "malformed reply"}
		}
	}
	return nil
}

// envelope is the part of every reply: errcode (an integer, 0 = OK;
// accepted as a string too) and errmsg.
type envelope struct {
	Code api.Int `json:"errcode"`
	Msg  string  `json:"errmsg"`
}

func parseEnvelope(raw []byte) (envelope, bool) {
	var env envelope
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return env, false
	}
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return env, false
	}
	return env, true
}

// scrub cleans an untrusted errmsg: secrets the request carried are
// removed (a server may echo the request), control characters dropped,
// and the text cut to 200 bytes.
func scrub(msg string, secrets []api.Secret) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s.Reveal(), "[redacted]")
			msg = strings.ReplaceAll(msg, url.QueryEscape(s.Reveal()), "[redacted]")
		}
	}
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(msg, ""))
	msg = strings.TrimSpace(msg)
	const n = 200
	if len(msg) <= n {
		return msg
	}
	i := n
	for i > 0 && msg[i]&0xC0 == 0x80 {
		i--
	}
	return msg[:i] + "…"
}

// transportError wraps a network failure. The request URL carries the
// access token or the corpsecret in its query, so the *url.Error's URL is
// reduced to scheme, host and path, and the wrapped error's text (which
// could quote the URL, e.g. in a redirect error) is rebuilt from that.
func transportError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		clean := &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
		if strings.Contains(ue.Err.Error(), "?") {
			clean.Err = errors.New("request failed")
			if ne, ok := ue.Err.(net.Error); ok && ne.Timeout() {
				clean.Err = errors.New("timeout")
			}
		}
		err = clean
	}
	return fmt.Errorf("exmail corpapi %s: %w", op, &netError{err})
}

// netError marks a transport failure as transient.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// transient reports whether err is worth retrying at once: a network
// failure, an HTTP 5xx or errcode -1. Rate limits are not.
func transient(err error) bool {
	var ne *netError
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrRateLimited)
}

// redactURL keeps scheme, host and path and drops user info, query and
// fragment, where tokens, secrets and login keys travel.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable URL]"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
