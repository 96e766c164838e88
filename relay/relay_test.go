package relay_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

func mail(subject string) exmailtest.Mail {
	return exmailtest.Mail{Sender: `"Lina" <lina@example.com>`, Subject: subject, Summary: "summary of " + subject}
}

func TestADeviceSeesOnlyItsOwnMailbox(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	a, b := n.enroll(bob), n.enroll(lina)
	sa, sb := n.source(a), n.source(b)
	sa.online()
	sb.online()

	linaMail := up.Deliver(lina, mail("for lina"))
	bobMail := up.Deliver(bob, mail("for bob"))

	t.Run("events", func(t *testing.T) {
		if got := sa.nextMail(); got.MailID != bobMail || got.User != bob {
			t.Fatalf("bob's device got %+v first, want only bob's mail %s", got, bobMail)
		}
		if got := sb.nextMail(); got.MailID != linaMail || got.User != lina {
			t.Fatalf("lina's device got %+v first, want only lina's mail %s", got, linaMail)
		}
	})
	t.Run("counts", func(t *testing.T) {
		if _, err := sa.src.NewCount(t.Context(), lina); !errors.Is(err, client.ErrForeignAlias) {
			t.Fatalf("bob's NewCount(lina): err = %v, want ErrForeignAlias", err)
		}
		code, body := n.do("GET", "/v1/unread?alias="+url.QueryEscape(lina), a.Token, "")
		var rep wire.UnreadReply
		json.Unmarshal([]byte(body), &rep)
		if code != 200 || rep.Alias != bob || rep.Unread != up.Unread(bob) {
			t.Fatalf("GET /v1/unread?alias=lina with bob's token = %d %s, want bob's count %d", code, body, up.Unread(bob))
		}
	})
	t.Run("sso", func(t *testing.T) {
		if _, err := sa.src.LoginURL(t.Context(), lina, ""); !errors.Is(err, client.ErrForeignAlias) {
			t.Fatalf("bob's LoginURL(lina): err = %v, want ErrForeignAlias", err)
		}
		code, body := n.do("POST", "/v1/sso", a.Token, `{"alias":"lina@example.com","user":"lina@example.com"}`)
		var rep wire.SSOReply
		json.Unmarshal([]byte(body), &rep)
		u, err := url.Parse(rep.URL)
		if code != 200 || err != nil || u.Query().Get("user") != bob {
			t.Fatalf("POST /v1/sso naming lina with bob's token = %d, user=%q; want a link for bob", code, u.Query().Get("user"))
		}
	})
}

func TestSSOOpensTheMailAndIsAudited(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	e := n.enroll(bob)
	s := n.source(e)
	s.online()
	id := up.Deliver(bob, mail("open me"))
	s.nextMail()
	link, err := s.src.LoginURL(t.Context(), bob, id)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := up.Client().Get(link.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "open me") {
		t.Fatalf("the SSO link answered %s", resp.Status)
	}
	audit, err := n.st.AuditSince(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(audit, func(a store.Audit) bool { return a.Action == "sso" })
	if i < 0 || audit[i].Device != e.DeviceID || audit[i].Alias != bob || audit[i].Result != "ok" || audit[i].Source != "127.0.0.1" {
		t.Fatalf("audit = %+v, want an sso line for %s", audit, e.DeviceID)
	}
	if strings.Contains(n.logs.String(), link.Reveal()) || strings.Contains(n.logs.String(), "ticket=") {
		t.Fatal("the SSO link reached the log")
	}
}

func TestSSOIsRateLimitedPerDevice(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{SSOBurst: 2, SSOEvery: time.Hour})
	a, b := n.enroll(bob), n.enroll(bob)
	for i, want := range []int{200, 200, 429} {
		if code, _ := n.do("POST", "/v1/sso", a.Token, ""); code != want {
			t.Fatalf("call %d: HTTP %d, want %d", i+1, code, want)
		}
	}
	if code, _ := n.do("POST", "/v1/sso", b.Token, ""); code != 200 {
		t.Fatalf("another device of the same mailbox: HTTP %d, want 200", code)
	}
	audit, _ := n.st.AuditSince(t.Context(), time.Time{})
	var results []string
	for _, a := range audit {
		if a.Action == "sso" {
			results = append(results, a.Result)
		}
	}
	if !slices.Equal(results, []string{"ok", "ok", "rate limited", "ok"}) {
		t.Fatalf("audited sso results = %v", results)
	}
}

