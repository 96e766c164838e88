package settings_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/settings/settingstest"
)

func TestRefusals(t *testing.T) {
	fake := &settingstest.Fake{St: settings.State{Mode: settings.ModeRelay, Mailbox: "bob@example.com", Relay: "https://relay.example.com"}}
	h := start(t, fake, app.English)
	c, csrf := h.session(t)
	port := strings.TrimPrefix(h.origin, "http://127.0.0.1:")

	other := start(t, &settingstest.Fake{}, app.English)
	oc, ocsrf := other.session(t)
	foreign := &http.Cookie{Name: c.Name, Value: oc.Value} // the other instance's session, sent here

	used, _ := h.srv.OneTimeURL()
	if r := h.do(t, req{path: strings.TrimPrefix(used.Reveal(), h.origin)}); r.code != http.StatusSeeOther {
		t.Fatalf("first use of a link: %d", r.code)
	}
	h.remember(used.Reveal())
	expired, _ := h.srv.OneTimeURL()
	h.remember(expired.Reveal())
	h.clock.Add(settings.DefaultLinkLifetime + time.Second)
	fresh, _ := h.srv.OneTimeURL()
	h.remember(fresh.Reveal())

	prefs := func(tok string) url.Values {
		return url.Values{"csrf": {tok}, "content": {"on"}, "lang": {"zh"}}
	}
	tests := []struct {
		name string
		q    req
		want int
	}{
		{"no session cookie", req{path: "/"}, http.StatusForbidden},
		{"no session cookie on POST", req{method: "POST", path: "/prefs", origin: h.origin, form: prefs(csrf)}, http.StatusForbidden},
		{"unknown session cookie", req{path: "/", cookie: &http.Cookie{Name: c.Name, Value: "guess"}}, http.StatusForbidden},
		{"cookie from another server instance", req{path: "/", cookie: foreign}, http.StatusForbidden},
		{"cookie and token from another server instance", req{method: "POST", path: "/prefs", cookie: foreign, origin: h.origin, form: prefs(ocsrf)}, http.StatusForbidden},
		{"wrong one-time secret", req{path: "/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, http.StatusForbidden},
		{"empty one-time secret", req{path: "/s/"}, http.StatusForbidden},
		{"reused one-time secret", req{path: strings.TrimPrefix(used.Reveal(), h.origin)}, http.StatusForbidden},
		{"expired one-time secret", req{path: strings.TrimPrefix(expired.Reveal(), h.origin)}, http.StatusForbidden},
		{"one-time secret by POST", req{method: "POST", path: strings.TrimPrefix(fresh.Reveal(), h.origin), origin: h.origin, form: url.Values{}}, http.StatusMethodNotAllowed},
		{"DNS rebinding: foreign Host", req{path: "/", host: "evil.example:" + port, cookie: c}, http.StatusMisdirectedRequest},
		{"DNS rebinding: foreign Host on the one-time link", req{path: strings.TrimPrefix(fresh.Reveal(), h.origin), host: "evil.example:" + port}, http.StatusMisdirectedRequest},
		{"Host without port", req{path: "/", host: "127.0.0.1", cookie: c}, http.StatusMisdirectedRequest},
		{"Host on another port", req{path: "/", host: "127.0.0.1:1", cookie: c}, http.StatusMisdirectedRequest},
		{"Host localhost.evil", req{path: "/", host: "localhost.evil.example:" + port, cookie: c}, http.StatusMisdirectedRequest},
		{"POST without Origin", req{method: "POST", path: "/prefs", cookie: c, form: prefs(csrf)}, http.StatusForbidden},
		{"POST from another site", req{method: "POST", path: "/prefs", cookie: c, origin: "https://evil.example", form: prefs(csrf)}, http.StatusForbidden},
		{"POST with Origin null", req{method: "POST", path: "/prefs", cookie: c, origin: "null", form: prefs(csrf)}, http.StatusForbidden},
		{"POST from another local port", req{method: "POST", path: "/prefs", cookie: c, origin: "http://127.0.0.1:1", form: prefs(csrf)}, http.StatusForbidden},
		{"POST without CSRF token", req{method: "POST", path: "/prefs", cookie: c, origin: h.origin, form: url.Values{"content": {"on"}}}, http.StatusForbidden},
		{"POST with a wrong CSRF token", req{method: "POST", path: "/prefs", cookie: c, origin: h.origin, form: prefs(csrf + "x")}, http.StatusForbidden},
		{"POST with another session's CSRF token", req{method: "POST", path: "/prefs", cookie: c, origin: h.origin, form: prefs(ocsrf)}, http.StatusForbidden},
		{"sign-out without CSRF token", req{method: "POST", path: "/signout", cookie: c, origin: h.origin, form: url.Values{}}, http.StatusForbidden},
		{"enroll confirm without CSRF token", req{method: "POST", path: "/enroll/confirm", cookie: c, origin: h.origin, form: url.Values{"id": {"x"}}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, tt.q)
			if r.code != tt.want {
				t.Fatalf("status %d, want %d\n%s", r.code, tt.want, r.body)
			}
			if len(r.cookie) != 0 {
				t.Errorf("a refused request got a cookie: %v", r.cookie)
			}
			checkHeaders(t, r)
		})
	}
	for _, call := range []string{"SetPrefs", "SetAutostart", "SignOut", "Enroll", "Login", "LoginCorp"} {
		if n := fake.CallsOf(call); n != 0 {
			t.Errorf("a refused request reached the backend: %s called %d times", call, n)
		}
	}
	if !strings.Contains(h.logs.String(), "refused") {
		t.Errorf("refusals are not logged:\n%s", h.logs.String())
	}

	// The checks let the real thing through.
	for _, tt := range []struct {
		name string
		q    req
	}{
		{"localhost Host accepted", req{path: "/", host: "localhost:" + port, cookie: c}},
		{"127.0.0.1 Host accepted", req{path: "/", cookie: c}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := h.do(t, tt.q); r.code != http.StatusOK {
				t.Fatalf("status %d\n%s", r.code, r.body)
			}
		})
	}
	t.Run("POST with Origin, cookie and token applies", func(t *testing.T) {
		r := h.post(t, c, csrf, "/prefs", url.Values{"content": {"on"}})
		if r.code != http.StatusSeeOther || fake.CallsOf("SetPrefs") != 1 {
			t.Fatalf("status %d, SetPrefs %d", r.code, fake.CallsOf("SetPrefs"))
		}
	})
	t.Run("a closed server's session is gone", func(t *testing.T) {
		other.srv.Close()
		if _, err := other.srv.OneTimeURL(); err == nil {
			t.Error("OneTimeURL after Close: no error")
		}
	})
}

