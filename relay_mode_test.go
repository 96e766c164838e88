package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/relay"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/sqlite"
)

// companyRelay is a real relay (SQLite, loopback HTTP) in front of the
// fake exmail, for the desktop's relay mode: what IT runs.
type companyRelay struct {
	up  *exmailtest.Server
	st  *sqlite.DB
	url string
}

func startCompanyRelay(t *testing.T) *companyRelay {
	t.Helper()
	up := exmailtest.New(exmailtest.Options{})
	t.Cleanup(up.Close)
	for _, u := range []exmailtest.User{{Alias: "bob@example.com", Name: "Bob"}, {Alias: "lina@example.com", Name: "Lina"}} {
		if err := up.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "relay.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.New(api.Config{ClientID: up.ClientID(), ClientSecret: api.Secret(up.ClientSecret()),
		BaseURL: up.APIBase(), TokenURL: up.TokenURL(), LoginURL: up.LoginURL()})
	if err != nil {
		t.Fatal(err)
	}
	url := runTestRelay(t, relay.Config{Store: st, API: c})
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	if err := up.WaitListeners(wctx, 1); err != nil {
		t.Fatalf("the relay's upstream listen never opened: %v", err)
	}
	return &companyRelay{up: up, st: st, url: url}
}

// link makes a one-time enrollment link for alias, as "exmail-relay
// enroll" prints it.
func (r *companyRelay) link(t *testing.T, alias string) string {
	t.Helper()
	code := store.NewCode()
	if err := r.st.AddCode(t.Context(), store.HashSecret(code), alias, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return linkScheme + "enroll?relay=" + r.url + "&code=" + code.Reveal()
}

// desktopEnv is an env for a desktop with its own config file, keyring and
// runtime directory (so that no real tray app is asked to quit).
func desktopEnv(t *testing.T, keys account.KeyStore) (*env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	run := t.TempDir()
	if err := os.Chmod(run, 0o700); err != nil {
		t.Fatal(err)
	}
	return acctEnv(t, map[string]string{"XDG_RUNTIME_DIR": run}, keys, "")
}

// TestRelayMode: a desktop enrolled with the company relay holds no admin
// key, and its commands see its own mailbox only.
func TestRelayMode(t *testing.T) {
	t.Parallel()
	r := startCompanyRelay(t)
	keys := &creds.Memory{}
	e, stdout, stderr := desktopEnv(t, keys)
	// A direct account from before: enroll must take its key away.
	writeConfig(t, e, config.Config{Agent: "admin", Alias: "bob@example.com"})
	if err := keys.Set(t.Context(), "admin", api.Secret(exmailtest.DefaultClientSecret)); err != nil {
		t.Fatal(err)
	}
	link := r.link(t, "bob@example.com")

	if code := run([]string{"enroll", link}, e); code != exitOK {
		t.Fatalf("enroll: exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout.String(), "Enrolled: this computer gets the mail of bob@example.com") ||
		!strings.Contains(stdout.String(), `Removed the interface key of admin account "admin"`) {
		t.Errorf("enroll said:\n%s", stdout)
	}
	if _, err := keys.Get(t.Context(), "admin"); !errors.Is(err, creds.ErrNotFound) {
		t.Errorf("the admin key is still in the keyring after enrolling (err %v)", err)
	}
	cfgPath, _ := e.accounts().ConfigPath()
	cfgText, _ := os.ReadFile(cfgPath)
	code := link[strings.Index(link, "code=")+5:]
	if bytes.Contains(cfgText, []byte(code)) || bytes.Contains(cfgText, []byte("exr_")) || !bytes.Contains(cfgText, []byte(r.url)) {
		t.Errorf("config after enroll:\n%s", cfgText)
	}

	t.Run("the code works once", func(t *testing.T) {
		e2, _, stderr := desktopEnv(t, &creds.Memory{})
		if code := run([]string{"enroll", link}, e2); code != exitFail || !strings.Contains(stderr.String(), "unknown, used or expired") {
			t.Errorf("second enroll with the same link: exit %d, stderr:\n%s", code, stderr)
		}
	})

	t.Run("count is the own mailbox's, through the relay", func(t *testing.T) {
		r.up.SetUnread("bob@example.com", 7)
		stdout.Reset()
		if code := run([]string{"count"}, e); code != exitOK || strings.TrimSpace(stdout.String()) != "7" {
			t.Errorf("count: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
		}
	})

	t.Run("another mailbox is refused", func(t *testing.T) {
		stderr.Reset()
		if code := run([]string{"count", "lina@example.com"}, e); code != exitFail || !strings.Contains(stderr.String(), "serves no other mailbox") {
			t.Errorf("count lina: exit %d, stderr:\n%s", code, stderr)
		}
		stderr.Reset()
		if code := run([]string{"watch", "--all"}, e); code != exitUsage {
			t.Errorf("watch --all: exit %d, want 2; stderr:\n%s", code, stderr)
		}
	})

	t.Run("watch prints the same lines from the relay's stream", func(t *testing.T) {
		vars := map[string]string{"EXMAIL_CONFIG": cfgPath}
		w := watchWith(t, r.up, vars, keys)
		if diff := cmp.Diff(map[string]any{"event": "connected"}, w.next(t)); diff != "" {
			t.Fatalf("first line (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]any{"event": "unread", "alias": "bob@example.com", "unread": 7.0}, w.next(t)); diff != "" {
			t.Errorf("the count on connecting (-want +got):\n%s", diff)
		}
		r.up.Deliver("lina@example.com", exmailtest.Mail{Subject: "for lina only"})
		id := r.up.Deliver("bob@example.com", exmailtest.Mail{Sender: `"张伟" <zhangwei@example.com>`, Subject: "Lunch?", Summary: "at 12"})
		want := map[string]any{
			"event": "new_mail", "alias": "bob@example.com", "mail_id": id,
			"from": `"张伟" <zhangwei@example.com>`, "to": "bob@example.com",
			"subject": "Lunch?", "summary": "at 12", "unread": 8.0,
		}
		if diff := cmp.Diff(want, w.next(t)); diff != "" {
			t.Errorf("new mail through the relay (-want +got):\n%s", diff)
		}
		if err := w.stop(); err != nil {
			t.Errorf("watch after Ctrl-C: %v", err)
		}
	})

	t.Run("open --print is a sign-in link for the own mailbox", func(t *testing.T) {
		stdout.Reset()
		if code := run([]string{"open", "--print"}, e); code != exitOK {
			t.Fatalf("open --print: exit %d; stderr:\n%s", code, stderr)
		}
		if u := strings.TrimSpace(stdout.String()); !strings.HasPrefix(u, r.up.LoginURL()) || !strings.Contains(u, "bob") {
			t.Errorf("open --print = %q, want bob's sign-in link on %s", u, r.up.LoginURL())
		}
	})

	t.Run("doctor checks the relay, and shows no token", func(t *testing.T) {
		stdout.Reset()
		run([]string{"doctor", "--timeout", "5s"}, e) // the desktop checks may fail here: no session bus
		out := stdout.String()
		for _, want := range []string{"enrolled with the relay " + r.url, "device token   in the OS keyring (not shown)",
			"answered HTTP 200", "the relay knows this device: 8 unread", "one-time sign-in link (not shown)"} {
			if !strings.Contains(out, want) {
				t.Errorf("doctor does not say %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "exr_") || strings.Contains(out, "ticket") {
			t.Errorf("doctor shows a secret:\n%s", out)
		}
	})

	t.Run("logout removes the device token", func(t *testing.T) {
		stdout.Reset()
		if code := run([]string{"logout"}, e); code != exitOK {
			t.Fatalf("logout: exit %d; stderr:\n%s", code, stderr)
		}
		if _, err := keys.Get(t.Context(), account.DeviceKeyName(r.url)); !errors.Is(err, creds.ErrNotFound) {
			t.Errorf("the device token is still in the keyring (err %v)", err)
		}
		if code := run([]string{"count"}, e); code != exitFail {
			t.Errorf("count after logout: exit %d, want 1", code)
		}
	})
}

// TestEnrollInput: what IT sends is a link or a bare code with --relay;
// anything else is a usage error that never echoes the code.
func TestEnrollInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no argument", []string{"enroll"}, "give the link or code"},
		{"a bare code without --relay", []string{"enroll", "exr_enr_SECRETCODE"}, "needs --relay"},
		{"not an enrollment link", []string{"enroll", "exmail-notifier://open?code=exr_enr_SECRETCODE"}, "not an enrollment link"},
		{"a plain-http relay off this machine", []string{"enroll", "--relay", "http://relay.example.com", "exr_enr_SECRETCODE"}, "must be https"},
		{"--relay disagrees with the link", []string{"enroll", "--relay", "https://a.example.com", "exmail-notifier://enroll?relay=https://b.example.com&code=exr_enr_SECRETCODE"}, "differs from the relay the link names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _, stderr := desktopEnv(t, &creds.Memory{})
			if code := run(tt.args, e); code != exitUsage {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) || strings.Contains(stderr.String(), "SECRETCODE") {
				t.Errorf("stderr does not say %q, or shows the code:\n%s", tt.want, stderr)
			}
		})
	}
}

// TestDemoRelay: "demo --relay --serve" runs the demo server behind a
// relay on loopback and prints relay-mode settings; the CLI works with
// them and sees the demo mailbox only.
func TestDemoRelay(t *testing.T) {
	t.Parallel()
	vars := demoServeVars(t, "--relay", "--serve", "--interval", "0")
	if !strings.HasPrefix(vars["EXMAIL_RELAY"], "http://127.0.0.1:") || !strings.HasPrefix(vars["EXMAIL_DEVICE_TOKEN"], "exr_dev_") || vars["EXMAIL_ALIAS"] == "" {
		t.Fatalf("demo --relay --serve printed %v", vars)
	}
	for _, k := range []string{"EXMAIL_AGENT", "EXMAIL_SECRET"} {
		if vars[k] != "" {
			t.Errorf("relay mode printed %s: the desktop needs no admin key", k)
		}
	}
	var stdout, stderr bytes.Buffer
	de := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }, keys: &creds.Memory{}}
	if code := run([]string{"count"}, de); code != exitOK || strings.TrimSpace(stdout.String()) == "" {
		t.Errorf("count through the demo relay: exit %d, stdout %q, stderr:\n%s", code, stdout.String(), stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"count", "zhangwei@example.com"}, de); code != exitFail {
		t.Errorf("count of another mailbox through the demo relay: exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
}

// TestAClickedLinkEnrollsOnlyWhenConfirmed: a link can come from anyone (a
// web page, a forged mail) and enrolling replaces the account, so a click
// changes nothing until the person at the computer confirms the relay it
// names. Here there is neither a terminal nor a desktop to ask on: the link
// is refused, and the old account and its key are untouched.
func TestAClickedLinkEnrollsOnlyWhenConfirmed(t *testing.T) {
	// No desktop to ask on, whatever bus the tests run beside: another
	// package's fake notification server must not answer for this one.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/exmail-test-bus")
	r := startCompanyRelay(t)
	keys := creds.MemoryWith("admin", exmailtest.DefaultClientSecret)
	e, _, stderr := desktopEnv(t, keys)
	writeConfig(t, e, config.Config{Agent: "admin", Alias: "bob@example.com"})
	cfgPath, _ := e.accounts().ConfigPath()
	before, _ := os.ReadFile(cfgPath)
	link := r.link(t, "bob@example.com")

	if code := run([]string{link}, e); code != exitFail {
		t.Fatalf("a clicked link without a confirmation: exit %d, want 1; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "needs a confirmation") || strings.Contains(stderr.String(), "exr_") {
		t.Errorf("stderr does not say why, or shows the code:\n%s", stderr)
	}
	if k, err := keys.Get(t.Context(), "admin"); err != nil || k.Reveal() != exmailtest.DefaultClientSecret {
		t.Errorf("the admin key was touched: %v", err)
	}
	if after, _ := os.ReadFile(cfgPath); !bytes.Equal(before, after) {
		t.Errorf("the config changed:\n%s", after)
	}
	// The code was not used: it still enrolls when run on purpose.
	e2, _, stderr2 := desktopEnv(t, &creds.Memory{})
	if code := run([]string{"enroll", link}, e2); code != exitOK {
		t.Errorf("the link no longer works after the refused click: exit %d; stderr:\n%s", code, stderr2)
	}
}

// runTestRelay runs a relay with cfg (its store, its upstream) on
// 127.0.0.1 until the test ends, then closes the store, and returns its
// URL once it serves.
func runTestRelay(t *testing.T, cfg relay.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	cfg.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	cfg.Ready = func(*server.Server) { close(ready) }
	go func() { done <- relay.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("relay.Run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		cfg.Store.Close()
	})
	return "http://" + ln.Addr().String()
}

// demoServeVars runs "demo" with args (which include --serve and --relay)
// until the test ends and returns the relay-mode settings it prints
// (export EXMAIL_...=... lines), plus a config file of the test's own.
func demoServeVars(t *testing.T, args ...string) map[string]string {
	t.Helper()
	pr, pw := io.Pipe()
	e := &env{stdin: strings.NewReader(""), stdout: pw, stderr: io.Discard, getenv: func(string) string { return "" }, keys: &creds.Memory{}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cmdDemo(ctx, e, args); pw.Close() }()
	t.Cleanup(func() { cancel(); <-done })

	vars := map[string]string{"EXMAIL_CONFIG": filepath.Join(t.TempDir(), "config.json")}
	sc := bufio.NewScanner(pr)
	for len(vars) < 4 && sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if !ok {
			t.Fatalf("not an export line: %q", sc.Text())
		}
		vars[k] = v
	}
	return vars
}
