package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// The tests in this package run the client against the fake server of
// api/exmailtest, which implements protocol.md §3 with an in-memory
// enterprise. Each test reads the request back from the fake (path, form,
// Bearer header) and checks what the client decoded.
//
// Tests that involve retry delays (250 ms·2ⁿ) run inside a
// testing/synctest bubble over the fake's in-memory pipe (newPipe), so
// they wait no real time.

const (
	bob   = "bob@example.com"
	alice = "alice@example.com"
)

// spy is a RoundTripper that remembers every bearer token the client
// sent, so that tests can assert no token leaks into an error.
type spy struct {
	rt     http.RoundTripper
	mu     sync.Mutex
	tokens []string
}

func (s *spy) RoundTrip(r *http.Request) (*http.Response, error) {
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		s.mu.Lock()
		s.tokens = append(s.tokens, h)
		s.mu.Unlock()
	}
	return s.rt.RoundTrip(r)
}

func (s *spy) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokens...)
}

// fixture is a fake server, a client configured for it, and the spy
// between them.
type fixture struct {
	srv *exmailtest.Server
	c   *api.Client
	spy *spy
}

// setup starts a fake server on loopback with bob and alice, and a client
// for it. mods adjust the client's Config.
func setup(t *testing.T, mods ...func(*api.Config)) *fixture {
	t.Helper()
	srv := exmailtest.New(exmailtest.Options{})
	t.Cleanup(srv.Close)
	return newFixture(t, srv, mods...)
}

// setupPipe is setup over an in-memory pipe, for use inside
// synctest.Test: the fake and the client must be created in the bubble.
// checkDiff reports, under what, how got differs from want.
func checkDiff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// setupAfter is setup with call made; an error from it ends the test.
func setupAfter(t *testing.T, call func(f *fixture) error) *fixture {
	t.Helper()
	f := setup(t)
	if err := call(f); err != nil {
		t.Fatal(err)
	}
	return f
}

func setupPipe(t *testing.T, mods ...func(*api.Config)) *fixture {
	t.Helper()
	srv := exmailtest.NewPipe(exmailtest.Options{})
	t.Cleanup(srv.Close)
	return newFixture(t, srv, mods...)
}

func newFixture(t *testing.T, srv *exmailtest.Server, mods ...func(*api.Config)) *fixture {
	t.Helper()
	for _, u := range []exmailtest.User{
		{Alias: bob, Name: "Bob", Parties: []string{"研发中心/后端组"}},
		{Alias: alice, Name: "Alice"},
	} {
		if err := srv.AddUser(u); err != nil {
			t.Fatalf("AddUser(%s): %v", u.Alias, err)
		}
	}
	sp := &spy{rt: srv.Transport()}
	cfg := api.Config{
		ClientID:         srv.ClientID(),
		ClientSecret:     api.Secret(srv.ClientSecret()),
		BaseURL:          srv.APIBase(),
		TokenURL:         srv.TokenURL(),
		InsecureTokenURL: true, // an in-memory transport: nothing crosses a network
		LoginURL:         srv.LoginURL(),
		Transport:        sp,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := api.New(cfg)
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	srv.ResetRequests()
	return &fixture{srv: srv, c: c, spy: sp}
}

// only returns the one request made to path, failing if there were
// none or several.
func (f *fixture) only(t *testing.T, path string) exmailtest.Request {
	t.Helper()
	reqs := f.srv.RequestsTo(path)
	if len(reqs) != 1 {
		t.Fatalf("%d requests to %s, want 1", len(reqs), path)
	}
	return reqs[0]
}

// count returns how many requests reached path.
func (f *fixture) count(path string) int { return len(f.srv.RequestsTo(path)) }

// checkRequest asserts the shape every API request must have (a POST with
// a form body and a Bearer header, protocol.md §2.1) and its form. The four
// v1.4 additions, whose PDF examples carry access_token in the body, also
// send it there; no other call does.
func checkRequest(t *testing.T, r exmailtest.Request, want url.Values) {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("%s: method %s, want POST", r.Path, r.Method)
	}
	if r.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("%s: Content-Type %q, want a form", r.Path, r.ContentType)
	}
	if !r.Bearer {
		t.Errorf("%s: no Authorization: Bearer header", r.Path)
	}
	inBody := map[string]bool{"group/addallowlist": true, "group/delallowlist": true,
		"user/openwxtoken": true, "user/closewxtoken": true}[strings.TrimPrefix(r.Path, "/openapi/")]
	tok, sent := r.Form["access_token"]
	switch {
	case inBody && (!sent || len(tok) != 1):
		t.Errorf("%s: access_token not in the body, where the PDF's v1.4 examples put it", r.Path)
	case !inBody && sent:
		t.Errorf("%s: access_token sent as a parameter; it belongs in the header only", r.Path)
	}
	got := url.Values{}
	for k, v := range r.Form {
		if k != "access_token" {
			got[k] = v
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s form mismatch (-want +got):\n%s", r.Path, diff)
	}
}

