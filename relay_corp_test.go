package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/corpapi/callback"
	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/relay"
	relaycorp "github.com/exmail-notifier/exmail-notifier/relay/corp"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/sqlite"
)

// startCorpRelay is a real relay (SQLite, loopback HTTP) on the fake of
// Tencent's current API, taking its callbacks: what IT runs with
// "exmail-relay serve --upstream corp".
func startCorpRelay(t *testing.T) (*corptest.Server, *sqlite.DB, string) {
	t.Helper()
	up := corpServer(t)
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "relay.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := corpapi.New(corpapi.Config{CorpID: up.CorpID(), BaseURL: up.BaseURL(),
		SSOSecret: api.Secret(up.Secret(corptest.AppSSO)), NewMailSecret: api.Secret(up.Secret(corptest.AppNewMail))})
	if err != nil {
		t.Fatal(err)
	}
	u, err := relaycorp.New(relaycorp.Options{Client: c, Token: api.Secret(up.CallbackToken()), EncodingAESKey: api.Secret(up.CallbackAESKey())})
	if err != nil {
		t.Fatal(err)
	}
	url := runTestRelay(t, relay.Config{Store: st, Upstream: u})
	up.SetCallbackURL(url + callback.Path)
	return up, st, url
}

// TestRelayCorpWatch: the fake current API calls the relay back, and
// "exmail-notifier watch" on a desktop enrolled with the relay prints the
// same lines as with the v1.4 upstream (no summary: the callback has none).
func TestRelayCorpWatch(t *testing.T) {
	t.Parallel()
	up, st, url := startCorpRelay(t)
	bob := "bob@" + up.Domain()
	code := store.NewCode()
	if err := st.AddCode(t.Context(), store.HashSecret(code), bob, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	keys := &creds.Memory{}
	e, _, stderr := desktopEnv(t, keys)
	if c := run([]string{"enroll", linkScheme + "enroll?relay=" + url + "&code=" + code.Reveal()}, e); c != exitOK {
		t.Fatalf("enroll: exit %d; stderr:\n%s", c, stderr)
	}
	cfgPath, _ := e.accounts().ConfigPath()
	w := watchWith(t, nil, map[string]string{"EXMAIL_CONFIG": cfgPath}, keys)
	// Take what watch still prints once the test has read what it wants,
	// so that watch can stop (it blocks on a full pipe), also after a
	// failure.
	var drainOnce sync.Once
	drain := func() {
		drainOnce.Do(func() {
			go func() {
				for w.lines.Scan() {
				}
			}()
		})
	}
	t.Cleanup(drain)
	if diff := cmp.Diff(map[string]any{"event": "connected"}, w.next(t)); diff != "" {
		t.Fatalf("first line (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"event": "unread", "alias": bob, "unread": 0.0}, w.next(t)); diff != "" {
		t.Fatalf("the count on connecting (-want +got):\n%s", diff)
	}
	if _, err := up.Deliver(t.Context(), "lina@"+up.Domain(), corptest.Mail{From: bob, Subject: "for lina only"}); err != nil {
		t.Fatal(err)
	}
	id, err := up.Deliver(t.Context(), bob, corptest.Mail{From: "zhangwei@" + up.Domain(), Subject: "Lunch? 午饭？"})
	if err != nil {
		t.Fatalf("the callback: %v", err)
	}
	want := map[string]any{
		"event": "new_mail", "alias": bob, "mail_id": id,
		"from": "zhangwei@" + up.Domain(), "to": bob,
		"subject": "Lunch? 午饭？", "summary": "", "unread": 1.0,
	}
	// (The relay may first store the count it read when the device
	// enrolled: an unread line of 0.)
	if diff := cmp.Diff(want, nextOf(t, w, "new_mail")); diff != "" {
		t.Errorf("new mail through the relay's callback (-want +got):\n%s", diff)
	}
	if err := up.MarkRead(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"event": "unread", "alias": bob, "unread": 0.0}, w.next(t)); diff != "" {
		t.Errorf("the UnRead callback (-want +got):\n%s", diff)
	}
	drain()
	if err := w.stop(); err != nil {
		t.Errorf("watch after Ctrl-C: %v", err)
	}
}

// nextOf returns the next line of the event kind, skipping unread lines.
func nextOf(t *testing.T, w *watching, kind string) map[string]any {
	t.Helper()
	for {
		m := w.next(t)
		if m["event"] == kind || m["event"] != "unread" {
			return m
		}
	}
}

// TestDemoRelayCorp: "demo --relay --corp --serve" runs the fake current
// API calling back a relay on loopback and prints relay-mode settings;
// count works with them.
func TestDemoRelayCorp(t *testing.T) {
	t.Parallel()
	vars := demoServeVars(t, "--relay", "--corp", "--serve", "--interval", "0")
	if !strings.HasPrefix(vars["EXMAIL_RELAY"], "http://127.0.0.1:") || !strings.HasPrefix(vars["EXMAIL_DEVICE_TOKEN"], "exr_dev_") || vars["EXMAIL_ALIAS"] == "" {
		t.Fatalf("demo --relay --corp --serve printed %v", vars)
	}
	for _, k := range []string{"EXMAIL_CORP_SSO_SECRET", "EXMAIL_CORP_MAIL_SECRET"} {
		if vars[k] != "" {
			t.Errorf("relay mode printed %s: the desktop needs no secret", k)
		}
	}
	var stdout, stderr bytes.Buffer
	de := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }, keys: &creds.Memory{}}
	if code := run([]string{"count"}, de); code != exitOK || strings.TrimSpace(stdout.String()) == "" {
		t.Errorf("count through the demo relay: exit %d, stdout %q, stderr:\n%s", code, stdout.String(), stderr.String())
	}
}