func TestEventsAreStoredBeforeTheyArePublished(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	s := n.source(n.enroll(bob))
	s.online()
	for i := range 5 {
		id := up.Deliver(bob, mail(fmt.Sprint("mail ", i)))
		got := s.nextMail()
		if got.MailID != id {
			t.Fatalf("got %s, want %s", got.MailID, id)
		}
		// By the time a device sees it, a second store handle (another
		// process, as far as SQLite is concerned) sees it on disk.
		other := openStore(t, n.dbPath)
		evs, err := other.EventsAfter(t.Context(), bob, 0, 100)
		other.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(evs, func(e store.Event) bool { return e.MailID == id }) {
			t.Fatalf("mail %s was delivered to a device but is not in the store", id)
		}
	}
}

func TestResumeAfterADropHasNoGapsOrDuplicates(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	e := n.enroll(bob)
	s, witness := n.source(e), n.source(n.enroll(bob))
	s.online()
	witness.online()
	first := up.Deliver(bob, mail("before"))
	s.mailsUntil(first)
	witness.mailsUntil(first)

	s.stop() // the laptop's connection drops
	var missed []string
	for i := range 5 {
		missed = append(missed, up.Deliver(bob, mail(fmt.Sprint("while away ", i))))
	}
	witness.mailsUntil(missed[4]) // stored: the witness has them
	s.start()
	if got := s.mailsUntil(missed[4]); !slices.Equal(got, missed) {
		t.Fatalf("after resuming: %v, want exactly %v", got, missed)
	}
	last := up.Deliver(bob, mail("after"))
	if got := s.nextMail().MailID; got != last {
		t.Fatalf("next live mail = %s, want %s", got, last)
	}
}

func TestReconnectResumesWithoutDuplicates(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	s := n.source(n.enroll(bob))
	s.online()
	ids := []string{up.Deliver(bob, mail("1")), up.Deliver(bob, mail("2"))}
	s.mailsUntil(ids[1])
	s.src.Reconnect()
	s.next(func(ev api.Event) bool { sc, ok := ev.(api.StateChanged); return ok && sc.State == api.StateConnecting })
	s.online()
	id3 := up.Deliver(bob, mail("3"))
	if got := s.nextMail().MailID; got != id3 {
		t.Fatalf("after Reconnect the next mail is %s, want %s (no replay of what was seen)", got, id3)
	}
}

func TestResumeAcrossARelayRestartOnTheSameDatabase(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	e, w := n.enroll(bob), n.enroll(bob)
	s := n.source(e)
	s.online()
	seen := up.Deliver(bob, mail("before the restart"))
	s.mailsUntil(seen)
	n.stop()
	s.next(func(ev api.Event) bool { // the relay said it is stopping
		sc, ok := ev.(api.StateChanged)
		return ok && errors.Is(sc.Err, client.ErrShutdown)
	})
	s.stop() // and the laptop stays away a while

	n2 := startRelayAt(t, up, n.dbPath, strings.TrimPrefix(n.url, "http://"), server.Options{})
	witness := n2.source(w)
	witness.online()
	var missed []string
	for i := range 3 {
		missed = append(missed, up.Deliver(bob, mail(fmt.Sprint("after the restart ", i))))
	}
	witness.mailsUntil(missed[2])

	s.start() // the same Source: it resumes from the id it saw last
	if got := s.mailsUntil(missed[2]); !slices.Equal(got, missed) {
		t.Fatalf("resumed after the restart: %v, want exactly %v", got, missed)
	}
}

func TestAnUnknownOrExpiredEventIDGetsAResetThenState(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	e := n.enroll(bob)
	for _, id := range []string{"otherepoch.3", n.st.Epoch() + ".999", "garbage"} {
		t.Run(id, func(t *testing.T) {
			c := n.openSSE(e.Token, id)
			if ev := c.mustNext(); ev.kind != wire.KindReset {
				t.Fatalf("first event %q, want reset", ev.kind)
			}
			ev := c.mustNext()
			var st wire.StateData
			if ev.kind != wire.KindState || json.Unmarshal([]byte(ev.data), &st) != nil || st.Alias != bob {
				t.Fatalf("then %q %s, want state for bob", ev.kind, ev.data)
			}
		})
	}
}

