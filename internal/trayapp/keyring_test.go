package trayapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/creds"
)

// fakeSession is the session behind a readable key: its Source says it is
// online and waits; it counts 7 unread and links to a fixed URL.
type fakeSession struct{}

func (fakeSession) Run(ctx context.Context, out chan<- api.Event) error {
	out <- api.StateChanged{State: api.StateOnline}
	<-ctx.Done()
	return ctx.Err()
}
func (fakeSession) NewCount(context.Context, string) (int, error) { return 7, nil }
func (fakeSession) LoginURL(_ context.Context, _, mailID string) (api.Secret, error) {
	return api.Secret("https://mail.example.com/sso#" + mailID), nil
}

// keyringFixture runs a keyringSource whose key reads return the errors
// in reads, in turn, and then the fake session.
type keyringFixture struct {
	k       *keyringSource
	changes chan struct{}
	usable  atomic.Bool // what the non-prompting check says
	asked   atomic.Int32
	watched chan struct{} // closed to let watch return; nil: at once
	out     chan api.Event
	opens   atomic.Int32
	done    chan error
	cancel  context.CancelFunc // ends Run
}

// stop ends the keyringSource and returns what Run returned.
func (f *keyringFixture) stop() error {
	f.cancel()
	return <-f.done
}

func startKeyringSource(t *testing.T, first error, watchErr error, reads ...error) *keyringFixture {
	t.Helper()
	return startKeyringFixture(t, &keyringFixture{}, first, watchErr, reads...)
}

// startKeyringFixture is startKeyringSource with f's usable and watched
// set beforehand. The source runs until f.stop or the end of the test.
func startKeyringFixture(t *testing.T, f *keyringFixture, first error, watchErr error, reads ...error) *keyringFixture {
	t.Helper()
	f.changes, f.out, f.done = make(chan struct{}, 1), make(chan api.Event, 16), make(chan error, 1)
	f.k = &keyringSource{
		first: first,
		usable: func(context.Context) (bool, error) {
			f.asked.Add(1)
			return f.usable.Load(), nil
		},
		watch: func(ctx context.Context) (<-chan struct{}, error) {
			if f.watched != nil {
				select {
				case <-f.watched:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			if watchErr != nil {
				return nil, watchErr
			}
			return f.changes, nil
		},
		open: func(context.Context) (Backend, error) {
			n := int(f.opens.Add(1))
			if n <= len(reads) {
				return Backend{}, reads[n-1]
			}
			return Backend{Source: fakeSession{}, Counter: fakeSession{}, Linker: fakeSession{}}, nil
		},
		log: slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	f.cancel = cancel
	go func() { f.done <- f.k.Run(ctx, f.out) }()
	return f
}

// problem is what the app would show for ev.
func problemOf(ev api.Event) string {
	sc, ok := ev.(api.StateChanged)
	switch {
	case !ok:
		return fmt.Sprintf("%T", ev)
	case errors.Is(sc.Err, app.ErrKeyringLockedRestart):
		return "keyring locked: restart"
	case errors.Is(sc.Err, app.ErrKeyringUnavailableRestart):
		return "no keyring: restart"
	case errors.Is(sc.Err, app.ErrKeyringLocked):
		return "keyring locked"
	case errors.Is(sc.Err, app.ErrKeyringUnavailable):
		return "no keyring"
	case sc.State == api.StateAuthFailed:
		return "no key: run login"
	case sc.State == api.StateOnline:
		return "online"
	}
	return sc.State.String()
}

func TestKeyringSourceConnectsOnceTheKeyringIsUsable(t *testing.T) {
	t.Parallel()
	locked := &creds.Error{Op: "get", Account: "admin", Kind: creds.ErrLocked}
	missing := &creds.Error{Op: "get", Account: "admin", Kind: creds.ErrUnavailable}
	tests := []struct {
		name  string
		first error
		reads []error // key reads after each change, before it works
		want  []string
	}{
		{"locked, then unlocked", locked, nil, []string{"keyring locked", "online"}},
		{"a timeout is shown as locked", &creds.Error{Op: "get", Kind: creds.ErrTimeout}, nil, []string{"keyring locked", "online"}},
		{"no keyring, then one without the key, then the key is stored", missing,
			[]error{fmt.Errorf("no interface key for %q: %w", "admin", creds.ErrNotFound)}, []string{"no keyring", "no key: run login", "online"}},
		{"a change that did not unlock it", locked, []error{locked}, []string{"keyring locked", "keyring locked", "online"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := startKeyringSource(t, tt.first, nil, tt.reads...)
				var got []string
				got = append(got, problemOf(<-f.out))

				// Before the key is read: nothing is read without a
				// change, and the mailbox cannot be used.
				synctest.Wait()
				if n := f.opens.Load(); n != 0 {
					t.Fatalf("the key was read %d times before any change", n)
				}
				if _, err := f.k.NewCount(t.Context(), "bob@example.com"); !errors.Is(err, errNoKeyYet) {
					t.Errorf("NewCount before the key: err = %v, want errNoKeyYet", err)
				}
				if _, err := f.k.LoginURL(t.Context(), "bob@example.com", ""); !errors.Is(err, errNoKeyYet) {
					t.Errorf("LoginURL before the key: err = %v, want errNoKeyYet", err)
				}

				f.usable.Store(true)
				for range len(tt.reads) + 1 {
					f.changes <- struct{}{}
					got = append(got, problemOf(<-f.out))
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				if n, err := f.k.NewCount(t.Context(), "bob@example.com"); n != 7 || err != nil {
					t.Errorf("NewCount once connected = %d, %v; want 7, nil", n, err)
				}
				if u, err := f.k.LoginURL(t.Context(), "bob@example.com", "m1"); u != "https://mail.example.com/sso#m1" || err != nil {
					t.Errorf("LoginURL once connected = %v; want the session's URL", err)
				}
				if err := f.stop(); !errors.Is(err, context.Canceled) {
					t.Errorf("Run = %v, want context.Canceled", err)
				}
			})
		})
	}
}

func TestKeyringSourceWithoutWatching(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := startKeyringSource(t, &creds.Error{Kind: creds.ErrLocked}, creds.ErrCannotWatch)
		// The problem at once, then, as nothing will notice the unlock,
		// the wording that says to restart.
		got := []string{problemOf(<-f.out), problemOf(<-f.out)}
		if diff := cmp.Diff([]string{"keyring locked", "keyring locked: restart"}, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		// Nothing to wait for: it keeps showing the problem, reads
		// nothing, and ends with ctx.
		synctest.Wait()
		if n := f.opens.Load(); n != 0 {
			t.Errorf("the key was read %d times without a change", n)
		}
		select {
		case err := <-f.done:
			t.Fatalf("Run ended early: %v", err)
		default:
		}
		if err := f.stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}

func TestKeyringSourceStopsOnOtherErrors(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		broken := errors.New("config: bad api_url")
		f := startKeyringSource(t, &creds.Error{Kind: creds.ErrLocked}, nil, broken)
		<-f.out
		f.usable.Store(true)
		f.changes <- struct{}{}
		if err := <-f.done; !errors.Is(err, broken) {
			t.Errorf("Run = %v, want the config error", err)
		}
	})
}

// A keyring unlocked (or started) between the failed first read and the
// watch subscribing sends no change: the source asks once, without
// prompting, right after subscribing, and connects.
func TestKeyringSourceUsableAtStart(t *testing.T) {
	t.Parallel()
	for name, first := range map[string]error{
		"locked":     &creds.Error{Op: "get", Kind: creds.ErrLocked},
		"no keyring": &creds.Error{Op: "get", Kind: creds.ErrUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := &keyringFixture{}
				f.usable.Store(true)
				startKeyringFixture(t, f, first, nil)
				got := []string{problemOf(<-f.out), problemOf(<-f.out)}
				want := []string{"keyring locked", "online"}
				if errors.Is(first, creds.ErrUnavailable) {
					want[0] = "no keyring"
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("events without any change (-want +got):\n%s", diff)
				}
				f.stop()
			})
		})
	}
}

