package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// handlerTransport serves requests with an http.Handler in memory, and
// streams: what the handler writes and flushes reaches the client's body
// at once. No sockets, so it works inside a synctest bubble. A handler
// that panics with http.ErrAbortHandler cuts the body with an error, as a
// dropped connection would.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					panic(v)
				}
				w.WriteHeader(http.StatusOK)
				pw.CloseWithError(io.ErrUnexpectedEOF)
				return
			}
			w.WriteHeader(http.StatusOK)
			pw.CloseWithError(req.Context().Err()) // nil: EOF
		}()
		t.h.ServeHTTP(w, req)
	}()
	ctx := req.Context()
	select {
	case <-w.ready:
	case <-ctx.Done():
		pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	return &http.Response{
		Status:     fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode: w.status,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        w.header,
		Body:          &pipeBody{pr: pr, stop: stop},
		ContentLength: -1,
		Request:       req,
	}, nil
}

type pipeBody struct {
	pr   *io.PipeReader
	stop func() bool
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }
func (b *pipeBody) Close() error {
	b.stop()
	return b.pr.Close()
}

type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	once   sync.Once
	status int
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }
func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() { w.status = code; close(w.ready) })
}
func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}
func (w *pipeWriter) Flush() {}

// listenServer is a small scripted exmail: a token endpoint that numbers
// its tokens (tok1, tok2, ...) and a listen endpoint answered by reply.
type listenServer struct {
	expiresIn int // seconds; 86400 if zero
	reply     func(w http.ResponseWriter, r *http.Request, n int)

	mu     sync.Mutex
	tokens int
	reqs   []listenRequest
}

type listenRequest struct {
	Ver, Alias, Auth string
}

func (s *listenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/token":
		s.mu.Lock()
		s.tokens++
		n := s.tokens
		s.mu.Unlock()
		exp := s.expiresIn
		if exp == 0 {
			exp = 86400
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok%d","token_type":"Bearer","expires_in":%d,"refresh_token":""}`, n, exp)
	case "/openapi/listen":
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, listenRequest{Ver: r.PostForm.Get("ver"), Alias: r.PostForm.Get("alias"), Auth: r.Header.Get("Authorization")})
		n := len(s.reqs) - 1
		s.mu.Unlock()
		s.reply(w, r, n)
	default:
		http.NotFound(w, r)
	}
}

func (s *listenServer) requests() []listenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]listenRequest(nil), s.reqs...)
}

