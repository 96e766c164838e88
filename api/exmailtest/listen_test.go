package exmailtest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

// twoUsers is a server with lina@ and bob@ and empty mailboxes.
func twoUsers(t *testing.T, s *exmailtest.Server) *exmailtest.Server {
	t.Helper()
	for _, u := range []exmailtest.User{{Alias: lina, Name: "李娜"}, {Alias: bob, Name: "Bob Smith"}} {
		if err := s.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func verForm(s *exmailtest.Server) map[string][]string {
	return form("Ver", strconv.FormatInt(s.Ver(), 10))
}

// listening opens a listen connection from s's current Ver and reads its
// Ack.
func listening(t *testing.T, s *exmailtest.Server) *rawListen {
	t.Helper()
	l := openListen(t, s, verForm(s))
	l.chunks(1)
	return l
}

// mailJSON is the exact new-mail push (§3.5 (2)): compact, in the
// documented field order, without HTML escaping.
func mailJSON(user, id, sender, subject, summary string, n int) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		UserName, MailId, Sender, Receiver, Subject, Summary string
		NewCount                                             int
	}{user, id, sender, user, subject, summary, n})
	return strings.TrimSuffix(buf.String(), "\n")
}

// sameJSON compares two JSON texts as values.
func sameJSON(t *testing.T, want, got string) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got %q is not JSON: %v", got, err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("object mismatch (-want +got):\n%s", diff)
	}
}

