package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// tokenCache holds the one access token the Client shares between calls
// (protocol.md §3.1). Tokens come from x/oauth2/clientcredentials; the
// cache replaces a token margin before its expires_in runs out, and
// invalidate drops it after the server answered errcode 1200.
//
// Concurrent callers wait for one fetch instead of each fetching a token.
type tokenCache struct {
	cfg    clientcredentials.Config
	hc     *http.Client
	margin time.Duration

	mu     sync.Mutex
	tok    *oauth2.Token
	expiry time.Time
}

func newTokenCache(id string, secret Secret, tokenURL string, hc *http.Client, margin time.Duration) *tokenCache {
	return &tokenCache{
		cfg: clientcredentials.Config{
			ClientID:     id,
			ClientSecret: secret.Reveal(),
			TokenURL:     tokenURL,
			// Form body, as nearly every client of the live service does
			// (protocol.md §3.1). Explicit: auto-detection costs a round trip.
			AuthStyle: oauth2.AuthStyleInParams,
		},
		hc: &http.Client{
			Transport:     errcodeStatus{hc.Transport},
			Timeout:       hc.Timeout,
			CheckRedirect: hc.CheckRedirect,
		},
		margin: margin,
	}
}

// get returns a valid token, fetching one if needed.
func (t *tokenCache) get(ctx context.Context) (Secret, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && time.Now().Before(t.expiry) {
		return Secret(t.tok.AccessToken), nil
	}
	tok, err := t.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, t.hc))
	if err != nil {
		return "", tokenError(ctx, err)
	}
	t.tok = tok
	t.expiry = time.Now().Add(24 * time.Hour) // protocol default, if expires_in is missing
	if !tok.Expiry.IsZero() {
		t.expiry = tok.Expiry
	}
	t.expiry = t.expiry.Add(-t.margin)
	return Secret(tok.AccessToken), nil
}

// expires returns when the cached token stops being used (zero if none).
func (t *tokenCache) expires() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == nil {
		return time.Time{}
	}
	return t.expiry
}

// invalidate drops the cached token if it is still old; a token fetched
// meanwhile by another caller is kept.
func (t *tokenCache) invalidate(old string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken == old {
		t.tok = nil
	}
}

// tokenError classifies a token fetch failure without repeating the reply
// body verbatim (it is not ours to log).
func tokenError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	const op = "token"
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &Error{Op: op, Name: safetext.Line(re.ErrorCode, 80)}
		if re.Response != nil {
			e.HTTPStatus = re.Response.StatusCode
		}
		if env, ok := parseEnvelope(re.Body); ok {
			e.Code, e.Name = int(env.Code), safetext.Line(env.Name, 80)
		}
		if e.Is(ErrIPNotAllowed) || e.Is(ErrUnavailable) {
			return e
		}
		return fmt.Errorf("%w (%w)", ErrAuth, e)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return transportError(ctx, op, err)
	}
	// A 200 reply without access_token: the token endpoint's error format
	// is undocumented (protocol.md §3.1); clients treat it as a rejection.
	return fmt.Errorf("%w (exmail token: the reply carried no access token)", ErrAuth)
}

// errcodeStatus makes a token reply of HTTP 200 that carries an errcode
// envelope (§2.3) look like the failure it is, so that x/oauth2 reports it
// as a *oauth2.RetrieveError with the body, and tokenError can classify
// the code (10001 IP not allowed, 1002 unavailable, ...).
//
// It also labels a JSON body as application/json whatever Content-Type
// the server sent: x/oauth2 parses a text/plain reply as a query string
// and would find no access_token in {"access_token":…}. The protocol does
// not document the header (old Tencent CGIs often say text/plain).
type errcodeStatus struct{ rt http.RoundTripper }

func (t errcodeStatus) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '{' {
		resp.Header = resp.Header.Clone()
		if resp.Header == nil {
			resp.Header = http.Header{}
		}
		resp.Header.Set("Content-Type", "application/json")
	}
	if _, ok := parseEnvelope(body); ok && resp.StatusCode == http.StatusOK {
		resp.StatusCode, resp.Status = http.StatusBadRequest, "400 errcode in token reply"
	}
	return resp, nil
}
