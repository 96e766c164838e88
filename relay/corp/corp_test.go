package corp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
	"github.com/exmail-notifier/exmail-notifier/relay"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
	"github.com/exmail-notifier/exmail-notifier/relay/corp"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/sqlite"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

var _ relay.Receiver = (*corp.Upstream)(nil)

const wait = 10 * time.Second // the most any awaited event may take

// logBuffer collects a relay's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count returns how many lines of the log contain s.
func (l *logBuffer) count(s string) int { return strings.Count(l.String(), s) }

// fixture is the fake current API with bob and lina, and a relay (SQLite,
// loopback HTTP) on it.
type fixture struct {
	t         *testing.T
	up        *corptest.Server
	st        store.Store
	url       string
	logs      *logBuffer
	bob, lina string
}

type setup struct {
	callbacks bool
	opts      corp.Options // timing; Client, Token, Key and Logger are set by start
}

func start(t *testing.T, s setup) *fixture {
	t.Helper()
	up := corptest.New(corptest.Options{})
	t.Cleanup(up.Close)
	f := &fixture{t: t, up: up, logs: &logBuffer{}, bob: "bob@" + up.Domain(), lina: "lina@" + up.Domain()}
	for _, u := range []string{f.bob, f.lina} {
		if err := up.AddUser(corptest.User{UserID: u, Name: u}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "relay.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.st = st
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := corpapi.New(corpapi.Config{CorpID: up.CorpID(), BaseURL: up.BaseURL(),
		SSOSecret: api.Secret(up.Secret(corptest.AppSSO)), NewMailSecret: api.Secret(up.Secret(corptest.AppNewMail)), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	o := s.opts
	o.Client, o.Logger = c, log
	if s.callbacks {
		o.Token, o.EncodingAESKey = api.Secret(up.CallbackToken()), api.Secret(up.CallbackAESKey())
	}
	u, err := corp.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.url = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- relay.Run(ctx, relay.Config{Store: st, Upstream: u, Listener: ln, Logger: log,
			Ready: func(*server.Server) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("relay.Run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay.Run: %v", err)
		}
		st.Close()
	})
	if s.callbacks {
		up.SetCallbackURL(f.url + "/callback/exmail")
	}
	return f
}

// enroll makes a code for alias and trades it for a token, as a desktop does.
func (f *fixture) enroll(alias string) client.Enrollment {
	f.t.Helper()
	code := store.NewCode()
	if err := f.st.AddCode(f.t.Context(), store.HashSecret(code), alias, time.Now().Add(time.Hour)); err != nil {
		f.t.Fatal(err)
	}
	e, err := client.Enroll(f.t.Context(), f.url, code, "test device")
	if err != nil {
		f.t.Fatalf("Enroll(%s): %v", alias, err)
	}
	return e
}

// source is a running client.Source and the events it delivered.
type source struct {
	t      *testing.T
	src    *client.Source
	events chan api.Event
}

func (f *fixture) source(e client.Enrollment) *source {
	f.t.Helper()
	src, err := client.New(client.Config{URL: f.url, Token: e.Token, Alias: e.Alias, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		f.t.Fatal(err)
	}
	s := &source{t: f.t, src: src, events: make(chan api.Event, 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, s.events) }()
	f.t.Cleanup(func() { cancel(); <-done })
	return s
}

// next returns the next event that matches keep, failing after wait.
func (s *source) next(keep func(api.Event) bool) api.Event {
	s.t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case ev := <-s.events:
			if keep(ev) {
				return ev
			}
		case <-timer.C:
			s.t.Fatal("no matching event within", wait)
			return nil
		}
	}
}

func isState(want api.State) func(api.Event) bool {
	return func(ev api.Event) bool {
		sc, ok := ev.(api.StateChanged)
		return ok && sc.State == want
	}
}

func (s *source) online() { s.t.Helper(); s.next(isState(api.StateOnline)) }

func (s *source) nextMail() api.NewMail {
	s.t.Helper()
	return s.next(func(ev api.Event) bool { _, ok := ev.(api.NewMail); return ok }).(api.NewMail)
}

// unread waits for an unread count of n.
func (s *source) unread(n int) {
	s.t.Helper()
	s.next(func(ev api.Event) bool { u, ok := ev.(api.UnreadChanged); return ok && u.Unread == n })
}

// noSecretsIn fails if out holds a secret of the fake or of the relay's
// callback settings.
func (f *fixture) noSecretsIn(what, out string) {
	f.t.Helper()
	secrets := []string{f.up.Secret(corptest.AppSSO), f.up.Secret(corptest.AppNewMail), f.up.CallbackToken(), f.up.CallbackAESKey()}
	secrets = append(secrets, f.up.Tokens(corptest.AppNewMail)...)
	secrets = append(secrets, f.up.Tokens(corptest.AppSSO)...)
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			f.t.Errorf("%s holds a secret (%.6s…)", what, s)
		}
	}
	if strings.Contains(out, "authkey=") || strings.Contains(out, "Encrypt") {
		f.t.Errorf("%s holds a sign-in link or a ciphertext", what)
	}
}

