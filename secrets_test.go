package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"github.com/exmail-notifier/exmail-notifier/internal/syncbuf"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/creds"
)

// The issue's rule, checked across the whole command line: no secret (the
// interface key, an access token, an auth key, an SSO URL) appears in a log
// line, an error message, --help, or the config file. The one exception is
// `open --print`, whose stdout is the SSO URL because the user asked for it.
//
// Every command runs with --verbose against a fake exmail behind a
// recording front (secretProbe) that remembers each access token and auth
// key the fake hands out, so the test knows every secret that existed and
// looks for each of them in everything the command wrote.

// secretProbe is a fake exmail behind a front that records the secrets
// the fake issues: access tokens (cgi-bin/token), auth keys
// (mail/authkey) and the tickets that come back to the login page.
type secretProbe struct {
	fake  *exmailtest.Server
	front *httptest.Server
	key   string // the interface key the fake accepts

	mu     sync.Mutex
	issued map[string]string // secret → what it is
}

func newSecretProbe(t *testing.T) *secretProbe {
	t.Helper()
	p := &secretProbe{key: randomHex(t, 16), issued: map[string]string{}}
	p.fake = exmailtest.New(exmailtest.Options{Demo: true, ClientSecret: p.key})
	p.front = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.front.Close) // after the fake ended its listen replies
	t.Cleanup(p.fake.Close)
	return p
}