func (s *listenServer) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{
		ClientID:         "admin",
		ClientSecret:     "0123456789abcdef0123456789abcdef",
		BaseURL:          "http://exmail.test/openapi/",
		TokenURL:         "http://exmail.test/token",
		InsecureTokenURL: true, // an in-memory transport: nothing crosses a network
		Transport:        handlerTransport{s},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeAll writes each piece as its own flushed write.
func writeAll(w http.ResponseWriter, pieces ...string) {
	for _, p := range pieces {
		io.WriteString(w, p)
		w.(http.Flusher).Flush()
	}
}

// collect runs one Listen to its end.
func collect(ctx context.Context, c *Client, ver Version, alias string) ([]Event, error) {
	var evs []Event
	for ev, err := range c.Listen(ctx, ver, alias) {
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func TestListenStreamAndLongPoll(t *testing.T) {
	t.Parallel()
	newMail := `{"UserName":"bob@x.com","MailId":"m1","Sender":"\"A\" <a@x.com>","Receiver":"bob@x.com","Subject":"Hi","Summary":"...","NewCount":549}`
	tests := []struct {
		name   string
		pieces []string
		want   []Event
	}{
		{
			name: "stream, one object per write",
			pieces: []string{`{"Ret":0}`, `{"Ver":"1364460338051"}`, newMail,
				`{"UserName":"carol@x.com","NewCount":3}`, `{"UserName":"bob@x.com","NewCount":550}`},
			want: []Event{Ack{}, VersionChanged{Ver: "1364460338051"},
				NewMail{User: "bob@x.com", MailID: "m1", Sender: `"A" <a@x.com>`, Receiver: "bob@x.com", Subject: "Hi", Summary: "...", Unread: 549},
				Skipped{}, // carol's
				UnreadChanged{User: "bob@x.com", Unread: 550}},
		},
		{
			name:   "stream, objects split mid-string and coalesced",
			pieces: []string{`{"Ret":0}{"Ve`, `r":"7"}` + "\r\n" + `{"UserName":"bob`, `@x.com","NewC`, `ount":"2"}`},
			want:   []Event{Ack{}, VersionChanged{Ver: "7"}, UnreadChanged{User: "bob@x.com", Unread: 2}},
		},
		{
			name:   "PDF typesetting",
			pieces: []string{`{ "Ret": 0 }` + "\n", `{ "Ver": "9", }` + "\n", `{ " UserName": "bob@x.com", " NewCount ": 550, }`},
			want:   []Event{Ack{}, VersionChanged{Ver: "9"}, UnreadChanged{User: "bob@x.com", Unread: 550}},
		},
		{
			name:   "long poll: one object, then the reply ends",
			pieces: []string{`{"UserName":"bob@x.com","NewCount":4}`},
			want:   []Event{UnreadChanged{User: "bob@x.com", Unread: 4}},
		},
		{
			name:   "long poll with nothing to say",
			pieces: []string{`{"Ret":0}`},
			want:   []Event{Ack{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &listenServer{reply: func(w http.ResponseWriter, r *http.Request, _ int) { writeAll(w, tt.pieces...) }}
			got, err := collect(t.Context(), s.client(t), "1364460338051", "Bob@X.com")
			if err != nil {
				t.Fatal(err)
			}
			checkDiff(t, "events", tt.want, got)
			wantReq := []listenRequest{{Ver: "1364460338051", Alias: "Bob@X.com", Auth: "Bearer tok1"}}
			checkDiff(t, "requests", wantReq, s.requests())
		})
	}
}

func TestListenFormWithoutAlias(t *testing.T) {
	t.Parallel()
	s := &listenServer{reply: func(w http.ResponseWriter, r *http.Request, _ int) {
		if _, ok := r.PostForm["alias"]; ok {
			http.Error(w, "alias sent", http.StatusBadRequest)
			return
		}
		writeAll(w, `{"Ret":0}`, `{"UserName":"carol@x.com","NewCount":3}`)
	}}
	got, err := collect(t.Context(), s.client(t), "", "")
	if err != nil {
		t.Fatal(err)
	}
	checkDiff(t, "events of every mailbox", []Event{Ack{}, UnreadChanged{User: "carol@x.com", Unread: 3}}, got)
	if got := s.requests()[0].Ver; got != "0" {
		t.Errorf("ver = %q, want \"0\" for the zero Version", got)
	}
}

func TestListenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		reply      func(w http.ResponseWriter, n int)
		wantEvents []Event
		wantIs     error
		wantTokens int // tokens fetched
		wantReqs   int
	}{
		{
			name: "1200 as the first object: a new token, one retry",
			reply: func(w http.ResponseWriter, n int) {
				if n == 0 {
					writeAll(w, `{"errcode":"1200","error":"invalid_token"}`)
					return
				}
				writeAll(w, `{"Ret":0}`)
			},
			wantEvents: []Event{Ack{}},
			wantTokens: 2, wantReqs: 2,
		},
		{
			name: "1200 in an HTTP error: a new token, one retry",
			reply: func(w http.ResponseWriter, n int) {
				if n == 0 {
					w.WriteHeader(http.StatusUnauthorized)
					writeAll(w, `{"errcode":1200,"error":"invalid_token"}`)
					return
				}
				writeAll(w, `{"Ret":0}`)
			},
			wantEvents: []Event{Ack{}},
			wantTokens: 2, wantReqs: 2,
		},
		{
			name:       "1200 twice: the error, which IsAuth",
			reply:      func(w http.ResponseWriter, n int) { writeAll(w, `{"errcode":"1200","error":"invalid_token"}`) },
			wantIs:     ErrInvalidToken,
			wantTokens: 2, wantReqs: 2,
		},
		{
			name: "1200 mid-stream: the error, no retry",
			reply: func(w http.ResponseWriter, n int) {
				writeAll(w, `{"Ret":0}`, `{"errcode":"1200","error":"invalid_token"}`, `{"Ver":"1"}`)
			},
			wantEvents: []Event{Ack{}},
			wantIs:     ErrInvalidToken,
			wantTokens: 1, wantReqs: 1,
		},
		{
			name:       "10001: IP not allowed",
			reply:      func(w http.ResponseWriter, n int) { writeAll(w, `{"errcode":"10001"}`) },
			wantIs:     ErrIPNotAllowed,
			wantTokens: 1, wantReqs: 1,
		},
		{
			name: "HTTP 503",
			reply: func(w http.ResponseWriter, n int) {
				w.WriteHeader(http.StatusServiceUnavailable)
				writeAll(w, "busy")
			},
			wantIs:     ErrUnavailable,
			wantTokens: 1, wantReqs: 1,
		},
		{
			name:       "garbage: no event after it",
			reply:      func(w http.ResponseWriter, n int) { writeAll(w, `{"Ret":0}`, `<html>oops</html>`, `{"Ver":"1"}`) },
			wantEvents: []Event{Ack{}},
			wantIs:     ErrBadStream,
			wantTokens: 1, wantReqs: 1,
		},
		{
			name:       "cut inside an object",
			reply:      func(w http.ResponseWriter, n int) { writeAll(w, `{"Ret":0}{"Ver":"12`) },
			wantEvents: []Event{Ack{}},
			wantIs:     ErrBadStream,
			wantTokens: 1, wantReqs: 1,
		},
		{
			name: "connection dropped",
			reply: func(w http.ResponseWriter, n int) {
				writeAll(w, `{"Ret":0}`)
				panic(http.ErrAbortHandler)
			},
			wantEvents: []Event{Ack{}},
			wantIs:     io.ErrUnexpectedEOF,
			wantTokens: 1, wantReqs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &listenServer{reply: func(w http.ResponseWriter, r *http.Request, n int) { tt.reply(w, n) }}
			got, err := collect(t.Context(), s.client(t), "5", "bob@x.com")
			checkDiff(t, "events", tt.wantEvents, got)
			switch {
			case tt.wantIs == nil && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Errorf("err = %v, want %v", err, tt.wantIs)
			}
			if err != nil && (strings.Contains(err.Error(), "tok1") || strings.Contains(err.Error(), "tok2")) {
				t.Errorf("error %q mentions a token", err)
			}
			s.mu.Lock()
			tokens, reqs := s.tokens, len(s.reqs)
			s.mu.Unlock()
			if tokens != tt.wantTokens || reqs != tt.wantReqs {
				t.Errorf("tokens fetched %d, listen requests %d; want %d, %d", tokens, reqs, tt.wantTokens, tt.wantReqs)
			}
		})
	}
}

// After a 1200 mid-stream the token is dropped: the next Listen uses a
// new one.
func TestListenInvalidTokenIsForgotten(t *testing.T) {
	t.Parallel()
	s := &listenServer{reply: func(w http.ResponseWriter, r *http.Request, n int) {
		writeAll(w, `{"Ret":0}`)
		if n == 0 {
			writeAll(w, `{"errcode":"1200"}`)
		}
	}}
	c := s.client(t)
	if _, err := collect(t.Context(), c, "1", ""); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("first listen: %v, want ErrInvalidToken", err)
	}
	if _, err := collect(t.Context(), c, "1", ""); err != nil {
		t.Fatalf("second listen: %v", err)
	}
	reqs := s.requests()
	if len(reqs) != 2 || reqs[0].Auth != "Bearer tok1" || reqs[1].Auth != "Bearer tok2" {
		t.Errorf("requests = %+v, want tok1 then tok2", reqs)
	}
}