// checkHeaders checks the headers every answer carries.
func checkHeaders(t *testing.T, r resp) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":          "no-store",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "same-origin",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "style-src 'self'", "img-src 'self'", "script-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q allows inline code or another origin", csp)
	}
}

func TestHeadersAndCookie(t *testing.T) {
	h := start(t, nil, app.English)
	link, err := h.srv.OneTimeURL()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.Reveal(), h.origin+"/s/") || len(link.Reveal()) < len(h.origin)+3+43 {
		t.Fatalf("one-time link %q: not on the origin, or shorter than 256 bits", "[redacted]")
	}
	h.remember(link.Reveal())
	r := h.do(t, req{path: strings.TrimPrefix(link.Reveal(), h.origin)})
	checkHeaders(t, r)
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("one-time link: %d to %q", r.code, r.header.Get("Location"))
	}
	c := r.cookie[0]
	h.remember(c.Value)
	t.Run("cookie attributes", func(t *testing.T) {
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.Domain != "" {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, host-only", c)
		}
		if !strings.Contains(c.Name, strings.TrimPrefix(h.origin, "http://127.0.0.1:")) {
			t.Errorf("cookie name %q does not name the port (cookies are shared across ports)", c.Name)
		}
	})
	for _, p := range []string{"/", "/doctor", "/assets/style.css", "/assets/copy.js", "/nowhere"} {
		t.Run("headers on "+p, func(t *testing.T) {
			checkHeaders(t, h.do(t, req{path: p, cookie: c}))
		})
	}
	t.Run("asset types", func(t *testing.T) {
		for p, typ := range map[string]string{"/assets/style.css": "text/css", "/assets/copy.js": "text/javascript"} {
			r := h.do(t, req{path: p})
			if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), typ) {
				t.Errorf("%s: %d %q", p, r.code, r.header.Get("Content-Type"))
			}
		}
		if r := h.do(t, req{path: "/assets/../settings.go"}); r.code == 200 {
			t.Error("an asset path escaped the assets")
		}
	})
}