func (p *secretProbe) serve(w http.ResponseWriter, r *http.Request) {
	if tk := r.URL.Query().Get("ticket"); tk != "" {
		p.remember(tk, "SSO ticket")
	}
	switch strings.ToLower(r.URL.Path) {
	case "/cgi-bin/token", "/openapi/mail/authkey":
	default:
		p.fake.Handler().ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	p.fake.Handler().ServeHTTP(rec, r)
	var reply struct {
		AccessToken string `json:"access_token"`
		AuthKey     string `json:"auth_key"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &reply) == nil {
		p.remember(reply.AccessToken, "access token")
		p.remember(reply.AuthKey, "auth key")
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (p *secretProbe) remember(secret, what string) {
	if secret == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.issued[secret]; !ok { // a ticket is an auth key seen again
		p.issued[secret] = what
	}
}

// count reports how many secrets of kind what the fake issued.
func (p *secretProbe) count(what string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, w := range p.issued {
		if w == what {
			n++
		}
	}
	return n
}

// forbidden lists every string that must not be shown, and what it is:
// the interface key in the spellings a client might send (either case, in
// a Basic header), every token and auth key issued so far, the marker of
// an SSO URL, and extra (a wrong key, a password...).
func (p *secretProbe) forbidden(extra map[string]string) map[string]string {
	f := map[string]string{"ticket=": "an SSO URL"}
	for _, k := range []string{p.key, strings.ToUpper(p.key)} {
		f[k] = "the interface key"
		f[base64.StdEncoding.EncodeToString([]byte(p.fake.ClientID()+":"+k))] = "the interface key (Basic credentials)"
	}
	p.mu.Lock()
	maps.Copy(f, p.issued)
	p.mu.Unlock()
	maps.Copy(f, extra)
	return f
}

// vars is the environment of a configured account against the probe.
func (p *secretProbe) vars(t *testing.T) map[string]string {
	return map[string]string{
		"EXMAIL_AGENT":     p.fake.ClientID(),
		"EXMAIL_SECRET":    p.key,
		"EXMAIL_ALIAS":     "bob@" + p.fake.Domain(),
		"EXMAIL_TOKEN_URL": p.front.URL + "/cgi-bin/token",
		"EXMAIL_API_URL":   p.front.URL + "/openapi/",
		"EXMAIL_LOGIN_URL": p.front.URL + "/cgi-bin/login",
		"EXMAIL_CONFIG":    filepath.Join(t.TempDir(), "config.json"),
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// closedURL is a base URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// noSecrets fails the test for each forbidden string found in text (named
// where), quoting the line it is on.
func noSecrets(t *testing.T, where, text string, forbidden map[string]string) {
	t.Helper()
	for s, what := range forbidden {
		i := strings.Index(text, s)
		if i < 0 {
			continue
		}
		start := strings.LastIndexByte(text[:i], '\n') + 1
		end := len(text)
		if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
			end = i + j
		}
		t.Errorf("%s shows %s (%q) in the line:\n%s", where, what, s, text[start:end])
	}
}

// noSecretsInConfig checks the settings file e would use, if written.
func noSecretsInConfig(t *testing.T, e *env, forbidden map[string]string) {
	t.Helper()
	path, err := e.accounts().ConfigPath()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err == nil {
		noSecrets(t, "the config file", string(b), forbidden)
	}
}

func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	const (
		wrongKey = "0badc0de0badc0de0badc0de0badc0de"
		password = "Initial-Pass1"
		shortPw  = "Qx7#k"
		argvPw   = "Secret-123"
	)
	tests := []struct {
		name  string
		args  []string // after "-v"
		stdin string
		// setup prepares the probe and the environment (vars may be
		// changed) before the command runs.
		setup func(t *testing.T, p *secretProbe, vars map[string]string, e *env)
		fail  func(*exmailtest.Server) // set up on the fake, before setup
		code  int                      // the exit status that shows the case ran as meant
		extra map[string]string        // more secrets of this case
		// issues lists kinds of secret the run must have made the fake
		// issue, so that the search is not vacuous.
		issues []string
	}{
		// Commands that work.
		{name: "count", args: []string{"count"}, issues: []string{"access token"}},
		{name: "count other mailbox", args: []string{"count", "alice@example.com"}, issues: []string{"access token"}},
		{name: "open unknown mailbox", args: []string{"open", "--print", "nobody@example.com"}, code: exitFail},
		{name: "user get", args: []string{"user", "get", "bob@example.com"}, issues: []string{"access token"}},
		{name: "user get json", args: []string{"user", "get", "--json", "zhangwei@example.com"}},
		{name: "user get unknown", args: []string{"user", "get", "nobody@example.com"}, code: exitFail},
		{name: "user list", args: []string{"user", "list"}},
		{name: "user list json", args: []string{"user", "list", "--json"}},
		{name: "user check", args: []string{"user", "check", "bob@example.com", "ceo@example.com", "all@example.com", "new@example.com", "bad address"}},
		{
			name: "user sync add", args: []string{"user", "sync", "add", "carol@example.com", "--name", "Carol", "--password-stdin"},
			stdin: password + "\n", extra: map[string]string{password: "the password"},
		},
		{
			name: "user sync add refused password", args: []string{"user", "sync", "add", "dave@example.com", "--name", "Dave", "--password-stdin"},
			stdin: shortPw + "\n", code: exitFail, extra: map[string]string{shortPw: "the password"},
		},
		{name: "party list", args: []string{"party", "list"}},
		{name: "party users", args: []string{"party", "users", "研发中心/后端组"}},
		{name: "group add", args: []string{"group", "add", "--name", "项目组", "--status", "list", "--member", "bob@example.com", "team@example.com"}},
		{name: "group add fails", args: []string{"group", "add", "--name", "X", "--status", "all", "--member", "nobody@example.com", "x@example.com"}, code: exitFail},
		{name: "group add-member", args: []string{"group", "add-member", "--yes", "all@example.com", "bob@example.com"}},
		{
			name: "doctor", args: []string{"doctor", "--timeout", "5s"}, code: -1,
			issues: []string{"access token", "auth key"},
		},

		// Login and logout.
		{
			name: "login", args: []string{"login", pEndpoints, "--secret-stdin", "--agent", "admin", "--alias", "bob@example.com"},
			setup: func(t *testing.T, p *secretProbe, vars map[string]string, e *env) {
				e.stdin = strings.NewReader(p.key + "\n")
			},
			issues: []string{"access token"},
		},
		{
			name: "login wrong key", args: []string{"login", pEndpoints, "--secret-stdin", "--agent", "admin", "--alias", "bob@example.com"},
			stdin: wrongKey + "\n", code: exitFail, extra: map[string]string{wrongKey: "the wrong interface key"},
		},
		{
			name: "login key with spaces", args: []string{"login", pEndpoints, "--secret-stdin", "--agent", "admin", "--alias", "bob@example.com"},
			stdin: wrongKey + " " + wrongKey + "\n", code: exitFail, extra: map[string]string{wrongKey: "the wrong interface key"},
		},
		{
			name: "logout", args: []string{"logout"},
			setup: func(t *testing.T, p *secretProbe, vars map[string]string, e *env) {
				storeAccount(t, p, e)
			},
		},
		{
			name: "count with the stored account", args: []string{"count"},
			setup: func(t *testing.T, p *secretProbe, vars map[string]string, e *env) {
				storeAccount(t, p, e)
				for _, k := range []string{"EXMAIL_AGENT", "EXMAIL_SECRET", "EXMAIL_ALIAS", "EXMAIL_TOKEN_URL", "EXMAIL_API_URL", "EXMAIL_LOGIN_URL"} {
					delete(vars, k)
				}
			},
			issues: []string{"access token"},
		},

		// Failures.
		{
			name: "wrong key", args: []string{"count"}, code: exitFail,
			setup: func(t *testing.T, p *secretProbe, vars map[string]string, e *env) {
				vars["EXMAIL_SECRET"] = wrongKey
			},
			extra: map[string]string{wrongKey: "the wrong interface key"},
		},
		{
			name: "token rejected forever", args: []string{"count"}, code: exitFail,
			fail:   failAlways("mail/newcount", exmailtest.CodeInvalidToken, "invalid_token"),
			issues: []string{"access token"},
		},
		{
			name: "token rejected on a write", args: []string{"group", "add-member", "--yes", "all@example.com", "bob@example.com"}, code: exitFail,
			fail:   failAlways("group/addmember", exmailtest.CodeInvalidToken, "invalid_token"),
			issues: []string{"access token"},
		},
		{
			name: "IP not allowed", args: []string{"count"}, code: exitFail,
			fail: failAlways("*", exmailtest.CodeIPNotAllowed, "ip_freq_block"),
		},
		{
			name: "IP not allowed after the token", args: []string{"open", "--print"}, code: exitFail,
			fail:   failAlways("mail/authkey", exmailtest.CodeIPNotAllowed, "ip_freq_block"),
			issues: []string{"access token"},
		},
		{
			name: "server error", args: []string{"user", "get", "bob@example.com"}, code: exitFail,
			fail:   failAlwaysHTTP("user/get", http.StatusBadGateway),
			issues: []string{"access token"},
		},
		{
			name: "token endpoint error", args: []string{"count"}, code: exitFail,
			fail: failAlwaysHTTP("cgi-bin/token", http.StatusInternalServerError),
		},
		{
			name: "server down", args: []string{"count"}, code: exitFail,
			setup: func(t *testing.T, p *secretProbe, vars map[string]string, e *env) {
				down := closedURL(t)
				vars["EXMAIL_TOKEN_URL"] = down + "/cgi-bin/token"
				vars["EXMAIL_API_URL"] = down + "/openapi/"
			},
		},
		{
			name: "API down after the token", args: []string{"open", "--print"}, code: exitFail,
			setup: func(t *testing.T, p *secretProbe, vars map[string]string, e *env) {
				vars["EXMAIL_API_URL"] = closedURL(t) + "/openapi/"
			},
			issues: []string{"access token"},
		},
		{
			name: "doctor with a wrong key", args: []string{"doctor", "--timeout", "5s"}, code: exitFail,
			setup: func(t *testing.T, p *secretProbe, vars map[string]string, e *env) {
				vars["EXMAIL_SECRET"] = wrongKey
			},
			extra: map[string]string{wrongKey: "the wrong interface key"},
		},
		{
			name: "doctor with the login page down", args: []string{"doctor", "--timeout", "5s"}, code: exitFail,
			fail:   failAlwaysHTTP("cgi-bin/login", http.StatusServiceUnavailable),
			issues: []string{"access token", "auth key"},
		},

		// Usage errors, with the secrets in the environment.
		{name: "unknown command", args: []string{"frobnicate", p0}, code: exitUsage},
		{name: "unknown top flag", args: []string{"--secret", p0}, code: exitUsage},
		{name: "too many arguments", args: []string{"count", "a@example.com", "b@example.com"}, code: exitUsage},
		{name: "bad flag", args: []string{"count", "--key", p0}, code: exitUsage},
		{name: "watch bad idle timeout", args: []string{"watch", "--idle-timeout", "1ms"}, code: exitUsage},
		{name: "login without stdin flag", args: []string{"login", "--agent", "admin"}, code: exitUsage},
		{name: "login with the key as a flag", args: []string{"login", "--secret", p0}, code: exitUsage},
		{
			name: "password on the command line", args: []string{"user", "sync", "add", "dave@example.com", "--name", "Dave", "--password", argvPw},
			code: exitUsage, extra: map[string]string{argvPw: "the password"},
		},
		{name: "group without command", args: []string{"group"}, code: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newSecretProbe(t)
			vars := p.vars(t)
			e, stdout, stderr := acctEnv(t, vars, &creds.Memory{}, tt.stdin)
			args := []string{"-v"}
			for _, a := range tt.args {
				switch a {
				case p0:
					a = p.key // a secret typed where it does not belong
				case pEndpoints:
					args = append(args, "--token-url", vars["EXMAIL_TOKEN_URL"], "--api-url", vars["EXMAIL_API_URL"])
					a = "--login-url=" + vars["EXMAIL_LOGIN_URL"]
				}
				args = append(args, a)
			}
			if tt.fail != nil {
				tt.fail(p.fake)
			}
			if tt.setup != nil {
				tt.setup(t, p, vars, e)
			}
			code := run(args, e)
			if tt.code >= 0 && code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			for _, what := range tt.issues {
				if p.count(what) == 0 {
					t.Errorf("the fake issued no %s: the search for it proves nothing", what)
				}
			}
			forbidden := p.forbidden(tt.extra)
			noSecrets(t, "stderr", stderr.String(), forbidden)
			noSecrets(t, "stdout", stdout.String(), forbidden)
			noSecretsInConfig(t, e, forbidden)
		})
	}
}

// In a test's args, p0 stands for the probe's interface key and
// pEndpoints for login's flags naming the probe's endpoints.
const (
	p0         = "\x00key"
	pEndpoints = "\x00endpoints"
)

// storeAccount saves the probe's account as login would: the config file
// and the key in e's key store.
func storeAccount(t *testing.T, p *secretProbe, e *env) {
	t.Helper()
	writeConfig(t, e, config.Config{
		Agent:    p.fake.ClientID(),
		Alias:    "bob@" + p.fake.Domain(),
		TokenURL: p.front.URL + "/cgi-bin/token",
		APIURL:   p.front.URL + "/openapi/",
		LoginURL: p.front.URL + "/cgi-bin/login",
	})
	if err := e.keyStore().Set(t.Context(), p.fake.ClientID(), api.Secret(p.key)); err != nil {
		t.Fatal(err)
	}
}

// helpArgs is every command and subcommand with --help.
func helpArgs() [][]string {
	var all [][]string
	for _, c := range commands() {
		all = append(all, []string{c.name, "--help"}, []string{"help", c.name})
	}
	for _, sub := range [][]string{
		{"user", "get"}, {"user", "sync"}, {"user", "sync", "add"}, {"user", "sync", "modify"}, {"user", "sync", "delete"},
		{"user", "list"}, {"user", "check"}, {"user", "wxtoken"},
		{"party", "list"}, {"party", "users"}, {"party", "sync"}, {"party", "sync", "add"}, {"party", "sync", "move"}, {"party", "sync", "delete"},
		{"group", "add"}, {"group", "delete"}, {"group", "add-member"}, {"group", "remove-member"}, {"group", "allow"}, {"group", "disallow"},
	} {
		all = append(all, append(sub, "--help"))
	}
	return append(all, []string{"--help"}, []string{"help"})
}

// TestSecretsNotInHelp: help texts show no default taken from the
// environment or the stored account.
func TestSecretsNotInHelp(t *testing.T) {
	t.Parallel()
	p := newSecretProbe(t)
	for _, args := range helpArgs() {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			e, stdout, stderr := acctEnv(t, p.vars(t), &creds.Memory{}, "")
			storeAccount(t, p, e)
			if code := run(append([]string{"-v"}, args...), e); code != exitOK {
				t.Errorf("exit %d; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stdout.String(), "Usage") {
				t.Errorf("no usage text on stdout:\n%s", stdout)
			}
			forbidden := p.forbidden(map[string]string{p.front.URL: "the account's endpoint"})
			noSecrets(t, "stdout", stdout.String(), forbidden)
			noSecrets(t, "stderr", stderr.String(), forbidden)
		})
	}
}

// printedSSOURL is the shape of the URL open --print prints.
var printedSSOURL = regexp.MustCompile(`\Ahttp://127\.0\.0\.1:[0-9]+/cgi-bin/login\?fun=bizopenssologin&method=bizauth&agent=admin&user=bob%40example\.com&ticket=([0-9A-F]{112})\n\z`)

// TestSecretsOpenPrint: open --print writes the URL to stdout and nothing
// else anywhere; with --verbose the logs show no secret either.
func TestSecretsOpenPrint(t *testing.T) {
	t.Parallel()
	for _, verbose := range []bool{false, true} {
		t.Run(map[bool]string{false: "quiet", true: "verbose"}[verbose], func(t *testing.T) {
			t.Parallel()
			p := newSecretProbe(t)
			e, stdout, stderr := acctEnv(t, p.vars(t), &creds.Memory{}, "")
			args := []string{"open", "--print"}
			if verbose {
				args = append([]string{"-v"}, args...)
			}
			if code := run(args, e); code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			m := printedSSOURL.FindStringSubmatch(stdout.String())
			if m == nil {
				t.Fatalf("stdout is not the SSO URL alone:\n%s", stdout)
			}
			if what := p.forbidden(nil)[m[1]]; what != "auth key" {
				t.Errorf("the ticket printed is %q, not an auth key the fake issued", what)
			}
			if !verbose && stderr.Len() > 0 {
				t.Errorf("stderr is not empty:\n%s", stderr)
			}
			noSecrets(t, "stderr", stderr.String(), p.forbidden(nil))
			noSecretsInConfig(t, e, p.forbidden(nil))
		})
	}
}

// TestSecretsOpenBrowser runs open with a fake xdg-open that follows the
// one-time loopback link with curl, as a browser would, into the fake's
// webmail. Not parallel: the opener is found through the process's PATH.
func TestSecretsOpenBrowser(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fake xdg-open is a shell script; pkg/browser runs xdg-open on Linux")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	bin := t.TempDir()
	visits := filepath.Join(bin, "visits.txt")
	script := "#!/bin/sh\n" +
		"printf 'argv %s\\n' \"$*\" >> '" + visits + "'\n" +
		"curl -s -L -o /dev/null -w 'landed %{url_effective} %{http_code}\\n' \"$1\" >> '" + visits + "'\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	for _, args := range [][]string{{"open"}, {"open", "--mail-id", "ZC0001-x", "alice@example.com"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			os.Remove(visits)
			p := newSecretProbe(t)
			e, stdout, stderr := acctEnv(t, p.vars(t), &creds.Memory{}, "")
			if code := run(append([]string{"-v"}, args...), e); code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			b, err := os.ReadFile(visits)
			if err != nil {
				t.Fatal(err)
			}
			// The browser landed on the login page with a ticket the probe
			// saw (so it is among the forbidden strings), and the opener's
			// argv had none.
			m := regexp.MustCompile(`(?m)^landed http://127\.0\.0\.1:[0-9]+/cgi-bin/login\?\S*ticket=([0-9A-F]{112})\S* 200$`).FindSubmatch(b)
			if m == nil {
				t.Fatalf("the browser did not reach the webmail:\n%s", b)
			}
			forbidden := p.forbidden(nil)
			if what := forbidden[string(m[1])]; what != "auth key" {
				t.Errorf("the browser's ticket is %q, not an auth key the probe saw", what)
			}
			argv := strings.SplitN(string(b), "\nlanded", 2)[0]
			noSecrets(t, "the opener's argv", argv, forbidden)
			noSecrets(t, "stdout", stdout.String(), forbidden)
			noSecrets(t, "stderr", stderr.String(), forbidden)
		})
	}
}

