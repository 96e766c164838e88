package exmailtest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

// authKey gets a ticket for alias through mail/authkey.
func authKey(t *testing.T, s *exmailtest.Server, alias string) string {
	t.Helper()
	key, _ := decodeMap(t, api(t, s, "mail/authkey", form("alias", alias)).Body)["auth_key"].(string)
	if key == "" {
		t.Fatal("no auth_key")
	}
	return key
}

// ssoURL is the login URL of protocol.md §3.3.
func ssoURL(s *exmailtest.Server, user, ticket, mailID string) string {
	v := url.Values{"fun": {"bizopenssologin"}, "method": {"bizauth"}, "agent": {s.ClientID()},
		"user": {user}, "ticket": {ticket}}
	if mailID != "" {
		v.Set("mailid", mailID)
	}
	return s.LoginURL() + "?" + v.Encode()
}

func TestSSO_OpensMailboxOnce(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	s.Deliver(lina, exmailtest.Mail{Sender: `"张伟" <zhangwei@example.com>`, Subject: "Q3 OKR 复盘会议纪要", Summary: "整体完成率 87%"})
	s.Deliver(lina, exmailtest.Mail{Sender: `"Jenkins" <jenkins@example.com>`, Subject: "[Jenkins] Atlas #12 FAILED <script>", Summary: "x"})
	l := listening(t, s)

	link := ssoURL(s, lina, authKey(t, s, lina), "")
	r := do(t, s, http.MethodGet, link, nil, nil)
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("HTTP %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	for _, want := range []string{"<title>企业邮箱 - lina@example.com</title>", "Q3 OKR 复盘会议纪要", "张伟",
		"[Jenkins] Atlas #12 FAILED &lt;script&gt;"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(r.Body, "<script>") {
		t.Error("page does not escape mail text")
	}
	if n := s.Unread(lina); n != 0 {
		t.Errorf("Unread after opening = %d, want 0", n)
	}
	if got, want := l.chunks(1)[0], `{"UserName":"lina@example.com","NewCount":0}`; got != want {
		t.Errorf("push after opening %q, want %q", got, want)
	}

	// The ticket works once.
	r = do(t, s, http.MethodGet, link, nil, nil)
	if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "登录链接已失效") {
		t.Errorf("second use: HTTP %d, page %.80q", r.Status, r.Body)
	}
}

func TestSSO_MailID(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	s.Deliver(lina, exmailtest.Mail{Subject: "older"})
	id := s.Deliver(lina, exmailtest.Mail{Subject: "the one", Summary: "打开这一封"})
	r := do(t, s, http.MethodGet, ssoURL(s, lina, authKey(t, s, lina), id), nil, nil)
	if !strings.Contains(r.Body, `id="mail-`+id+`" class="new opened"`) || !strings.Contains(r.Body, `<article id="opened">`) {
		t.Errorf("the opened mail is not highlighted:\n%s", r.Body)
	}
	mails := s.Mails(lina)
	if len(mails) != 2 || mails[0].Read || !mails[1].Read {
		t.Errorf("read flags after opening mailid: %+v", mails)
	}
}

func TestSSO_Refused(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	tests := []struct {
		name string
		url  func() string
	}{
		{"unknown ticket", func() string { return ssoURL(s, lina, strings.Repeat("A", 112), "") }},
		{"ticket of another user", func() string { return ssoURL(s, bob, authKey(t, s, lina), "") }},
		{"wrong agent", func() string {
			return strings.Replace(ssoURL(s, lina, authKey(t, s, lina), ""), "agent=admin", "agent=other", 1)
		}},
		{"wrong method", func() string {
			return strings.Replace(ssoURL(s, lina, authKey(t, s, lina), ""), "method=bizauth", "method=openapi", 1)
		}},
		{"no ticket", func() string { return s.LoginURL() + "?fun=bizopenssologin&method=bizauth&agent=admin&user=" + lina }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, s, http.MethodGet, tt.url(), nil, nil)
			if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "expired") {
				t.Errorf("HTTP %d, page %.80q", r.Status, r.Body)
			}
		})
	}
	// A refused ticket is used up too.
	key := authKey(t, s, lina)
	do(t, s, http.MethodGet, ssoURL(s, bob, key, ""), nil, nil)
	if r := do(t, s, http.MethodGet, ssoURL(s, lina, key, ""), nil, nil); r.Status != http.StatusForbidden {
		t.Errorf("a ticket presented once for the wrong user still works: HTTP %d", r.Status)
	}
}

func TestSSO_TicketExpires(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := twoUsers(t, newPipe(t, exmailtest.Options{}))
		early, late := authKey(t, s, lina), authKey(t, s, lina)
		time.Sleep(exmailtest.DefaultAuthKeyLifetime - time.Second)
		if r := do(t, s, http.MethodGet, ssoURL(s, lina, early, ""), nil, nil); r.Status != http.StatusOK {
			t.Errorf("1 s before expiry: HTTP %d", r.Status)
		}
		time.Sleep(time.Second)
		if r := do(t, s, http.MethodGet, ssoURL(s, lina, late, ""), nil, nil); r.Status != http.StatusForbidden {
			t.Errorf("at expiry: HTTP %d", r.Status)
		}
	})
}

func TestSSO_TicketsNeverRecorded(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	key := authKey(t, s, lina)
	do(t, s, http.MethodGet, ssoURL(s, lina, key, ""), nil, nil)
	reqs := s.RequestsTo("cgi-bin/login")
	if len(reqs) != 1 || reqs[0].Form.Get("ticket") != exmailtest.Redacted {
		t.Errorf("recorded login requests: %+v", reqs)
	}
}
