package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

const bob = "bob@example.com"

var token = api.Secret(wire.TokenPrefix + strings.Repeat("A", 43))

func TestNewRefusesInsecureOrIncompleteConfigs(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  client.Config
		want error
	}{
		{"plain http to another host", client.Config{URL: "http://relay.example.com", Token: token, Alias: bob}, client.ErrInsecureURL},
		{"another scheme", client.Config{URL: "ftp://relay.example.com", Token: token, Alias: bob}, client.ErrInsecureURL},
		{"a URL with a query", client.Config{URL: "https://relay.example.com/?token=x", Token: token, Alias: bob}, nil},
		{"not a device token", client.Config{URL: "https://relay.example.com", Token: "abc", Alias: bob}, nil},
		{"no alias", client.Config{URL: "https://relay.example.com", Token: token}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.New(tc.cfg)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("New: err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), token.Reveal()) {
				t.Fatal("the error shows the token")
			}
		})
	}
	for _, u := range []string{"https://relay.example.com", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2"} {
		t.Run("accepts "+u, func(t *testing.T) {
			if _, err := client.New(client.Config{URL: u, Token: token, Alias: bob}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseEnrollLink(t *testing.T) {
	code := wire.CodePrefix + strings.Repeat("b", 43)
	good := wire.EnrollLink("https://relay.example.com:8443", code)
	u, c, err := client.ParseEnrollLink(good)
	if err != nil || u != "https://relay.example.com:8443" || c.Reveal() != code {
		t.Fatalf("ParseEnrollLink(%q) = %q, %v", good, u, err)
	}
	for _, bad := range []string{
		"https://relay.example.com/enroll?code=" + code,
		"exmail-notifier://enroll?relay=http%3A%2F%2Fevil.example&code=" + code,
		"exmail-notifier://enroll?relay=https%3A%2F%2Frelay.example.com",
		"exmail-notifier://other?relay=https%3A%2F%2Frelay.example.com&code=" + code,
	} {
		t.Run(bad, func(t *testing.T) {
			if _, _, err := client.ParseEnrollLink(bad); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// relayStub serves /v1/events with the handler given, and counts requests.
func relayStub(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

func run(t *testing.T, cfg client.Config) chan api.Event {
	t.Helper()
	src, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan api.Event, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx, ch); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

func next(t *testing.T, ch chan api.Event) api.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("no event")
		return nil
	}
}

func TestRunMapsTheStreamOntoAPIEvents(t *testing.T) {
	url := relayStub(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token.Reveal() || r.URL.RawQuery != "" {
			http.Error(w, "no", 401)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 2000\n\n")
		fmt.Fprint(w, "id: e.1\nevent: state\ndata: {\"alias\":\"bob@example.com\",\"unread\":3,\"upstream\":\"online\"}\n\n")
		fmt.Fprint(w, ": keepalive\n\n")
		fmt.Fprint(w, "id: e.2\r\nevent: new_mail\r\ndata: {\"time\":\"t\",\"event\":\"new_mail\",\"alias\":\"bob@example.com\",\"mail_id\":\"M1\",\"from\":\"L <l@x>\",\"to\":\"bob@example.com\",\"subject\":\"S\",\"summary\":\"U\",\"unread\":4}\r\n\r\n")
		fmt.Fprint(w, "id: e.3\nevent: new_mail\ndata: {\"event\":\"new_mail\",\"alias\":\"lina@example.com\",\"mail_id\":\"NOT-OURS\"}\n\n")
		fmt.Fprint(w, "id: e.4\nevent: future_kind\ndata: {}\n\n")
		fmt.Fprint(w, "id: e.5\nevent: unread\ndata: {\"time\":\"t\",\"event\":\"unread\",\"alias\":\"bob@example.com\",\"unread\":2}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ch := run(t, client.Config{URL: url, Token: token, Alias: bob})
	want := []api.Event{
		api.StateChanged{State: api.StateConnecting},
		api.StateChanged{State: api.StateOnline},
		api.UnreadChanged{User: bob, Unread: 3},
		api.NewMail{User: bob, MailID: "M1", Sender: "L <l@x>", Receiver: bob, Subject: "S", Summary: "U", Unread: 4},
		api.UnreadChanged{User: bob, Unread: 2},
	}
	for i, w := range want {
		if got := next(t, ch); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Fatalf("event %d = %#v, want %#v", i, got, w)
		}
	}
}

func TestRunReportsAnUpstreamOutageAndResumesByLastEventID(t *testing.T) {
	ids := make(chan string, 10)
	url := relayStub(t, func(w http.ResponseWriter, r *http.Request) {
		ids <- r.Header.Get("Last-Event-ID")
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: ep.7\nevent: state\ndata: {\"alias\":\"bob@example.com\",\"unread\":0,\"upstream\":\"offline\"}\n\n")
		fmt.Fprint(w, "id: ep.8\nevent: shutdown\ndata: {}\n\n")
	})
	ch := run(t, client.Config{URL: url, Token: token, Alias: bob, MinBackoff: 10 * time.Millisecond})
	next(t, ch) // connecting
	if sc, ok := next(t, ch).(api.StateChanged); !ok || sc.State != api.StateRetrying || !errors.Is(sc.Err, client.ErrUpstreamOffline) {
		t.Fatalf("got %#v, want retrying with ErrUpstreamOffline", sc)
	}
	if got := <-ids; got != "" {
		t.Fatalf("first request's Last-Event-ID = %q, want none", got)
	}
	if got := <-ids; got != "ep.8" {
		t.Fatalf("after a shutdown, Last-Event-ID = %q, want ep.8", got)
	}
}

func TestRunBacksOffLongerOnARefusedToken(t *testing.T) {
	url := relayStub(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, `{"error":"unauthorized"}`, 401) })
	ch := run(t, client.Config{URL: url, Token: token, Alias: bob, MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Minute})
	next(t, ch)
	sc, ok := next(t, ch).(api.StateChanged)
	if !ok || sc.State != api.StateAuthFailed || !errors.Is(sc.Err, client.ErrUnauthorized) || sc.RetryIn != time.Minute {
		t.Fatalf("got %#v, want auth-failed, ErrUnauthorized, a wait of MaxBackoff", sc)
	}
}

func TestRunRefusesAStreamForAnotherMailbox(t *testing.T) {
	url := relayStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: e.1\nevent: state\ndata: {\"alias\":\"lina@example.com\",\"unread\":9,\"upstream\":\"online\"}\n\n")
	})
	ch := run(t, client.Config{URL: url, Token: token, Alias: bob, MinBackoff: time.Hour})
	next(t, ch)
	if sc, ok := next(t, ch).(api.StateChanged); !ok || sc.State != api.StateRetrying || !errors.Is(sc.Err, client.ErrForeignAlias) {
		t.Fatalf("got %#v, want retrying with ErrForeignAlias", sc)
	}
}

// A relay (or whatever answers in its place) cannot grow the client's
// memory without bound by never ending an event: many data lines add up
// to one event, and an event over 1 MiB drops the stream.
func TestAnOversizedEventDropsTheStream(t *testing.T) {
	url := relayStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		line := "data: " + strings.Repeat("x", 64<<10) + "\n"
		for range 32 { // 2 MiB in one event, each line under the line limit
			if _, err := fmt.Fprint(w, line); err != nil {
				return
			}
		}
	})
	ch := run(t, client.Config{URL: url, Token: token, Alias: bob, MinBackoff: time.Hour})
	next(t, ch)
	if sc, ok := next(t, ch).(api.StateChanged); !ok || sc.State != api.StateRetrying || !errors.Is(sc.Err, client.ErrOversized) {
		t.Fatalf("got %#v, want retrying with ErrOversized", sc)
	}
}

func TestTheWatchdogReplacesASilentStream(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 2×keepalive+5 s")
	}
	calls := make(chan struct{}, 10)
	url := relayStub(t, func(w http.ResponseWriter, r *http.Request) {
		calls <- struct{}{}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: e.1\nevent: state\ndata: {\"alias\":\"bob@example.com\",\"unread\":0,\"upstream\":\"online\"}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // then silence, not even a keepalive
	})
	ch := run(t, client.Config{URL: url, Token: token, Alias: bob, Keepalive: 10 * time.Millisecond, MinBackoff: 10 * time.Millisecond})
	<-calls
	for {
		if sc, ok := next(t, ch).(api.StateChanged); ok && errors.Is(sc.Err, client.ErrStalled) {
			break
		}
	}
	<-calls
}

func TestCallsRefuseAnotherMailboxWithoutARequest(t *testing.T) {
	hits := 0
	url := relayStub(t, func(w http.ResponseWriter, r *http.Request) { hits++ })
	src, err := client.New(client.Config{URL: url, Token: token, Alias: bob})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.NewCount(t.Context(), "lina@example.com"); !errors.Is(err, client.ErrForeignAlias) {
		t.Fatalf("NewCount: %v", err)
	}
	if _, err := src.LoginURL(t.Context(), "lina@example.com", ""); !errors.Is(err, client.ErrForeignAlias) {
		t.Fatalf("LoginURL: %v", err)
	}
	if hits != 0 {
		t.Fatalf("%d requests made", hits)
	}
}
