package settings_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/settings/settingstest"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
)

const (
	code = "Zq7-secret-enroll-code-41"
	link = "exmail-notifier://enroll?relay=https://relay.example.com&code=" + code
)

func mustContain(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("the page lacks %q:\n%s", s, body)
		}
	}
}

func mustNotContain(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("the page contains %q", s)
		}
	}
}

func TestEnrollShowsTheRelayBeforeConfirming(t *testing.T) {
	fake := &settingstest.Fake{EnrollAlias: "bob@example.com"}
	h := start(t, fake, app.English)
	c, csrf := h.session(t)

	r := h.post(t, c, csrf, "/enroll/preview", url.Values{"input": {link}})
	if r.code != http.StatusOK {
		t.Fatalf("preview: %d\n%s", r.code, r.body)
	}
	mustContain(t, r.body, "Enroll this computer?", "https://relay.example.com", "bob-laptop", `action="/enroll/confirm"`)
	mustNotContain(t, r.body, code, "exmail-notifier://enroll?relay")
	if n := fake.CallsOf("Enroll"); n != 0 {
		t.Fatalf("Enroll before the confirm click: %d calls", n)
	}
	id := hiddenOf(r.body, "id")
	if id == "" {
		t.Fatal("no confirmation id in the page")
	}

	r = h.post(t, c, csrf, "/enroll/confirm", url.Values{"id": {id}})
	if r.code != http.StatusOK || fake.CallsOf("Enroll") != 1 {
		t.Fatalf("confirm: %d, Enroll calls %d\n%s", r.code, fake.CallsOf("Enroll"), r.body)
	}
	mustContain(t, r.body, "Enrolled", "bob@example.com", "https://relay.example.com")
	mustNotContain(t, r.body, code)

	t.Run("a confirmation works once", func(t *testing.T) {
		r := h.post(t, c, csrf, "/enroll/confirm", url.Values{"id": {id}})
		if fake.CallsOf("Enroll") != 1 {
			t.Fatal("the same confirmation enrolled twice")
		}
		mustContain(t, r.body, "waited too long")
	})
	t.Run("the settings page shows the relay account", func(t *testing.T) {
		r := h.do(t, req{path: "/", cookie: c})
		mustContain(t, r.body, "Company relay, https://relay.example.com", "bob@example.com")
	})
}

func TestEnrollCancel(t *testing.T) {
	fake := &settingstest.Fake{}
	h := start(t, fake, app.English)
	c, csrf := h.session(t)
	r := h.post(t, c, csrf, "/enroll/preview", url.Values{"input": {link}})
	id := hiddenOf(r.body, "id")
	if r := h.post(t, c, csrf, "/enroll/cancel", url.Values{"id": {id}}); r.code != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.code)
	}
	h.post(t, c, csrf, "/enroll/confirm", url.Values{"id": {id}})
	if n := fake.CallsOf("Enroll"); n != 0 {
		t.Fatalf("a cancelled enrollment enrolled: %d", n)
	}
}

func TestOfferEnrollment(t *testing.T) {
	fake := &settingstest.Fake{St: settings.State{Mode: settings.ModeDirect, Mailbox: "old@example.com", Agent: "admin"}}
	h := start(t, fake, app.English)
	h.srv.OfferEnrollment(api.Secret(link))
	l, _ := h.srv.OneTimeURL()
	h.remember(l.Reveal())
	r := h.do(t, req{path: strings.TrimPrefix(l.Reveal(), h.origin)})
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/enroll" {
		t.Fatalf("the one-time link with an offer: %d to %q", r.code, r.header.Get("Location"))
	}
	c := r.cookie[0]
	h.remember(c.Value)
	r = h.do(t, req{path: "/enroll", cookie: c})
	mustContain(t, r.body, "An enrollment link from your company", "https://relay.example.com", "replaces the current account (old@example.com)", "••••")
	mustNotContain(t, r.body, code, "relay=")
	if fake.CallsOf("Enroll") != 0 {
		t.Fatal("an offered link enrolled without a click")
	}
	// The page itself shows the offer until it is confirmed or cancelled.
	if r := h.do(t, req{path: "/", cookie: c}); !strings.Contains(r.body, "Enroll this computer?") {
		t.Fatal("the page does not show the waiting enrollment")
	}
	csrf := csrfOf(r.body)
	h.remember(csrf)
	r = h.post(t, c, csrf, "/enroll/confirm", url.Values{"id": {hiddenOf(r.body, "id")}})
	if fake.CallsOf("Enroll") != 1 {
		t.Fatalf("confirm did not enroll:\n%s", r.body)
	}
	if r := h.do(t, req{path: "/", cookie: c}); strings.Contains(r.body, "Enroll this computer?") {
		t.Fatal("the offer outlived its use")
	}

	t.Run("an invalid offered link says why", func(t *testing.T) {
		h.srv.OfferEnrollment("exmail-notifier://enroll?code=x")
		r := h.do(t, req{path: "/enroll", cookie: c})
		mustContain(t, r.body, "not an enrollment link")
		mustNotContain(t, r.body, "code=x")
	})
}

