package corp_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
	"github.com/exmail-notifier/exmail-notifier/relay"
	"github.com/exmail-notifier/exmail-notifier/relay/cluster"
	"github.com/exmail-notifier/exmail-notifier/relay/corp"
	"github.com/exmail-notifier/exmail-notifier/relay/internal/natstest"
	"github.com/exmail-notifier/exmail-notifier/relay/internal/pgtest"
	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/store/postgres"
)

// In scale-out, Tencent may call back whichever node its load balancer
// picks: every node stores the callback (PostgreSQL drops a mail stored
// twice) and the event reaches the device's stream on another node.
func TestCallbacksReachAnyNodeOfACluster(t *testing.T) {
	dsn := pgtest.FreshDB(t, pgtest.Server(t))
	ns := natstest.Start(t)
	f := &fixture{t: t, logs: &logBuffer{}}
	f.up = corptest.New(corptest.Options{})
	t.Cleanup(f.up.Close)
	f.bob = "bob@" + f.up.Domain()
	if err := f.up.AddUser(corptest.User{UserID: f.bob, Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	node := func(name string) (string, *postgres.DB) {
		st, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := cluster.New(t.Context(), st, cluster.Options{Key: []byte("test cluster key"), NATS: ns.URL(), Name: name,
			Sweep: 200 * time.Millisecond, Heartbeat: 200 * time.Millisecond, LeaseCheck: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		c, err := corpapi.New(corpapi.Config{CorpID: f.up.CorpID(), BaseURL: f.up.BaseURL(),
			SSOSecret: api.Secret(f.up.Secret(corptest.AppSSO)), NewMailSecret: api.Secret(f.up.Secret(corptest.AppNewMail))})
		if err != nil {
			t.Fatal(err)
		}
		u, err := corp.New(corp.Options{Client: c, Token: api.Secret(f.up.CallbackToken()), EncodingAESKey: api.Secret(f.up.CallbackAESKey()), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		ready := make(chan struct{})
		go func() {
			done <- relay.Run(ctx, relay.Config{Store: st, Upstream: u, Listener: ln, Cluster: cl, Logger: log.With("node", name),
				Ready: func(*server.Server) { close(ready) }})
		}()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("relay.Run: %v", err)
		}
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("relay.Run: %v", err)
			}
			cl.Close()
			st.Close()
		})
		return "http://" + ln.Addr().String(), st
	}
	urlA, stA := node("a")
	urlB, _ := node("b")
	f.url, f.st = urlA, stA
	s := f.source(f.enroll(f.bob)) // the device's stream is on node a
	s.online()

	var ids []string
	for _, target := range []string{urlB, urlA, urlB} {
		f.up.SetCallbackURL(target + "/callback/exmail")
		id, err := f.up.Deliver(t.Context(), f.bob, corptest.Mail{From: "lina@example.com", Subject: "via " + target})
		if err != nil {
			t.Fatalf("the callback to %s: %v", target, err)
		}
		ids = append(ids, id)
		if m := s.nextMail(); m.MailID != id {
			t.Fatalf("the device on node a got %s, want %s (called back at %s)", m.MailID, id, target)
		}
	}
	// The same mail called back at both nodes is stored once.
	before, _ := f.st.Mailbox(t.Context(), f.bob)
	for _, target := range []string{urlA, urlB} {
		f.up.SetCallbackURL(target + "/callback/exmail")
		if _, err := f.up.Deliver(t.Context(), f.bob, corptest.Mail{ID: ids[0], From: "lina@example.com", Subject: "again"}); err != nil {
			t.Fatalf("the resent callback to %s: %v", target, err)
		}
	}
	if after, _ := f.st.Mailbox(t.Context(), f.bob); after.LastSeq != before.LastSeq {
		t.Errorf("a mail called back twice was stored again (seq %d → %d)", before.LastSeq, after.LastSeq)
	}
}