// The default framing: a chunked response that stays open, {"Ret":0} at
// once, then one chunk per pushed object, in order, with every mailbox's
// events on the one connection.
func TestListen_StreamChunked(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	l := openListen(t, s, verForm(s))
	if diff := cmp.Diff([]string{"chunked"}, l.resp.TransferEncoding); diff != "" {
		t.Errorf("Transfer-Encoding (-want +got):\n%s", diff)
	}
	if got := l.chunks(1); got[0] != `{"Ret":0}` {
		t.Fatalf("greeting %q", got[0])
	}
	if n := s.Listeners(); n != 1 {
		t.Errorf("Listeners() = %d, want 1", n)
	}

	id1 := s.Deliver(lina, exmailtest.Mail{Sender: `"张伟" <zhangwei@example.com>`, Subject: "第47周工作周报", Summary: "本周完成：接口联调"})
	id2 := s.Deliver(bob, exmailtest.Mail{Sender: `"Jenkins" <jenkins@example.com>`, Subject: "[Jenkins] Atlas #312 FAILED", Summary: "3 tests failed"})
	s.MarkAllRead(lina)
	got := l.chunks(3)
	// Exact bytes: compact, in field order, no HTML escaping of <addr>.
	want := []string{
		`{"UserName":"lina@example.com","MailId":"` + id1 + `","Sender":"\"张伟\" <zhangwei@example.com>","Receiver":"lina@example.com","Subject":"第47周工作周报","Summary":"本周完成：接口联调","NewCount":1}`,
		`{"UserName":"bob@example.com","MailId":"` + id2 + `","Sender":"\"Jenkins\" <jenkins@example.com>","Receiver":"bob@example.com","Subject":"[Jenkins] Atlas #312 FAILED","Summary":"3 tests failed","NewCount":1}`,
		`{"UserName":"lina@example.com","NewCount":0}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pushed chunks (-want +got):\n%s", diff)
	}
}

func TestListen_CloseDelimited(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{Framing: exmailtest.Framing{CloseDelimited: true}}))
	l := openListen(t, s, verForm(s))
	resp := l.resp
	if resp.TransferEncoding != nil || resp.ContentLength != -1 || !resp.Close {
		t.Errorf("TransferEncoding %v, ContentLength %d, Close %v; want none, -1, true",
			resp.TransferEncoding, resp.ContentLength, resp.Close)
	}
	if got := l.bytes(len(`{"Ret":0}`)); got != `{"Ret":0}` {
		t.Fatalf("greeting %q", got)
	}
	id := s.Deliver(lina, exmailtest.Mail{Sender: `"A" <a@example.com>`, Subject: "s", Summary: "m"})
	want := mailJSON(lina, id, `"A" <a@example.com>`, "s", "m", 1)
	if got := l.bytes(len(want)); got != want {
		t.Errorf("push %q, want %q", got, want)
	}

	s.DropListeners()
	if b, err := l.br.ReadByte(); err != io.EOF {
		t.Errorf("after DropListeners: read %q, %v; want EOF", b, err)
	}
}

func TestListen_VerPush(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	cur := strconv.FormatInt(s.Ver(), 10)

	t.Run("old Ver gets the current one after Ret", func(t *testing.T) {
		t.Parallel()
		for _, ver := range []string{"0", "1386593148546", ""} {
			l := openListen(t, s, form("ver", ver))
			if diff := cmp.Diff([]string{`{"Ret":0}`, `{"Ver":"` + cur + `"}`}, l.chunks(2)); diff != "" {
				t.Errorf("Ver=%q (-want +got):\n%s", ver, diff)
			}
		}
	})
	t.Run("current Ver gets none; a directory change pushes one", func(t *testing.T) {
		s := twoUsers(t, newServer(t, exmailtest.Options{}))
		l := listening(t, s)
		wantEmpty(t, api(t, s, "user/sync", form("action", "3", "alias", bob, "name", "Robert")))
		got := l.chunks(1)[0]
		if want := `{"Ver":"` + strconv.FormatInt(s.Ver(), 10) + `"}`; got != want {
			t.Errorf("after user/sync: %q, want %q", got, want)
		}
	})
}

func TestListen_LongPoll(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := twoUsers(t, newPipe(t, exmailtest.Options{Framing: exmailtest.Framing{Mode: exmailtest.LongPoll}}))
		tok := s.IssueToken()
		cur := strconv.FormatInt(s.Ver(), 10)
		listen := s.APIBase() + "listen"

		// An old Ver is answered at once, as one object with a length.
		r := do(t, s, http.MethodPost, listen, form("Ver", "0"), withBearer(tok))
		if r.Body != `{"Ver":"`+cur+`"}` || r.ContentLength != int64(len(r.Body)) {
			t.Errorf("Ver=0: %q (Content-Length %d)", r.Body, r.ContentLength)
		}

		// Nothing happens: {"Ret":0} after exactly PollTimeout.
		start := time.Now()
		r = do(t, s, http.MethodPost, listen, form("Ver", cur), withBearer(tok))
		if r.Body != `{"Ret":0}` || time.Since(start) != exmailtest.DefaultPollTimeout {
			t.Errorf("idle poll: %q after %v, want {\"Ret\":0} after %v", r.Body, time.Since(start), exmailtest.DefaultPollTimeout)
		}

		// A held poll returns the first event; the second waits for the
		// next poll.
		ch := goDo(t, s, http.MethodPost, listen, form("Ver", cur), withBearer(tok))
		if err := s.WaitListeners(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		id1 := s.Deliver(lina, exmailtest.Mail{Subject: "one"})
		id2 := s.Deliver(bob, exmailtest.Mail{Subject: "two"})
		sameJSON(t, mailJSON(lina, id1, "", "one", "", 1), (<-ch).Body)
		start = time.Now()
		r = do(t, s, http.MethodPost, listen, form("Ver", cur), withBearer(tok))
		sameJSON(t, mailJSON(bob, id2, "", "two", "", 1), r.Body)
		if d := time.Since(start); d != 0 {
			t.Errorf("pending event took %v", d)
		}
	})
}

func TestListen_DropListeners(t *testing.T) {
	t.Parallel()
	for _, f := range []exmailtest.Framing{{}, {CloseDelimited: true}} {
		t.Run(fmt.Sprintf("close-delimited=%v", f.CloseDelimited), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := twoUsers(t, newPipe(t, exmailtest.Options{Framing: f}))
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.APIBase()+"listen",
					strings.NewReader("ver="+strconv.FormatInt(s.Ver(), 10)))
				req.Header.Set("Authorization", "Bearer "+s.IssueToken())
				resp, err := s.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				dec := json.NewDecoder(resp.Body)
				var ret map[string]int
				if err := dec.Decode(&ret); err != nil || ret["Ret"] != 0 {
					t.Fatalf("greeting %v, %v", ret, err)
				}
				s.DropListeners()
				rest, err := io.ReadAll(dec.Buffered())
				if err == nil {
					var more []byte
					more, err = io.ReadAll(resp.Body)
					rest = append(rest, more...)
				}
				wantErr := error(nil)
				if !f.CloseDelimited {
					wantErr = io.ErrUnexpectedEOF // the chunked body has no terminator
				}
				if !errors.Is(err, wantErr) || len(rest) != 0 {
					t.Errorf("after DropListeners: read %q, %v; want nothing and %v", rest, err, wantErr)
				}
				synctest.Wait()
				if n := s.Listeners(); n != 0 {
					t.Errorf("Listeners() = %d after the drop", n)
				}
			})
		})
	}
}

// Stall: connections stay open and get nothing; what is published during
// the stall is lost; new requests get no header until the stall ends.
func TestListen_Stall(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := twoUsers(t, newPipe(t, exmailtest.Options{}))
		first := listening(t, s)

		firstNext := make(chan string, 1)
		go func() {
			c, err := first.chunk()
			if err != nil {
				t.Error(err)
			}
			firstNext <- string(c)
		}()

		s.Stall(true)
		s.PushUnread(lina, 1) // lost
		s.SendRaw([]byte("lost too"))
		second := startListen(t, s, verForm(s))
		headerDone := make(chan struct{})
		go func() { second.readHeader(); close(headerDone) }()
		time.Sleep(time.Hour) // virtual: nothing may arrive however long we wait
		synctest.Wait()
		select {
		case <-headerDone:
			t.Fatal("a listen request made during the stall got its header")
		case c := <-firstNext:
			t.Fatalf("the stalled stream delivered %q", c)
		default:
		}
		if n := s.Listeners(); n != 2 {
			t.Errorf("Listeners() = %d, want 2 during the stall", n)
		}

		s.Stall(false)
		<-headerDone
		if diff := cmp.Diff([]string{`{"Ret":0}`}, second.chunks(1)); diff != "" {
			t.Errorf("greeting after the stall (-want +got):\n%s", diff)
		}
		const u2 = `{"UserName":"lina@example.com","NewCount":2}`
		s.PushUnread(lina, 2)
		if got := <-firstNext; got != u2 {
			t.Errorf("first stream after the stall: %q, want %q", got, u2)
		}
		if got := second.chunks(1)[0]; got != u2 {
			t.Errorf("second stream after the stall: %q, want %q", got, u2)
		}
	})
}

func TestListen_SendRaw(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	l := listening(t, s)
	garbage := []byte("}{not json\x00\xff\"")
	huge := append(append([]byte(`{"Summary":"`), bytes.Repeat([]byte("长"), 600_000)...), `"}`...) // > 1 MiB
	s.SendRaw(garbage)
	s.SendRaw(huge)
	s.PushUnread(bob, 3)
	want := string(garbage) + string(huge) + `{"UserName":"bob@example.com","NewCount":3}`
	got := make([]byte, len(want))
	if _, err := io.ReadFull(l.resp.Body, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("raw bytes differ (got %d bytes)", len(got))
	}
}

// Every Framing knob, observed chunk by chunk. The pushes are PushUnread
// and PushVer, whose bytes are known in advance.
func TestListen_Framing(t *testing.T) {
	t.Parallel()
	const u1 = `{"UserName":"lina@example.com","NewCount":1}`
	const u2 = `{"UserName":"lina@example.com","NewCount":2}`
	tests := []struct {
		name     string
		framing  exmailtest.Framing
		oldVer   bool // connect with Ver=0
		greeting int  // chunks before the first push
		want     []string
	}{
		{"default", exmailtest.Framing{}, false, 1, []string{`{"Ret":0}`, u1, u2}},
		{"ver push", exmailtest.Framing{}, true, 2, []string{`{"Ret":0}`, `{"Ver":"VER"}`, u1, u2}},
		{"coalesced greeting", exmailtest.Framing{Coalesce: true}, true, 1, []string{`{"Ret":0}{"Ver":"VER"}`, u1, u2}},
		{"newline separator", exmailtest.Framing{Separator: "\n"}, false, 1, []string{"{\"Ret\":0}\n", u1 + "\n", u2 + "\n"}},
		{"whitespace separator", exmailtest.Framing{Separator: " \r\n\t"}, false, 1, []string{"{\"Ret\":0} \r\n\t", u1 + " \r\n\t", u2 + " \r\n\t"}},
		{"repeat Ret", exmailtest.Framing{RepeatRet: true}, false, 1, []string{`{"Ret":0}`, u1, `{"Ret":0}`, u2}},
		{"repeat Ret coalesced", exmailtest.Framing{RepeatRet: true, Coalesce: true}, false, 1, []string{`{"Ret":0}`, u1, `{"Ret":0}` + u2}},
		{"split every 4", exmailtest.Framing{SplitEvery: 4}, false, 3, []string{`{"Re`, `t":0`, `}`,
			`{"Us`, `erNa`, `me":`, `"lin`, `a@ex`, `ampl`, `e.co`, `m","`, `NewC`, `ount`, `":1}`,
			`{"Us`, `erNa`, `me":`, `"lin`, `a@ex`, `ampl`, `e.co`, `m","`, `NewC`, `ount`, `":2}`}},
		{"split at offsets", exmailtest.Framing{SplitAt: []int{1, 5, 1000}}, false, 3, []string{`{`, `"Ret`, `":0}`,
			`{`, `"Use`, `rName":"lina@example.com","NewCount":1}`, `{`, `"Use`, `rName":"lina@example.com","NewCount":2}`}},
		{"PDF quirks", exmailtest.Framing{PDFQuirks: true}, true, 2, []string{`{ "Ret": 0 }`, `{ "Ver": "VER", }`,
			`{ " UserName": "lina@example.com", " NewCount ": 1, }`, `{ " UserName": "lina@example.com", " NewCount ": 2, }`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := twoUsers(t, newServer(t, exmailtest.Options{Framing: tt.framing}))
			ver := verForm(s)
			if tt.oldVer {
				ver = form("Ver", "0")
			}
			l := openListen(t, s, ver)
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "VER", strconv.FormatInt(s.Ver(), 10)))
			}
			// Read the greeting first so that u1 and u2 come after it.
			got := l.chunks(tt.greeting)
			s.PushUnread(lina, 1)
			if tt.framing.Coalesce {
				got = append(got, l.chunks(1)...) // u1 alone, so that u2 below is a separate write
			}
			s.PushUnread(lina, 2)
			got = append(got, l.chunks(len(want)-len(got))...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
		})
	}
}

// Several objects queued at once go out in one write with Coalesce.
func TestListen_CoalesceBurst(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{Framing: exmailtest.Framing{Coalesce: true}}))
	s.SetBuffering(true)
	s.PushUnread(lina, 1)
	s.PushUnread(bob, 2)
	l := openListen(t, s, verForm(s))
	want := `{"Ret":0}{"UserName":"lina@example.com","NewCount":1}{"UserName":"bob@example.com","NewCount":2}`
	if got := l.chunks(1)[0]; got != want {
		t.Errorf("first chunk %q, want %q", got, want)
	}
}

// Events published while nobody listens are lost, unless buffered.
func TestListen_EventsWithoutListener(t *testing.T) {
	t.Parallel()
	for _, buffer := range []bool{false, true} {
		t.Run(fmt.Sprintf("buffer=%v", buffer), func(t *testing.T) {
			t.Parallel()
			s := twoUsers(t, newServer(t, exmailtest.Options{}))
			s.SetBuffering(buffer)
			s.PushUnread(lina, 1)
			l := openListen(t, s, verForm(s))
			s.PushUnread(lina, 2)
			want := []string{`{"Ret":0}`, `{"UserName":"lina@example.com","NewCount":2}`}
			if buffer {
				want = []string{`{"Ret":0}`, `{"UserName":"lina@example.com","NewCount":1}`, `{"UserName":"lina@example.com","NewCount":2}`}
			}
			if diff := cmp.Diff(want, l.chunks(len(want))); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
		})
	}
}

// Every listen connection gets every event; alias is ignored.
func TestListen_SeveralListenersAndAliasIgnored(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	a := openListen(t, s, verForm(s))
	f := verForm(s)
	f["alias"] = []string{bob}
	b := openListen(t, s, f)
	a.chunks(1)
	b.chunks(1)
	id := s.Deliver(lina, exmailtest.Mail{Subject: "for lina"})
	want := mailJSON(lina, id, "", "for lina", "", 1)
	for _, l := range []*rawListen{a, b} {
		sameJSON(t, want, l.chunks(1)[0])
	}
}

func TestListen_Errors(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	listen := s.APIBase() + "listen"
	wantErr(t, do(t, s, http.MethodPost, listen, form("Ver", "0"), nil), 1200, "invalid_token")
	wantErr(t, do(t, s, http.MethodPost, listen, form("Ver", "x"), withBearer(s.IssueToken())), 1001, "invalid_request")

	s.FailNext("listen", exmailtest.CodeUnavailable, "temporarily_unavailable", 1)
	wantErr(t, do(t, s, http.MethodPost, listen, form("Ver", "0"), withBearer(s.IssueToken())), 1002, "temporarily_unavailable")
	s.FailNextHTTP("/openapi/listen", http.StatusBadGateway, 1)
	if r := do(t, s, http.MethodPost, listen, form("Ver", "0"), withBearer(s.IssueToken())); r.Status != http.StatusBadGateway {
		t.Errorf("FailNextHTTP: HTTP %d", r.Status)
	}
	// The faults are used up: the next listen works.
	if got := openListen(t, s, verForm(s)).chunks(1)[0]; got != `{"Ret":0}` {
		t.Errorf("after the faults: %q", got)
	}
}

func TestWaitListeners(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := twoUsers(t, newPipe(t, exmailtest.Options{}))
		done := make(chan error, 1)
		go func() { done <- s.WaitListeners(t.Context(), 2) }()
		listening(t, s)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("WaitListeners(2) returned %v with one listener", err)
		default:
		}
		listening(t, s)
		if err := <-done; err != nil {
			t.Errorf("WaitListeners = %v", err)
		}
	})
}

// Concurrent deliveries reach every listener exactly once, and each
// mailbox's NewCount grows by one per mail in the order received.
func TestListen_Concurrent(t *testing.T) {
	t.Parallel()
	s := twoUsers(t, newServer(t, exmailtest.Options{}))
	const listeners, senders, each = 3, 6, 40
	var streams []*rawListen
	for range listeners {
		l := listening(t, s)
		streams = append(streams, l)
	}
	done := make(chan struct{})
	for i := range senders {
		go func() {
			defer func() { done <- struct{}{} }()
			to := lina
			if i%2 == 1 {
				to = bob
			}
			for range each {
				s.Deliver(to, exmailtest.Mail{Subject: "load"})
			}
		}()
	}
	for range senders {
		<-done
	}
	for i, l := range streams {
		dec := json.NewDecoder(l.resp.Body)
		last := map[string]float64{}
		ids := map[string]bool{}
		for range senders * each {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("listener %d: %v", i, err)
			}
			user, _ := m["UserName"].(string)
			n, _ := m["NewCount"].(float64)
			if n != last[user]+1 {
				t.Fatalf("listener %d: %s NewCount %v after %v", i, user, n, last[user])
			}
			last[user] = n
			ids[m["MailId"].(string)] = true
		}
		if len(ids) != senders*each {
			t.Errorf("listener %d: %d distinct mails, want %d", i, len(ids), senders*each)
		}
	}
}
