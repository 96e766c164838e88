package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestHub(t *testing.T) {
	t.Run("a message reaches only its mailbox's subscriptions", func(t *testing.T) {
		h := newHub(4)
		bob, _ := h.subscribe("bob@example.com", "d1")
		lina, _ := h.subscribe("lina@example.com", "d2")
		h.publish("bob@example.com", message{seq: 1})
		if m := <-bob.ch; m.seq != 1 {
			t.Fatalf("bob got seq %d", m.seq)
		}
		select {
		case m := <-lina.ch:
			t.Fatalf("lina got bob's message %d", m.seq)
		default:
		}
	})
	t.Run("a full queue ends that subscription only, without blocking", func(t *testing.T) {
		h := newHub(2)
		slow, _ := h.subscribe("bob@example.com", "slow")
		fast, _ := h.subscribe("bob@example.com", "fast")
		for i := range uint64(5) {
			h.publish("bob@example.com", message{seq: i + 1})
			<-fast.ch
		}
		select {
		case <-slow.done:
		default:
			t.Fatal("the slow subscription was not ended")
		}
		if slow.why.Load() != endSlow || h.slow.Load() != 1 {
			t.Fatalf("why = %d, slow = %d", slow.why.Load(), h.slow.Load())
		}
		select {
		case <-fast.done:
			t.Fatal("the fast subscription was ended")
		default:
		}
	})
	t.Run("revoke ends every subscription of the device", func(t *testing.T) {
		h := newHub(2)
		a, _ := h.subscribe("bob@example.com", "d1")
		b, _ := h.subscribe("bob@example.com", "d1")
		c, _ := h.subscribe("bob@example.com", "d2")
		h.revoke("d1")
		for _, s := range []*sub{a, b} {
			if s.why.Load() != endRevoked {
				t.Fatal("a subscription of the revoked device is still open")
			}
		}
		if c.why.Load() != endNone {
			t.Fatal("another device's subscription was ended")
		}
	})
	t.Run("upstream changes are signalled once per change", func(t *testing.T) {
		h := newHub(2)
		s, _ := h.subscribe("bob@example.com", "d1")
		h.setUpstream(true)
		h.setUpstream(true)
		<-s.upstream
		select {
		case <-s.upstream:
			t.Fatal("signalled twice for one change")
		default:
		}
	})
	t.Run("after shutdown nothing subscribes", func(t *testing.T) {
		h := newHub(2)
		s, _ := h.subscribe("bob@example.com", "d1")
		h.shutdown()
		if s.why.Load() != endShutdown {
			t.Fatal("an open subscription was not ended")
		}
		if _, ok := h.subscribe("bob@example.com", "d1"); ok {
			t.Fatal("subscribed after shutdown")
		}
		h.unsubscribe(s)
		if h.subscribers() != 0 {
			t.Fatalf("%d subscribers left", h.subscribers())
		}
	})
}

func TestLimiter(t *testing.T) {
	t0 := time.Unix(0, 0)
	l := newLimiter(2, time.Minute)
	for i, want := range []bool{true, true, false} {
		if got := l.try("d", t0); got != want {
			t.Fatalf("try %d = %v, want %v", i, got, want)
		}
	}
	if !l.try("other", t0) {
		t.Fatal("keys share a bucket")
	}
	if !l.try("d", t0.Add(time.Minute)) || l.try("d", t0.Add(time.Minute)) {
		t.Fatal("one token should come back per minute")
	}
	l.sweep(t0.Add(time.Hour))
	if len(l.m) != 0 {
		t.Fatalf("sweep left %d full buckets", len(l.m))
	}
}

func TestSourceAddress(t *testing.T) {
	s := &Server{opts: Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	for _, tc := range []struct{ name, peer, xff, want string }{
		{"a direct client", "203.0.113.5:1234", "", "203.0.113.5"},
		{"a direct client cannot claim an address", "203.0.113.5:1234", "1.2.3.4", "203.0.113.5"},
		{"through a trusted proxy", "10.0.0.2:1234", "198.51.100.7", "198.51.100.7"},
		{"the rightmost untrusted hop wins", "10.0.0.2:1234", "1.2.3.4, 198.51.100.7, 10.0.0.9", "198.51.100.7"},
		{"garbage stops the walk", "10.0.0.2:1234", "nonsense, 10.0.0.9", "10.0.0.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/unread", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := s.source(r); got != tc.want {
				t.Fatalf("source = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCredentialInQuery(t *testing.T) {
	for q, want := range map[string]bool{
		"":                            false,
		"mail_id=ZC1":                 false,
		"token=x":                     true,
		"Access_Token=x":              true,
		"q=exr_dev_abc":               true,
		"q=exr_enr_abc":               true,
		"code=123":                    true,
		"x=1&authorization=Bearer+ab": true,
	} {
		t.Run(q, func(t *testing.T) {
			if got := credentialInQuery(httptest.NewRequest("GET", "/v1/events?"+q, nil)); got != want {
				t.Fatalf("credentialInQuery(%q) = %v", q, got)
			}
		})
	}
}

// A device looked up just before its revocation cannot open a stream after
// it (the lookup raced the revocation), and one device cannot hold more
// than maxPerDevice streams: the oldest goes (found by review).
func TestHubRefusesRevokedDevicesAndCapsStreams(t *testing.T) {
	t.Parallel()
	h := newHub(8)
	h.revoke("dev-1")
	s, ok := h.subscribe("bob@example.com", "dev-1")
	if !ok {
		t.Fatal("subscribe refused outright")
	}
	select {
	case <-s.done:
		if s.why.Load() != endRevoked {
			t.Errorf("ended with %d, want endRevoked", s.why.Load())
		}
	default:
		t.Error("a subscription of a revoked device is open")
	}

	var subs []*sub
	for range maxPerDevice + 1 {
		s, _ := h.subscribe("lina@example.com", "dev-2")
		subs = append(subs, s)
	}
	select {
	case <-subs[0].done:
		if subs[0].why.Load() != endReplaced {
			t.Errorf("the oldest ended with %d, want endReplaced", subs[0].why.Load())
		}
	default:
		t.Errorf("device dev-2 holds %d streams, want at most %d", len(subs), maxPerDevice)
	}
	for _, s := range subs[1:] {
		select {
		case <-s.done:
			t.Error("a newer stream was ended")
		default:
		}
	}
}
