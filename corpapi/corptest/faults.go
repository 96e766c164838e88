package corptest

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/faultq"
)

// errReply is a FailNext rule's reply: {"errcode":…,"errmsg":…}.
type errReply struct {
	code int
	msg  string
}

// FailNext makes the next times requests to route answer HTTP 200
// {"errcode":code,"errmsg":msg} before the token is checked. route is an
// endpoint such as "mail/newcount", "gettoken" or "/cgi-bin/user/get";
// "*" or "" matches all. times < 0 fails until ClearFaults. Typical:
// FailNext("mail/newcount", CodeRateLimited, "api freq out of limit", 1),
// FailNext("*", CodeBusy, "system busy", 2).
func (s *Server) FailNext(route string, code int, msg string, times int) {
	s.faults.Add(routeName(route), faultq.Fault[errReply]{Reply: errReply{code, msg}}, times)
}

// FailNextHTTP makes the next times requests to route answer the HTTP
// status with a short text body.
func (s *Server) FailNextHTTP(route string, status, times int) {
	s.faults.Add(routeName(route), faultq.Fault[errReply]{Status: status}, times)
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
		writeError(w, hit.Reply.code, hit.Reply.msg)
	}
	return true
}

// Request is what the server saw of one request.
type Request struct {
	Time   time.Time
	Method string
	Route  string     // e.g. "mail/newcount"
	Query  url.Values // access_token, corpsecret and authkey values are Redacted
}

// Redacted replaces secret values in Requests.
const Redacted = "REDACTED"

var secretParams = map[string]bool{"access_token": true, "corpsecret": true, "authkey": true}

func (s *Server) record(r *http.Request, route string) {
	q := r.URL.Query()
	for k := range q {
		if secretParams[strings.ToLower(k)] {
			q[k] = []string{Redacted}
		}
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if len(s.requests) >= s.opts.MaxRequests {
		s.requests = s.requests[1:]
	}
	s.requests = append(s.requests, Request{Time: time.Now(), Method: r.Method, Route: route, Query: q})
}

// Requests returns the requests seen, oldest first.
func (s *Server) Requests() []Request {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsTo returns the requests to route ("mail/newcount", …).
func (s *Server) RequestsTo(route string) []Request {
	want := routeName(route)
	var out []Request
	for _, r := range s.Requests() {
		if r.Route == want {
			out = append(out, r)
		}
	}
	return out
}