func TestTheStreamFollowsTheProtocol(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{Keepalive: 50 * time.Millisecond, Retry: 1500 * time.Millisecond})
	e := n.enroll(bob)
	c := n.openSSE(e.Token, "")
	t.Run("headers", func(t *testing.T) {
		h := c.resp.Header
		if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-store" || h.Get("X-Accel-Buffering") != "no" {
			t.Fatalf("headers = %v", h)
		}
	})
	t.Run("retry then state", func(t *testing.T) {
		line, _ := c.r.ReadString('\n')
		if line != "retry: 1500\n" {
			t.Fatalf("first line %q, want retry: 1500", line)
		}
		ev := c.mustNext()
		var st wire.StateData
		json.Unmarshal([]byte(ev.data), &st)
		if ev.kind != wire.KindState || st.Upstream != wire.UpstreamOnline || st.Alias != bob || !strings.HasPrefix(ev.id, n.st.Epoch()+".") {
			t.Fatalf("first event = %+v", ev)
		}
	})
	t.Run("keepalive comment", func(t *testing.T) {
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == ": keepalive\n" {
				break
			}
		}
	})
	t.Run("new_mail data is the watch line", func(t *testing.T) {
		id := up.Deliver(bob, exmailtest.Mail{Sender: `"Lina" <lina@example.com>`, Subject: "报告\x1b[31m\u202e", Summary: "line1\nline2"})
		var ev sseEvent
		for ev.kind != wire.KindNewMail {
			ev = c.mustNext()
		}
		var l wire.NewMailLine
		dec := json.NewDecoder(strings.NewReader(ev.data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		again, _ := wire.Marshal(l)
		if string(again) != ev.data {
			t.Fatalf("data is not in the watch line's field order:\n%s\n%s", ev.data, again)
		}
		if l.MailID != id || l.Alias != bob || l.Subject != "报告[31m" || l.Summary != "line1 line2" || l.From != `"Lina" <lina@example.com>` {
			t.Fatalf("line = %+v (the subject and summary must be cleaned)", l)
		}
	})
	t.Run("shutdown on a graceful stop", func(t *testing.T) {
		go n.stop()
		for {
			ev, err := c.next()
			if err != nil {
				t.Fatalf("the stream ended (%v) without a shutdown event", err)
			}
			if ev.kind == wire.KindShutdown {
				return
			}
		}
	})
}

func TestDuplicateNewMailIsDeliveredOnce(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	s := n.source(n.enroll(bob))
	s.online()
	m := mail("twice")
	m.ID = "ZC0001-dup"
	up.Deliver(bob, m)
	up.Deliver(bob, m) // the same MailId pushed again (two holders, a replaying server)
	up.PushUnread(bob, 42)
	var mails []string
	s.next(func(ev api.Event) bool {
		switch ev := ev.(type) {
		case api.NewMail:
			mails = append(mails, ev.MailID)
		case api.UnreadChanged:
			return ev.Unread == 42
		}
		return false
	})
	if !slices.Equal(mails, []string{"ZC0001-dup"}) {
		t.Fatalf("mails = %v, want the duplicate once", mails)
	}
}

func TestTokensAndCodesNeverReachTheDatabaseOrTheLog(t *testing.T) {
	if clustered() {
		t.Skip("reads the SQLite file's bytes; the PostgreSQL store keeps the same hashes (storetest)")
	}
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	code := store.NewCode()
	if err := n.st.AddCode(t.Context(), store.HashSecret(code), bob, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e, err := client.Enroll(t.Context(), n.url, code, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	s := n.source(e)
	s.online()
	n.do("GET", "/v1/unread?token="+url.QueryEscape(e.Token.Reveal()), "", "")
	n.stop()
	for _, f := range []string{n.dbPath, n.dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for name, secret := range map[string]string{"token": e.Token.Reveal(), "code": code.Reveal()} {
			if bytes.Contains(b, []byte(secret[len(wire.TokenPrefix):])) {
				t.Errorf("%s holds the raw %s", f, name)
			}
		}
	}
	for name, secret := range map[string]string{"token": e.Token.Reveal(), "code": code.Reveal()} {
		if strings.Contains(n.logs.String(), secret[len(wire.TokenPrefix):]) {
			t.Errorf("the log holds the %s", name)
		}
	}
}

func TestRequestsThatAreRefused(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	e := n.enroll(bob)
	for _, tc := range []struct {
		name, method, path string
		token              api.Secret
		hdr                []string
		want               int
	}{
		{"no token", "GET", "/v1/unread", "", nil, 401},
		{"an unknown token", "GET", "/v1/unread", store.NewToken(), nil, 401},
		{"the token in the query string", "GET", "/v1/unread?token=" + e.Token.Reveal(), "", nil, 401},
		{"the token in the query string, even with a header", "GET", "/v1/events?access_token=" + e.Token.Reveal(), e.Token, nil, 401},
		{"a token-like value under any name", "GET", "/v1/unread?x=" + e.Token.Reveal(), e.Token, nil, 401},
		{"a browser origin", "GET", "/v1/unread", e.Token, []string{"Origin", "https://evil.example"}, 403},
		{"a browser origin on /healthz", "GET", "/healthz", "", []string{"Origin", "https://evil.example"}, 403},
		{"an unknown path", "GET", "/v1/nope", e.Token, nil, 404},
		{"a wrong method", "DELETE", "/v1/unread", e.Token, nil, 405},
		{"the token as Basic auth", "GET", "/v1/unread", "", []string{"Authorization", "Basic " + e.Token.Reveal()}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := n.do(tc.method, tc.path, tc.token, "", tc.hdr...); code != tc.want {
				t.Fatalf("HTTP %d %s, want %d", code, body, tc.want)
			}
		})
	}
	if strings.Contains(n.logs.String(), e.Token.Reveal()[len(wire.TokenPrefix):]) {
		t.Fatal("a refused token reached the log")
	}
	t.Run("a body over the limit", func(t *testing.T) {
		if code, _ := n.do("POST", "/v1/sso", e.Token, `{"mail_id":"`+strings.Repeat("x", 8000)+`"}`); code != 400 {
			t.Fatalf("HTTP %d, want 400", code)
		}
	})
}

func TestEnrollmentRefusesUnknownUsedAndExpiredCodesAlike(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{EnrollFails: 4})
	used, expired := store.NewCode(), store.NewCode()
	n.st.AddCode(t.Context(), store.HashSecret(used), bob, time.Now().Add(time.Hour))
	n.st.AddCode(t.Context(), store.HashSecret(expired), bob, time.Now().Add(-time.Second))
	if _, err := client.Enroll(t.Context(), n.url, used, "first"); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for name, code := range map[string]api.Secret{"unknown": store.NewCode(), "used": used, "expired": expired, "malformed": "123456"} {
		t.Run(name, func(t *testing.T) {
			status, body := n.do("POST", "/v1/enroll", "", fmt.Sprintf(`{"code":%q,"name":"x"}`, code.Reveal()))
			if status != 401 {
				t.Fatalf("HTTP %d, want 401", status)
			}
			bodies = append(bodies, body)
		})
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Fatalf("refusals differ: %q vs %q", b, bodies[0])
		}
	}
	t.Run("then the source is throttled", func(t *testing.T) {
		good := store.NewCode()
		n.st.AddCode(t.Context(), store.HashSecret(good), bob, time.Now().Add(time.Hour))
		if _, err := client.Enroll(t.Context(), n.url, good, "x"); !errors.Is(err, client.ErrRateLimited) {
			t.Fatalf("after 4 failures: err = %v, want ErrRateLimited", err)
		}
	})
}

