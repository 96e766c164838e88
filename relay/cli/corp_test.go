package cli_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
	"github.com/exmail-notifier/exmail-notifier/relay/cli"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
)

// corpFixture is the fake current API with bob and lina, and the
// environment "exmail-relay --upstream corp" reads.
type corpFixture struct {
	t   *testing.T
	up  *corptest.Server
	env map[string]string
	bob string
}

func newCorpFixture(t *testing.T) *corpFixture {
	t.Helper()
	up := corptest.New(corptest.Options{})
	t.Cleanup(up.Close)
	f := &corpFixture{t: t, up: up, bob: "bob@" + up.Domain()}
	for _, u := range []string{f.bob, "lina@" + up.Domain()} {
		if err := up.AddUser(corptest.User{UserID: u, Name: u}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	f.env = map[string]string{
		"EXMAIL_RELAY_UPSTREAM":   "corp",
		"EXMAIL_CORPID":           up.CorpID(),
		"EXMAIL_CORP_API_URL":     up.BaseURL(),
		"EXMAIL_CORP_SSO_SECRET":  up.Secret(corptest.AppSSO),
		"EXMAIL_CORP_MAIL_SECRET": up.Secret(corptest.AppNewMail),
		"EXMAIL_CALLBACK_TOKEN":   up.CallbackToken(),
		"EXMAIL_CALLBACK_AES_KEY": up.CallbackAESKey(),
		"EXMAIL_RELAY_URL":        "https://relay.example.com",
		"STATE_DIRECTORY":         dir,
	}
	return f
}

func (f *corpFixture) run(args ...string) (int, string, string) {
	var out, errb strings.Builder
	code := cli.Main(f.t.Context(), args, cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return f.env[k] },
	})
	return code, out.String(), errb.String()
}

// secrets fails if out shows one of the fake's secrets.
func (f *corpFixture) noSecretsIn(what, out string) {
	f.t.Helper()
	for _, s := range []string{f.up.Secret(corptest.AppSSO), f.up.Secret(corptest.AppNewMail), f.up.CallbackToken(), f.up.CallbackAESKey()} {
		if strings.Contains(out, s) {
			f.t.Errorf("%s shows a secret (%.6s…):\n%s", what, s, out)
		}
	}
}

// Every missing or invalid piece of the corp configuration stops serve at
// start with one line that names what to set, and shows no secret.
func TestServeCorpConfigurationErrors(t *testing.T) {
	f := newCorpFixture(t)
	tests := []struct {
		name   string
		change map[string]string // "" deletes
		args   []string
		code   int
		want   string
	}{
		{"no corpid", map[string]string{"EXMAIL_CORPID": ""}, nil, 1, "EXMAIL_CORPID"},
		{"no new-mail secret", map[string]string{"EXMAIL_CORP_MAIL_SECRET": ""}, nil, 1, "EXMAIL_CORP_MAIL_SECRET"},
		{"no SSO secret", map[string]string{"EXMAIL_CORP_SSO_SECRET": ""}, nil, 1, "EXMAIL_CORP_SSO_SECRET"},
		{"a token without a key", map[string]string{"EXMAIL_CALLBACK_AES_KEY": ""}, nil, 1, "EXMAIL_CALLBACK_AES_KEY is not"},
		{"a key without a token", map[string]string{"EXMAIL_CALLBACK_TOKEN": ""}, nil, 1, "EXMAIL_CALLBACK_TOKEN is not"},
		{"a short EncodingAESKey", map[string]string{"EXMAIL_CALLBACK_AES_KEY": "tooshortkey"}, nil, 1, "43 characters"},
		{"a rejected new-mail secret", map[string]string{"EXMAIL_CORP_MAIL_SECRET": "wrong-mail-secret"}, nil, 1, "EXMAIL_CORP_MAIL_SECRET"},
		{"a rejected SSO secret", map[string]string{"EXMAIL_CORP_SSO_SECRET": "wrong-sso-secret"}, nil, 1, "EXMAIL_CORP_SSO_SECRET"},
		{"a bad API URL", map[string]string{"EXMAIL_CORP_API_URL": "ftp://x/"}, nil, 1, "EXMAIL_CORP_API_URL"},
		{"an unknown upstream", nil, []string{"--upstream", "v2"}, 2, "use v14 or corp"},
		{"the v1.4 key file with corp", nil, []string{"--secret-file", "/dev/null"}, 2, "--upstream corp takes"},
		{"a corp file with v14", map[string]string{"EXMAIL_RELAY_UPSTREAM": "v14"}, []string{"--corp-mail-secret-file", "/dev/null"}, 2, "is for --upstream corp"},
		{"a secret as a flag value", nil, []string{"--corp-mail-secret", "abc"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := map[string]string{}
			for k, v := range tt.change {
				saved[k] = f.env[k]
				f.env[k] = v
			}
			defer func() {
				for k, v := range saved {
					f.env[k] = v
				}
			}()
			code, _, stderr := f.run(append([]string{"serve", "--listen", "127.0.0.1:0"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tt.code, tt.want)
			}
			if tt.code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("want one line on stderr:\n%s", stderr)
			}
			f.noSecretsIn("stderr", stderr)
		})
	}
}