// Every fault the fake can put in a callback is refused with a 4xx and
// one log line, and stores nothing: the next event the device sees is the
// next good callback's.
func TestCallbackFaultsAreRefused(t *testing.T) {
	f := start(t, setup{callbacks: true})
	s := f.source(f.enroll(f.bob))
	s.online()
	if _, err := f.up.Deliver(t.Context(), f.bob, corptest.Mail{From: "lina@example.com", Subject: "first"}); err != nil {
		t.Fatalf("a good callback: %v", err)
	}
	s.nextMail()

	tests := []struct {
		name   string
		fault  corptest.Fault
		reason string // in the log line
	}{
		{"bad signature", corptest.FaultBadSignature, "bad msg_signature"},
		{"stale timestamp", corptest.FaultStaleTimestamp, "outside the allowed window"},
		{"repeated nonce", corptest.FaultRepeatNonce, "already seen (replay)"},
		{"wrong CorpID", corptest.FaultWrongCorpID, "another CorpID"},
		{"garbage ciphertext", corptest.FaultGarbage, "callback rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.logs.count("exmail callback rejected")
			f.up.NextCallback(tt.fault)
			bad, err := f.up.Deliver(t.Context(), f.bob, corptest.Mail{From: "mallory@example.com", Subject: "forged " + tt.name})
			var ce *corptest.CallbackError
			if !errors.As(err, &ce) || ce.Status < 400 || ce.Status > 499 {
				t.Fatalf("the faulty callback: %v, want a 4xx", err)
			}
			if strings.TrimSpace(ce.Body) == "success" {
				t.Fatalf("the faulty callback was answered %q", ce.Body)
			}
			if got := f.logs.count("exmail callback rejected"); got != before+1 {
				t.Errorf("%d log lines for the refusal, want 1", got-before)
			}
			if !strings.Contains(f.logs.String(), tt.reason) {
				t.Errorf("the log does not say %q", tt.reason)
			}
			good, err := f.up.Deliver(t.Context(), f.bob, corptest.Mail{From: "lina@example.com", Subject: "after " + tt.name})
			if err != nil {
				t.Fatalf("the good callback after it: %v", err)
			}
			if m := s.nextMail(); m.MailID != good {
				t.Fatalf("the device got %s (the faulty one was %s), want %s", m.MailID, bad, good)
			}
			evs, _ := f.st.EventsAfter(t.Context(), f.bob, 0, 1000)
			for _, ev := range evs {
				if ev.MailID == bad {
					t.Fatalf("the faulty callback's mail was stored")
				}
			}
		})
	}
	t.Run("URL verification", func(t *testing.T) {
		if err := f.up.VerifyCallbackURL(t.Context()); err != nil {
			t.Errorf("a good verification: %v", err)
		}
		f.up.NextCallback(corptest.FaultBadSignature)
		var ce *corptest.CallbackError
		if err := f.up.VerifyCallbackURL(t.Context()); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
			t.Errorf("a verification with a bad signature: %v, want 403", err)
		}
	})
	t.Run("the endpoint needs no bearer token and refuses a large body", func(t *testing.T) {
		resp, err := http.Post(f.url+"/callback/exmail?msg_signature=a&timestamp=1&nonce=2", "text/xml", strings.NewReader(strings.Repeat("x", 70<<10)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a 70 KiB body: %s, want 413", resp.Status)
		}
	})
	f.noSecretsIn("the log", f.logs.String())
}

