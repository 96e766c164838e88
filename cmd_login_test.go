package main

import (
	"bytes"
	"errors"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/creds"
)

// loginServer is a fake exmail with the mailbox bob@example.com.
func loginServer(t *testing.T) *exmailtest.Server {
	t.Helper()
	s := exmailtest.New(exmailtest.Options{})
	t.Cleanup(s.Close)
	if err := s.AddUser(exmailtest.User{Alias: "bob@example.com", Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// loginArgs is a non-interactive login against s.
func loginArgs(s *exmailtest.Server, extra ...string) []string {
	return append([]string{"-v", "login", "--secret-stdin",
		"--api-url", s.APIBase(), "--token-url", s.TokenURL(), "--login-url", s.LoginURL()}, extra...)
}

// noSecretAnywhere fails if the key shows in the output or the config file.
func noSecretAnywhere(t *testing.T, e *env, key string, outs ...*bytes.Buffer) {
	t.Helper()
	for _, b := range outs {
		if strings.Contains(b.String(), key) {
			t.Errorf("the key appears in the output:\n%s", b)
		}
	}
	path, _ := e.accounts().ConfigPath()
	if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(key)) {
		t.Errorf("the key appears in the config file:\n%s", b)
	}
}

func TestLoginStoresBoth(t *testing.T) {
	t.Parallel()
	s := loginServer(t)
	keys := &creds.Memory{}
	key := exmailtest.DefaultClientSecret
	e, stdout, stderr := acctEnv(t, nil, keys, key+"\n")

	code := run(loginArgs(s, "--agent", "admin", "--alias", "bob@example.com"), e)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	got, err := keys.Get(t.Context(), "admin")
	if err != nil || got.Reveal() != key {
		t.Errorf("keyring holds %q, %v; want the key under \"admin\"", got.Reveal(), err)
	}
	path, _ := e.accounts().ConfigPath()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Config{Version: 1, Agent: "admin", Alias: "bob@example.com",
		TokenURL: s.TokenURL(), APIURL: s.APIBase(), LoginURL: s.LoginURL()}
	if *cfg != want {
		t.Errorf("config = %+v\nwant %+v", *cfg, want)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("config file mode: %v %v, want 0600", fi.Mode(), err)
		}
	}
	for _, w := range []string{"bob@example.com (Bob)", `"admin"`, path, "OS keyring"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("stdout does not mention %q:\n%s", w, stdout)
		}
	}
	noSecretAnywhere(t, e, key, stdout, stderr)

	// What login stored is what the other commands use.
	a, err := e.accounts().Resolve(t.Context())
	if err != nil || a.Agent != "admin" || a.Secret.Reveal() != key || a.Alias != "bob@example.com" || a.APIURL != s.APIBase() {
		t.Errorf("account after login = %+v, %v", a, err)
	}
}

func TestLoginRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		key   string
		setup func(*exmailtest.Server)
		want  []string // in the one-line reason on stderr
	}{
		{
			name: "wrong key",
			args: []string{"--agent", "admin", "--alias", "bob@example.com"},
			key:  "00000000000000000000000000000000",
			want: []string{"rejected", `"admin"`, "Nothing was stored"},
		},
		{
			name: "wrong admin account",
			args: []string{"--agent", "nobody", "--alias", "bob@example.com"},
			key:  exmailtest.DefaultClientSecret,
			want: []string{"rejected", `"nobody"`},
		},
		{
			name: "unknown mailbox",
			args: []string{"--agent", "admin", "--alias", "carol@example.com"},
			key:  exmailtest.DefaultClientSecret,
			want: []string{`"carol@example.com" does not exist`, "Nothing was stored"},
		},
		{
			name:  "IP not on the allow list",
			args:  []string{"--agent", "admin", "--alias", "bob@example.com"},
			key:   exmailtest.DefaultClientSecret,
			setup: func(s *exmailtest.Server) { s.FailNext("*", exmailtest.CodeIPNotAllowed, "", -1) },
			want:  []string{"allow list", "开放协议", "Nothing was stored"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := loginServer(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			keys := &creds.Memory{}
			e, stdout, stderr := acctEnv(t, nil, keys, tt.key+"\n")
			code := run(loginArgs(s, tt.args...), e)
			if code != exitFail {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFail, stderr)
			}
			reason := lastLine(stderr.String())
			for _, w := range tt.want {
				if !strings.Contains(reason, w) {
					t.Errorf("reason %q does not contain %q", reason, w)
				}
			}
			if keys.Len() != 0 {
				t.Error("a key was stored")
			}
			path, _ := e.accounts().ConfigPath()
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the config file was written (stat: %v)", err)
			}
			noSecretAnywhere(t, e, tt.key, stdout, stderr)
		})
	}
}

