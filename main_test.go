package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

// The command-line surface is tested with testscript: every
// testdata/script/*.txtar runs `exmail-notifier …` as a real process (the
// test binary re-executed as the command) against its own fake server.
//
// What a script gets from setupFake, so that new scripts (watch, login,
// doctor…) can use it as is:
//
//   - a fresh api/exmailtest server on 127.0.0.1, seeded with the demo
//     company (exmailtest.SeedDemo: bob@, alice@, lina@, zhangwei@ with
//     the alias ceo@, … in example.com; departments 研发中心/后端组 …;
//     groups all@ and dev@);
//   - EXMAIL_AGENT, EXMAIL_SECRET, EXMAIL_TOKEN_URL, EXMAIL_API_URL and
//     EXMAIL_LOGIN_URL pointing at it, EXMAIL_ALIAS=bob@example.com, and
//     FAKE_URL, its base URL;
//   - HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME and XDG_DATA_HOME inside $WORK.
//
// Extra script commands:
//
//	fake unread ALIAS N             set ALIAS's unread count to N
//	fake deliver ALIAS SUBJECT      deliver a mail (pushed to listen connections)
//	fake fail PATH ERRCODE [NAME [TIMES]]   answer the next TIMES (default 1;
//	                                -1 forever) requests to PATH with an errcode
//	fake failhttp PATH STATUS [TIMES]       the same with an HTTP status
//	fake expire-tokens              invalidate every access token
//	fake stop                       shut the server down (connection refused)
//	exits N PROG [ARGS...]          run PROG like exec; require exit status N
//
// PATH is a route as in exmailtest.FailNext ("mail/newcount",
// "cgi-bin/token", "*").
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"exmail-notifier": func() {
			os.Exit(run(os.Args[1:], osEnv()))
		},
	})
}

func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/script",
		Setup: setupFake,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fake":  cmdFake,
			"exits": cmdExits,
		},
		RequireExplicitExec: true,
	})
}

type fakeKey struct{}

// setupFake starts the script's fake server; see TestMain.
func setupFake(e *testscript.Env) error {
	srv := exmailtest.New(exmailtest.Options{Demo: true})
	e.Defer(srv.Close)
	e.Values[fakeKey{}] = srv
	for k, v := range map[string]string{
		"EXMAIL_AGENT":     srv.ClientID(),
		"EXMAIL_SECRET":    srv.ClientSecret(),
		"EXMAIL_ALIAS":     "bob@" + srv.Domain(),
		"EXMAIL_TOKEN_URL": srv.TokenURL(),
		"EXMAIL_API_URL":   srv.APIBase(),
		"EXMAIL_LOGIN_URL": srv.LoginURL(),
		"FAKE_URL":         srv.URL(),
		"HOME":             e.WorkDir + "/home",
		"XDG_CONFIG_HOME":  e.WorkDir + "/home/.config",
		"XDG_CACHE_HOME":   e.WorkDir + "/home/.cache",
		"XDG_DATA_HOME":    e.WorkDir + "/home/.local/share",
		// A -race binary sleeps 1 s at exit by default; scripts run many.
		"GORACE": "atexit_sleep_ms=0",
	} {
		e.Setenv(k, v)
	}
	return os.MkdirAll(e.WorkDir+"/home", 0o700)
}

func cmdFake(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! fake")
	}
	srv := ts.Value(fakeKey{}).(*exmailtest.Server)
	if len(args) == 0 {
		ts.Fatalf("usage: fake unread|deliver|fail|failhttp|expire-tokens|stop ...")
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		ts.Check(err)
		return n
	}
	arg := func(i int, def string) string {
		if i < len(args) {
			return args[i]
		}
		return def
	}
	switch args[0] {
	case "unread":
		if len(args) != 3 {
			ts.Fatalf("usage: fake unread ALIAS N")
		}
		if !srv.SetUnread(args[1], atoi(args[2])) {
			ts.Fatalf("fake unread: no mailbox %s", args[1])
		}
	case "deliver":
		if len(args) != 3 {
			ts.Fatalf("usage: fake deliver ALIAS SUBJECT")
		}
		if srv.Deliver(args[1], exmailtest.Mail{Sender: `"Test" <test@example.com>`, Subject: args[2], Summary: args[2]}) == "" {
			ts.Fatalf("fake deliver: no mailbox %s", args[1])
		}
	case "fail":
		if len(args) < 3 {
			ts.Fatalf("usage: fake fail PATH ERRCODE [NAME [TIMES]]")
		}
		srv.FailNext(args[1], atoi(args[2]), arg(3, ""), atoi(arg(4, "1")))
	case "failhttp":
		if len(args) < 3 {
			ts.Fatalf("usage: fake failhttp PATH STATUS [TIMES]")
		}
		srv.FailNextHTTP(args[1], atoi(args[2]), atoi(arg(3, "1")))
	case "expire-tokens":
		srv.ExpireTokens()
	case "stop":
		srv.Close()
	default:
		ts.Fatalf("fake: unknown subcommand %q", args[0])
	}
}