// noSecrets fails if msg contains the interface key, a bearer token the
// client sent, or any of extra.
func (f *fixture) noSecrets(t *testing.T, msg string, extra ...string) {
	t.Helper()
	secrets := append([]string{f.srv.ClientSecret()}, f.spy.seen()...)
	secrets = append(secrets, extra...)
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("message leaks a secret (%.6s…): %s", s, msg)
		}
	}
}

// replay starts a server whose token endpoint always succeeds and whose
// API endpoint op answers body, for the decoding tests of replies the
// fake does not produce (spellings from the PDF and other clients).
func replay(t *testing.T, op, body string) *api.Client {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cgi-bin/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":86400,"refresh_token":""}`)
	})
	mux.HandleFunc("POST /openapi/"+op, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			io.WriteString(w, `{"errcode":"1200","error":"invalid_token"}`)
			return
		}
		io.WriteString(w, body)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	c, err := api.New(api.Config{
		ClientID:     "admin",
		ClientSecret: "563a8c6a89d2368194c1c7889c508b34",
		BaseURL:      ts.URL + "/openapi/",
		TokenURL:     ts.URL + "/cgi-bin/token",
		LoginURL:     ts.URL + "/cgi-bin/login",
		ReadRetries:  -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	ok := api.Config{ClientID: "admin", ClientSecret: "key"}
	tests := []struct {
		name string
		mod  func(*api.Config)
	}{
		{"no client id", func(c *api.Config) { c.ClientID = "" }},
		{"no secret", func(c *api.Config) { c.ClientSecret = "" }},
		{"base without slash", func(c *api.Config) { c.BaseURL = "http://127.0.0.1:1/openapi" }},
		{"base not http", func(c *api.Config) { c.BaseURL = "ftp://x/" }},
		{"token URL with a query", func(c *api.Config) { c.TokenURL = "https://x/token?client_secret=s3cr3t" }},
		{"login URL with user info", func(c *api.Config) { c.LoginURL = "https://u:s3cr3t@x/login" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tt.mod(&cfg)
			_, err := api.New(cfg)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error leaks the URL's secret: %v", err)
			}
		})
	}
	if _, err := api.New(ok); err != nil {
		t.Errorf("New(minimal config): %v", err)
	}
}

// The token request carries the permanent interface key: a plain-HTTP
// token URL on another machine is refused unless the caller accepts it.
func TestNewRefusesAPlainHTTPTokenURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		tokenURL string
		insecure bool
		wantErr  bool
	}{
		{"plain HTTP on another machine", "http://exmail.example.com/cgi-bin/token", false, true},
		{"plain HTTP on another machine, accepted", "http://exmail.example.com/cgi-bin/token", true, false},
		{"HTTPS", "https://exmail.qq.com/cgi-bin/token", false, false},
		{"plain HTTP on loopback (tests, the demo)", "http://127.0.0.1:8080/cgi-bin/token", false, false},
		{"plain HTTP on localhost", "http://localhost:8080/cgi-bin/token", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := api.New(api.Config{ClientID: "admin", ClientSecret: "key", TokenURL: tt.tokenURL, InsecureTokenURL: tt.insecure})
			if got := errors.Is(err, api.ErrInsecureTokenURL); got != tt.wantErr {
				t.Errorf("New: err = %v, want ErrInsecureTokenURL: %v", err, tt.wantErr)
			}
		})
	}
}

