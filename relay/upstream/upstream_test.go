package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/sqlite"
	"github.com/exmail-notifier/exmail-notifier/relay/upstream"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

const (
	bob  = "bob@example.com"
	lina = "lina@example.com"
)

// checkingPublisher fails the test if an event is published before the
// store has it.
type checkingPublisher struct {
	t  *testing.T
	st store.Store
	mu sync.Mutex
	ev []store.Event
	up []bool
	ch chan store.Event
}

func (p *checkingPublisher) Publish(ev store.Event) {
	evs, err := p.st.EventsAfter(context.Background(), ev.Alias, ev.Seq-1, 1)
	if err != nil || len(evs) != 1 || evs[0].Seq != ev.Seq {
		p.t.Errorf("published seq %d of %s before it was stored", ev.Seq, ev.Alias)
	}
	p.mu.Lock()
	p.ev = append(p.ev, ev)
	p.mu.Unlock()
	p.ch <- ev
}

func (p *checkingPublisher) SetUpstream(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = append(p.up, on)
}

// counts is the upstream's view of the unread counts.
type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) set(alias string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[alias] = n
}

func (c *counts) NewCount(_ context.Context, alias string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[alias]
	if !ok {
		return 0, errors.New("unknown")
	}
	return n, nil
}

func setup(t *testing.T, c *counts) (*sqlite.DB, *checkingPublisher, chan api.Event) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "r.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	code, tok := store.NewCode(), store.NewToken()
	st.AddCode(t.Context(), store.HashSecret(code), bob, time.Now().Add(time.Hour))
	if _, err := st.Enroll(t.Context(), store.HashSecret(code), store.HashSecret(tok), "x", time.Now()); err != nil {
		t.Fatal(err)
	}
	pub := &checkingPublisher{t: t, st: st, ch: make(chan store.Event, 100)}
	in := upstream.New(st, pub, c, upstream.Options{})
	events := make(chan api.Event)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { in.Run(ctx, events); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return st, pub, events
}

func next(t *testing.T, p *checkingPublisher) store.Event {
	t.Helper()
	select {
	case ev := <-p.ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("nothing published")
		return store.Event{}
	}
}

func TestIngestStoresThenPublishesOnlyEnrolledMailboxes(t *testing.T) {
	_, pub, events := setup(t, &counts{m: map[string]int{bob: 0}})
	events <- api.NewMail{User: lina, MailID: "L1", Subject: "not enrolled", Unread: 1}
	events <- api.NewMail{User: "BOB@example.com", MailID: "B1", Sender: "a\x1b]0;x\x07", Subject: "s\u202e", Unread: 1}
	events <- api.NewMail{User: bob, MailID: "B1", Subject: "again", Unread: 1}
	events <- api.UnreadChanged{User: bob, Unread: 0}
	first, second := next(t, pub), next(t, pub)
	if first.Alias != bob || first.MailID != "B1" || first.Seq != 1 || first.Kind != wire.KindNewMail {
		t.Fatalf("first = %+v", first)
	}
	if string(first.Data) == "" || !has(first.Data, `"from":"a]0;x"`) || !has(first.Data, `"subject":"s"`) {
		t.Fatalf("the text was not cleaned: %s", first.Data)
	}
	if second.Kind != wire.KindUnread || second.Seq != 2 || second.Unread != 0 {
		t.Fatalf("second = %+v (the duplicate B1 must be dropped)", second)
	}
}

func has(data []byte, part string) bool { return strings.Contains(string(data), part) }

func TestAfterEachConnectTheCountsAreRefreshedWhenTheyChanged(t *testing.T) {
	c := &counts{m: map[string]int{bob: 5}}
	st, pub, events := setup(t, c)
	events <- api.StateChanged{State: api.StateOnline}
	if ev := next(t, pub); ev.Kind != wire.KindUnread || ev.Unread != 5 || ev.Seq != 1 {
		t.Fatalf("after connecting: %+v, want unread 5 as seq 1", ev)
	}
	events <- api.StateChanged{State: api.StateRetrying, Err: errors.New("down")}
	events <- api.StateChanged{State: api.StateOnline} // the count is still 5: nothing to store
	c.set(bob, 6)
	events <- api.UnreadChanged{User: bob, Unread: 6} // whether before or after the refresh
	if ev := next(t, pub); ev.Unread != 6 || ev.Seq != 2 {
		t.Fatalf("then %+v, want the pushed unread 6 as seq 2 (and no repeat of 5)", ev)
	}
	c.set(bob, 7)
	events <- api.UnreadChanged{User: bob, Unread: 7}
	if ev := next(t, pub); ev.Unread != 7 || ev.Seq != 3 {
		t.Fatalf("then %+v, want unread 7 as seq 3", ev)
	}
	m, _ := st.Mailbox(t.Context(), bob)
	if m.Unread != 7 {
		t.Fatalf("stored unread = %d", m.Unread)
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if !slices.Equal(pub.up, []bool{true, false, true}) {
		t.Fatalf("upstream states = %v", pub.up)
	}
}

// countingStore counts the transactions of AppendBatch.
type countingStore struct {
	upstream.Store
	mu      sync.Mutex
	batches []int
}

func (c *countingStore) AppendBatch(ctx context.Context, evs []store.Event) ([]store.Event, error) {
	c.mu.Lock()
	c.batches = append(c.batches, len(evs))
	c.mu.Unlock()
	return c.Store.AppendBatch(ctx, evs)
}

func TestQueuedEventsAreStoredInOneTransaction(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "r.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code := store.NewCode()
	st.AddCode(t.Context(), store.HashSecret(code), bob, time.Now().Add(time.Hour))
	st.Enroll(t.Context(), store.HashSecret(code), store.HashSecret(store.NewToken()), "x", time.Now())
	cs := &countingStore{Store: st}
	pub := &checkingPublisher{t: t, st: st, ch: make(chan store.Event, 100)}
	events := make(chan api.Event, 10)
	for i := range 5 {
		events <- api.NewMail{User: bob, MailID: fmt.Sprint("M", i), Unread: i + 1}
	}
	events <- api.StateChanged{State: api.StateRetrying, Err: errors.New("down")}
	events <- api.NewMail{User: bob, MailID: "after", Unread: 6}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		upstream.New(cs, pub, &counts{m: map[string]int{}}, upstream.Options{}).Run(ctx, events)
		close(done)
	}()
	defer func() { cancel(); <-done }()
	for i := range 6 {
		if ev := next(t, pub); ev.Seq != uint64(i+1) {
			t.Fatalf("published seq %d as the %d-th", ev.Seq, i+1)
		}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if !slices.Equal(cs.batches, []int{5, 1}) {
		t.Fatalf("transactions of %v events, want [5 1] (a state change ends a batch)", cs.batches)
	}
}
