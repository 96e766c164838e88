package exmailtest_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

// The mailbox Go API and the pushes each call causes, in order.
func TestMailboxAPI(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	if err := s.UpdateUser(exmailtest.User{Alias: lina, Name: "李娜", Slaves: []string{"nana@example.com"}}); err != nil {
		t.Fatal(err)
	}
	l := listening(t, s)

	id1 := s.Deliver(lina, exmailtest.Mail{Subject: "1"})
	id2 := s.Deliver("NaNa@example.com", exmailtest.Mail{Subject: "2"}) // an alias lands in the owner's box
	s.Deliver(lina, exmailtest.Mail{Subject: "3"})
	if id := s.Deliver("ghost@example.com", exmailtest.Mail{Subject: "x"}); id != "" {
		t.Errorf("Deliver to an unknown address = %q, want \"\"", id)
	}
	s.MarkRead(lina, 1)        // the oldest: 1
	s.MarkMailRead(lina, id1)  // already read: no push
	s.MarkMailRead(lina, id2)  // 2
	s.SetUnread(lina, 4)       // files three old unread mails
	s.SetUnread(lina, 4)       // no change: no push
	s.MarkAllRead(lina)        //
	s.MarkRead("ghost@x.y", 1) // unknown: nothing

	s.PushUnread(bob, 9) // a marker: nothing else comes before it
	got := l.chunks(8)
	want := []string{
		mailJSON(lina, id1, "", "1", "", 1),
		`{"UserName":"lina@example.com","MailId":"` + id2 + `","Sender":"","Receiver":"nana@example.com","Subject":"2","Summary":"","NewCount":2}`,
		got[2], // mail 3, checked below
		`{"UserName":"lina@example.com","NewCount":2}`,
		`{"UserName":"lina@example.com","NewCount":1}`,
		`{"UserName":"lina@example.com","NewCount":4}`,
		`{"UserName":"lina@example.com","NewCount":0}`,
		`{"UserName":"bob@example.com","NewCount":9}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
	if m := decodeMap(t, got[2]); m["Subject"] != "3" || m["NewCount"] != 3.0 {
		t.Errorf("third push %s", got[2])
	}
	var subjects []string
	for _, m := range s.Mails(lina) {
		subjects = append(subjects, m.Subject)
		if !m.Read {
			t.Errorf("mail %q unread after MarkAllRead", m.Subject)
		}
	}
	if len(subjects) != 6 || subjects[3] != "1" || subjects[5] != "3" {
		t.Errorf("mailbox order: %q (three filed mails, then 1 2 3)", subjects)
	}
}

func TestGoAPIErrors(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	tests := []struct {
		name string
		err  error
		code int
	}{
		{"add existing", s.AddUser(exmailtest.User{Alias: lina}), exmailtest.CodeAddressExists},
		{"add foreign domain", s.AddUser(exmailtest.User{Alias: "x@other.com"}), exmailtest.CodeInvalidAlias},
		{"update unknown", s.UpdateUser(exmailtest.User{Alias: "ghost@example.com"}), exmailtest.CodeUserNotFound},
		{"remove unknown", s.RemoveUser("ghost@example.com"), exmailtest.CodeUserNotFound},
		{"group over a user", s.AddGroup(exmailtest.Group{Alias: lina, Name: "x"}), exmailtest.CodeAddressExists},
		{"bad party", s.AddParty("a//b"), exmailtest.CodeInvalidPartyPath},
	}
	for _, tt := range tests {
		var e *exmailtest.Error
		if !errors.As(tt.err, &e) || e.Code != tt.code {
			t.Errorf("%s: %v, want errcode %d", tt.name, tt.err, tt.code)
		}
	}
	if _, err := s.BumpVer("ghost@example.com"); err == nil {
		t.Error("BumpVer of an unknown account succeeded")
	}
	before := s.Ver()
	if v, err := s.BumpVer(lina); err != nil || v <= before || v != s.Ver() {
		t.Errorf("BumpVer = %d, %v (was %d)", v, err, before)
	}
}

// x/oauth2 form-encodes the credentials inside the Basic header (RFC 6749
// §2.3.1); the token endpoint accepts that as well as the raw values.
func TestToken_BasicFormEncoded(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{ClientID: "admin@vip2.msdi.cn"})
	for _, id := range []string{"admin@vip2.msdi.cn", url.QueryEscape("admin@vip2.msdi.cn")} {
		r := do(t, s, http.MethodPost, s.TokenURL(), form("grant_type", "client_credentials"), func(r *http.Request) {
			r.SetBasicAuth(id, s.ClientSecret())
		})
		if r.Status != http.StatusOK {
			t.Errorf("Basic id %q: HTTP %d %s", id, r.Status, r.Body)
		}
	}
}