func TestEnrollErrors(t *testing.T) {
	unreachable := fmt.Errorf("enrolling with the relay https://relay.example.com failed; nothing was stored: %w",
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
	tests := []struct {
		name      string
		input     string
		relay     string
		enrollErr error
		want      []string
		// back is true when the page goes back to the form (the code cannot
		// help any more), false when it stays on the confirmation.
		back bool
	}{
		{"code used or expired", link, "", fmt.Errorf("enrolling failed: %w", client.ErrEnrollRefused), []string{"already used, or has expired", "Ask IT for a new enrollment link"}, true},
		{"relay unreachable", link, "", unreachable, []string{"could not be reached", "connection refused"}, false},
		{"keyring locked", link, "", fmt.Errorf("the relay enrolled this computer, but: %w", creds.ErrLocked), []string{"The keyring is locked", "Unlock it"}, false},
		{"rate limited", link, "", client.ErrRateLimited, []string{"too many attempts"}, false},
		{"a bare code with its relay", code, "https://relay.example.com", client.ErrEnrollRefused, []string{"already used"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &settingstest.Fake{EnrollErr: tt.enrollErr}
			h := start(t, fake, app.English)
			c, csrf := h.session(t)
			r := h.post(t, c, csrf, "/enroll/preview", url.Values{"input": {tt.input}, "relay": {tt.relay}})
			id := hiddenOf(r.body, "id")
			r = h.post(t, c, csrf, "/enroll/confirm", url.Values{"id": {id}})
			mustContain(t, r.body, tt.want...)
			mustNotContain(t, r.body, code)
			onConfirm := strings.Contains(r.body, `action="/enroll/confirm"`)
			if onConfirm == tt.back {
				t.Errorf("back to the form: %v, want %v", !onConfirm, tt.back)
			}
			if tt.back && tt.relay != "" {
				mustContain(t, r.body, `value="`+tt.relay+`"`)
			}
		})
	}

	t.Run("preview errors keep the relay address, not the code", func(t *testing.T) {
		h := start(t, &settingstest.Fake{}, app.English)
		c, csrf := h.session(t)
		r := h.post(t, c, csrf, "/enroll/preview", url.Values{"input": {code}, "relay": {""}})
		mustContain(t, r.body, "needs the relay", `name="input"`)
		mustNotContain(t, r.body, code)
		r = h.post(t, c, csrf, "/enroll/preview", url.Values{"input": {"https://phish.example/" + code}, "relay": {"https://relay.example.com"}})
		mustContain(t, r.body, "not an enrollment link", `value="https://relay.example.com"`)
		mustNotContain(t, r.body, code)
		r = h.post(t, c, csrf, "/enroll/preview", url.Values{"input": {""}})
		mustContain(t, r.body, "Fill in every field")
	})
}

func TestLoginErrorsKeepWhatWasTypedButNoSecret(t *testing.T) {
	const key = "K3y-0f-the-wh0le-c0mpany"
	const sso, mail = "sso-s3cret-value", "mail-s3cret-value"
	tests := []struct {
		name string
		path string
		form url.Values
		fake *settingstest.Fake
		want []string
	}{
		{"wrong key", "/login", url.Values{"agent": {"admin"}, "alias": {"bob@example.com"}, "key": {key}},
			&settingstest.Fake{LoginErr: fmt.Errorf("the server refused: %w", api.ErrAuth)},
			[]string{"admin account or the interface key was rejected", `value="admin"`, `value="bob@example.com"`, "type them once more"}},
		{"IP not on the allow list", "/login", url.Values{"agent": {"admin"}, "alias": {"bob@example.com"}, "key": {key}},
			&settingstest.Fake{LoginErr: api.ErrIPNotAllowed},
			[]string{"not on the allow list", "可使用此开放接口的IP"}},
		{"keyring locked", "/login", url.Values{"agent": {"admin"}, "alias": {"bob@example.com"}, "key": {key}},
			&settingstest.Fake{LoginErr: creds.ErrLocked},
			[]string{"The keyring is locked"}},
		{"no keyring", "/login", url.Values{"agent": {"admin"}, "alias": {"bob@example.com"}, "key": {key}},
			&settingstest.Fake{LoginErr: app.ErrKeyringUnavailable},
			[]string{"no keyring"}},
		{"unknown mailbox", "/login", url.Values{"agent": {"admin"}, "alias": {"nobody@example.com"}, "key": {key}},
			&settingstest.Fake{LoginErr: api.ErrNotFound},
			[]string{"does not know this mailbox", `value="nobody@example.com"`}},
		{"missing key", "/login", url.Values{"agent": {"admin"}, "alias": {"bob@example.com"}},
			&settingstest.Fake{}, []string{"Fill in every field", `value="admin"`}},
		{"current API: wrong secret", "/login-corp", url.Values{"corpid": {"wwcorp1"}, "alias": {"bob@example.com"}, "sso": {sso}, "mail": {mail}},
			&settingstest.Fake{LoginCorpErr: fmt.Errorf("gettoken: %w", api.ErrAuth)},
			[]string{"corpid or a secret was rejected", `value="wwcorp1"`, `value="bob@example.com"`}},
		{"current API: unreachable", "/login-corp", url.Values{"corpid": {"wwcorp1"}, "alias": {"bob@example.com"}, "sso": {sso}, "mail": {mail}},
			&settingstest.Fake{LoginCorpErr: fmt.Errorf("api.exmail.qq.com: %w", settings.ErrUnreachable)},
			[]string{"could not be reached"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, tt.fake, app.English)
			c, csrf := h.session(t)
			r := h.post(t, c, csrf, tt.path, tt.form)
			if r.code != http.StatusOK {
				t.Fatalf("status %d", r.code)
			}
			mustContain(t, r.body, tt.want...)
			mustNotContain(t, r.body, key, sso, mail)
			if strings.Contains(r.body, `type="password" value=`) {
				t.Error("a password field carries a value")
			}
		})
	}
	t.Run("success goes to the settings", func(t *testing.T) {
		fake := &settingstest.Fake{}
		h := start(t, fake, app.English)
		c, csrf := h.session(t)
		r := h.post(t, c, csrf, "/login", url.Values{"agent": {"admin"}, "alias": {"bob@example.com"}, "key": {key}})
		if r.code != http.StatusSeeOther {
			t.Fatalf("status %d", r.code)
		}
		r = h.do(t, req{path: r.header.Get("Location"), cookie: c})
		mustContain(t, r.body, "Signed in", "Direct, with the interface key of admin", "holds the company&#39;s administrator key")
	})
}

