package exmailtest

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/faultq"
)

// errReply is a FailNext rule's reply: {"errcode":…,"error":…}.
type errReply struct {
	errcode int
	name    string
}

// normPath turns "/openapi/mail/newcount", "openapi/mail/newcount" and
// "mail/newcount" into "mail/newcount", and "/cgi-bin/token" into
// "cgi-bin/token". "" and "*" mean every endpoint.
func normPath(p string) string {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimPrefix(p, "openapi/")
	if p == "" {
		return "*"
	}
	return p
}

// FailNext makes the next times requests to path answer HTTP 200
// {"errcode":"<errcode>","error":"<name>"} (the "error" key is left out
// when name is ""), before the token is checked and instead of the real
// reply. path is a route such as "mail/newcount", "/openapi/listen",
// "cgi-bin/token" or "cgi-bin/login"; "*" or "" matches every endpoint.
// times < 0 keeps failing until ClearFaults. Rules queue up: the oldest
// matching rule with requests left applies first.
//
// Typical uses: FailNext("mail/newcount", CodeInvalidToken,
// "invalid_token", 1); FailNext("*", CodeIPNotAllowed, "ip_freq_block", -1);
// FailNext("listen", CodeUnavailable, "temporarily_unavailable", 3).
func (s *Server) FailNext(path string, errcode int, name string, times int) {
	s.faults.Add(normPath(path), faultq.Fault[errReply]{Reply: errReply{errcode, name}}, times)
}

// FailNextHTTP makes the next times requests to path answer with the HTTP
// status (typically 5xx) and a short text body. path and times work as in
// FailNext.
func (s *Server) FailNextHTTP(path string, status int, times int) {
	s.faults.Add(normPath(path), faultq.Fault[errReply]{Status: status}, times)
}

// ClearFaults removes every FailNext and FailNextHTTP rule.
func (s *Server) ClearFaults() { s.faults.Clear() }

// injectFault answers the request if a fault rule matches route.
func (s *Server) injectFault(route string, w http.ResponseWriter) bool {
	hit, ok := s.faults.Take(route)
	switch {
	case !ok:
		return false
	case hit.Status != 0:
		http.Error(w, http.StatusText(hit.Status), hit.Status)
	default:
		writeJSON(w, errorBody(hit.Reply.errcode, hit.Reply.name))
	}
	return true
}

// Latency delays every later request (every endpoint, listen included) by
// d before it is handled. 0 turns the delay off. The delay runs on the
// server's clock, so it is virtual inside a synctest bubble.
func (s *Server) Latency(d time.Duration) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.latency = d
}

func (s *Server) currentLatency() time.Duration {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.latency
}

// Request is what the server saw of one request.
type Request struct {
	Time   time.Time
	Method string
	Path   string // URL path, e.g. "/openapi/mail/newcount"
	// Form holds the query string and form-body parameters with their
	// names exactly as sent (body values first). The values of
	// access_token, client_secret and ticket (any letter case) are
	// replaced by Redacted.
	Form url.Values
	// Bearer reports an "Authorization: Bearer …" header; Basic an
	// "Authorization: Basic …" header.
	Bearer      bool
	Basic       bool
	ContentType string
}

var secretParams = map[string]bool{"access_token": true, "client_secret": true, "ticket": true}

func (s *Server) record(r *http.Request, form url.Values) {
	for k, vs := range form {
		if secretParams[strings.ToLower(k)] {
			red := make([]string, len(vs))
			for i := range red {
				red[i] = Redacted
			}
			form[k] = red
		}
	}
	_, isBearer := bearer(r)
	_, _, isBasic := r.BasicAuth()
	req := Request{
		Time:        time.Now(),
		Method:      r.Method,
		Path:        r.URL.Path,
		Form:        form,
		Bearer:      isBearer,
		Basic:       isBasic,
		ContentType: r.Header.Get("Content-Type"),
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if len(s.requests) >= s.opts.MaxRequests {
		n := copy(s.requests, s.requests[1:])
		s.requests = s.requests[:n]
	}
	s.requests = append(s.requests, req)
}

// Requests returns the requests seen since the start or the last
// ResetRequests, oldest first (at most Options.MaxRequests).
func (s *Server) Requests() []Request {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Form = cloneValues(r.Form)
		out[i] = r
	}
	return out
}

// RequestsTo returns the recorded requests whose route is path (same
// spelling as FailNext, e.g. "mail/newcount" or "listen").
func (s *Server) RequestsTo(path string) []Request {
	want := normPath(path)
	var out []Request
	for _, r := range s.Requests() {
		if want == "*" || normPath(r.Path) == want {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.requests = nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
