package exmailtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

// newServer starts a loopback Server that the test closes at its end.
func newServer(t *testing.T, opts exmailtest.Options) *exmailtest.Server {
	t.Helper()
	s := exmailtest.New(opts)
	t.Cleanup(s.Close)
	return s
}

// newPipe starts a pipe Server; call it inside a synctest bubble.
func newPipe(t *testing.T, opts exmailtest.Options) *exmailtest.Server {
	t.Helper()
	s := exmailtest.NewPipe(opts)
	t.Cleanup(s.Close)
	return s
}

const (
	lina  = "lina@example.com"
	bob   = "bob@example.com"
	chen  = "chenjie@example.com"
	zhang = "zhangwei@example.com"
)

// reply is what a request got back.
type reply struct {
	Status           int
	Header           http.Header
	Body             string
	ContentLength    int64
	TransferEncoding []string
}

// do sends one request. For POST the form goes in the body, for GET in
// the query string. auth may add headers.
func do(t *testing.T, s *exmailtest.Server, method, rawURL string, form url.Values, auth func(*http.Request)) reply {
	t.Helper()
	r, err := doErr(t.Context(), s, method, rawURL, form, auth)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// goDo runs do in a goroutine; the reply arrives on the channel (a zero
// reply, and a test error, if the request failed).
func goDo(t *testing.T, s *exmailtest.Server, method, rawURL string, form url.Values, auth func(*http.Request)) <-chan reply {
	ch := make(chan reply, 1)
	go func() {
		r, err := doErr(t.Context(), s, method, rawURL, form, auth)
		if err != nil {
			t.Error(err)
		}
		ch <- r
	}()
	return ch
}

func doErr(ctx context.Context, s *exmailtest.Server, method, rawURL string, form url.Values, auth func(*http.Request)) (reply, error) {
	var body io.Reader
	if method == http.MethodGet {
		if len(form) > 0 {
			rawURL += "?" + form.Encode()
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return reply{}, err
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != nil {
		auth(req)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: reading body: %w", method, rawURL, err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b),
		ContentLength: resp.ContentLength, TransferEncoding: resp.TransferEncoding}, nil
}

func withBearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

// api POSTs form to an openapi/ path with a fresh Bearer token.
func api(t *testing.T, s *exmailtest.Server, path string, form url.Values) reply {
	t.Helper()
	return do(t, s, http.MethodPost, s.APIBase()+path, form, withBearer(s.IssueToken()))
}

// form builds url.Values from key, value pairs (keys may repeat).
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// wantJSON fails unless body is JSON equal to want (types included, so
// "2" and 2 differ).
func wantJSON(t *testing.T, r reply, want string) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("HTTP %d, want 200; body %q", r.Status, r.Body)
	}
	var got, exp any
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if diff := cmp.Diff(exp, got); diff != "" {
		t.Errorf("reply mismatch (-want +got):\n%s", diff)
	}
}

// wantErr fails unless r is HTTP 200 {"errcode":"<code>","error":name}.
func wantErr(t *testing.T, r reply, code int, name string) {
	t.Helper()
	wantJSON(t, r, fmt.Sprintf(`{"errcode":%q,"error":%q}`, strconv.Itoa(code), name))
}

// wantEmpty fails unless r is the empty 200 of a write endpoint.
func wantEmpty(t *testing.T, r reply) {
	t.Helper()
	if r.Status != http.StatusOK || r.Body != "" {
		t.Fatalf("got HTTP %d %q, want 200 with an empty body", r.Status, r.Body)
	}
}

// decodeMap decodes a JSON object.
func decodeMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%q is not a JSON object: %v", s, err)
	}
	return m
}

// rawListen is a listen request written by hand on a raw connection, so
// that tests see the exact bytes, chunk by chunk.
type rawListen struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
}

// openListen POSTs openapi/listen with form and a Bearer token and reads
// the response header. It does not return before the header arrives.
func openListen(t *testing.T, s *exmailtest.Server, f url.Values) *rawListen {
	t.Helper()
	r := startListen(t, s, f)
	r.readHeader()
	return r
}

// startListen sends the request without waiting for the reply.
func startListen(t *testing.T, s *exmailtest.Server, f url.Values) *rawListen {
	t.Helper()
	conn, err := s.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if s.URL() != exmailtest.PipeURL {
		// A safety net for real sockets; pipes run in synctest bubbles.
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	body := f.Encode()
	_, err = fmt.Fprintf(conn, "POST /openapi/listen HTTP/1.1\r\nHost: openapi.exmail.qq.com\r\n"+
		"Authorization: Bearer %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: %d\r\n\r\n%s", s.IssueToken(), len(body), body)
	if err != nil {
		t.Fatal(err)
	}
	return &rawListen{t: t, conn: conn, br: bufio.NewReader(conn)}
}

func (r *rawListen) readHeader() *http.Response {
	r.t.Helper()
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		r.t.Fatalf("reading listen response header: %v", err)
	}
	r.resp = resp
	return resp
}

// chunk reads one raw chunk of a chunked body (nil at the last chunk).
func (r *rawListen) chunk() ([]byte, error) {
	line, err := r.br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	sizeStr, _, _ := strings.Cut(strings.TrimSpace(line), ";")
	n, err := strconv.ParseInt(sizeStr, 16, 64)
	if err != nil {
		return nil, fmt.Errorf("bad chunk size line %q", line)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r.br, data); err != nil {
		return nil, err
	}
	if crlf, err := r.br.ReadString('\n'); err != nil || crlf != "\r\n" {
		return nil, fmt.Errorf("chunk not followed by CRLF: %q %v", crlf, err)
	}
	if n == 0 {
		return nil, nil
	}
	return data, nil
}

// chunks reads n chunks and fails on any error.
func (r *rawListen) chunks(n int) []string {
	r.t.Helper()
	var out []string
	for range n {
		c, err := r.chunk()
		if err != nil {
			r.t.Fatalf("after chunks %q: %v", out, err)
		}
		out = append(out, string(c))
	}
	return out
}

// bytes reads exactly n body bytes of a close-delimited reply.
func (r *rawListen) bytes(n int) string {
	r.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r.br, b); err != nil {
		r.t.Fatalf("reading %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}
