package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exmail-notifier/exmail-notifier/relay/internal/pgtest"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/postgres"
	"github.com/exmail-notifier/exmail-notifier/relay/store/storetest"
)

func server(t *testing.T) string { return pgtest.Server(t) }

func freshDB(t *testing.T, base string) string { return pgtest.FreshDB(t, base) }

func TestConformance(t *testing.T) {
	base := server(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := postgres.Open(t.Context(), freshDB(t, base))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestTwoNodesShareOneEpochAndLog(t *testing.T) {
	dsn := freshDB(t, server(t))
	a, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Epoch() != b.Epoch() {
		t.Fatalf("epochs %q and %q", a.Epoch(), b.Epoch())
	}
	if _, err := a.Append(t.Context(), store.Event{Alias: "bob@example.com", Kind: "unread", Data: []byte(`{}`), Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ev, err := b.Append(t.Context(), store.Event{Alias: "bob@example.com", Kind: "unread", Data: []byte(`{}`), Time: time.Now()})
	if err != nil || ev.Seq != 2 {
		t.Fatalf("the second node's append: seq %d, %v; want 2", ev.Seq, err)
	}
}

func TestATakeoverFencesTheDeposedHoldersWrites(t *testing.T) {
	dsn := freshDB(t, server(t))
	a, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	la, err := a.AcquireLease(t.Context(), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ev := store.Event{Alias: "bob@example.com", Kind: "new_mail", MailID: "M1", Data: []byte(`{}`)}
	if _, err := a.Fenced(la.Term()).Append(t.Context(), ev); err != nil {
		t.Fatalf("the holder's write: %v", err)
	}
	got := make(chan *postgres.Lease, 1)
	go func() {
		lb, err := b.AcquireLease(t.Context(), 50*time.Millisecond)
		if err != nil {
			t.Error(err)
		}
		got <- lb
	}()
	select {
	case <-got:
		t.Fatal("a second node took the lease while the first held it")
	case <-time.After(700 * time.Millisecond): // longer than one lock_timeout slice
	}
	la.Release()
	<-la.Done()
	lb := <-got
	if lb == nil {
		return
	}
	defer lb.Release()
	if lb.Term() != la.Term()+1 {
		t.Fatalf("terms %d then %d, want consecutive", la.Term(), lb.Term())
	}
	ev.MailID = "M2"
	if _, err := a.Fenced(la.Term()).Append(t.Context(), ev); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the deposed holder's write: err = %v, want ErrFenced", err)
	}
	if _, err := b.Fenced(lb.Term()).Append(t.Context(), ev); err != nil {
		t.Fatalf("the new holder's write: %v", err)
	}
	ev.MailID = "M1" // the overlap case: both holders saw M1
	if _, err := b.Fenced(lb.Term()).Append(t.Context(), ev); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("M1 again from the new holder: err = %v, want ErrDuplicate", err)
	}
}

func TestALeaseIsLostWithItsConnection(t *testing.T) {
	dsn := freshDB(t, server(t))
	a, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	l, err := a.AcquireLease(t.Context(), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	// Another session terminates the lease's backend, as a network cut or
	// a database restart would.
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	if _, err := c.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype='advisory' AND granted AND pid<>pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the lease was not noticed lost")
	}
}

func TestLimitIsSharedByNodes(t *testing.T) {
	dsn := freshDB(t, server(t))
	a, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now()
	ok := 0
	for i := range 6 {
		db := a
		if i%2 == 1 {
			db = b
		}
		if got, err := db.Limit(t.Context(), "sso:d_1", 3, time.Minute, now, postgres.LimitTry); err != nil {
			t.Fatal(err)
		} else if got {
			ok++
		}
	}
	if ok != 3 {
		t.Fatalf("%d of 6 calls over two nodes passed a burst of 3", ok)
	}
	if got, _ := a.Limit(t.Context(), "sso:d_1", 3, time.Minute, now.Add(time.Minute), postgres.LimitTry); !got {
		t.Fatal("no token after a refill interval")
	}
}
