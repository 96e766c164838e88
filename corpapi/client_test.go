package corpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
	"github.com/google/go-cmp/cmp"
)

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newFake(t *testing.T, opts corptest.Options) *corptest.Server {
	t.Helper()
	opts.Demo = true
	s := corptest.New(opts)
	t.Cleanup(s.Close)
	return s
}

// config is a Config for s with every secret, fast retries and a debug
// logger into logs (may be nil).
func config(s *corptest.Server, logs io.Writer) corpapi.Config {
	cfg := corpapi.Config{
		CorpID:         s.CorpID(),
		ContactsSecret: api.Secret(s.Secret(corptest.AppContacts)),
		SSOSecret:      api.Secret(s.Secret(corptest.AppSSO)),
		NewMailSecret:  api.Secret(s.Secret(corptest.AppNewMail)),
		BaseURL:        s.BaseURL(),
	}
	if logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

func newClient(t *testing.T, cfg corpapi.Config) *corpapi.Client {
	t.Helper()
	c, err := corpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDirectory(t *testing.T) {
	s := newFake(t, corptest.Options{})
	c := newClient(t, config(s, nil))
	ctx := t.Context()

	t.Run("user/get", func(t *testing.T) {
		u, err := c.Users.Get(ctx, "lina@example.com")
		if err != nil {
			t.Fatal(err)
		}
		want := &corpapi.User{UserID: "lina@example.com", Name: "李娜", Department: []api.Int{2}, Position: "研发经理",
			Gender: 2, Enable: 1, Slaves: []string{"nana@example.com"}}
		if d := cmp.Diff(want, u); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
	t.Run("user/get unknown", func(t *testing.T) {
		_, err := c.Users.Get(ctx, "nobody@example.com")
		var e *corpapi.Error
		if !errors.Is(err, corpapi.ErrNotFound) || !errors.Is(err, api.ErrNotFound) || !errors.As(err, &e) || e.Code != corpapi.CodeUserNotFound {
			t.Errorf("err = %v, want 60111 matching ErrNotFound", err)
		}
	})
	t.Run("department/list", func(t *testing.T) {
		tests := []struct {
			id   int
			want []int
		}{{0, []int{1, 2, 3, 4}}, {2, []int{2, 3}}, {4, []int{4}}}
		for _, tt := range tests {
			ds, err := c.Departments.List(ctx, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int
			for _, d := range ds {
				ids = append(ids, int(d.ID))
			}
			if !cmp.Equal(ids, tt.want) {
				t.Errorf("List(%d) = %v, want %v", tt.id, ids, tt.want)
			}
		}
		if _, err := c.Departments.List(ctx, 99); !errors.Is(err, corpapi.ErrNotFound) {
			t.Errorf("List(99) = %v, want ErrNotFound", err)
		}
	})
	t.Run("user/simplelist", func(t *testing.T) {
		tests := []struct {
			dept  int
			child bool
			want  []string
		}{
			{2, false, []string{"lina@example.com"}},
			{2, true, []string{"bob@example.com", "lina@example.com"}},
			{1, true, []string{"bob@example.com", "ceo@example.com", "lina@example.com", "zhangwei@example.com"}},
		}
		for _, tt := range tests {
			ms, err := c.Users.SimpleList(ctx, tt.dept, tt.child)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.UserID)
			}
			if !cmp.Equal(got, tt.want) {
				t.Errorf("SimpleList(%d, %v) = %v, want %v", tt.dept, tt.child, got, tt.want)
			}
		}
		if _, err := c.Users.SimpleList(ctx, 0, false); !errors.Is(err, corpapi.ErrInvalidArgument) {
			t.Errorf("SimpleList(0) = %v, want ErrInvalidArgument", err)
		}
	})
}

func TestNewCount(t *testing.T) {
	tests := []struct {
		name      string
		opts      corptest.Options
		wantDates bool
	}{
		{"plain GET", corptest.Options{}, false},
		{"count as string", corptest.Options{CountAsString: true}, false},
		{"server requires dates", corptest.Options{NewCountRequiresDates: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, tt.opts)
			c := newClient(t, config(s, nil))
			ctx := t.Context()
			for i := range 3 {
				if _, err := s.Deliver(ctx, "bob@example.com", corptest.Mail{From: "lina@example.com", Subject: "s"}); err != nil {
					t.Fatal(err)
				}
				n, err := c.Mail.NewCount(ctx, "bob@example.com")
				if err != nil {
					t.Fatal(err)
				}
				if n != i+1 {
					t.Errorf("NewCount = %d, want %d", n, i+1)
				}
			}
			reqs := s.RequestsTo("mail/newcount")
			last := reqs[len(reqs)-1]
			if got := last.Query.Has("begin_date") && last.Query.Has("end_date"); got != tt.wantDates {
				t.Errorf("last request sent dates = %v, want %v (%v)", got, tt.wantDates, last.Query)
			}
			if tt.wantDates && len(reqs) != 4 {
				t.Errorf("%d newcount requests, want 4 (one refused without dates, then dates every time)", len(reqs))
			}
		})
	}
	t.Run("between", func(t *testing.T) {
		s := newFake(t, corptest.Options{})
		c := newClient(t, config(s, nil))
		ctx := t.Context()
		old := time.Now().AddDate(0, 0, -10)
		for _, at := range []time.Time{old, time.Now()} {
			if _, err := s.Deliver(ctx, "bob@example.com", corptest.Mail{Subject: "x", Time: at}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := c.Mail.NewCountBetween(ctx, "bob@example.com", time.Now().AddDate(0, 0, -1), time.Now())
		if err != nil || n != 1 {
			t.Errorf("NewCountBetween(last day) = %d, %v; want 1", n, err)
		}
		if n, err := c.Mail.NewCount(ctx, "bob@example.com"); err != nil || n != 2 {
			t.Errorf("NewCount = %d, %v; want 2", n, err)
		}
	})
}

func TestLoginURL(t *testing.T) {
	s := newFake(t, corptest.Options{})
	c := newClient(t, config(s, nil))
	ctx := t.Context()
	if _, err := s.Deliver(ctx, "bob@example.com", corptest.Mail{From: "lina@example.com", Subject: "周报"}); err != nil {
		t.Fatal(err)
	}
	u1, err := c.Mail.LoginURL(ctx, "bob@example.com", "ignored-mail-id")
	if err != nil {
		t.Fatal(err)
	}
	u2, err := c.Mail.LoginURL(ctx, "bob@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if u1 == u2 {
		t.Error("two calls returned the same one-time URL: it was cached")
	}
	if n := len(s.RequestsTo("service/get_login_url")); n != 2 {
		t.Errorf("%d get_login_url requests, want 2 (never cached)", n)
	}
	for _, s := range []string{fmtAll(u1), slogText(u1)} {
		if strings.Contains(s, "authkey") {
			t.Errorf("the login URL prints itself: %s", s)
		}
	}
	get := func(u api.Secret) (int, string) {
		resp, err := http.Get(u.Reveal())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(u1); code != 200 || !strings.Contains(body, "周报") {
		t.Errorf("login page = %d, want 200 with the mailbox", code)
	}
	if n := s.Unread("bob@example.com"); n != 0 {
		t.Errorf("unread after opening = %d, want 0", n)
	}
	if code, _ := get(u1); code != http.StatusForbidden {
		t.Errorf("second use = %d, want 403 (one-time)", code)
	}
	if _, err := c.Mail.LoginURL(ctx, "nobody@example.com", ""); !errors.Is(err, corpapi.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
}

func TestTokenPerApplication(t *testing.T) {
	s := newFake(t, corptest.Options{})
	c := newClient(t, config(s, nil))
	ctx := t.Context()
	for range 3 {
		if _, err := c.Users.Get(ctx, "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Mail.NewCount(ctx, "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Mail.LoginURL(ctx, "bob@example.com", ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.RequestsTo("gettoken")); n != 3 {
		t.Errorf("%d gettoken requests, want 3 (one per application, then cached)", n)
	}
	for _, app := range []corptest.App{corptest.AppContacts, corptest.AppSSO, corptest.AppNewMail} {
		if n := len(s.Tokens(app)); n != 1 {
			t.Errorf("%s: %d tokens issued, want 1", app, n)
		}
	}
	if exp := c.TokenExpiry(corpapi.AppSSO); time.Until(exp) < 7200*time.Second-6*time.Minute || time.Until(exp) > 7200*time.Second-4*time.Minute {
		t.Errorf("SSO token used until %v, want about 7200 s − 5 min from now", exp)
	}
}

func TestTokenMarginShortLifetime(t *testing.T) {
	s := newFake(t, corptest.Options{TokenLifetime: 10 * time.Second})
	c := newClient(t, config(s, nil))
	if err := c.CheckToken(t.Context(), corpapi.AppNewMail); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(c.TokenExpiry(corpapi.AppNewMail)); d < 4*time.Second || d > 5*time.Second {
		t.Errorf("a 10 s token is used for %v, want half its life (the 5 min margin is capped)", d)
	}
}

func TestTokenRefresh(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(s *corptest.Server)
	}{
		{"expired 42001", func(s *corptest.Server) { s.ExpireTokens() }},
		{"invalidated 40014", func(s *corptest.Server) { s.InvalidateTokens(corptest.CodeInvalidToken) }},
		{"invalidated 40001 mid-stream", func(s *corptest.Server) { s.InvalidateTokens(corptest.CodeInvalidCredential) }},
		{"missing 41001", func(s *corptest.Server) {
			s.FailNext("mail/newcount", corptest.CodeMissingToken, "access_token missing", 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, corptest.Options{})
			c := newClient(t, config(s, nil))
			ctx := t.Context()
			if _, err := c.Mail.NewCount(ctx, "bob@example.com"); err != nil {
				t.Fatal(err)
			}
			tt.spoil(s)
			if _, err := c.Mail.NewCount(ctx, "bob@example.com"); err != nil {
				t.Fatalf("after the token was refused: %v", err)
			}
			if n := len(s.RequestsTo("gettoken")); n != 2 {
				t.Errorf("%d gettoken requests, want 2", n)
			}
		})
	}
	t.Run("fresh token refused too", func(t *testing.T) {
		s := newFake(t, corptest.Options{})
		c := newClient(t, config(s, nil))
		s.FailNext("mail/newcount", corptest.CodeInvalidToken, "invalid access_token", -1)
		_, err := c.Mail.NewCount(t.Context(), "bob@example.com")
		if !errors.Is(err, corpapi.ErrInvalidToken) || !api.IsAuth(err) {
			t.Errorf("err = %v, want ErrInvalidToken", err)
		}
		if n := len(s.RequestsTo("mail/newcount")); n != 2 {
			t.Errorf("%d newcount requests, want 2 (retried once)", n)
		}
	})
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(s *corptest.Server, c *corpapi.Config)
		fault    func(s *corptest.Server)
		call     func(ctx context.Context, c *corpapi.Client) error
		want     []error
		notWant  []error
		requests int // to mail/newcount; 0 = don't check
	}{
		{
			name: "wrong secret", cfg: func(s *corptest.Server, c *corpapi.Config) { c.NewMailSecret = "wrong-secret" },
			want: []error{corpapi.ErrAuth, api.ErrAuth}, notWant: []error{corpapi.ErrUnavailable},
		},
		{
			name: "wrong corpid", cfg: func(s *corptest.Server, c *corpapi.Config) { c.CorpID = "wmnobody" },
			want: []error{corpapi.ErrAuth},
		},
		{
			name: "secret of another application (60011)",
			cfg:  func(s *corptest.Server, c *corpapi.Config) { c.NewMailSecret = api.Secret(s.Secret(corptest.AppSSO)) },
			want: []error{corpapi.ErrAuth},
		},
		{
			name: "no secret for the application", cfg: func(s *corptest.Server, c *corpapi.Config) { c.NewMailSecret = "" },
			want: []error{corpapi.ErrNoSecret, corpapi.ErrInvalidArgument},
		},
		{
			name: "rate limited is not retried",
			fault: func(s *corptest.Server) {
				s.FailNext("mail/newcount", corptest.CodeRateLimited, "api freq out of limit", 1)
			},
			want: []error{corpapi.ErrRateLimited, corpapi.ErrUnavailable}, notWant: []error{corpapi.ErrAuth},
			requests: 1,
		},
		{
			name:  "system busy, retried, then fails",
			fault: func(s *corptest.Server) { s.FailNext("mail/newcount", corptest.CodeBusy, "system busy", -1) },
			want:  []error{corpapi.ErrUnavailable}, notWant: []error{corpapi.ErrRateLimited},
			requests: 3,
		},
		{
			name:     "HTTP 502, retried, then fails",
			fault:    func(s *corptest.Server) { s.FailNextHTTP("mail/newcount", http.StatusBadGateway, -1) },
			want:     []error{api.ErrUnavailable},
			requests: 3,
		},
		{
			name:  "gettoken busy is not an auth failure",
			fault: func(s *corptest.Server) { s.FailNext("gettoken", corptest.CodeBusy, "system busy", -1) },
			want:  []error{corpapi.ErrUnavailable}, notWant: []error{corpapi.ErrAuth},
		},
		{
			name: "invalid parameter",
			fault: func(s *corptest.Server) {
				s.FailNext("mail/newcount", corptest.CodeInvalidParameter, "invalid parameter", -1)
			},
			want: []error{corpapi.ErrInvalidArgument},
		},
		{
			name: "empty userid", call: func(ctx context.Context, c *corpapi.Client) error { _, err := c.Mail.NewCount(ctx, " "); return err },
			want: []error{corpapi.ErrInvalidArgument}, requests: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, corptest.Options{})
			cfg := config(s, nil)
			if tt.cfg != nil {
				tt.cfg(s, &cfg)
			}
			c := newClient(t, cfg)
			if tt.fault != nil {
				tt.fault(s)
			}
			call := tt.call
			if call == nil {
				call = func(ctx context.Context, c *corpapi.Client) error {
					_, err := c.Mail.NewCount(ctx, "bob@example.com")
					return err
				}
			}
			err := call(t.Context(), c)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("%v does not match %v", err, w)
				}
			}
			for _, w := range tt.notWant {
				if errors.Is(err, w) {
					t.Errorf("%v matches %v", err, w)
				}
			}
			switch n := len(s.RequestsTo("mail/newcount")); {
			case tt.requests > 0 && n != tt.requests:
				t.Errorf("%d newcount requests, want %d", n, tt.requests)
			case tt.requests < 0 && n != 0:
				t.Errorf("%d newcount requests, want none", n)
			}
		})
	}
}

func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	// hostile echoes the whole request URL (token or secret included) in
	// errmsg and in error pages, as a misbehaving proxy might.
	var mu sync.Mutex
	var seen []string
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RawQuery)
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/gettoken"):
			w.Write([]byte(`{"errcode":0,"access_token":"TOKEN-abcdefghijklmnopqrstuvwxyz0123456789","expires_in":7200}`))
		case strings.Contains(r.URL.Path, "newcount"):
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"errcode":-1,"errmsg":"busy at ` + r.URL.String() + `"}`))
		default:
			w.Write([]byte(`{"errcode":40058,"errmsg":"bad ` + r.URL.String() + "\n\x1b[31m" + `"}`))
		}
	}))
	defer hostile.Close()

	s := newFake(t, corptest.Options{})
	secret := "SECRET+newmail/0123456789=" // characters that a URL escapes
	tests := []struct {
		name string
		cfg  corpapi.Config
		call func(ctx context.Context, c *corpapi.Client) error
	}{
		{"5xx echoing the URL", corpapi.Config{CorpID: "wm1", NewMailSecret: api.Secret(secret), BaseURL: hostile.URL + "/cgi-bin/"},
			func(ctx context.Context, c *corpapi.Client) error {
				_, err := c.Mail.NewCount(ctx, "bob@example.com")
				return err
			}},
		{"errmsg echoing the URL", corpapi.Config{CorpID: "wm1", SSOSecret: api.Secret(secret), BaseURL: hostile.URL + "/cgi-bin/"},
			func(ctx context.Context, c *corpapi.Client) error {
				_, err := c.Mail.LoginURL(ctx, "bob@example.com", "")
				return err
			}},
		{"server down", corpapi.Config{CorpID: "wm1", NewMailSecret: api.Secret(secret), BaseURL: "http://127.0.0.1:1/cgi-bin/"},
			func(ctx context.Context, c *corpapi.Client) error {
				_, err := c.Mail.NewCount(ctx, "bob@example.com")
				return err
			}},
		{"wrong secret at the fake", corpapi.Config{CorpID: s.CorpID(), NewMailSecret: api.Secret(secret), BaseURL: s.BaseURL()},
			func(ctx context.Context, c *corpapi.Client) error {
				_, err := c.Mail.NewCount(ctx, "bob@example.com")
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			tt.cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			tt.cfg.ReadRetries = 1
			c := newClient(t, tt.cfg)
			err := tt.call(t.Context(), c)
			if err == nil {
				t.Fatal("no error")
			}
			out := err.Error() + "\n" + logs.String()
			for _, bad := range []string{secret, url.QueryEscape(secret), "TOKEN-abcdefghijklmnopqrstuvwxyz", "\x1b"} {
				if strings.Contains(out, bad) {
					t.Errorf("error or log contains %q:\n%s", bad, out)
				}
			}
		})
	}
	// Prove the hostile server really received the secrets it echoed,
	// so the test above cannot pass by accident.
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(seen, "\n")
	if !strings.Contains(all, "corpsecret="+url.QueryEscape(secret)) || !strings.Contains(all, "access_token=TOKEN-abcdefghijklmnopqrstuvwxyz") {
		t.Errorf("the hostile server never saw the secrets: %s", all)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  corpapi.Config
	}{
		{"no corpid", corpapi.Config{NewMailSecret: "x"}},
		{"no secret", corpapi.Config{CorpID: "wm1"}},
		{"base without slash", corpapi.Config{CorpID: "wm1", NewMailSecret: "x", BaseURL: "https://api.exmail.qq.com/cgi-bin"}},
		{"base with query", corpapi.Config{CorpID: "wm1", NewMailSecret: "x", BaseURL: "https://h/cgi-bin/?access_token=leak"}},
		{"base not http", corpapi.Config{CorpID: "wm1", NewMailSecret: "x", BaseURL: "ftp://h/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := corpapi.New(tt.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "leak") {
				t.Errorf("error shows the query: %v", err)
			}
		})
	}
}

func fmtAll(v any) string {
	var b strings.Builder
	for _, f := range []string{"%v", "%s", "%q", "%#v", "%+v"} {
		b.WriteString(sprintf(f, v))
	}
	return b.String()
}

func slogText(v any) string {
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "url", v)
	return b.String()
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	s := newFake(t, corptest.Options{})
	c := newClient(t, config(s, nil))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.Mail.NewCount(t.Context(), "bob@example.com")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.RequestsTo("gettoken")); n != 1 {
		t.Errorf("%d gettoken requests for 20 concurrent calls, want 1", n)
	}
}
