package corptest

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

type fault struct {
	route  string // route name or "*"
	code   int
	msg    string
	status int
	times  int // remaining; < 0 until ClearFaults
}

// FailNext makes the next times requests to route answer HTTP 200
// {"errcode":code,"errmsg":msg} before the token is checked. route is an
// endpoint such as "mail/newcount", "gettoken" or "/cgi-bin/user/get";
// "*" or "" matches all. times < 0 fails until ClearFaults. Typical:
// FailNext("mail/newcount", CodeRateLimited, "api freq out of limit", 1),
// FailNext("*", CodeBusy, "system busy", 2).
func (s *Server) FailNext(route string, code int, msg string, times int) {
	s.addFault(&fault{route: routeName(route), code: code, msg: msg, times: times})
}

// FailNextHTTP makes the next times requests to route answer the HTTP
// status with a short text body.
func (s *Server) FailNextHTTP(route string, status, times int) {
	s.addFault(&fault{route: routeName(route), status: status, times: times})
}

// ClearFaults removes every FailNext and FailNextHTTP rule.
func (s *Server) ClearFaults() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults = nil
}

func (s *Server) addFault(f *fault) {
	if f.times == 0 {
		return
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults = append(s.faults, f)
}

func (s *Server) injectFault(route string, w http.ResponseWriter) bool {
	s.fmu.Lock()
	var hit *fault
	for i, f := range s.faults {
		if f.route != "*" && f.route != route {
			continue
		}
		c := *f
		hit = &c
		if f.times > 0 {
			f.times--
			if f.times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		break
	}
	s.fmu.Unlock()
	if hit == nil {
		return false
	}
	if hit.status != 0 {
		http.Error(w, http.StatusText(hit.status), hit.status)
		return true
	}
	writeError(w, hit.code, hit.msg)
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