// serve --upstream corp with callbacks from a credentials directory:
// enroll checks the mailbox on the current API, and a mail Tencent calls
// back with reaches the enrolled device with its sender and subject.
func TestServeCorpWithCallbacks(t *testing.T) {
	f := newCorpFixture(t)
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "exmail-callback"), []byte(f.up.CallbackToken()+"\n"+f.up.CallbackAESKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "exmail-corp-mail-secret"), []byte(f.up.Secret(corptest.AppNewMail)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env["CREDENTIALS_DIRECTORY"] = creds
	delete(f.env, "EXMAIL_CALLBACK_TOKEN")
	delete(f.env, "EXMAIL_CALLBACK_AES_KEY")
	delete(f.env, "EXMAIL_CORP_MAIL_SECRET")

	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan int, 1)
	logs := &syncBuffer{}
	go func() {
		done <- cli.Main(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--keepalive", "1s"}, cli.Env{
			Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs,
			Getenv: func(k string) string { return f.env[k] },
			Ready:  func(a string) { addr <- a },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	})
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case code := <-done:
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	case <-time.After(wait):
		t.Fatal("serve did not start")
	}
	f.up.SetCallbackURL(url + "/callback/exmail")
	if err := f.up.VerifyCallbackURL(t.Context()); err != nil {
		t.Fatalf("the admin console's URL check: %v", err)
	}

	if code, _, stderr := f.run("enroll", "nobody@"+f.up.Domain()); code != 1 || !strings.Contains(stderr, "not a mailbox") {
		t.Errorf("enroll of an unknown mailbox: exit %d, %s", code, stderr)
	}
	code, out, stderr := f.run("enroll", f.bob)
	if code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, stderr)
	}
	_, enrollCode, _ := client.ParseEnrollLink(strings.Split(out, "\n")[1])
	e, err := client.Enroll(t.Context(), url, enrollCode, "bob's laptop")
	if err != nil {
		t.Fatal(err)
	}
	src, err := client.New(client.Config{URL: url, Token: e.Token, Alias: e.Alias, Keepalive: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan api.Event, 100)
	sctx, scancel := context.WithCancel(t.Context())
	sdone := make(chan error, 1)
	go func() { sdone <- src.Run(sctx, events) }()
	defer func() { scancel(); <-sdone }()
	waitOnline(t, events)
	id, err := f.up.Deliver(t.Context(), f.bob, corptest.Mail{From: "lina@example.com", Subject: "hello from the callback"})
	if err != nil {
		t.Fatalf("the callback: %v", err)
	}
	if m := nextMail(t, events); m.MailID != id || m.Subject != "hello from the callback" || m.Sender != "lina@example.com" {
		t.Fatalf("got %+v", m)
	}
	if !strings.Contains(logs.String(), "https://relay.example.com/callback/exmail") {
		t.Errorf("the log does not say which callback URL to set:\n%s", logs.String())
	}
	f.noSecretsIn("the log", logs.String())
}