// Unrelated keyring activity (another collection changing, an item
// stored elsewhere) is a change too; while the default collection is
// locked it must not lead to a read, which would pop an unlock prompt.
func TestKeyringSourceNeverReadsWhileLocked(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := startKeyringSource(t, &creds.Error{Op: "get", Kind: creds.ErrLocked}, nil)
		<-f.out
		for range 3 {
			f.changes <- struct{}{}
			synctest.Wait()
		}
		if n := f.opens.Load(); n != 0 {
			t.Fatalf("the key was read %d times while the keyring said it is locked", n)
		}
		if n := f.asked.Load(); n != 4 {
			t.Errorf("asked %d times whether the keyring is usable, want 4 (start + 3 changes)", n)
		}
		f.usable.Store(true)
		f.changes <- struct{}{}
		if got := problemOf(<-f.out); got != "online" {
			t.Errorf("after the unlock: %s, want online", got)
		}
		f.stop()
	})
}

// The problem is shown while the watch is still being set up (which may
// take a few seconds on a slow bus).
func TestKeyringSourceShowsTheProblemBeforeWatching(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &keyringFixture{watched: make(chan struct{})}
		startKeyringFixture(t, f, &creds.Error{Op: "get", Kind: creds.ErrLocked}, nil)
		synctest.Wait()
		select {
		case ev := <-f.out:
			if got := problemOf(ev); got != "keyring locked" {
				t.Errorf("first event: %s, want keyring locked", got)
			}
		default:
			t.Fatal("no state while the watch is being set up")
		}
		close(f.watched)
		f.stop()
	})
}

// Losing the bus ends the watching: the wording then says to restart.
func TestKeyringSourceLostBus(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := startKeyringSource(t, &creds.Error{Op: "get", Kind: creds.ErrUnavailable}, nil)
		<-f.out
		close(f.changes)
		if got := problemOf(<-f.out); got != "no keyring: restart" {
			t.Errorf("after the bus is lost: %s, want no keyring: restart", got)
		}
		if err := f.stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}