func TestPrefs(t *testing.T) {
	fake := &settingstest.Fake{St: settings.State{
		Mode: settings.ModeRelay, Mailbox: "bob@example.com", Relay: "https://relay.example.com",
		AutostartAvailable: true,
		Prefs:              settings.Prefs{Quiet: settings.QuietHours{From: 20 * 60, To: 8 * 60}},
	}}
	h := start(t, fake, app.English)
	c, csrf := h.session(t)
	page := h.do(t, req{path: "/", cookie: c}).body
	mustContain(t, page, `value="20:00"`, `value="08:00"`, "Start at login", "Quiet hours on weekdays")

	tests := []struct {
		name      string
		form      url.Values
		want      settings.Prefs
		autostart bool
		fails     string
	}{
		{"everything on, in Chinese", url.Values{"content": {"on"}, "sound": {"on"}, "quiet": {"on"}, "from": {"21:30"}, "to": {"07:15"}, "lang": {"zh"}, "autostart": {"on"}},
			settings.Prefs{ShowContent: true, Sound: true, Quiet: settings.QuietHours{On: true, From: 21*60 + 30, To: 7*60 + 15}, Lang: "zh"}, true, ""},
		{"everything off, system language", url.Values{"from": {"21:30"}, "to": {"07:15"}, "lang": {""}},
			settings.Prefs{Quiet: settings.QuietHours{From: 21*60 + 30, To: 7*60 + 15}}, false, ""},
		{"unknown language is the system's", url.Values{"lang": {"fr"}, "from": {"20:00"}, "to": {"08:00"}},
			settings.Prefs{Quiet: settings.QuietHours{From: 20 * 60, To: 8 * 60}}, false, ""},
		{"a bad time", url.Values{"quiet": {"on"}, "from": {"25:00"}, "to": {"08:00"}}, settings.Prefs{}, false, "HH:MM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fake.CallsOf("SetPrefs")
			r := h.post(t, c, csrf, "/prefs", tt.form)
			if tt.fails != "" {
				mustContain(t, r.body, tt.fails)
				if fake.CallsOf("SetPrefs") != before {
					t.Error("a bad form was saved")
				}
				return
			}
			if r.code != http.StatusSeeOther {
				t.Fatalf("status %d\n%s", r.code, r.body)
			}
			fake.Mu.Lock()
			got, auto := fake.St.Prefs, fake.St.Autostart
			fake.Mu.Unlock()
			if got != tt.want || auto != tt.autostart {
				t.Errorf("prefs %+v autostart %v, want %+v %v", got, auto, tt.want, tt.autostart)
			}
		})
	}
	t.Run("the language applies at once", func(t *testing.T) {
		h.post(t, c, csrf, "/prefs", url.Values{"lang": {"zh"}, "from": {"20:00"}, "to": {"08:00"}})
		r := h.do(t, req{path: "/?done=saved", cookie: c})
		mustContain(t, r.body, `lang="zh-CN"`, "已保存", "工作日免打扰")
	})
	t.Run("a backend error is shown", func(t *testing.T) {
		fake.Mu.Lock()
		fake.PrefsErr = errors.New("the config file could not be written: disk full; free some space")
		fake.Mu.Unlock()
		r := h.post(t, c, csrf, "/prefs", url.Values{"lang": {"en"}, "from": {"20:00"}, "to": {"08:00"}})
		mustContain(t, r.body, "disk full; free some space")
	})
}