func TestOneTimeURLs(t *testing.T) {
	h := start(t, nil, app.English)
	var links []string
	for range 3 {
		l, err := h.srv.OneTimeURL()
		if err != nil {
			t.Fatal(err)
		}
		h.remember(l.Reveal())
		links = append(links, strings.TrimPrefix(l.Reveal(), h.origin))
	}
	if links[0] == links[1] || links[1] == links[2] {
		t.Fatal("OneTimeURL repeated a link")
	}
	// Each earlier unused link still works, once.
	for i := len(links) - 1; i >= 0; i-- {
		t.Run("link "+string(rune('a'+i)), func(t *testing.T) {
			if r := h.do(t, req{path: links[i]}); r.code != http.StatusSeeOther {
				t.Fatalf("first use: %d", r.code)
			}
			if r := h.do(t, req{path: links[i]}); r.code != http.StatusForbidden {
				t.Fatalf("second use: %d", r.code)
			}
		})
	}
	t.Run("session expires", func(t *testing.T) {
		c, _ := h.session(t)
		h.clock.Add(settings.DefaultSessionLifetime + time.Minute)
		if r := h.do(t, req{path: "/", cookie: c}); r.code != http.StatusForbidden {
			t.Fatalf("an expired session: %d", r.code)
		}
	})
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		o    settings.Options
		ok   bool
	}{
		{"no backend", settings.Options{}, false},
		{"all interfaces", settings.Options{Backend: &settingstest.Fake{}, Addr: ":0"}, false},
		{"public address", settings.Options{Backend: &settingstest.Fake{}, Addr: "192.0.2.1:0"}, false},
		{"IPv6 loopback", settings.Options{Backend: &settingstest.Fake{}, Addr: "[::1]:0"}, false},
		{"name", settings.Options{Backend: &settingstest.Fake{}, Addr: "localhost:0"}, false},
		{"default", settings.Options{Backend: &settingstest.Fake{}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := settings.New(tt.o)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
		})
	}
	t.Run("OneTimeURL before Start", func(t *testing.T) {
		s, _ := settings.New(settings.Options{Backend: &settingstest.Fake{}})
		if _, err := s.OneTimeURL(); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("Start after Close", func(t *testing.T) {
		s, _ := settings.New(settings.Options{Backend: &settingstest.Fake{}})
		s.Close()
		if err := s.Start(context.Background()); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestPeerCheck(t *testing.T) {
	tests := []struct {
		name  string
		check func(remote, local net.Addr) (bool, error)
		want  int
	}{
		{"another user", func(net.Addr, net.Addr) (bool, error) { return false, nil }, http.StatusForbidden},
		{"owner unknown", func(net.Addr, net.Addr) (bool, error) { return false, errors.New("no socket table") }, http.StatusForbidden},
		{"this user", func(remote, local net.Addr) (bool, error) {
			return remote.(*net.TCPAddr).IP.IsLoopback() && local.(*net.TCPAddr).IP.IsLoopback(), nil
		}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := settings.New(settings.Options{Backend: &settingstest.Fake{}, PeerCheck: tt.check})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			link, _ := s.OneTimeURL()
			hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := hc.Get(link.Reveal())
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}
