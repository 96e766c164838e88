package callback

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// logBuffer collects log output safely across goroutines.
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

type fixture struct {
	crypto *Crypto
	srv    *httptest.Server
	events chan api.Event
	logs   *logBuffer
	now    time.Time
}

func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	f := &fixture{crypto: sampleCrypto(t), events: make(chan api.Event, 16), logs: &logBuffer{}, now: time.Unix(1800000000, 0)}
	opts := Options{
		Token: sampleToken, EncodingAESKey: sampleAESKey, CorpID: sampleCorpID,
		Deliver: ToChannel(f.events),
		Now:     func() time.Time { return f.now },
		Logger:  slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&opts)
	}
	h, err := NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// request is one callback as Tencent would send it, before faults.
type request struct {
	method     string
	ts, nonce  string
	sig        string // "" = computed
	ciphertext string
	body       []byte // POST body; nil = XML envelope of ciphertext
}

func (f *fixture) mailRequest(t *testing.T, nonce string) request {
	t.Helper()
	plain, err := Encode(&Mail{CorpID: sampleCorpID, MailID: "m-" + nonce, To: "bob@example.com", From: "alice@example.com", Title: "secret subject", Unread: 2}, false, "")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := f.crypto.Encrypt(plain)
	if err != nil {
		t.Fatal(err)
	}
	return request{method: http.MethodPost, ts: strconv.FormatInt(f.now.Unix(), 10), nonce: nonce, ciphertext: enc}
}

func (f *fixture) send(t *testing.T, r request) (int, string) {
	t.Helper()
	sig := r.sig
	if sig == "" {
		sig = f.crypto.Sign(r.ts, r.nonce, r.ciphertext)
	}
	q := url.Values{"msg_signature": {sig}, "timestamp": {r.ts}, "nonce": {r.nonce}}
	var body io.Reader
	if r.method == http.MethodGet {
		q.Set("echostr", r.ciphertext)
	} else {
		b := r.body
		if b == nil {
			b = Envelope(sampleCorpID, r.ciphertext, "1000002", false)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), r.method, f.srv.URL+Path+"?"+q.Encode(), body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) noEvent(t *testing.T) {
	t.Helper()
	select {
	case ev := <-f.events:
		t.Errorf("unexpected event %#v", ev)
	default:
	}
}

func TestHandlerAccepts(t *testing.T) {
	f := newFixture(t, nil)
	code, body := f.send(t, f.mailRequest(t, "n1"))
	if code != http.StatusOK || body != "success" {
		t.Fatalf("POST = %d %q, want 200 success", code, body)
	}
	// The handler delivered before it answered: the event is there now.
	select {
	case ev := <-f.events:
		want := api.NewMail{User: "bob@example.com", MailID: "m-n1", Sender: "alice@example.com", Receiver: "bob@example.com", Subject: "secret subject", Unread: 2}
		if ev != want {
			t.Errorf("event = %#v, want %#v", ev, want)
		}
	default:
		t.Fatal("no event after success")
	}
	if logs := f.logs.String(); strings.Contains(logs, "secret subject") || strings.Contains(logs, "bob@example.com") {
		t.Errorf("log shows message content:\n%s", logs)
	}
}

func TestHandlerFormats(t *testing.T) {
	f := newFixture(t, nil)
	unread := &Unread{CorpID: sampleCorpID, User: "bob@example.com", Unread: 5}
	tests := []struct {
		name             string
		msgJSON, envJSON bool
		msgType          string
	}{
		{"xml in xml", false, false, ""},
		{"json in json", true, true, ""},
		{"json in xml", true, false, ""},
		{"unread labelled Mail", false, false, TypeMail},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, err := Encode(unread, tt.msgJSON, tt.msgType)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := f.crypto.Encrypt(plain)
			if err != nil {
				t.Fatal(err)
			}
			r := request{method: http.MethodPost, ts: strconv.FormatInt(f.now.Unix(), 10), nonce: "fmt" + strconv.Itoa(i), ciphertext: enc,
				body: Envelope(sampleCorpID, enc, "1", tt.envJSON)}
			if code, body := f.send(t, r); code != 200 || body != "success" {
				t.Fatalf("POST = %d %q", code, body)
			}
			if ev := <-f.events; ev != (api.UnreadChanged{User: "bob@example.com", Unread: 5}) {
				t.Errorf("event = %#v", ev)
			}
		})
	}
}

