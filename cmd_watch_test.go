package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/exmail-notifier/exmail-notifier/internal/syncbuf"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// watching is `exmail-notifier watch ARGS` running against a fake
// server, with its stdout read line by line.
type watching struct {
	srv    *exmailtest.Server
	lines  *bufio.Scanner
	stderr *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan struct{}
	err    error // what cmdWatch returned, once done is closed
}

// stop sends "SIGINT" (cancels the command's context) and returns what
// cmdWatch returned.
func (w *watching) stop() error {
	w.cancel()
	<-w.done
	return w.err
}

func startWatch(t *testing.T, args ...string) *watching {
	t.Helper()
	srv := exmailtest.New(exmailtest.Options{})
	t.Cleanup(srv.Close)
	for _, u := range []exmailtest.User{{Alias: "bob@example.com", Name: "Bob"}, {Alias: "alice@example.com", Name: "Alice"}} {
		if err := srv.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{
		"EXMAIL_AGENT":     srv.ClientID(),
		"EXMAIL_SECRET":    srv.ClientSecret(),
		"EXMAIL_ALIAS":     "Bob@Example.com",
		"EXMAIL_TOKEN_URL": srv.TokenURL(),
		"EXMAIL_API_URL":   srv.APIBase(),
		"EXMAIL_LOGIN_URL": srv.LoginURL(),
		"EXMAIL_CONFIG":    t.TempDir() + "/config.json",
	}
	return watchWith(t, srv, vars, &creds.Memory{}, args...)
}

// watchWith runs `exmail-notifier watch ARGS` with the environment vars and
// the key store keys; srv is the fake exmail behind it.
func watchWith(t *testing.T, srv *exmailtest.Server, vars map[string]string, keys account.KeyStore, args ...string) *watching {
	t.Helper()
	pr, pw := io.Pipe()
	w := &watching{srv: srv, lines: bufio.NewScanner(pr), stderr: &syncbuf.Buffer{}, done: make(chan struct{})}
	e := &env{
		stdin:  strings.NewReader(""),
		stdout: pw,
		stderr: w.stderr,
		getenv: func(k string) string { return vars[k] },
		keys:   keys,
	}
	ctx, cancel := context.WithCancel(t.Context())
	w.cancel = cancel
	go func() {
		defer close(w.done)
		w.err = cmdWatch(ctx, e, args)
		pw.Close()
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

// next reads the next line and decodes it, with "time" checked and
// removed.
func (w *watching) next(t *testing.T) map[string]any {
	t.Helper()
	if !w.lines.Scan() {
		t.Fatalf("stdout ended: %v; stderr:\n%s", w.lines.Err(), w.stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal(w.lines.Bytes(), &m); err != nil {
		t.Fatalf("line %q: %v", w.lines.Text(), err)
	}
	ts, _ := m["time"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("time %q: %v", ts, err)
	}
	delete(m, "time")
	return m
}

func TestWatchPrintsTheWatchedMailbox(t *testing.T) {
	t.Parallel()
	w := startWatch(t)
	if diff := cmp.Diff(map[string]any{"event": "connected"}, w.next(t)); diff != "" {
		t.Fatalf("first line (-want +got):\n%s", diff)
	}
	// --ver 0 (the default) is older than the server's: it says its own.
	if diff := cmp.Diff(map[string]any{"event": "version", "ver": strconv.FormatInt(w.srv.Ver(), 10)}, w.next(t)); diff != "" {
		t.Errorf("version (-want +got):\n%s", diff)
	}
	w.srv.Deliver("alice@example.com", exmailtest.Mail{Subject: "for alice"})
	id := w.srv.Deliver("bob@example.com", exmailtest.Mail{Sender: `"张伟" <zhangwei@example.com>`, Subject: "<b>Lunch?</b>", Summary: "at 12"})
	want := map[string]any{
		"event": "new_mail", "alias": "bob@example.com", "mail_id": id,
		"from": `"张伟" <zhangwei@example.com>`, "to": "bob@example.com",
		"subject": "<b>Lunch?</b>", "summary": "at 12", "unread": 1.0,
	}
	if diff := cmp.Diff(want, w.next(t)); diff != "" {
		t.Errorf("new mail (-want +got):\n%s", diff)
	}
	w.srv.MarkRead("alice@example.com", 1)
	w.srv.MarkRead("bob@example.com", 1)
	if diff := cmp.Diff(map[string]any{"event": "unread", "alias": "bob@example.com", "unread": 0.0}, w.next(t)); diff != "" {
		t.Errorf("unread (-want +got):\n%s", diff)
	}
	ver, _ := w.srv.BumpVer("alice@example.com")
	if diff := cmp.Diff(map[string]any{"event": "version", "ver": strconv.FormatInt(ver, 10)}, w.next(t)); diff != "" {
		t.Errorf("version (-want +got):\n%s", diff)
	}
	if err := w.stop(); err != nil {
		t.Errorf("watch after SIGINT: %v, want nil (exit status 0)", err)
	}
	if strings.Contains(w.stderr.String(), "Lunch") || strings.Contains(w.stderr.String(), "for alice") {
		t.Errorf("stderr shows mail content:\n%s", w.stderr.String())
	}
}

func TestWatchAll(t *testing.T) {
	t.Parallel()
	w := startWatch(t, "--all", "--idle-timeout", "10m")
	w.next(t) // connected
	w.next(t) // version
	w.srv.Deliver("alice@example.com", exmailtest.Mail{Subject: "for alice"})
	if got := w.next(t); got["alias"] != "alice@example.com" || got["subject"] != "for alice" {
		t.Errorf("with --all: %v, want alice's mail", got)
	}
	if n := len(w.srv.RequestsTo("listen")); n != 1 || w.srv.RequestsTo("listen")[0].Form.Has("alias") {
		t.Errorf("listen requests %+v: want one, without alias", w.srv.RequestsTo("listen"))
	}
}

func TestWatchDisconnectedLine(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 1, 2, 3, 4, time.UTC)
	secret := api.Secret("563a8c6a89d2368194c1c7889c508b34")
	tests := []struct {
		name string
		ev   api.Event
		want any
	}{
		{"retrying", api.StateChanged{State: api.StateRetrying, Err: errors.New("exmail listen: HTTP 503\nService Unavailable"), RetryIn: 2 * time.Second},
			disconnectedLine{"2026-11-27T01:02:03.000000004Z", "disconnected", "exmail listen: HTTP 503 Service Unavailable", 2000}},
		{"a secret is scrubbed", api.StateChanged{State: api.StateAuthFailed, Err: errors.New("key 563a8c6a89d2368194c1c7889c508b34 rejected"), RetryIn: time.Minute},
			disconnectedLine{"2026-11-27T01:02:03.000000004Z", "disconnected", "key [redacted] rejected", 60000}},
		{"online", api.StateChanged{State: api.StateOnline}, connectedLine{"2026-11-27T01:02:03.000000004Z", "connected"}},
		{"connecting is not printed", api.StateChanged{State: api.StateConnecting}, nil},
		{"unknown is not printed", api.Unknown{Raw: []byte(`{"X":1}`)}, nil},
		{"skipped is not printed", api.Skipped{}, nil},
	}
	for _, tt := range tests {
		got, ok := watchLine(tt.ev, now, scrubber(secret))
		if ok != (tt.want != nil) {
			t.Errorf("%s: printed %v, want %v", tt.name, ok, tt.want != nil)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestWatchUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, "takes no arguments"},
		{[]string{"--idle-timeout", "10ms"}, "at least 1s"},
		{[]string{"--ver", "abc"}, "must be a number"},
		{[]string{"--nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, keys: &creds.Memory{}}
		err := cmdWatch(t.Context(), e, tt.args)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(ue.msg, tt.want) {
			t.Errorf("watch %v: %v, want a usage error saying %q", tt.args, err, tt.want)
		}
	}
}

// TestJSONOutputCannotDriveTheTerminal: watch and --json print server
// text for scripts. encoding/json escapes C0 controls only; DEL, C1
// (U+009B is a one-character CSI) and bidi overrides must be escaped too,
// with the value unchanged for the script that reads it.
func TestJSONOutputCannotDriveTheTerminal(t *testing.T) {
	t.Parallel()
	subject := "build\u009b2J\x7f\u202efdp.exe\x1b]0;x\x07"
	line, ok := watchLine(api.NewMail{User: "bob@example.com", MailID: "m1", Subject: subject}, time.Unix(0, 0).UTC(), func(s string) string { return s })
	if !ok {
		t.Fatal("no line for a new mail")
	}
	for name, write := range map[string]func(io.Writer, any) error{
		"watch line":    func(w io.Writer, v any) error { return encodeJSON(w, v, "") },
		"--json output": writeJSON,
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := write(&b, line); err != nil {
				t.Fatal(err)
			}
			for _, r := range b.String() {
				if r != '\n' && safetext.Hidden(r) {
					t.Fatalf("%q keeps %U raw", b.String(), r)
				}
			}
			var back struct{ Subject string }
			if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Subject != subject {
				t.Errorf("decoded subject %q (%v), want %q unchanged", back.Subject, err, subject)
			}
		})
	}
}