// lastLine is the last non-empty line of s: the reason finish prints.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestLoginUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no terminal, no --secret-stdin", []string{"login", "--agent", "admin", "--alias", "bob@example.com"}, "--secret-stdin"},
		{"no terminal, no --agent", []string{"login", "--secret-stdin", "--alias", "bob@example.com"}, "--agent is required"},
		{"no terminal, no --alias", []string{"login", "--secret-stdin", "--agent", "admin"}, "--alias is required"},
		{"bad API URL", []string{"login", "--secret-stdin", "--agent", "admin", "--alias", "bob@example.com", "--api-url", "http://h/openapi"}, `api_url: "http://h/openapi" must end in "/"`},
		{"not a mail address", []string{"login", "--secret-stdin", "--agent", "admin", "--alias", "bob"}, "alias"},
		{"a stray argument", []string{"login", "--secret-stdin", "admin"}, "unexpected argument"},
		{"the key as a flag", []string{"login", "--secret", "x"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys := &creds.Memory{}
			e, _, stderr := acctEnv(t, nil, keys, exmailtest.DefaultClientSecret)
			if code := run(tt.args, e); code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not contain %q:\n%s", tt.want, stderr)
			}
			if keys.Len() != 0 {
				t.Error("a key was stored")
			}
		})
	}
}

func TestLoginSecretStdinInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "no interface key"},
		{"blank", " \n", "no interface key"},
		{"two lines", exmailtest.DefaultClientSecret + "\nmore\n", "more than one line"},
		{"two words", exmailtest.DefaultClientSecret + " more\n", "more than one word"},
		{"huge", strings.Repeat("a", 5000), "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := loginServer(t)
			keys := &creds.Memory{}
			e, _, stderr := acctEnv(t, nil, keys, tt.in)
			if code := run(loginArgs(s, "--agent", "admin", "--alias", "bob@example.com"), e); code != exitFail {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not contain %q:\n%s", tt.want, stderr)
			}
			if len(s.RequestsTo("cgi-bin/token")) != 0 {
				t.Error("the server was asked")
			}
		})
	}
}

// TestLoginAgain: a second login keeps the other settings, may take the
// admin account and mailbox from the config file, and removes the key of
// a previous admin account.
func TestLoginAgain(t *testing.T) {
	t.Parallel()
	s := loginServer(t)
	keys := creds.MemoryWith("old-admin", storedKey)
	no := false
	e, stdout, stderr := acctEnv(t, nil, keys, exmailtest.DefaultClientSecret)
	writeConfig(t, e, config.Config{Agent: "old-admin", Alias: "bob@example.com", Lang: "en", ShowContent: &no})

	if code := run(loginArgs(s, "--agent", "admin"), e); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	path, _ := e.accounts().ConfigPath()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Agent != "admin" || cfg.Alias != "bob@example.com" || cfg.Lang != "en" || cfg.ShowsContent() {
		t.Errorf("config after a second login = %+v; want admin, bob, and lang/show_content kept", cfg)
	}
	if _, err := keys.Get(t.Context(), "old-admin"); !errors.Is(err, creds.ErrNotFound) {
		t.Errorf("the old admin account's key is still there (err %v)", err)
	}
	if k, err := keys.Get(t.Context(), "admin"); err != nil || k.Reveal() != exmailtest.DefaultClientSecret {
		t.Errorf("the new key: %v", err)
	}
	noSecretAnywhere(t, e, exmailtest.DefaultClientSecret, stdout, stderr)
}