func TestSignOutNeedsConfirmation(t *testing.T) {
	fake := &settingstest.Fake{St: settings.State{Mode: settings.ModeCorp, Mailbox: "bob@example.com", CorpID: "wwcorp1"}}
	h := start(t, fake, app.English)
	c, csrf := h.session(t)
	r := h.do(t, req{path: "/signout", cookie: c})
	mustContain(t, r.body, "Sign out?", "bob@example.com", `action="/signout"`)
	if fake.CallsOf("SignOut") != 0 {
		t.Fatal("the confirmation page signed out")
	}
	r = h.post(t, c, csrf, "/signout", nil)
	if r.code != http.StatusSeeOther || fake.CallsOf("SignOut") != 1 {
		t.Fatalf("status %d, SignOut %d", r.code, fake.CallsOf("SignOut"))
	}
	r = h.do(t, req{path: r.header.Get("Location"), cookie: c})
	mustContain(t, r.body, "Signed out", "My company gave me a link or code")
}

func TestDoctor(t *testing.T) {
	fake := &settingstest.Fake{
		St: settings.State{Mode: settings.ModeRelay, Mailbox: "bob@example.com", Relay: "https://relay.example.com"},
		Report: settings.Report{
			Checks: []settings.Check{
				{Status: settings.CheckOK, Name: "OS keyring", Detail: "gnome-keyring, unlocked"},
				{Status: settings.CheckFail, Name: "Relay", Detail: "https://relay.example.com did not answer; check the network"},
				{Status: settings.CheckWarn, Name: "Notifications", Detail: "no notification daemon"},
			},
			Text: "exmail-notifier 1.2.3\nOK   OS keyring\nFAIL Relay\n",
		},
	}
	h := start(t, fake, app.English)
	c, _ := h.session(t)
	r := h.do(t, req{path: "/doctor", cookie: c})
	mustContain(t, r.body, "OS keyring", "did not answer", `class="row c-fail"`, `<textarea id="report" readonly`, "exmail-notifier 1.2.3\nOK   OS keyring", `<script src="/assets/copy.js">`, `id="copy" hidden`)
}