// cmdExits runs a program like exec and requires a given exit status:
// the CLI promises 0 success, 1 failure, 2 usage error.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

func TestTable(t *testing.T) {
	t.Parallel()
	tb := newTable("NAME", "PARTY", "NOTE")
	tb.add("张伟", "管理层", "ceo")
	tb.add("Bob Smith", "研发中心/运维组", "")
	tb.add("evil\x1b[31m\tname\u202e", "x\ny", "é")
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME" + sp(13) + "PARTY" + sp(12) + "NOTE\n" +
		"张伟" + sp(13) + "管理层" + sp(11) + "ceo\n" +
		"Bob Smith" + sp(8) + "研发中心/运维组\n" +
		"evil\uFFFD[31m name\uFFFD" + sp(2) + "x y" + sp(14) + "é\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table mismatch (-want +got):\n%s", diff)
	}
}

func sp(n int) string { return strings.Repeat(" ", n) }

func TestParseAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		wantPos  []string
		wantJSON bool
	}{
		{[]string{"a@x"}, []string{"a@x"}, false},
		{[]string{"--json", "a@x"}, []string{"a@x"}, true},
		{[]string{"a@x", "--json"}, []string{"a@x"}, true},
		{[]string{"a@x", "--json", "b@x"}, []string{"a@x", "b@x"}, true},
		{[]string{"--", "--json"}, []string{"--json"}, false},
		{[]string{"a@x", "--", "--json", "-x"}, []string{"a@x", "--json", "-x"}, false},
		{nil, nil, false},
	}
	for _, tt := range tests {
		f := newFlags(&env{stdout: io.Discard, stderr: io.Discard}, "t", "Usage: t")
		asJSON := f.Bool("json", false, "")
		pos, err := f.parseAll(tt.args)
		if err != nil {
			t.Fatalf("parseAll(%q): %v", tt.args, err)
		}
		if diff := cmp.Diff(tt.wantPos, pos); diff != "" || *asJSON != tt.wantJSON {
			t.Errorf("parseAll(%q) = %q json=%v; want %q json=%v", tt.args, pos, *asJSON, tt.wantPos, tt.wantJSON)
		}
	}
}

func TestConfirm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stdin   io.Reader
		yes     bool
		wantErr string // "" = confirmed
	}{
		{stdin: nil, yes: true},
		{stdin: strings.NewReader("y\n")},
		{stdin: strings.NewReader(" YES ")},
		{stdin: strings.NewReader("n\n"), wantErr: "nothing was changed"},
		{stdin: strings.NewReader("yes please\n"), wantErr: "nothing was changed"},
		{stdin: strings.NewReader(""), wantErr: "pass --yes"},
		{stdin: nil, wantErr: "pass --yes"},
	}
	for _, tt := range tests {
		var stderr strings.Builder
		e := &env{stdin: tt.stdin, stdout: io.Discard, stderr: &stderr}
		err := confirm(e, tt.yes, "Delete %s?", "x@example.com")
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("confirm(%v): %v", tt.stdin, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("confirm(%v) = %v, want an error with %q", tt.stdin, err, tt.wantErr)
		}
		if asked := strings.Contains(stderr.String(), "Delete x@example.com? [y/N]"); asked == tt.yes {
			t.Errorf("confirm(yes=%v) asked=%v", tt.yes, asked)
		}
	}
}

// TestSecretLeavesTheEnvironment: EXMAIL_SECRET is read once and taken out
// of the process environment, so children (the browser opener, the
// browser) never inherit it; the program still sees it.
func TestSecretLeavesTheEnvironment(t *testing.T) {
	t.Setenv("EXMAIL_SECRET", "0123456789abcdef0123456789abcdef")
	t.Setenv("EXMAIL_DEVICE_TOKEN", "exr_dev_secret")
	t.Setenv("EXMAIL_AGENT", "admin")
	e := osEnv()
	for _, name := range []string{"EXMAIL_SECRET", "EXMAIL_DEVICE_TOKEN"} {
		if _, ok := os.LookupEnv(name); ok {
			t.Errorf("%s is still in the process environment, for every child to inherit", name)
		}
	}
	if got := e.getenv("EXMAIL_DEVICE_TOKEN"); got != "exr_dev_secret" {
		t.Errorf("getenv(EXMAIL_DEVICE_TOKEN) = %q, want the token", got)
	}
	if got := e.getenv("EXMAIL_SECRET"); got != "0123456789abcdef0123456789abcdef" {
		t.Errorf("getenv(EXMAIL_SECRET) = %q, want the key", got)
	}
	if got := e.getenv("EXMAIL_AGENT"); got != "admin" {
		t.Errorf("getenv(EXMAIL_AGENT) = %q, want the environment's value", got)
	}
}