func TestHandlerVerifiesURL(t *testing.T) {
	t.Run("published sample", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.MaxSkew = 100 * 365 * 24 * time.Hour })
		code, body := f.send(t, request{method: http.MethodGet, ts: sampleVerifyTS, nonce: sampleVerifyNonce, sig: sampleVerifySig, ciphertext: sampleVerifyEcho})
		if code != 200 || body != "1616140317555161061" {
			t.Fatalf("GET = %d %q, want the sample's plaintext", code, body)
		}
	})
	t.Run("unescaped plus in echostr", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.MaxSkew = 100 * 365 * 24 * time.Hour })
		// A raw "+" in a query decodes to a space; the handler restores it.
		q := "msg_signature=" + sampleVerifySig + "&timestamp=" + sampleVerifyTS + "&nonce=" + sampleVerifyNonce +
			"&echostr=" + strings.ReplaceAll(strings.ReplaceAll(sampleVerifyEcho, "/", "%2F"), "=", "%3D")
		resp, err := f.srv.Client().Get(f.srv.URL + Path + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "1616140317555161061" {
			t.Fatalf("GET = %d %q", resp.StatusCode, b)
		}
	})
	t.Run("own echostr", func(t *testing.T) {
		f := newFixture(t, nil)
		enc, err := f.crypto.Encrypt([]byte("echo-42"))
		if err != nil {
			t.Fatal(err)
		}
		code, body := f.send(t, request{method: http.MethodGet, ts: strconv.FormatInt(f.now.Unix(), 10), nonce: "v1", ciphertext: enc})
		if code != 200 || body != "echo-42" {
			t.Fatalf("GET = %d %q", code, body)
		}
		f.noEvent(t)
	})
}

