package settings_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/settings/cdp"
	"github.com/exmail-notifier/exmail-notifier/internal/settings/settingstest"
)

// browser drives a headless Chromium (package cdp) for one test; its
// methods fail the test.
type browser struct {
	t   *testing.T
	b   *cdp.Browser
	log func() string
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := cdp.Find(); err != nil {
		t.Skip("no chromium: the browser test needs one (Debian: apt-get install chromium)")
	}
	b, err := cdp.Start(t.Context(), cdp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Log(err)
		}
	})
	return &browser{t: t, b: b}
}

// eval runs JavaScript in the page (the DevTools protocol is not bound by
// the page's CSP) and returns its value as a string.
func (c *browser) eval(js string) string {
	c.t.Helper()
	v, err := c.b.Eval(c.t.Context(), js)
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

func (c *browser) navigate(url string) {
	c.t.Helper()
	if err := c.b.Navigate(c.t.Context(), url); err != nil {
		c.t.Fatal(err)
	}
}

// waitFor polls until the page's text contains want.
func (c *browser) waitFor(want string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 15*time.Second)
	defer cancel()
	text, err := c.b.WaitText(ctx, want, nil)
	if err != nil {
		c.t.Fatalf("%v\nlog:\n%s", err, c.log())
	}
	return text
}

// TestInARealBrowser runs the page in headless Chromium: the one-time link
// and its cookie, form posts that pass the Origin and CSRF checks under the
// page's own Referrer-Policy and CSP, the enrollment confirm step, a
// preference change applied at once, and the copy button's script allowed by
// the CSP.
func TestInARealBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := startBrowser(t)
	fake := &settingstest.Fake{EnrollAlias: "bob@example.com", Report: settings.Report{Text: "report", Checks: []settings.Check{{Name: "OS keyring", Detail: "unlocked"}}}}
	fake.St.AutostartAvailable = true
	h := start(t, fake, app.English)
	c.log = h.logs.String
	link, err := h.srv.OneTimeURL()
	if err != nil {
		t.Fatal(err)
	}
	h.remember(link.Reveal())

	c.navigate(link.Reveal())
	c.waitFor("My company gave me a link or code")
	if got := c.eval(`location.pathname + "|" + document.cookie`); got != "/|" {
		t.Fatalf("after the link: %q (want the page, and no cookie visible to scripts)", got)
	}
	c.eval(`document.querySelector('input[name=input]').value = "exmail-notifier://enroll?relay=https://relay.example.com&code=browser-code-1";
		document.querySelector('form[action="/enroll/preview"] button').click(); ""`)
	text := c.waitFor("Enroll this computer?")
	if !strings.Contains(text, "https://relay.example.com") || strings.Contains(text, "browser-code-1") {
		t.Fatalf("the confirm step:\n%s", text)
	}
	if fake.CallsOf("Enroll") != 0 {
		t.Fatal("enrolled before the click")
	}
	c.eval(`document.querySelector('button.primary').click(); ""`)
	c.waitFor("Enrolled")
	if fake.CallsOf("Enroll") != 1 {
		t.Fatalf("Enroll calls: %d", fake.CallsOf("Enroll"))
	}

	c.navigate(h.origin + "/")
	c.waitFor("Quiet hours on weekdays")
	c.eval(`document.querySelector('select[name=lang]').value = "zh";
		document.querySelector('input[name=sound]').checked = true;
		document.querySelector('form.prefs button.primary').click(); ""`)
	text = c.waitFor("已保存")
	if !strings.HasPrefix(text, "zh-CN") {
		t.Fatalf("the language did not apply at once:\n%s", text)
	}
	fake.Mu.Lock()
	p := fake.St.Prefs
	fake.Mu.Unlock()
	if p.Lang != "zh" || !p.Sound {
		t.Fatalf("prefs: %+v", p)
	}

	c.navigate(h.origin + "/doctor")
	c.waitFor("OS keyring")
	if got := c.eval(`String(document.getElementById("copy").hidden)`); got != "false" {
		t.Fatalf("the copy button's script did not run under the CSP (hidden=%s)", got)
	}
	if strings.Contains(h.logs.String(), "refused") {
		t.Fatalf("the browser's own requests were refused:\n%s", h.logs.String())
	}
}
