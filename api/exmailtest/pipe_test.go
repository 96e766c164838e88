package exmailtest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

// The whole flow a notifier goes through, over the in-memory pipe inside
// a synctest bubble: token, listen, a new mail, the unread count, the SSO
// page, and the push that opening it causes.
func TestPipe_NotifierFlow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := twoUsers(t, newPipe(t, exmailtest.Options{}))
		if s.URL() != exmailtest.PipeURL {
			t.Errorf("URL() = %q", s.URL())
		}
		r := do(t, s, http.MethodPost, s.TokenURL(), form("grant_type", "client_credentials",
			"client_id", s.ClientID(), "client_secret", s.ClientSecret()), nil)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(r.Body), &tok); err != nil {
			t.Fatal(err)
		}

		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.APIBase()+"listen", strings.NewReader("Ver=0"))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		next := func() map[string]any {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("decoding a push: %v", err)
			}
			return m
		}
		if diff := cmp.Diff(map[string]any{"Ret": 0.0}, next()); diff != "" {
			t.Errorf("greeting (-want +got):\n%s", diff)
		}
		if v, _ := next()["Ver"].(string); v == "" {
			t.Error("no Ver push for Ver=0")
		}

		time.Sleep(10 * time.Minute) // an idle stream stays open
		id := s.Deliver(lina, exmailtest.Mail{Sender: `"Bob Smith" <bob@example.com>`, Subject: "Lunch?", Summary: "Friday 12:15"})
		want := map[string]any{"UserName": lina, "MailId": id, "Sender": `"Bob Smith" <bob@example.com>`,
			"Receiver": lina, "Subject": "Lunch?", "Summary": "Friday 12:15", "NewCount": 1.0}
		if diff := cmp.Diff(want, next()); diff != "" {
			t.Errorf("new-mail push (-want +got):\n%s", diff)
		}
		wantJSON(t, do(t, s, http.MethodPost, s.APIBase()+"mail/newcount", form("alias", lina), withBearer(tok.AccessToken)),
			`{"Alias":"lina@example.com","NewCount":"1"}`)

		key, _ := decodeMap(t, do(t, s, http.MethodPost, s.APIBase()+"mail/authkey", form("alias", lina),
			withBearer(tok.AccessToken)).Body)["auth_key"].(string)
		if r := do(t, s, http.MethodGet, ssoURL(s, lina, key, id), nil, nil); r.Status != http.StatusOK {
			t.Fatalf("SSO: HTTP %d", r.Status)
		}
		if diff := cmp.Diff(map[string]any{"UserName": lina, "NewCount": 0.0}, next()); diff != "" {
			t.Errorf("unread push (-want +got):\n%s", diff)
		}
	})
}

// Close ends open streams of every framing and leaves no goroutine behind
// (the bubble would report a deadlock otherwise).
func TestPipe_CloseWithOpenStreams(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := twoUsers(t, exmailtest.NewPipe(exmailtest.Options{}))
		listening(t, s)
		s.SetFraming(exmailtest.Framing{CloseDelimited: true})
		openListen(t, s, verForm(s)).bytes(len(`{"Ret":0}`))
		s.SetFraming(exmailtest.Framing{Mode: exmailtest.LongPoll})
		startListen(t, s, verForm(s))
		if err := s.WaitListeners(t.Context(), 3); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if n := s.Listeners(); n != 0 {
			t.Errorf("Listeners() = %d after Close", n)
		}
	})
}