// One token serves many calls (protocol.md §3.1: it lives 24 h).
func TestTokenCachedAcrossCalls(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for range 3 {
		if _, err := f.c.Mail.NewCount(t.Context(), bob); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.c.Users.Get(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	if n := f.count("cgi-bin/token"); n != 1 {
		t.Errorf("%d token requests for 4 calls, want 1", n)
	}
	tok := f.only(t, "cgi-bin/token")
	want := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {f.srv.ClientID()},
		"client_secret": {exmailtest.Redacted},
	}
	checkDiff(t, "token request form mismatch", want, tok.Form)
}

// A token the server stopped accepting (errcode 1200) is replaced by
// exactly one new token, and the call is retried exactly once.
func TestTokenRefreshedOnInvalidToken(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.srv.Deliver(bob, exmailtest.Mail{Subject: "hi"})
	if _, err := f.c.Mail.NewCount(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	f.srv.ExpireTokens()
	f.srv.ResetRequests()

	n, err := f.c.Mail.NewCount(t.Context(), bob)
	if err != nil {
		t.Fatalf("NewCount after the token expired: %v", err)
	}
	if n != 1 {
		t.Errorf("NewCount = %d, want 1", n)
	}
	if got := f.count("cgi-bin/token"); got != 1 {
		t.Errorf("%d new tokens, want 1", got)
	}
	if got := f.count("mail/newcount"); got != 2 {
		t.Errorf("%d newcount requests, want 2 (the rejected one and one retry)", got)
	}
	if toks := f.spy.seen(); len(toks) != 3 || toks[1] == toks[2] {
		t.Errorf("tokens sent: %d, want the old one twice then a new one", len(toks))
	}
}

// A token refused twice in a row is not refreshed again: the caller gets
// ErrInvalidToken (and IsAuth), after one refresh.
func TestInvalidTokenTwiceIsAnError(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.srv.FailNext("mail/newcount", exmailtest.CodeInvalidToken, "invalid_token", 5)

	_, err := f.c.Mail.NewCount(t.Context(), bob)
	if !errors.Is(err, api.ErrInvalidToken) || !api.IsAuth(err) {
		t.Fatalf("err = %v, want ErrInvalidToken", err)
	}
	if got := f.count("mail/newcount"); got != 2 {
		t.Errorf("%d newcount requests, want 2", got)
	}
	if got := f.count("cgi-bin/token"); got != 2 {
		t.Errorf("%d token requests, want 2 (the first and one refresh)", got)
	}
	f.noSecrets(t, err.Error())
}

// Writes may have taken effect before a failure was reported, so they
// are never retried, except once after errcode 1200 (which the server
// answers before doing anything).
func TestWriteRetryPolicy(t *testing.T) {
	t.Parallel()
	add := api.UserSync{Action: api.ActionAdd, Alias: "carol@example.com", Name: "Carol", Password: "s3cret-Pass"}
	tests := []struct {
		name     string
		fail     func(*exmailtest.Server)
		wantErr  error
		wantReqs int
	}{
		{
			name: "1002 not retried",
			fail: func(s *exmailtest.Server) {
				s.FailNext("user/sync", exmailtest.CodeUnavailable, "temporarily_unavailable", 1)
			},
			wantErr:  api.ErrUnavailable,
			wantReqs: 1,
		},
		{
			name:     "HTTP 503 not retried",
			fail:     func(s *exmailtest.Server) { s.FailNextHTTP("user/sync", http.StatusServiceUnavailable, 1) },
			wantErr:  api.ErrUnavailable,
			wantReqs: 1,
		},
		{
			name:     "1200 retried once",
			fail:     func(s *exmailtest.Server) { s.FailNext("user/sync", exmailtest.CodeInvalidToken, "invalid_token", 1) },
			wantReqs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			tt.fail(f.srv)
			err := f.c.Users.Sync(t.Context(), add)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Sync: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Sync err = %v, want %v", err, tt.wantErr)
			}
			if got := f.count("user/sync"); got != tt.wantReqs {
				t.Errorf("%d user/sync requests, want %d", got, tt.wantReqs)
			}
			_, exists := f.srv.User(add.Alias)
			if exists != (tt.wantErr == nil) {
				t.Errorf("carol exists = %v after the call", exists)
			}
		})
	}
}