// failAlways makes every call to path fail with the API error code
// (errname name); failAlwaysHTTP, with the HTTP status.
func failAlways(path string, code int, name string) func(*exmailtest.Server) {
	return func(s *exmailtest.Server) { s.FailNext(path, code, name, -1) }
}

func failAlwaysHTTP(path string, status int) func(*exmailtest.Server) {
	return func(s *exmailtest.Server) { s.FailNextHTTP(path, status, -1) }
}

// TestSecretsWatch runs watch with --verbose until a line shows the case
// happened, then stops it as SIGINT would. It calls cmdWatch with run's
// logger, since run's context is the process's signals.
func TestSecretsWatch(t *testing.T) {
	t.Parallel()
	newMail := func(l map[string]any) bool { return l["event"] == "new_mail" }
	disconnected := func(l map[string]any) bool { return l["event"] == "disconnected" }
	tests := []struct {
		name  string
		args  []string
		setup func(t *testing.T, p *secretProbe, vars map[string]string)
		fail  func(*exmailtest.Server) // set up on the fake, before setup
		// act runs once the watch is connected.
		act   func(p *secretProbe)
		until func(map[string]any) bool
	}{
		{
			name:  "new mail",
			act:   func(p *secretProbe) { p.fake.Deliver("bob@example.com", exmailtest.Mail{Subject: "hello"}) },
			until: newMail,
		},
		{
			name:  "every mailbox",
			args:  []string{"--all"},
			act:   func(p *secretProbe) { p.fake.Deliver("alice@example.com", exmailtest.Mail{Subject: "hello"}) },
			until: newMail,
		},
		{
			name: "garbage on the stream",
			act: func(p *secretProbe) {
				p.fake.SendRaw([]byte(`{"UserName":"bob@example.com","NewCount":"x"}}}garbage{"Ret":`))
				p.fake.SendRaw([]byte("\x00\xff not json at all {{{"))
				p.fake.DropListeners()
			},
			until: disconnected,
		},
		{
			name:  "token rejected forever",
			fail:  failAlways("listen", exmailtest.CodeInvalidToken, "invalid_token"),
			until: disconnected,
		},
		{
			name: "wrong key",
			setup: func(t *testing.T, p *secretProbe, vars map[string]string) {
				vars["EXMAIL_SECRET"] = strings.Repeat("0", 32)
			},
			until: disconnected,
		},
		{
			name:  "IP not allowed",
			fail:  failAlways("listen", exmailtest.CodeIPNotAllowed, "ip_freq_block"),
			until: disconnected,
		},
		{
			name:  "server error",
			fail:  failAlwaysHTTP("listen", http.StatusBadGateway),
			until: disconnected,
		},
		{
			name: "server down",
			setup: func(t *testing.T, p *secretProbe, vars map[string]string) {
				vars["EXMAIL_API_URL"] = closedURL(t) + "/openapi/"
			},
			until: disconnected,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newSecretProbe(t)
			vars := p.vars(t)
			if tt.fail != nil {
				tt.fail(p.fake)
			}
			if tt.setup != nil {
				tt.setup(t, p, vars)
			}
			stderr := &syncbuf.Buffer{}
			pr, pw := io.Pipe()
			e := &env{
				stdin:   strings.NewReader(""),
				stdout:  pw,
				stderr:  stderr,
				getenv:  func(k string) string { return vars[k] },
				verbose: true,
				keys:    &creds.Memory{},
			}
			e.setupLogger()
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				err := cmdWatch(ctx, e, tt.args)
				pw.Close()
				done <- err
			}()

			var out strings.Builder
			lines := bufio.NewScanner(pr)
			reached := false
			for !reached && lines.Scan() {
				out.WriteString(lines.Text() + "\n")
				var l map[string]any
				if err := json.Unmarshal(lines.Bytes(), &l); err != nil {
					t.Fatalf("line %q: %v", lines.Text(), err)
				}
				if l["event"] == "connected" && tt.act != nil {
					if err := p.fake.WaitListeners(ctx, 1); err != nil {
						t.Fatal(err)
					}
					tt.act(p)
				}
				reached = tt.until(l)
			}
			cancel()
			go io.Copy(io.Discard, pr) // let watch finish its last line
			if err := <-done; err != nil {
				t.Errorf("watch returned %v", err)
			}
			if !reached {
				t.Fatalf("watch ended before the case happened; stdout:\n%s\nstderr:\n%s", &out, stderr)
			}
			if p.count("access token") == 0 && vars["EXMAIL_SECRET"] == p.key && !strings.Contains(tt.name, "IP") {
				t.Error("the fake issued no access token: the search for one proves nothing")
			}
			forbidden := p.forbidden(map[string]string{vars["EXMAIL_SECRET"]: "the interface key in use"})
			noSecrets(t, "stdout", out.String(), forbidden)
			noSecrets(t, "stderr", stderr.String(), forbidden)
		})
	}
}
