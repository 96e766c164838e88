package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
)

// corpServer is the fake of Tencent's current API with bob and lina.
func corpServer(t *testing.T) *corptest.Server {
	t.Helper()
	s := corptest.New(corptest.Options{})
	t.Cleanup(s.Close)
	for _, u := range []string{"bob", "lina"} {
		if err := s.AddUser(corptest.User{UserID: u + "@" + s.Domain(), Name: u}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestCorpMode: login --corp checks the corpid and both secrets with the
// server, keeps the secrets in the keyring, and count, open and watch then
// work on the current API, counts only.
func TestCorpMode(t *testing.T) {
	t.Parallel()
	s := corpServer(t)
	bob := "bob@" + s.Domain()
	keys := &creds.Memory{}
	secrets := s.Secret(corptest.AppSSO) + "\n" + s.Secret(corptest.AppNewMail) + "\n"

	t.Run("a wrong secret is refused and nothing is stored", func(t *testing.T) {
		e, _, stderr := acctEnv(t, nil, &creds.Memory{}, s.Secret(corptest.AppSSO)+"\nwrong-secret\n")
		if code := run([]string{"login", "--corp", "--secret-stdin", "--corpid", s.CorpID(), "--alias", bob, "--corp-api-url", s.BaseURL()}, e); code != exitFail {
			t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
		}
		if !strings.Contains(stderr.String(), "新邮件提醒") || strings.Contains(stderr.String(), "wrong-secret") {
			t.Errorf("stderr does not name the application, or shows the secret:\n%s", stderr)
		}
	})

	e, stdout, stderr := acctEnv(t, nil, keys, secrets)
	if code := run([]string{"login", "--corp", "--secret-stdin", "--corpid", s.CorpID(), "--alias", bob, "--corp-api-url", s.BaseURL()}, e); code != exitOK {
		t.Fatalf("login --corp: exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout.String(), "counts only") {
		t.Errorf("login does not say that notifications show counts only:\n%s", stdout)
	}
	if got, err := keys.Get(t.Context(), account.CorpKeyName(s.CorpID(), "sso")); err != nil || got.Reveal() != s.Secret(corptest.AppSSO) {
		t.Errorf("the SSO secret is not in the keyring (%v)", err)
	}
	cfgPath, _ := e.accounts().ConfigPath()
	if b, _ := os.ReadFile(cfgPath); strings.Contains(string(b), s.Secret(corptest.AppSSO)) || !strings.Contains(string(b), s.CorpID()) {
		t.Errorf("config after login --corp:\n%s", b)
	}

	t.Run("count", func(t *testing.T) {
		if _, err := s.Deliver(t.Context(), bob, corptest.Mail{From: "zhangwei@" + s.Domain(), Subject: "hi"}); err != nil {
			t.Fatal(err)
		}
		stdout.Reset()
		if code := run([]string{"count"}, e); code != exitOK || strings.TrimSpace(stdout.String()) != "1" {
			t.Errorf("count: exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
		}
	})

	t.Run("open --print is a one-time sign-in link", func(t *testing.T) {
		stdout.Reset()
		if code := run([]string{"open", "--print"}, e); code != exitOK || !strings.HasPrefix(strings.TrimSpace(stdout.String()), s.URL()) {
			t.Errorf("open --print: exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
		}
	})

	t.Run("watch prints unread lines", func(t *testing.T) {
		w := watchWith(t, nil, map[string]string{"EXMAIL_CONFIG": cfgPath}, keys)
		if diff := cmp.Diff(map[string]any{"event": "connected"}, w.next(t)); diff != "" {
			t.Fatalf("first line (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]any{"event": "unread", "alias": bob, "unread": 1.0}, w.next(t)); diff != "" {
			t.Errorf("the count (-want +got):\n%s", diff)
		}
		if err := w.stop(); err != nil {
			t.Errorf("watch after Ctrl-C: %v", err)
		}
	})

	t.Run("doctor says which API the credentials work with", func(t *testing.T) {
		stdout.Reset()
		run([]string{"doctor", "--timeout", "5s"}, e) // the desktop checks may fail here: no session bus
		for _, want := range []string{"on Tencent's current API", "the 单点登录 (SSO) secret work with the current API",
			"the 新邮件提醒 (new-mail) secret work with the current API", "mail/newcount: 1 unread", "one-time link (not shown)"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("doctor does not say %q:\n%s", want, stdout)
			}
		}
		if strings.Contains(stdout.String(), s.Secret(corptest.AppSSO)) {
			t.Errorf("doctor shows a secret:\n%s", stdout)
		}
	})

	t.Run("logout removes both secrets", func(t *testing.T) {
		if code := run([]string{"logout"}, e); code != exitOK {
			t.Fatalf("logout: exit %d; stderr:\n%s", code, stderr)
		}
		for _, app := range []string{"sso", "mail"} {
			if _, err := keys.Get(t.Context(), account.CorpKeyName(s.CorpID(), app)); !errors.Is(err, creds.ErrNotFound) {
				t.Errorf("the %s secret is still in the keyring (%v)", app, err)
			}
		}
	})
}

// TestDemoCorp: "demo --corp --serve" runs the fake of the current API and
// prints corp-mode settings; count works with them.
func TestDemoCorp(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	e := &env{stdin: strings.NewReader(""), stdout: pw, stderr: io.Discard, getenv: func(string) string { return "" }, keys: &creds.Memory{}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cmdDemo(ctx, e, []string{"--corp", "--serve", "--interval", "0"}); pw.Close() }()
	t.Cleanup(func() { cancel(); <-done })

	vars := map[string]string{"EXMAIL_CONFIG": filepath.Join(t.TempDir(), "config.json")}
	sc := bufio.NewScanner(pr)
	for len(vars) < 6 && sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		vars[k] = v
	}
	if vars["EXMAIL_CORPID"] == "" || vars["EXMAIL_CORP_SSO_SECRET"] == "" || vars["EXMAIL_CORP_MAIL_SECRET"] == "" || vars["EXMAIL_ALIAS"] == "" {
		t.Fatalf("demo --corp --serve printed %v", vars)
	}
	var stdout, stderr bytes.Buffer
	de := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }, keys: &creds.Memory{}}
	if code := run([]string{"count"}, de); code != exitOK || strings.TrimSpace(stdout.String()) == "" {
		t.Errorf("count on the demo's current API: exit %d, stdout %q, stderr:\n%s", code, stdout.String(), stderr.String())
	}
}