// Reads retry transient failures up to ReadRetries times, with a jittered
// 250 ms·2ⁿ backoff (run in a synctest bubble: no real waiting).
func TestReadRetryPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		retries  int
		fail     func(*exmailtest.Server)
		wantErr  error // nil: success
		wantReqs int
		minWait  time.Duration // the backoff cannot be shorter
	}{
		{
			name:    "1002 twice then success",
			retries: 2,
			fail: func(s *exmailtest.Server) {
				s.FailNext("mail/newcount", exmailtest.CodeUnavailable, "temporarily_unavailable", 2)
			},
			wantReqs: 3,
			minWait:  (250 + 500) * time.Millisecond / 2,
		},
		{
			name:     "503 forever gives up after ReadRetries",
			retries:  2,
			fail:     func(s *exmailtest.Server) { s.FailNextHTTP("mail/newcount", http.StatusBadGateway, -1) },
			wantErr:  api.ErrUnavailable,
			wantReqs: 3,
			minWait:  (250 + 500) * time.Millisecond / 2,
		},
		{
			name:     "ReadRetries 4",
			retries:  4,
			fail:     func(s *exmailtest.Server) { s.FailNextHTTP("mail/newcount", http.StatusInternalServerError, -1) },
			wantErr:  api.ErrUnavailable,
			wantReqs: 5,
		},
		{
			name:     "retries disabled",
			retries:  -1,
			fail:     func(s *exmailtest.Server) { s.FailNextHTTP("mail/newcount", http.StatusServiceUnavailable, -1) },
			wantErr:  api.ErrUnavailable,
			wantReqs: 1,
		},
		{
			name:     "not found is not transient",
			retries:  2,
			fail:     func(s *exmailtest.Server) { s.FailNext("mail/newcount", exmailtest.CodeAccountNotFound, "", -1) },
			wantErr:  api.ErrNotFound,
			wantReqs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := setupPipe(t, func(c *api.Config) { c.ReadRetries = tt.retries })
				tt.fail(f.srv)
				start := time.Now()
				_, err := f.c.Mail.NewCount(t.Context(), bob)
				waited := time.Since(start)
				if tt.wantErr == nil && err != nil {
					t.Fatalf("NewCount: %v", err)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("NewCount err = %v, want %v", err, tt.wantErr)
				}
				if got := f.count("mail/newcount"); got != tt.wantReqs {
					t.Errorf("%d newcount requests, want %d", got, tt.wantReqs)
				}
				if waited < tt.minWait {
					t.Errorf("retried after %v, want a backoff of at least %v", waited, tt.minWait)
				}
			})
		})
	}
}

// A retry backoff gives up as soon as the caller's context ends.
func TestReadRetryHonoursContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := setupPipe(t, func(c *api.Config) { c.ReadRetries = 10 })
		f.srv.FailNextHTTP("mail/newcount", http.StatusServiceUnavailable, -1)
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, err := f.c.Mail.NewCount(ctx, bob)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if got := f.count("mail/newcount"); got > 2 {
			t.Errorf("%d requests within 300 ms, want at most 2", got)
		}
	})
}

// errcode 10001 means this computer's IP is not on the allow list, at the
// token endpoint or at an API endpoint; the message says how to fix it.
func TestIPNotAllowed(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"cgi-bin/token", "mail/newcount"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.srv.FailNext(path, exmailtest.CodeIPNotAllowed, "", -1)
			_, err := f.c.Mail.NewCount(t.Context(), bob)
			if !errors.Is(err, api.ErrIPNotAllowed) {
				t.Fatalf("err = %v, want ErrIPNotAllowed", err)
			}
			if api.IsAuth(err) {
				t.Errorf("IsAuth(%v) = true; the credentials are fine", err)
			}
			for _, want := range []string{"allow list", "开放协议"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say how to fix it (%q)", err, want)
				}
			}
			f.noSecrets(t, err.Error())
		})
	}
}

