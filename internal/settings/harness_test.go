package settings_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/settings/settingstest"
	"github.com/exmail-notifier/exmail-notifier/internal/syncbuf"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is a real server on loopback with a fake backend.
type harness struct {
	srv    *settings.Server
	fake   *settingstest.Fake
	logs   *syncbuf.Buffer
	clock  *clock
	origin string // http://127.0.0.1:PORT
	hc     *http.Client
	// seen collects every secret the test handled (one-time links, cookie
	// values, CSRF tokens), for the log check.
	mu   sync.Mutex
	seen []string
}

func start(t *testing.T, fake *settingstest.Fake, lang app.Lang) *harness {
	t.Helper()
	if fake == nil {
		fake = &settingstest.Fake{}
	}
	h := &harness{fake: fake, logs: &syncbuf.Buffer{}, clock: &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}}
	srv, err := settings.New(settings.Options{
		Backend:    fake,
		Lang:       lang,
		Log:        slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DeviceName: "bob-laptop",
		Now:        h.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Close() })
	h.srv, h.origin = srv, srv.Origin()
	h.hc = &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(func() {
		// No secret in any log line, whatever the test did.
		logs := h.logs.String()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, s := range append(h.seen, fake.Secrets...) {
			if s != "" && strings.Contains(logs, s) {
				t.Errorf("a secret reached the log: %q in\n%s", s, logs)
			}
		}
	})
	return h
}

func (h *harness) remember(s ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, s...)
}

// resp is a finished response.
type resp struct {
	code   int
	header http.Header
	body   string
	cookie []*http.Cookie
}

// req is one request; host "" is the server's own origin host, origin ""
// sends no Origin header.
type req struct {
	method, path string
	host         string
	cookie       *http.Cookie
	origin       string
	form         url.Values
}

func (h *harness) do(t *testing.T, q req) resp {
	t.Helper()
	var body io.Reader
	if q.form != nil {
		body = strings.NewReader(q.form.Encode())
	}
	if q.method == "" {
		q.method = http.MethodGet
	}
	r, err := http.NewRequest(q.method, h.origin+q.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if q.host != "" {
		r.Host = q.host
	}
	if q.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if q.origin != "" {
		r.Header.Set("Origin", q.origin)
	}
	if q.cookie != nil {
		r.AddCookie(q.cookie)
	}
	res, err := h.hc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, header: res.Header, body: string(b), cookie: res.Cookies()}
}

// session claims a fresh one-time link and returns the session cookie and
// its CSRF token (read from the page).
func (h *harness) session(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	link, err := h.srv.OneTimeURL()
	if err != nil {
		t.Fatal(err)
	}
	h.remember(link.Reveal(), strings.TrimPrefix(link.Reveal(), h.origin+"/s/"))
	path := strings.TrimPrefix(link.Reveal(), h.origin)
	res := h.do(t, req{path: path})
	if res.code != http.StatusSeeOther || len(res.cookie) != 1 {
		t.Fatalf("one-time link: %d, cookies %v", res.code, res.cookie)
	}
	c := res.cookie[0]
	h.remember(c.Value)
	page := h.do(t, req{path: "/", cookie: c})
	csrf := csrfOf(page.body)
	if csrf == "" {
		// A page without a form (an offered enrollment shows one): try /signout.
		csrf = csrfOf(h.do(t, req{path: "/signout", cookie: c}).body)
	}
	h.remember(csrf)
	return c, csrf
}

// post sends a form with the CSRF token and the page's own Origin.
func (h *harness) post(t *testing.T, c *http.Cookie, csrf, path string, form url.Values) resp {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrf)
	return h.do(t, req{method: http.MethodPost, path: path, cookie: c, origin: h.origin, form: form})
}

func csrfOf(body string) string {
	const mark = `name="csrf" value="`
	i := strings.Index(body, mark)
	if i < 0 {
		return ""
	}
	rest := body[i+len(mark):]
	return rest[:strings.IndexByte(rest, '"')]
}

// hiddenOf returns the value of the hidden input name.
func hiddenOf(body, name string) string {
	mark := `name="` + name + `" value="`
	i := strings.Index(body, mark)
	if i < 0 {
		return ""
	}
	rest := body[i+len(mark):]
	return rest[:strings.IndexByte(rest, '"')]
}
