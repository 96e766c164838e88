package poll

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// counter answers from a script of counts and errors, one per call; the
// last entry repeats.
type counter struct {
	mu     sync.Mutex
	script []any // int or error
	calls  int
}

func (c *counter) NewCount(ctx context.Context, alias string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.script[min(c.calls, len(c.script)-1)]
	c.calls++
	if err, ok := v.(error); ok {
		return 0, err
	}
	return v.(int), nil
}

// describe turns events into short strings for comparison.
func describe(ev api.Event) string {
	switch ev := ev.(type) {
	case api.StateChanged:
		if ev.Err != nil {
			return fmt.Sprintf("%s after %v", ev.State, ev.Err)
		}
		return ev.State.String()
	case api.UnreadChanged:
		return fmt.Sprintf("%s: %d unread", ev.User, ev.Unread)
	}
	return fmt.Sprintf("%T", ev)
}

// collect runs s for d of virtual time and returns what it sent.
func collect(t *testing.T, s *Source, d time.Duration) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := make(chan api.Event)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	var got []string
	deadline := time.After(d)
	for {
		select {
		case ev := <-out:
			got = append(got, describe(ev))
		case <-deadline:
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
			return got
		}
	}
}

func TestSourceReportsCountsLikeAListenConnection(t *testing.T) {
	tests := []struct {
		name   string
		script []any
		run    time.Duration
		want   []string
	}{
		{"a count, then the same count: said once", []any{3, 3, 3}, 150 * time.Second,
			[]string{"connecting", "online", "bob@example.com: 3 unread"}},
		{"a rise is an unread event", []any{3, 5}, 90 * time.Second,
			[]string{"connecting", "online", "bob@example.com: 3 unread", "bob@example.com: 5 unread"}},
		{"a failure, then it comes back", []any{api.ErrUnavailable, 2}, 2 * time.Minute,
			[]string{"connecting", "retrying after " + api.ErrUnavailable.Error(), "online", "bob@example.com: 2 unread"}},
		{"refused credentials are auth-failed", []any{fmt.Errorf("gettoken: %w", api.ErrAuth)}, 30 * time.Second,
			[]string{"connecting", "auth-failed after gettoken: " + api.ErrAuth.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(&counter{script: tt.script}, "bob@example.com", Options{})
				if diff := cmp.Diff(tt.want, collect(t, s, tt.run)); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// The interval: every minute while in use, every five while Slow says
// idle; failures back off from a minute, doubling, up to ten.
func TestSourcePacesItsRequests(t *testing.T) {
	tests := []struct {
		name     string
		script   []any
		slow     bool
		run      time.Duration
		min, max int // calls
	}{
		{"in use: about one a minute", []any{1}, false, 10*time.Minute + time.Second, 9, 14},
		{"idle or on battery: about one in five minutes", []any{1}, true, 30*time.Minute + time.Second, 5, 9},
		{"failing: backs off to ten minutes", []any{api.ErrUnavailable}, false, 60 * time.Minute, 6, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := &counter{script: tt.script}
				s := New(c, "bob@example.com", Options{Slow: func() bool { return tt.slow }})
				collect(t, s, tt.run)
				if c.calls < tt.min || c.calls > tt.max {
					t.Errorf("%d calls in %v, want %d to %d", c.calls, tt.run, tt.min, tt.max)
				}
			})
		})
	}
}

// After the machine wakes, Reconnect counts at once instead of waiting out
// the interval.
func TestReconnectCountsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counter{script: []any{1, 4}}
		s := New(c, "bob@example.com", Options{})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		out := make(chan api.Event, 10)
		go s.Run(ctx, out)
		synctest.Wait()
		s.Reconnect()
		synctest.Wait()
		var got []string
		for len(out) > 0 {
			got = append(got, describe(<-out))
		}
		want := []string{"connecting", "online", "bob@example.com: 1 unread", "bob@example.com: 4 unread"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}
