package settings_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/settings/settingstest"
)

// hostile is text a server or a mail could supply: markup, a bidi override
// that would make "moc.evil" read as "live.com", a terminal escape.
const hostile = "<script>alert(1)</script>\u202Emoc.evil\x1b]0;pwn\x07\"'&"

// TestPagesInBothLanguages renders every page in English and Chinese with
// hostile text in every untrusted field and checks that nothing loads from
// or links to another origin, that the hostile text is escaped and cleaned,
// and that the page is in the language asked for.
func TestPagesInBothLanguages(t *testing.T) {
	report := settings.Report{
		Checks: []settings.Check{{Status: settings.CheckFail, Name: hostile, Detail: hostile}, {Status: settings.CheckOK, Name: "ok", Detail: "fine"}},
		Text:   "report\n" + hostile,
	}
	hostileErr := errors.New("the server said: " + hostile)
	type step struct {
		name string
		mode settings.Mode
		// visit returns the page; it may post.
		visit func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp
	}
	get := func(path string) func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp {
		return func(t *testing.T, h *harness, c *http.Cookie, _ string) resp {
			return h.do(t, req{path: path, cookie: c})
		}
	}
	steps := []step{
		{"first run", settings.ModeNone, get("/")},
		{"first run, signed out", settings.ModeNone, get("/?done=signedout")},
		{"confirm enrollment", settings.ModeNone, func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp {
			return h.post(t, c, csrf, "/enroll/preview", url.Values{"input": {"exmail-notifier://enroll?relay=https://relay.example.com&code=abc"}})
		}},
		{"confirm offered enrollment over an account", settings.ModeDirect, func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp {
			h.srv.OfferEnrollment(api.Secret("exmail-notifier://enroll?relay=https://relay.example.com&code=abc"))
			return h.do(t, req{path: "/enroll", cookie: c})
		}},
		{"enrolled", settings.ModeNone, func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp {
			r := h.post(t, c, csrf, "/enroll/preview", url.Values{"input": {"exmail-notifier://enroll?relay=https://relay.example.com&code=abc"}})
			return h.post(t, c, csrf, "/enroll/confirm", url.Values{"id": {hiddenOf(r.body, "id")}})
		}},
		{"enroll error", settings.ModeNone, func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp {
			h.fake.Mu.Lock()
			h.fake.PreviewErr = hostileErr
			h.fake.Mu.Unlock()
			return h.post(t, c, csrf, "/enroll/preview", url.Values{"input": {"input-typed-by-user"}, "relay": {"https://relay.example.com"}})
		}},
		{"admin login error", settings.ModeNone, func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp {
			h.fake.Mu.Lock()
			h.fake.LoginErr = hostileErr
			h.fake.Mu.Unlock()
			return h.post(t, c, csrf, "/login", url.Values{"agent": {hostile}, "alias": {hostile}, "key": {"key-typed-by-user"}})
		}},
		{"current API login error", settings.ModeNone, func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp {
			h.fake.Mu.Lock()
			h.fake.LoginCorpErr = hostileErr
			h.fake.Mu.Unlock()
			return h.post(t, c, csrf, "/login-corp", url.Values{"corpid": {hostile}, "alias": {hostile}, "sso": {"sso-typed-by-user"}, "mail": {"mail-typed-by-user"}})
		}},
		{"settings, relay", settings.ModeRelay, get("/?done=saved")},
		{"settings, direct", settings.ModeDirect, get("/")},
		{"settings, current API", settings.ModeCorp, get("/")},
		{"settings error", settings.ModeRelay, func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp {
			h.fake.Mu.Lock()
			h.fake.PrefsErr = hostileErr
			h.fake.Mu.Unlock()
			return h.post(t, c, csrf, "/prefs", url.Values{"from": {"20:00"}, "to": {"08:00"}})
		}},
		{"sign out", settings.ModeRelay, get("/signout")},
		{"doctor", settings.ModeRelay, get("/doctor")},
		{"doctor error", settings.ModeRelay, func(t *testing.T, h *harness, c *http.Cookie, csrf string) resp {
			h.fake.Mu.Lock()
			h.fake.DoctorErr = hostileErr
			h.fake.Mu.Unlock()
			return h.do(t, req{path: "/doctor", cookie: c})
		}},
		{"refused", settings.ModeRelay, get("/s/used")},
	}
	langs := []struct {
		lang     app.Lang
		htmlLang string
		sample   string
	}{{app.English, `lang="en"`, "exmail-notifier"}, {app.Chinese, `lang="zh-CN"`, "企业邮箱提醒"}}
	for _, l := range langs {
		for _, s := range steps {
			t.Run(string(l.lang)+"/"+s.name, func(t *testing.T) {
				fake := &settingstest.Fake{
					St: settings.State{
						Mode: s.mode, Mailbox: hostile, Relay: "https://relay.example.com", Agent: hostile, CorpID: hostile,
						AutostartAvailable: true, Lang: l.lang,
					},
					EnrollAlias: hostile,
					Report:      report,
				}
				h := start(t, fake, l.lang)
				c, csrf := h.session(t)
				r := s.visit(t, h, c, csrf)
				checkHeaders(t, r)
				checkPage(t, r.body, h.origin)
				mustContain(t, r.body, l.htmlLang, l.sample)
				if l.lang == app.Chinese && s.name != "doctor" && s.name != "doctor error" {
					// A Chinese page has no English sentence of the catalog.
					mustNotContain(t, r.body, "Settings</h1>", "Set up</h1>", "Enroll this computer?", "Save</button>", "Sign in</button>")
				}
			})
		}
	}
}

// checkPage checks one page's HTML.
func checkPage(t *testing.T, body, origin string) {
	t.Helper()
	// No external URL: every URL the page names is its own, or a relay
	// address shown as text.
	for _, scheme := range []string{"http://", "https://", "//"} {
		for rest := body; ; {
			i := strings.Index(rest, scheme)
			if i < 0 {
				break
			}
			u := rest[i:]
			rest = rest[i+len(scheme):]
			if scheme == "//" && i > 0 && (strings.HasSuffix(body[:len(body)-len(rest)-2], ":")) {
				continue // part of http:// or https://, checked above
			}
			switch {
			case strings.HasPrefix(u, origin),
				strings.HasPrefix(u, "https://relay.example.com"),
				strings.HasPrefix(u, "https://\""), // the relay field's placeholder
				strings.HasPrefix(u, "https://…"):
			default:
				t.Errorf("the page names another origin: %.60q", u)
			}
		}
	}
	for _, attr := range []string{`src="`, `href="`, `action="`, `formaction="`} {
		for rest := body; ; {
			i := strings.Index(rest, attr)
			if i < 0 {
				break
			}
			rest = rest[i+len(attr):]
			if !strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "//") {
				t.Errorf("%s%.40q is not a path on this origin", attr, rest)
			}
		}
	}
	for _, bad := range []string{"<script>", "\u202E", "\x1b", "\x07", "<iframe", "<img", "style=", "onclick", "javascript:"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if strings.Count(body, "<script") > 1 || (strings.Contains(body, "<script") && !strings.Contains(body, `<script src="/assets/copy.js"></script>`)) {
		t.Error("a script other than the embedded copy.js")
	}
	if strings.Contains(body, "alert(1)") && !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("hostile markup is not escaped")
	}
}
