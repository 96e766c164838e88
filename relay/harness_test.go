package relay_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/relay"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
	"github.com/exmail-notifier/exmail-notifier/relay/cluster"
	"github.com/exmail-notifier/exmail-notifier/relay/internal/natstest"
	"github.com/exmail-notifier/exmail-notifier/relay/internal/pgtest"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/postgres"
	"github.com/exmail-notifier/exmail-notifier/relay/store/sqlite"
)

const (
	bob  = "bob@example.com"
	lina = "lina@example.com"
	wait = 10 * time.Second // the most any awaited event may take
)

// upstreamFake is the fake exmail with bob and lina.
func upstreamFake(t *testing.T) *exmailtest.Server {
	t.Helper()
	up := exmailtest.New(exmailtest.Options{})
	t.Cleanup(up.Close)
	for _, u := range []exmailtest.User{{Alias: bob, Name: "Bob"}, {Alias: lina, Name: "Lina"}} {
		if err := up.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	return up
}

// logBuffer collects every log line of a relay, to check that no secret
// reaches one.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The suite runs against SQLite, or, with EXMAIL_RELAY_TEST_BACKEND=cluster,
// against PostgreSQL + NATS: every relay is then a cluster node (on a fresh
// database from pgtest and one embedded NATS server per fake upstream).
func clustered() bool { return os.Getenv("EXMAIL_RELAY_TEST_BACKEND") == "cluster" }

var (
	natsMu  sync.Mutex
	natsFor = map[*exmailtest.Server]*natstest.Server{}
)

// natsURL is the NATS server of the relays of up.
func natsURL(t *testing.T, up *exmailtest.Server) string {
	natsMu.Lock()
	defer natsMu.Unlock()
	ns := natsFor[up]
	if ns == nil {
		ns = natstest.Start(t)
		natsFor[up] = ns
		t.Cleanup(func() { natsMu.Lock(); delete(natsFor, up); natsMu.Unlock() })
	}
	return ns.URL()
}

// openStore opens the database db names (a SQLite path or a postgres://
// DSN), as another process would.
func openStore(t *testing.T, db string) store.Store {
	t.Helper()
	var (
		st  store.Store
		err error
	)
	if strings.HasPrefix(db, "postgres://") {
		st, err = postgres.Open(t.Context(), db)
	} else {
		st, err = sqlite.Open(t.Context(), db, sqlite.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// node is one running relay on a random loopback port.
type node struct {
	t      *testing.T
	up     *exmailtest.Server
	dbPath string // a SQLite path, or a postgres:// DSN
	st     store.Store
	url    string
	srv    *server.Server
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startRelay starts a relay on dbPath (a new file if ""), waits until it
// serves and its upstream listen is open, and stops it at cleanup.
func startRelay(t *testing.T, up *exmailtest.Server, dbPath string, opts server.Options) *node {
	t.Helper()
	return startRelayAt(t, up, dbPath, "127.0.0.1:0", opts)
}

// startRelayAt is startRelay on a given address (to restart a relay where
// its clients expect it).
func startRelayAt(t *testing.T, up *exmailtest.Server, dbPath, addr string, opts server.Options) *node {
	t.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "relay.db")
		if clustered() {
			dbPath = pgtest.FreshDB(t, pgtest.Server(t))
		}
	}
	st := openStore(t, dbPath)
	var cl relay.Cluster
	if clustered() {
		node, err := cluster.New(t.Context(), st.(*postgres.DB), cluster.Options{Key: []byte("test cluster key"), NATS: natsURL(t, up), Sweep: 200 * time.Millisecond, Heartbeat: 200 * time.Millisecond, LeaseCheck: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		cl = node
	}
	c, err := api.New(api.Config{
		ClientID: up.ClientID(), ClientSecret: api.Secret(up.ClientSecret()),
		BaseURL: up.APIBase(), TokenURL: up.TokenURL(), LoginURL: up.LoginURL(),
		Transport: up.Transport(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{t: t, up: up, dbPath: dbPath, st: st, url: "http://" + ln.Addr().String(), logs: logs, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan *server.Server, 1)
	listeners := up.Listeners()
	go func() {
		n.done <- relay.Run(ctx, relay.Config{
			Store: st, API: c, Listener: ln, Server: opts, Cluster: cl,
			Watch:  api.WatchOptions{MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Ready:  func(s *server.Server) { ready <- s },
		})
	}()
	select {
	case n.srv = <-ready:
	case err := <-n.done:
		t.Fatalf("relay.Run: %v", err)
	}
	wctx, wcancel := context.WithTimeout(t.Context(), wait)
	defer wcancel()
	if err := up.WaitListeners(wctx, listeners+1); err != nil {
		t.Fatalf("the relay's upstream listen never opened: %v", err)
	}
	t.Cleanup(n.stop)
	return n
}

// stop stops the relay gracefully and closes its store. Only the first
// call does anything; every call returns once the relay has stopped.
func (n *node) stop() {
	n.once.Do(func() {
		n.cancel()
		if err := <-n.done; err != nil {
			n.t.Errorf("relay.Run: %v", err)
		}
		n.st.Close()
	})
}

// enroll makes a code for alias in the store, as "exmail-relay enroll"
// does, and trades it for a token over HTTP, as the desktop does.
func (n *node) enroll(alias string) client.Enrollment {
	n.t.Helper()
	code := store.NewCode()
	if err := n.st.AddCode(n.t.Context(), store.HashSecret(code), alias, time.Now().Add(time.Hour)); err != nil {
		n.t.Fatal(err)
	}
	e, err := client.Enroll(n.t.Context(), n.url, code, "test device")
	if err != nil {
		n.t.Fatalf("Enroll(%s): %v", alias, err)
	}
	return e
}

// source is a running client.Source and the events it delivered.
type source struct {
	t      *testing.T
	src    *client.Source
	events chan api.Event
	cancel context.CancelFunc
	done   chan error
}

func (n *node) source(e client.Enrollment) *source {
	n.t.Helper()
	src, err := client.New(client.Config{URL: n.url, Token: e.Token, Alias: e.Alias, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		n.t.Fatal(err)
	}
	s := &source{t: n.t, src: src, events: make(chan api.Event, 1000)}
	s.start()
	n.t.Cleanup(s.stop)
	return s
}

func (s *source) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() { s.done <- s.src.Run(ctx, s.events) }()
}

func (s *source) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
}

// next returns the next event that matches keep, failing after wait.
func (s *source) next(keep func(api.Event) bool) api.Event {
	s.t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case ev := <-s.events:
			if keep(ev) {
				return ev
			}
		case <-timer.C:
			s.t.Fatal("no matching event within", wait)
			return nil
		}
	}
}

// online waits for the source to be online (its first state event).
func (s *source) online() {
	s.t.Helper()
	s.next(func(ev api.Event) bool {
		sc, ok := ev.(api.StateChanged)
		return ok && sc.State == api.StateOnline
	})
}

func isMail(ev api.Event) bool { _, ok := ev.(api.NewMail); return ok }

// nextMail returns the next new mail.
func (s *source) nextMail() api.NewMail {
	s.t.Helper()
	return s.next(isMail).(api.NewMail)
}

// mailsUntil collects new mails until one with mail id last arrives.
func (s *source) mailsUntil(last string) []string {
	s.t.Helper()
	var ids []string
	for {
		m := s.nextMail()
		ids = append(ids, m.MailID)
		if m.MailID == last {
			return ids
		}
	}
}

// sse is a raw event-stream connection, for tests that look at the wire.
type sse struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

type sseEvent struct{ id, kind, data string }

func (n *node) openSSE(token api.Secret, lastID string) *sse {
	n.t.Helper()
	req, _ := http.NewRequestWithContext(n.t.Context(), http.MethodGet, n.url+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		n.t.Fatalf("GET /v1/events: %s", resp.Status)
	}
	return &sse{t: n.t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// next reads the next event (skipping comments and retry lines), or
// returns io.EOF when the relay closed the stream.
func (c *sse) next() (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.kind != "" {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.kind = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

func (c *sse) mustNext() sseEvent {
	c.t.Helper()
	ev, err := c.next()
	if err != nil {
		c.t.Fatalf("reading the stream: %v", err)
	}
	return ev
}

// do makes a request with an optional bearer token and returns the status
// and the body.
func (n *node) do(method, path string, token api.Secret, body string, hdr ...string) (int, string) {
	n.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(n.t.Context(), method, n.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token.Reveal())
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