// TestHandlerRejects sends every fault once and checks the status, that
// nothing was delivered, the logged reason, and that no secret or
// ciphertext reached the log.
func TestHandlerRejects(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(f *fixture, r *request)
		before bool // send the unmodified request first (replay)
		status int
		reason string
	}{
		{name: "bad signature", mod: func(f *fixture, r *request) { r.sig = strings.Repeat("0", 40) }, status: 403, reason: "bad msg_signature"},
		{name: "signature of other nonce", mod: func(f *fixture, r *request) { r.sig = f.crypto.Sign(r.ts, "other", r.ciphertext) }, status: 403, reason: "bad msg_signature"},
		{name: "missing signature", mod: func(f *fixture, r *request) { r.sig = " " }, status: 400, reason: "missing"},
		{name: "stale timestamp", mod: func(f *fixture, r *request) { r.ts = strconv.FormatInt(f.now.Add(-6*time.Minute).Unix(), 10) }, status: 403, reason: "outside the allowed window"},
		{name: "future timestamp", mod: func(f *fixture, r *request) { r.ts = strconv.FormatInt(f.now.Add(6*time.Minute).Unix(), 10) }, status: 403, reason: "outside the allowed window"},
		{name: "timestamp not a number", mod: func(f *fixture, r *request) { r.ts = "yesterday" }, status: 403, reason: "outside the allowed window"},
		{name: "repeated nonce", before: true, mod: func(f *fixture, r *request) {}, status: 403, reason: "replay"},
		{name: "repeated nonce new message", before: true, mod: func(f *fixture, r *request) {
			enc, _ := f.crypto.Encrypt([]byte(`<xml><MsgType>UnRead</MsgType><UserID>b@x</UserID><UnReadCount>1</UnReadCount></xml>`))
			r.ciphertext = enc
		}, status: 403, reason: "replay"},
		{name: "wrong corpid inside", mod: func(f *fixture, r *request) {
			plain, _ := Encode(&Unread{User: "b@x", Unread: 1}, false, "")
			r.ciphertext, _ = f.crypto.EncryptForCorpID(plain, "wwintruder")
		}, status: 403, reason: "another CorpID"},
		{name: "wrong corpid field", mod: func(f *fixture, r *request) {
			plain, _ := Encode(&Unread{CorpID: "wwintruder", User: "b@x", Unread: 1}, false, "")
			r.ciphertext, _ = f.crypto.Encrypt(plain)
		}, status: 403, reason: "another CorpID"},
		{name: "wrong ToUserName", mod: func(f *fixture, r *request) {
			r.body = Envelope("wwintruder", r.ciphertext, "1", false)
		}, status: 403, reason: "another CorpID"},
		{name: "garbage ciphertext", mod: func(f *fixture, r *request) { r.ciphertext = strings.Repeat("QUJD", 22) }, status: 400, reason: "does not decrypt"},
		{name: "ciphertext not base64", mod: func(f *fixture, r *request) { r.ciphertext = "!!notbase64!!" }, status: 400, reason: "does not decrypt"},
		{name: "garbage plaintext", mod: func(f *fixture, r *request) { r.ciphertext, _ = f.crypto.Encrypt([]byte("\x00\x01garbage")) }, status: 400, reason: "malformed"},
		{name: "body not an envelope", mod: func(f *fixture, r *request) { r.body = []byte("hello") }, status: 400, reason: "malformed"},
		{name: "body too large", mod: func(f *fixture, r *request) {
			r.body = bytes.Repeat([]byte("<"), DefaultMaxBody+1)
		}, status: 413, reason: "larger than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			r := f.mailRequest(t, "nonce-1")
			if tt.before {
				if code, _ := f.send(t, r); code != 200 {
					t.Fatalf("first send = %d", code)
				}
				<-f.events
			}
			tt.mod(f, &r)
			code, body := f.send(t, r)
			if code != tt.status {
				t.Errorf("status = %d %q, want %d", code, body, tt.status)
			}
			if body == "success" {
				t.Error("answered success")
			}
			f.noEvent(t)
			logs := f.logs.String()
			if !strings.Contains(logs, "exmail callback rejected") || !strings.Contains(logs, tt.reason) {
				t.Errorf("log lacks the reason %q:\n%s", tt.reason, logs)
			}
			for _, secret := range []string{sampleAESKey, sampleToken, r.ciphertext[:min(20, len(r.ciphertext))], "secret subject"} {
				if strings.Contains(logs, secret) {
					t.Errorf("log contains %q:\n%s", secret, logs)
				}
			}
		})
	}
}

func TestHandlerDeliveryFailureAllowsResend(t *testing.T) {
	var mu sync.Mutex
	fail := true
	var got []Message
	f := newFixture(t, func(o *Options) {
		o.Deliver = func(ctx context.Context, m Message) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				fail = false
				return errors.New("store down")
			}
			got = append(got, m)
			return nil
		}
	})
	r := f.mailRequest(t, "n-retry")
	if code, _ := f.send(t, r); code != http.StatusServiceUnavailable {
		t.Fatalf("first = %d, want 503", code)
	}
	if code, body := f.send(t, r); code != 200 || body != "success" {
		t.Fatalf("resend = %d %q, want success", code, body)
	}
	if code, _ := f.send(t, r); code != 403 {
		t.Fatalf("third = %d, want 403 replay", code)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Errorf("delivered %d messages, want 1", len(got))
	}
}

func TestHandlerMethod(t *testing.T) {
	f := newFixture(t, nil)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, f.srv.URL+Path, nil)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT = %d", resp.StatusCode)
	}
}

func TestNonceCacheBounded(t *testing.T) {
	c := newNonceCache(3, time.Minute)
	now := time.Unix(0, 0)
	for i := range 10 {
		if !c.reserve(strconv.Itoa(i), now) {
			t.Fatalf("reserve %d refused", i)
		}
	}
	if c.len() != 3 {
		t.Errorf("len = %d, want 3", c.len())
	}
	if c.reserve("9", now) {
		t.Error("recent key accepted twice")
	}
	if !c.reserve("9", now.Add(2*time.Minute)) {
		t.Error("expired key still refused")
	}
}
