package corptest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi/callback"
	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
)

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// relay is a callback receiver (the real callback.Handler) on loopback,
// wired to a fake whose callback URL points at it.
type relay struct {
	fake   *corptest.Server
	events chan api.Event
	logs   *logBuffer
}

func newRelay(t *testing.T, opts corptest.Options) *relay {
	t.Helper()
	opts.Demo = true
	fake := corptest.New(opts)
	t.Cleanup(fake.Close)
	r := &relay{fake: fake, events: make(chan api.Event, 16), logs: &logBuffer{}}
	h, err := callback.NewHandler(callback.Options{
		Token:          api.Secret(fake.CallbackToken()),
		EncodingAESKey: api.Secret(fake.CallbackAESKey()),
		CorpID:         fake.CorpID(),
		Deliver:        callback.ToChannel(r.events),
		Logger:         slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(callback.Path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	fake.SetCallbackURL(srv.URL + callback.Path)
	return r
}

// next returns the event the handler delivered before it answered (the
// fake's call returns only after the answer, so it is there already).
func (r *relay) next(t *testing.T) api.Event {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	default:
		t.Fatal("no event delivered")
		return nil
	}
}

func (r *relay) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-r.events:
		t.Errorf("unexpected event %#v", ev)
	default:
	}
}

func TestCallbacksDecodeToEvents(t *testing.T) {
	formats := []struct {
		name   string
		format corptest.Format
	}{
		{"xml", corptest.Format{}},
		{"json message and envelope", corptest.Format{JSONMessage: true, JSONEnvelope: true}},
		{"unread labelled Mail", corptest.Format{UnreadAsMail: true}},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			r := newRelay(t, corptest.Options{CallbackFormat: f.format})
			ctx := t.Context()
			id, err := r.fake.Deliver(ctx, "bob@example.com", corptest.Mail{From: "lina@example.com", Subject: "周五午饭？"})
			if err != nil {
				t.Fatal(err)
			}
			want := api.NewMail{User: "bob@example.com", MailID: id, Sender: "lina@example.com", Receiver: "bob@example.com", Subject: "周五午饭？", Unread: 1}
			if ev := r.next(t); ev != want {
				t.Errorf("event = %#v, want %#v", ev, want)
			}
			if err := r.fake.MarkRead(ctx, "bob@example.com"); err != nil {
				t.Fatal(err)
			}
			if ev := r.next(t); ev != (api.UnreadChanged{User: "bob@example.com", Unread: 0}) {
				t.Errorf("event = %#v, want UnreadChanged 0", ev)
			}
			r.none(t)
		})
	}
}

func TestCallbackFaultsRejected(t *testing.T) {
	tests := []struct {
		fault  corptest.Fault
		status int
		reason string
	}{
		{corptest.FaultBadSignature, 403, "bad msg_signature"},
		{corptest.FaultStaleTimestamp, 403, "outside the allowed window"},
		{corptest.FaultRepeatNonce, 403, "replay"},
		{corptest.FaultWrongCorpID, 403, "another CorpID"},
		{corptest.FaultGarbage, 400, "does not decrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			r := newRelay(t, corptest.Options{})
			ctx := t.Context()
			// A good callback first, so that a repeated nonce has one to repeat.
			if _, err := r.fake.Deliver(ctx, "bob@example.com", corptest.Mail{Subject: "first"}); err != nil {
				t.Fatal(err)
			}
			r.next(t)
			r.fake.NextCallback(tt.fault)
			_, err := r.fake.Deliver(ctx, "bob@example.com", corptest.Mail{Subject: "spoiled subject"})
			var ce *corptest.CallbackError
			if !errors.As(err, &ce) || ce.Status != tt.status {
				t.Fatalf("Deliver = %v, want a CallbackError with HTTP %d", err, tt.status)
			}
			r.none(t)
			logs := r.logs.String()
			if !strings.Contains(logs, "exmail callback rejected") || !strings.Contains(logs, tt.reason) {
				t.Errorf("no rejection line with %q:\n%s", tt.reason, logs)
			}
			for _, secret := range []string{r.fake.CallbackAESKey(), r.fake.CallbackToken(), "spoiled subject", "bob@example.com"} {
				if strings.Contains(logs, secret) {
					t.Errorf("log contains %q", secret)
				}
			}
			// The receiver still works for the next, correct callback.
			if _, err := r.fake.Deliver(ctx, "bob@example.com", corptest.Mail{Subject: "after"}); err != nil {
				t.Fatalf("good callback after the fault: %v", err)
			}
			if ev, ok := r.next(t).(api.NewMail); !ok || ev.Subject != "after" || ev.Unread != 3 {
				t.Errorf("event after the fault = %#v", ev)
			}
		})
	}
}

func TestVerifyCallbackURL(t *testing.T) {
	r := newRelay(t, corptest.Options{})
	ctx := t.Context()
	if err := r.fake.VerifyCallbackURL(ctx); err != nil {
		t.Fatalf("verification: %v", err)
	}
	for _, f := range []corptest.Fault{corptest.FaultBadSignature, corptest.FaultStaleTimestamp, corptest.FaultWrongCorpID} {
		t.Run(f.String(), func(t *testing.T) {
			r.fake.NextCallback(f)
			var ce *corptest.CallbackError
			if err := r.fake.VerifyCallbackURL(ctx); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
				t.Errorf("verification with %s = %v, want 403", f, err)
			}
		})
	}
	r.none(t)
}

func TestSSOPageSendsUnread(t *testing.T) {
	r := newRelay(t, corptest.Options{})
	ctx := t.Context()
	for range 2 {
		if _, err := r.fake.Deliver(ctx, "lina@example.com", corptest.Mail{Subject: "FAILED <script>alert(1)</script>"}); err != nil {
			t.Fatal(err)
		}
		r.next(t)
	}
	u := loginURL(t, ctx, r.fake, "lina@example.com")
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login page = %d", resp.StatusCode)
	}
	if strings.Contains(string(body), "<script>") || !strings.Contains(string(body), "FAILED &lt;script&gt;") {
		t.Errorf("the page does not escape mail text:\n%s", body)
	}
	// The page handler sent the callback before it answered.
	if ev := r.next(t); ev != (api.UnreadChanged{User: "lina@example.com", Unread: 0}) {
		t.Errorf("event = %#v", ev)
	}
}

func TestNoCallbackURL(t *testing.T) {
	s := corptest.New(corptest.Options{Demo: true})
	defer s.Close()
	if _, err := s.Deliver(t.Context(), "bob@example.com", corptest.Mail{}); err != nil {
		t.Errorf("Deliver without callback mode: %v", err)
	}
	if n := s.Unread("bob@example.com"); n != 1 {
		t.Errorf("unread = %d", n)
	}
	if _, err := s.Deliver(t.Context(), "nobody@example.com", corptest.Mail{}); !errors.Is(err, corptest.ErrUnknown) {
		t.Errorf("Deliver to unknown: %v", err)
	}
}

// loginURL asks the fake for a login URL over HTTP, by hand (this package
// does not use the client).
func loginURL(t *testing.T, ctx context.Context, s *corptest.Server, userid string) string {
	t.Helper()
	tok := s.IssueToken(corptest.AppSSO)
	var out struct {
		ErrCode  int    `json:"errcode"`
		LoginURL string `json:"login_url"`
	}
	getJSON(t, ctx, s.BaseURL()+"service/get_login_url?access_token="+tok+"&userid="+userid, &out)
	if out.ErrCode != 0 || out.LoginURL == "" {
		t.Fatalf("get_login_url: %+v", out)
	}
	return out.LoginURL
}
