package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

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
			os.Exit(run(os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
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