func TestLoginKeyringFails(t *testing.T) {
	t.Parallel()
	s := loginServer(t)
	keys := &creds.Memory{Err: &creds.Error{Op: "set", Account: "admin", Kind: creds.ErrUnavailable}}
	e, _, stderr := acctEnv(t, nil, keys, exmailtest.DefaultClientSecret)
	if code := run(loginArgs(s, "--agent", "admin", "--alias", "bob@example.com"), e); code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	if reason := lastLine(stderr.String()); !strings.Contains(reason, "gnome-keyring") || !strings.Contains(reason, "nothing was stored") {
		t.Errorf("reason %q: want the fix and that nothing was stored", reason)
	}
	path, _ := e.accounts().ConfigPath()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the config file was written (stat: %v)", err)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	keys := creds.MemoryWith("admin", storedKey)
	e, stdout, stderr := acctEnv(t, nil, keys, "")
	writeConfig(t, e, config.Config{Agent: "admin", Alias: "bob@example.com", APIURL: "http://h/openapi/", Lang: "zh"})
	path, _ := e.accounts().ConfigPath()

	if code := run([]string{"logout"}, e); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if keys.Len() != 0 {
		t.Error("the key is still stored")
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HasAccount() || cfg.Alias != "" || cfg.APIURL != "" || cfg.Lang != "zh" {
		t.Errorf("config after logout = %+v; want the account gone and lang kept", cfg)
	}
	for _, w := range []string{`interface key of "admin"`, "OS keyring", path} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("stdout does not say %q:\n%s", w, stdout)
		}
	}
	if _, err := e.accounts().Resolve(t.Context()); !errors.Is(err, account.ErrNoAccount) {
		t.Errorf("account after logout: err = %v, want account.ErrNoAccount", err)
	}

	// Again: nothing left, and that is fine.
	stdout.Reset()
	if code := run([]string{"logout"}, e); code != exitOK {
		t.Fatalf("second logout: exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout.String(), "Nothing to remove") {
		t.Errorf("second logout says:\n%s", stdout)
	}
}

func TestLogoutKeyOnly(t *testing.T) {
	t.Parallel()
	// A key without a config file (e.g. the file was deleted by hand).
	keys := creds.MemoryWith("admin", storedKey)
	e, stdout, stderr := acctEnv(t, nil, keys, "")
	if code := run([]string{"logout", "--agent", "admin"}, e); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if keys.Len() != 0 {
		t.Error("the key is still stored")
	}
	if strings.Contains(stdout.String(), "config") {
		t.Errorf("claims to have changed a config file that does not exist:\n%s", stdout)
	}
}

func TestLogoutKeyringLocked(t *testing.T) {
	t.Parallel()
	keys := &creds.Memory{Err: &creds.Error{Op: "delete", Account: "admin", Kind: creds.ErrLocked}}
	e, _, stderr := acctEnv(t, nil, keys, "")
	writeConfig(t, e, config.Config{Agent: "admin", Alias: "bob@example.com"})
	if code := run([]string{"logout"}, e); code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	if reason := lastLine(stderr.String()); !strings.Contains(reason, "locked") {
		t.Errorf("reason %q does not say the keyring is locked", reason)
	}
	// The config keeps the account, so logout can be retried.
	path, _ := e.accounts().ConfigPath()
	if cfg, err := config.Load(path); err != nil || cfg.Agent != "admin" {
		t.Errorf("config after a failed logout: %+v, %v; want it unchanged", cfg, err)
	}
}

func TestLoginConfigBroken(t *testing.T) {
	t.Parallel()
	e, _, stderr := acctEnv(t, nil, &creds.Memory{}, exmailtest.DefaultClientSecret)
	path, _ := e.accounts().ConfigPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"version": 9}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"login", "--secret-stdin", "--agent", "admin", "--alias", "bob@example.com"}, e); code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	if reason := lastLine(stderr.String()); !strings.Contains(reason, "newer") || !strings.Contains(reason, "fix or delete") {
		t.Errorf("reason %q", reason)
	}
}

// TestLoginPrintsNameSafely: the mailbox's display name comes from the
// server and must not reach the terminal with control sequences.
func TestLoginPrintsNameSafely(t *testing.T) {
	t.Parallel()
	s := loginServer(t)
	if err := s.AddUser(exmailtest.User{Alias: "eve@example.com", Name: "Eve\x1b]0;pwned\x07\u202e\nX"}); err != nil {
		t.Fatal(err)
	}
	e, stdout, stderr := acctEnv(t, nil, &creds.Memory{}, exmailtest.DefaultClientSecret)
	if code := run(loginArgs(s, "--agent", "admin", "--alias", "eve@example.com"), e); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	first := strings.SplitN(stdout.String(), "\n", 2)[0]
	if want := "Logged in: watching eve@example.com (Eve]0;pwned X) as admin account \"admin\"."; first != want {
		t.Errorf("first line %q\nwant       %q", first, want)
	}
}