// errcodes 1301, 1310 and 1400 (unknown member, department, account) are
// ErrNotFound, as the fake answers them for real.
func TestNotFound(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	calls := map[string]func() error{
		"user/get 1301":       func() error { _, err := f.c.Users.Get(ctx, "nobody@example.com"); return err },
		"party/list 1310":     func() error { _, err := f.c.Party.List(ctx, "no/such/party"); return err },
		"partyuser/list 1310": func() error { _, err := f.c.Party.Users(ctx, "no/such/party"); return err },
		"mail/newcount 1400":  func() error { _, err := f.c.Mail.NewCount(ctx, "nobody@example.com"); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, api.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Code == 0 {
			t.Errorf("%s: err = %#v, want an *api.Error with the errcode", name, err)
		}
	}
}

// Bad credentials at the token endpoint are ErrAuth; the message names
// the fix but not the key.
func TestBadCredentials(t *testing.T) {
	t.Parallel()
	for _, mod := range map[string]func(*api.Config){
		"wrong key":     func(c *api.Config) { c.ClientSecret = "00000000000000000000000000000000" },
		"wrong account": func(c *api.Config) { c.ClientID = "mallory" },
	} {
		f := setup(t, mod)
		_, err := f.c.Mail.NewCount(t.Context(), bob)
		if !errors.Is(err, api.ErrAuth) || !api.IsAuth(err) {
			t.Fatalf("err = %v, want ErrAuth", err)
		}
		if f.count("mail/newcount") != 0 {
			t.Errorf("the API was called without a token")
		}
		f.noSecrets(t, err.Error(), "00000000000000000000000000000000")
	}
}

// No failure path puts a secret — the interface key, an access token, an
// auth key or an SSO URL — into an error string.
func TestNoSecretInErrors(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *api.Config) { c.ReadRetries = -1 })
	ctx := t.Context()
	key, err := f.c.Mail.AuthKey(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	sso, err := f.c.Mail.LoginURL(ctx, bob, "")
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Errorf("a failure path succeeded")
			return
		}
		errs = append(errs, err)
	}
	f.srv.FailNext("mail/authkey", exmailtest.CodeInvalidToken, "invalid_token", 2)
	_, err = f.c.Mail.LoginURL(ctx, bob, "ZC0001")
	collect(err)
	f.srv.FailNextHTTP("mail/authkey", http.StatusInternalServerError, 1)
	_, err = f.c.Mail.AuthKey(ctx, bob)
	collect(err)
	f.srv.FailNext("user/sync", exmailtest.CodeBadPassword, "invalid_password", 1)
	collect(f.c.Users.Sync(ctx, api.UserSync{Action: api.ActionModify, Alias: bob, Password: "p4ssw0rd-secret"}))
	_, err = api.BuildLoginURL("ftp://x/login?ticket="+key.Reveal(), "admin", bob, key, "")
	collect(err)
	_, err = api.BuildLoginURL(f.srv.LoginURL(), "admin", "", key, "")
	collect(err)

	f.srv.Close() // transport failures from here on
	_, err = f.c.Mail.AuthKey(ctx, bob)
	collect(err)

	for _, err := range errs {
		f.noSecrets(t, err.Error(), key.Reveal(), sso.Reveal(), "p4ssw0rd-secret")
	}
}

// A cancelled context is reported as such, not as a server failure.
func TestContextCancelled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := f.c.Mail.NewCount(ctx, bob)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// An empty body answers a read with an error, a write with success
// (protocol.md §3.8: "judge success by the return status").
func TestEmptyReply(t *testing.T) {
	t.Parallel()
	c := replay(t, "mail/newcount", "")
	_, err := c.Mail.NewCount(t.Context(), bob)
	var ae *api.Error
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "empty") {
		t.Errorf("NewCount with an empty reply: err = %v, want an *api.Error about the empty reply", err)
	}
	c = replay(t, "group/delete", "  \n")
	if err := c.Groups.Delete(t.Context(), "all@example.com"); err != nil {
		t.Errorf("Delete with an empty reply: %v, want success", err)
	}
}

// Malformed replies are errors that do not echo the whole body.
func TestMalformedReply(t *testing.T) {
	t.Parallel()
	c := replay(t, "user/get", `{"Alias":`+strings.Repeat(`"x`, 5000))
	_, err := c.Users.Get(t.Context(), bob)
	var ae *api.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *api.Error", err)
	}
	if len(err.Error()) > 300 {
		t.Errorf("error is %d bytes; a malformed reply must not be echoed whole", len(err.Error()))
	}
}

// cmpEmptyNil treats nil and empty slices alike.
var cmpEmptyNil = cmpopts.EquateEmpty()