func TestListenBreakAbortsTheRequest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		aborted := make(chan struct{})
		s := &listenServer{reply: func(w http.ResponseWriter, r *http.Request, _ int) {
			writeAll(w, `{"Ret":0}`)
			<-r.Context().Done()
			close(aborted)
		}}
		for ev, err := range s.client(t).Listen(t.Context(), "1", "") {
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := ev.(Ack); !ok {
				t.Fatalf("first event %#v, want Ack", ev)
			}
			break
		}
		synctest.Wait()
		select {
		case <-aborted:
		default:
			t.Fatal("the server still holds the request after the loop broke")
		}
	})
}

func TestListenCancelEndsPromptly(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &listenServer{reply: func(w http.ResponseWriter, r *http.Request, _ int) {
			writeAll(w, `{"Ret":0}`)
			<-r.Context().Done()
		}}
		ctx, cancel := context.WithCancel(t.Context())
		var (
			err  error
			done = make(chan struct{})
		)
		go func() {
			defer close(done)
			_, err = collect(ctx, s.client(t), "1", "")
		}()
		time.Sleep(time.Hour) // virtual: the connection is held
		synctest.Wait()
		cancel()
		start := time.Now()
		<-done
		if d := time.Since(start); d != 0 {
			t.Errorf("Listen took %v to end after cancel", d)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

// A connection ends by itself, without an error, shortly before its token
// expires (the token cache's margin, 5 minutes), and the next one uses a
// fresh token.
func TestListenEndsBeforeTheTokenExpires(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &listenServer{expiresIn: 3600, reply: func(w http.ResponseWriter, r *http.Request, _ int) {
			writeAll(w, `{"Ret":0}`)
			<-r.Context().Done()
		}}
		c := s.client(t)
		start := time.Now()
		if _, err := collect(t.Context(), c, "1", ""); err != nil {
			t.Fatalf("first connection: %v", err)
		}
		if got, want := time.Since(start), 55*time.Minute; got != want {
			t.Errorf("the connection lasted %v, want %v (token lifetime minus margin)", got, want)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		collect(ctx, c, "1", "")
		reqs := s.requests()
		if len(reqs) != 2 || reqs[1].Auth != "Bearer tok2" {
			t.Errorf("requests = %+v, want the second with tok2", reqs)
		}
	})
}
