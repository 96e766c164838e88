package exmailtest_test

import (
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

func TestFailNext(t *testing.T) {
	t.Parallel()
	const ok = `{"Alias":"lina@example.com","NewCount":"0"}`
	tests := []struct {
		name  string
		setup func(s *exmailtest.Server)
		want  []string // replies of successive mail/newcount calls
	}{
		{"once", func(s *exmailtest.Server) { s.FailNext("mail/newcount", 1200, "invalid_token", 1) },
			[]string{`{"errcode":"1200","error":"invalid_token"}`, ok}},
		{"twice, full path", func(s *exmailtest.Server) { s.FailNext("/openapi/mail/newcount", 1002, "temporarily_unavailable", 2) },
			[]string{`{"errcode":"1002","error":"temporarily_unavailable"}`, `{"errcode":"1002","error":"temporarily_unavailable"}`, ok}},
		{"no error name", func(s *exmailtest.Server) { s.FailNext("*", 10001, "", 1) },
			[]string{`{"errcode":"10001"}`, ok}},
		{"ip_freq_block until cleared", func(s *exmailtest.Server) { s.FailNext("", 10001, "ip_freq_block", -1) },
			[]string{`{"errcode":"10001","error":"ip_freq_block"}`, `{"errcode":"10001","error":"ip_freq_block"}`}},
		{"rules queue up", func(s *exmailtest.Server) {
			s.FailNext("mail/newcount", 1002, "temporarily_unavailable", 1)
			s.FailNext("mail/newcount", 1200, "invalid_token", 1)
		}, []string{`{"errcode":"1002","error":"temporarily_unavailable"}`, `{"errcode":"1200","error":"invalid_token"}`, ok}},
		{"other path untouched", func(s *exmailtest.Server) { s.FailNext("user/get", 1301, "user_not_found", 1) },
			[]string{ok}},
		{"cleared", func(s *exmailtest.Server) { s.FailNext("*", 1002, "x", -1); s.ClearFaults() },
			[]string{ok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := twoUsers(t, newServer(t, exmailtest.Options{}))
			tt.setup(s)
			for i, want := range tt.want {
				r := api(t, s, "mail/newcount", form("alias", lina))
				if r.Status != http.StatusOK || r.Body != want {
					t.Errorf("call %d: HTTP %d %s, want %s", i+1, r.Status, r.Body, want)
				}
			}
		})
	}
}

// Faults come before the token check: even a request without a token
// sees them, as with a server that rejects the caller's IP first.
func TestFailNext_BeforeAuth(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{})
	s.FailNext("user/get", exmailtest.CodeIPNotAllowed, "", 1)
	wantJSON(t, do(t, s, http.MethodPost, s.APIBase()+"user/get", form("alias", lina), nil), `{"errcode":"10001"}`)
}

func TestFailNextHTTP(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{})
	s.FailNextHTTP("cgi-bin/token", http.StatusServiceUnavailable, 1)
	creds := form("grant_type", "client_credentials", "client_id", s.ClientID(), "client_secret", s.ClientSecret())
	if r := do(t, s, http.MethodPost, s.TokenURL(), creds, nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("first: HTTP %d, want 503", r.Status)
	}
	if r := do(t, s, http.MethodPost, s.TokenURL(), creds, nil); r.Status != http.StatusOK {
		t.Errorf("second: HTTP %d, want 200", r.Status)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := twoUsers(t, newPipe(t, exmailtest.Options{}))
		s.Latency(3 * time.Second)
		start := time.Now()
		api(t, s, "mail/newcount", form("alias", lina))
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("call took %v, want 3s", d)
		}
		s.Latency(0)
		start = time.Now()
		api(t, s, "mail/newcount", form("alias", lina))
		if d := time.Since(start); d != 0 {
			t.Errorf("call took %v after Latency(0)", d)
		}
	})
}

func TestRequests(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	tok := s.IssueToken()
	do(t, s, http.MethodPost, s.TokenURL(), form("grant_type", "client_credentials",
		"client_id", s.ClientID(), "client_secret", s.ClientSecret()), nil)
	do(t, s, http.MethodPost, s.APIBase()+"mail/newcount", form("alias", lina), withBearer(tok))
	do(t, s, http.MethodGet, s.APIBase()+"user/check", form("email", lina, "email", bob, "Access_Token", tok), nil)

	want := []exmailtest.Request{
		{Method: "POST", Path: "/cgi-bin/token", ContentType: "application/x-www-form-urlencoded",
			Form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"admin"}, "client_secret": {exmailtest.Redacted}}},
		{Method: "POST", Path: "/openapi/mail/newcount", ContentType: "application/x-www-form-urlencoded",
			Form: url.Values{"alias": {lina}}, Bearer: true},
		{Method: "GET", Path: "/openapi/user/check",
			Form: url.Values{"email": {lina, bob}, "Access_Token": {exmailtest.Redacted}}},
	}
	if diff := cmp.Diff(want, s.Requests(), cmpopts.IgnoreFields(exmailtest.Request{}, "Time")); diff != "" {
		t.Errorf("Requests() (-want +got):\n%s", diff)
	}
	if got := len(s.RequestsTo("mail/newcount")); got != 1 {
		t.Errorf("RequestsTo(mail/newcount) has %d entries", got)
	}
	s.ResetRequests()
	if got := s.Requests(); len(got) != 0 {
		t.Errorf("after ResetRequests: %v", got)
	}
}

func TestRequests_Bounded(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{MaxRequests: 2})
	for _, a := range []string{"1", "2", "3"} {
		do(t, s, http.MethodGet, s.APIBase()+"user/get", form("alias", a), nil)
	}
	var got []string
	for _, r := range s.Requests() {
		got = append(got, r.Form.Get("alias"))
	}
	if diff := cmp.Diff([]string{"2", "3"}, got); diff != "" {
		t.Errorf("kept requests (-want +got):\n%s", diff)
	}
}