func TestARevokedDeviceIsCutOffWithinASecond(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	e, other := n.enroll(bob), n.enroll(bob)
	c := n.openSSE(e.Token, "")
	c.mustNext() // state
	keep := n.openSSE(other.Token, "")
	keep.mustNext()

	// The revoke command runs in another process, on the same database.
	admin := openStore(t, n.dbPath)
	defer admin.Close()
	start := time.Now()
	if _, err := admin.Revoke(t.Context(), e.DeviceID, time.Now()); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := c.next(); err != nil {
			break
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the revoked stream closed after %v, want within 1 s", d)
	}
	if code, _ := n.do("GET", "/v1/unread", e.Token, ""); code != 401 {
		t.Fatalf("a revoked token: HTTP %d, want 401", code)
	}
	id := up.Deliver(bob, mail("still flowing"))
	for {
		ev := keep.mustNext()
		if ev.kind == wire.KindNewMail && strings.Contains(ev.data, id) {
			break
		}
	}
}

func TestASlowSubscriberIsDisconnectedWithoutStallingOthers(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{Queue: 4, WriteTimeout: 300 * time.Millisecond})
	e, f := n.enroll(bob), n.enroll(bob)

	// The slow one sends its request and then never reads.
	conn, err := net.Dial("tcp", strings.TrimPrefix(n.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /v1/events HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer %s\r\n\r\n", e.Token.Reveal())
	fast := n.openSSE(f.Token, "")
	fast.mustNext()
	for n.srv.Subscribers() < 2 { // both registered (state was sent to each)
		time.Sleep(time.Millisecond)
	}

	// Big events, published as the ingest would: stored, then published.
	ctx := t.Context()
	big := strings.Repeat("长", 20000)
	const count = 200
	go func() {
		for i := range count {
			data, _ := wire.Marshal(wire.NewMailLine{Event: wire.KindNewMail, Alias: bob, MailID: fmt.Sprint("M", i), Summary: big})
			ev, err := n.st.Append(ctx, store.Event{Alias: bob, Kind: wire.KindNewMail, MailID: fmt.Sprint("M", i), Data: data})
			if err != nil {
				return
			}
			n.srv.Publish(ev)
		}
	}()
	for i := 0; i < count; {
		ev := fast.mustNext()
		if ev.kind == wire.KindNewMail {
			i++
		}
	}
	// The relay dropped the slow stream (a write timed out, or its queue
	// overflowed) and only the fast one is left.
	deadline := time.Now().Add(wait)
	for !(n.srv.Subscribers() == 1 && dropped(t, n) >= 1) {
		if time.Now().After(deadline) {
			t.Fatalf("the slow stream was not dropped: %d subscribers, %d dropped", n.srv.Subscribers(), dropped(t, n))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dropped reads from /metrics how many streams were dropped for being slow.
func dropped(t *testing.T, n *node) int {
	rec := httptest.NewRecorder()
	n.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	total := 0
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		for _, name := range []string{"exmail_relay_slow_disconnects_total ", "exmail_relay_stream_write_failures_total "} {
			if v, ok := strings.CutPrefix(line, name); ok {
				k, _ := strconv.Atoi(v)
				total += k
			}
		}
	}
	return total
}

func TestCountsAreRefreshedAfterTheUpstreamReconnects(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	s := n.source(n.enroll(bob))
	s.online()
	up.FailNextHTTP("listen", http.StatusServiceUnavailable, -1)
	up.DropListeners()
	s.next(func(ev api.Event) bool {
		sc, ok := ev.(api.StateChanged)
		return ok && sc.State == api.StateRetrying && errors.Is(sc.Err, client.ErrUpstreamOffline)
	})
	up.SetUnread(bob, 7) // pushed to nobody: the relay is not listening
	up.ClearFaults()
	s.online()
	s.next(func(ev api.Event) bool { u, ok := ev.(api.UnreadChanged); return ok && u.Unread == 7 })
}

// TestRandomDropsLoseAndRepeatNothing delivers mails while the device's
// stream is dropped at random moments (Reconnect, as after a wake-up) and
// stopped and restarted: the device sees every mail exactly once, in order.
func TestRandomDropsLoseAndRepeatNothing(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	s, witness := n.source(n.enroll(bob)), n.source(n.enroll(bob))
	s.online()
	witness.online()
	r := rand.New(rand.NewPCG(1, 2))
	var sent []string
	for i := range 150 {
		sent = append(sent, up.Deliver(bob, mail(fmt.Sprint("mail ", i))))
		switch r.IntN(10) {
		case 0:
			s.src.Reconnect()
		case 1:
			witness.mailsUntil(sent[len(sent)-1]) // stored, then
			s.stop()                              // gone for a while
			sent = append(sent, up.Deliver(bob, mail(fmt.Sprint("while away ", i))))
			witness.mailsUntil(sent[len(sent)-1])
			s.start()
		}
	}
	got := s.mailsUntil(sent[len(sent)-1])
	if !slices.Equal(got, sent) {
		t.Fatalf("the device saw %d mails, want exactly the %d sent, in order;\nfirst difference at %d", len(got), len(sent), firstDiff(got, sent))
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestLastSeenIsRecordedWithoutDelayingRequests(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	e := n.enroll(bob)
	if code, _ := n.do("GET", "/v1/unread", e.Token, ""); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	n.stop() // the relay writes what it noted when it stops, at the latest
	st := openStore(t, n.dbPath)
	defer st.Close()
	devs, _ := st.Devices(t.Context())
	if len(devs) != 1 || devs[0].LastSeen.IsZero() {
		t.Fatalf("devices = %+v, want a last-seen time", devs)
	}
}

func TestUnreadIsExactRightAfterAChange(t *testing.T) {
	up := upstreamFake(t)
	// A budget of four: the stream's first state takes one (the store has
	// no count yet), the three calls below the rest.
	n := startRelay(t, up, "", server.Options{CountBurst: 4, CountEvery: time.Hour})
	s := n.source(n.enroll(bob))
	s.online()
	for i := range 3 {
		up.SetUnread(bob, 10+i) // and ask at once, before the push reaches the relay
		if got, err := s.src.NewCount(t.Context(), bob); err != nil || got != 10+i {
			t.Fatalf("NewCount = %d, %v; want %d", got, err, 10+i)
		}
	}
	// Beyond the device's budget, the relay answers what it has stored:
	// the pushes, by now.
	s.next(func(ev api.Event) bool { u, ok := ev.(api.UnreadChanged); return ok && u.Unread == 12 })
	if got, err := s.src.NewCount(t.Context(), bob); err != nil || got != 12 {
		t.Fatalf("NewCount over budget = %d, %v; want the stored 12", got, err)
	}
}