// The token endpoint's Content-Type is undocumented; a JSON reply is
// accepted under any label (x/oauth2 alone would parse text/plain as a
// query string), and an errcode in a 200 reply is classified.
func TestTokenReplies(t *testing.T) {
	t.Parallel()
	const ok = `{"access_token":"tok","token_type":"Bearer","expires_in":"86400","refresh_token":""}`
	tests := []struct {
		name, contentType, body string
		status                  int
		wantErr                 error // nil: success
	}{
		{name: "json", contentType: "application/json", body: ok},
		{name: "text/plain", contentType: "text/plain; charset=utf-8", body: ok},
		{name: "text/html", contentType: "text/html", body: "\n " + ok},
		{name: "no content type", body: ok},
		{name: "errcode 1002 in a 200", contentType: "text/plain", body: `{"errcode":"1002","error":"temporarily_unavailable"}`, wantErr: api.ErrUnavailable},
		{name: "errcode 10001 in a 200", body: `{"errcode":"10001"}`, wantErr: api.ErrIPNotAllowed},
		{name: "oauth error", status: http.StatusUnauthorized, contentType: "application/json", body: `{"error":"invalid_client"}`, wantErr: api.ErrAuth},
		{name: "no token", contentType: "application/json", body: `{"token_type":"Bearer"}`, wantErr: api.ErrAuth},
		{name: "HTTP 502", status: http.StatusBadGateway, contentType: "text/html", body: "<html>bad gateway</html>", wantErr: api.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.HandleFunc("POST /cgi-bin/token", func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tt.contentType}
				if tt.contentType == "" {
					w.Header()["Content-Type"] = nil // no sniffing either
				}
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				io.WriteString(w, tt.body)
			})
			mux.HandleFunc("POST /openapi/mail/newcount", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer tok" {
					io.WriteString(w, `{"errcode":"1200","error":"invalid_token"}`)
					return
				}
				io.WriteString(w, `{"Alias":"bob@example.com","NewCount":"3"}`)
			})
			ts := httptest.NewServer(mux)
			t.Cleanup(ts.Close)
			c, err := api.New(api.Config{
				ClientID: "admin", ClientSecret: "key", ReadRetries: -1,
				BaseURL: ts.URL + "/openapi/", TokenURL: ts.URL + "/cgi-bin/token",
			})
			if err != nil {
				t.Fatal(err)
			}
			n, err := c.Mail.NewCount(t.Context(), bob)
			if tt.wantErr == nil {
				if err != nil || n != 3 {
					t.Fatalf("NewCount = %d, %v; want 3", n, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestServerTextCannotDriveTheTerminal: the API host is plain HTTP, so
// anyone on the path can answer. Whatever the server puts in an error
// (an errcode's name, an HTTP error body, a malformed reply, the token
// endpoint's error) reaches the error string cleaned by safetext's rule:
// no ESC, BEL, C1 or bidi control survives to retitle or clear a terminal.
func TestServerTextCannotDriveTheTerminal(t *testing.T) {
	t.Parallel()
	const hostile = "user_not_found\x1b]0;PWNED\x07\x1b[2J\u009b2J\u202e"
	tests := []struct {
		name        string
		tokenStatus int
		token, api  string // reply bodies ("" : a good token)
		apiStatus   int
	}{
		{name: "errcode name", api: `{"errcode":1301,"error":"` + "user_not_found\\u001b]0;PWNED\\u0007\\u001b[2J\\u009b2J\\u202e" + `"}`},
		{name: "HTTP error body", apiStatus: http.StatusBadGateway, api: hostile},
		{name: "malformed reply", api: `{"NewCount":` + hostile},
		{name: "token endpoint error", tokenStatus: http.StatusBadRequest, token: `{"error":"` + "invalid_client\\u001b]0;PWNED\\u0007\\u009b2J" + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.HandleFunc("POST /cgi-bin/token", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tt.tokenStatus != 0 {
					w.WriteHeader(tt.tokenStatus)
					io.WriteString(w, tt.token)
					return
				}
				io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":86400}`)
			})
			mux.HandleFunc("POST /openapi/mail/newcount", func(w http.ResponseWriter, r *http.Request) {
				if tt.apiStatus != 0 {
					w.WriteHeader(tt.apiStatus)
				}
				io.WriteString(w, tt.api)
			})
			ts := httptest.NewServer(mux)
			t.Cleanup(ts.Close)
			c, err := api.New(api.Config{ClientID: "admin", ClientSecret: "563a8c6a89d2368194c1c7889c508b34",
				BaseURL: ts.URL + "/openapi/", TokenURL: ts.URL + "/cgi-bin/token", ReadRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Mail.NewCount(t.Context(), bob)
			if err == nil {
				t.Fatal("no error")
			}
			for _, r := range err.Error() {
				if safetext.Hidden(r) {
					t.Fatalf("the error keeps %U: %q", r, err)
				}
			}
			if !strings.HasPrefix(err.Error(), "exmail") {
				t.Errorf("the error does not say where it came from: %q", err)
			}
		})
	}
}
