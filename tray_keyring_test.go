package main

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
	out     chan api.Event
	opens   atomic.Int32
	done    chan error
}

func startKeyringSource(t *testing.T, ctx context.Context, first error, watchErr error, reads ...error) *keyringFixture {
	t.Helper()
	f := &keyringFixture{changes: make(chan struct{}, 1), out: make(chan api.Event, 16), done: make(chan error, 1)}
	f.k = &keyringSource{
		first: first,
		watch: func(context.Context) (<-chan struct{}, error) {
			if watchErr != nil {
				return nil, watchErr
			}
			return f.changes, nil
		},
		open: func(context.Context) (keyedSession, error) {
			n := int(f.opens.Add(1))
			if n <= len(reads) {
				return keyedSession{}, reads[n-1]
			}
			return keyedSession{source: fakeSession{}, counter: fakeSession{}, linker: fakeSession{}}, nil
		},
		log: slog.New(slog.DiscardHandler),
	}
	go func() { f.done <- f.k.Run(ctx, f.out) }()
	return f
}

// problem is what the app would show for ev.
func problemOf(ev api.Event) string {
	sc, ok := ev.(api.StateChanged)
	switch {
	case !ok:
		return fmt.Sprintf("%T", ev)
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
			[]error{&noKeyError{agent: "admin"}}, []string{"no keyring", "no key: run login", "online"}},
		{"a change that did not unlock it", locked, []error{locked}, []string{"keyring locked", "keyring locked", "online"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				f := startKeyringSource(t, ctx, tt.first, nil, tt.reads...)
				var got []string
				got = append(got, problemOf(<-f.out))

				// Before the key is read: nothing is read without a
				// change, and the mailbox cannot be used.
				synctest.Wait()
				if n := f.opens.Load(); n != 0 {
					t.Fatalf("the key was read %d times before any change", n)
				}
				if _, err := f.k.NewCount(ctx, "bob@example.com"); !errors.Is(err, errNoKeyYet) {
					t.Errorf("NewCount before the key: err = %v, want errNoKeyYet", err)
				}
				if _, err := f.k.LoginURL(ctx, "bob@example.com", ""); !errors.Is(err, errNoKeyYet) {
					t.Errorf("LoginURL before the key: err = %v, want errNoKeyYet", err)
				}

				for range len(tt.reads) + 1 {
					f.changes <- struct{}{}
					got = append(got, problemOf(<-f.out))
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				if n, err := f.k.NewCount(ctx, "bob@example.com"); n != 7 || err != nil {
					t.Errorf("NewCount once connected = %d, %v; want 7, nil", n, err)
				}
				if u, err := f.k.LoginURL(ctx, "bob@example.com", "m1"); u != "https://mail.example.com/sso#m1" || err != nil {
					t.Errorf("LoginURL once connected = %v; want the session's URL", err)
				}
				cancel()
				if err := <-f.done; !errors.Is(err, context.Canceled) {
					t.Errorf("Run = %v, want context.Canceled", err)
				}
			})
		})
	}
}

func TestKeyringSourceWithoutWatching(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		f := startKeyringSource(t, ctx, &creds.Error{Kind: creds.ErrLocked}, creds.ErrCannotWatch)
		if got := problemOf(<-f.out); got != "keyring locked" {
			t.Fatalf("first event: %s, want keyring locked", got)
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
		cancel()
		if err := <-f.done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}

func TestKeyringSourceStopsOnOtherErrors(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		broken := errors.New("config: bad api_url")
		f := startKeyringSource(t, t.Context(), &creds.Error{Kind: creds.ErrLocked}, nil, broken)
		<-f.out
		f.changes <- struct{}{}
		if err := <-f.done; !errors.Is(err, broken) {
			t.Errorf("Run = %v, want the config error", err)
		}
	})
}