// A Mail callback becomes the new_mail a v1.4 push would (the same JSON
// line, without a summary), an UnRead callback an unread event; a mail
// sent twice is stored once, and mailboxes without a device get nothing.
func TestCallbacksBecomeTheSameEvents(t *testing.T) {
	f := start(t, setup{callbacks: true})
	e := f.enroll(f.bob)
	s := f.source(e)
	s.online()

	if _, err := f.up.Deliver(t.Context(), f.lina, corptest.Mail{From: "bob@example.com", Subject: "not enrolled"}); err != nil {
		t.Fatalf("a mail for a mailbox without a device: %v (it must still be acknowledged)", err)
	}
	sent := time.Now()
	id, err := f.up.Deliver(t.Context(), f.bob, corptest.Mail{From: "zhangwei@example.com", Subject: "午饭？ Lunch?"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Mail", func(t *testing.T) {
		m := s.nextMail()
		want := api.NewMail{User: f.bob, MailID: id, Sender: "zhangwei@example.com", Receiver: f.bob, Subject: "午饭？ Lunch?", Unread: 1}
		if m != want {
			t.Errorf("got %+v, want %+v", m, want)
		}
		evs, err := f.st.EventsAfter(t.Context(), f.bob, 0, 100)
		if err != nil || len(evs) == 0 {
			t.Fatalf("stored: %v, %v", evs, err)
		}
		var line wire.NewMailLine
		if err := json.Unmarshal(evs[len(evs)-1].Data, &line); err != nil {
			t.Fatal(err)
		}
		ts, _ := time.Parse(wire.TimeFormat, line.Time)
		line.Time = ""
		wantLine := wire.NewMailLine{Event: wire.KindNewMail, Alias: f.bob, MailID: id, From: "zhangwei@example.com", To: f.bob, Subject: "午饭？ Lunch?", Unread: 1}
		if line != wantLine || ts.Before(sent.Add(-time.Second)) {
			t.Errorf("stored line %+v at %v, want %+v", line, ts, wantLine)
		}
	})
	t.Run("the same mail twice is stored once", func(t *testing.T) {
		before, _ := f.st.Mailbox(t.Context(), f.bob)
		if _, err := f.up.Deliver(t.Context(), f.bob, corptest.Mail{ID: id, From: "zhangwei@example.com", Subject: "午饭？ Lunch?"}); err != nil {
			t.Fatalf("the resent callback: %v (a duplicate is acknowledged)", err)
		}
		after, _ := f.st.Mailbox(t.Context(), f.bob)
		if after.LastSeq != before.LastSeq {
			t.Errorf("the resent mail was stored again (seq %d → %d)", before.LastSeq, after.LastSeq)
		}
	})
	t.Run("UnRead", func(t *testing.T) {
		if err := f.up.MarkRead(t.Context(), f.bob); err != nil {
			t.Fatal(err)
		}
		s.unread(0)
		f.up.SetCallbackFormat(corptest.Format{JSONMessage: true, JSONEnvelope: true, UnreadAsMail: true})
		f.up.Deliver(t.Context(), f.bob, corptest.Mail{From: "a@example.com", Subject: "json"})
		s.nextMail()
		if err := f.up.MarkRead(t.Context(), f.bob); err != nil {
			t.Fatal(err)
		}
		s.unread(0)
	})
	t.Run("no event for a mailbox without a device", func(t *testing.T) {
		if m, _ := f.st.Mailbox(t.Context(), f.lina); m.LastSeq != 0 {
			t.Errorf("lina (no device) has %d events", m.LastSeq)
		}
	})
	t.Run("the wire", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url+"/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+e.Token.Reveal())
		req.Header.Set("Last-Event-ID", "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		var state string
		for state == "" {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"upstream"`) {
				state = line
			}
		}
		if !strings.Contains(state, `"upstream":"online"`) {
			t.Errorf("state %s, want upstream online", state)
		}
	})
}

// Without callbacks, the count of a mailbox with an open stream is read
// often, the others' rarely; a rise is an unread event.
func TestPollingWithoutCallbacks(t *testing.T) {
	f := start(t, setup{opts: corp.Options{LiveEvery: 50 * time.Millisecond, IdleEvery: time.Hour, ListEvery: 50 * time.Millisecond}})
	f.enroll(f.lina) // enrolled, no stream: counted once after enrollment, then hourly
	s := f.source(f.enroll(f.bob))
	s.online()
	if _, err := f.up.Deliver(t.Context(), f.bob, corptest.Mail{From: "lina@example.com", Subject: "polled"}); err != nil {
		t.Fatal(err)
	}
	s.unread(1)
	f.up.Deliver(t.Context(), f.bob, corptest.Mail{Subject: "two"})
	f.up.Deliver(t.Context(), f.bob, corptest.Mail{Subject: "three"})
	s.unread(3)
	if m, _ := f.st.Mailbox(t.Context(), f.bob); m.Unread != 3 {
		t.Errorf("stored count %d, want 3", m.Unread)
	}
	counts := map[string]int{}
	for _, r := range f.up.RequestsTo("mail/newcount") {
		counts[r.Query.Get("userid")]++
	}
	if counts[f.bob] < 3 || counts[f.lina] > 2 {
		t.Errorf("mail/newcount calls %v: want bob's (with a stream) often, lina's (without) once or twice", counts)
	}
	f.noSecretsIn("the log", f.logs.String())
}

// A rate limit pauses every count (backoff from MinBackoff) without
// calling the upstream offline.
func TestPollingBacksOffOnRateLimits(t *testing.T) {
	const minBackoff = 300 * time.Millisecond
	f := start(t, setup{opts: corp.Options{LiveEvery: 20 * time.Millisecond, IdleEvery: time.Hour, MinBackoff: minBackoff, ListEvery: 20 * time.Millisecond}})
	s := f.source(f.enroll(f.bob))
	s.online()
	f.up.FailNext("mail/newcount", corptest.CodeRateLimited, "api freq out of limit", 1)
	f.up.Deliver(t.Context(), f.bob, corptest.Mail{Subject: "after the limit"})
	s.unread(1)

	// The longest gap between two counts is the pause after the rate
	// limit: at least the backoff's lowest jitter (the others are ~20 ms).
	reqs := f.up.RequestsTo("mail/newcount")
	var gap time.Duration
	for i := 1; i < len(reqs); i++ {
		gap = max(gap, reqs[i].Time.Sub(reqs[i-1].Time))
	}
	if gap < minBackoff*3/4 {
		t.Errorf("the longest pause between counts was %v, want ≥ %v after the rate limit", gap, minBackoff*3/4)
	}
	if f.logs.count("rate limited; pausing") != 1 {
		t.Errorf("want one log line for the rate limit:\n%s", f.logs.String())
	}
	if strings.Contains(f.logs.String(), "offline") {
		t.Errorf("a rate limit made the upstream offline:\n%s", f.logs.String())
	}
}

// A token invalidated mid-stream (40001 on a call) is fetched again and
// the call retried: the counts go on, the upstream stays online.
func TestPollingSurvivesATokenRefusedMidStream(t *testing.T) {
	f := start(t, setup{opts: corp.Options{LiveEvery: 20 * time.Millisecond, IdleEvery: time.Hour, ListEvery: 20 * time.Millisecond}})
	s := f.source(f.enroll(f.bob))
	s.online()
	tokens := len(f.up.RequestsTo("gettoken"))
	f.up.InvalidateTokens(corptest.CodeInvalidCredential)
	f.up.Deliver(t.Context(), f.bob, corptest.Mail{Subject: "after the new token"})
	s.unread(1)
	if got := len(f.up.RequestsTo("gettoken")); got <= tokens {
		t.Errorf("gettoken calls %d → %d: the refused token was not replaced", tokens, got)
	}
	if strings.Contains(f.logs.String(), "offline") {
		t.Errorf("a refused token made the upstream offline:\n%s", f.logs.String())
	}
}

// The state the streams show follows whether the API's calls work.
func TestUpstreamStateFollowsTheAPI(t *testing.T) {
	f := start(t, setup{opts: corp.Options{LiveEvery: 20 * time.Millisecond, IdleEvery: time.Hour, MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ListEvery: 20 * time.Millisecond}})
	s := f.source(f.enroll(f.bob))
	s.online()
	f.up.FailNextHTTP("mail/newcount", http.StatusServiceUnavailable, -1)
	ev := s.next(isState(api.StateRetrying)).(api.StateChanged)
	if !errors.Is(ev.Err, client.ErrUpstreamOffline) {
		t.Errorf("state %+v, want upstream offline", ev)
	}
	f.up.ClearFaults()
	s.online()
}

// POST /v1/sso answers a fresh get_login_url for the token's own mailbox,
// whatever the request names; the link is never cached and never logged.
func TestSSOIsTheOwnMailboxOnly(t *testing.T) {
	f := start(t, setup{callbacks: true})
	e := f.enroll(f.bob)
	s := f.source(e)
	s.online()
	sso := func() string {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/v1/sso", strings.NewReader(`{"alias":"`+f.lina+`","user":"`+f.lina+`","userid":"`+f.lina+`"}`))
		req.Header.Set("Authorization", "Bearer "+e.Token.Reveal())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var rep wire.SSOReply
		if resp.StatusCode != 200 || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("POST /v1/sso: %s %s", resp.Status, b)
		}
		return rep.URL
	}
	a, b := sso(), sso()
	for _, link := range []string{a, b} {
		u, err := url.Parse(link)
		if err != nil || u.Query().Get("userid") != f.bob || !strings.HasPrefix(link, f.up.URL()) {
			t.Fatalf("link for %q, want one for %s", u.Query().Get("userid"), f.bob)
		}
	}
	if a == b {
		t.Error("the same link twice: links are one-time and must not be cached")
	}
	resp, err := http.Get(a)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("opening the link: %s", resp.Status)
	}
	if _, err := s.src.LoginURL(t.Context(), f.lina, ""); !errors.Is(err, client.ErrForeignAlias) {
		t.Errorf("LoginURL(lina) from bob's device: %v, want ErrForeignAlias", err)
	}
	if n := len(f.up.RequestsTo("service/get_login_url")); n != 2 {
		t.Errorf("%d get_login_url calls, want 2 (one per click)", n)
	}
	audit, _ := f.st.AuditSince(t.Context(), time.Time{})
	if i := slices.IndexFunc(audit, func(a store.Audit) bool { return a.Action == "sso" && a.Result == "ok" && a.Alias == f.bob }); i < 0 {
		t.Errorf("no audited sso line: %+v", audit)
	}
	f.noSecretsIn("the log", f.logs.String())
	if strings.Contains(f.logs.String(), a) {
		t.Error("the sign-in link reached the log")
	}
}

func TestNewRefusesBadCallbackSettings(t *testing.T) {
	c, err := corpapi.New(corpapi.Config{CorpID: "wm1", NewMailSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		token, key api.Secret
		want       string
	}{
		{"a token without a key", "tok", "", "go together"},
		{"a key without a token", "", api.Secret(strings.Repeat("a", 43)), "go together"},
		{"a short key", "tok", "abc", "43 characters"},
		{"a key that is not base64", "tok", api.Secret(strings.Repeat("!", 43)), "not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := corp.New(corp.Options{Client: c, Token: tt.token, EncodingAESKey: tt.key})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
			if tt.key != "" && strings.Contains(err.Error(), tt.key.Reveal()) {
				t.Error("the error shows the key")
			}
		})
	}
}
