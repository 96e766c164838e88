package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

// step is one scripted listen round trip.
type step struct {
	events []Event
	gap    time.Duration // before each event
	after  time.Duration // after the events, before the end
	hold   bool          // after that, hold the connection until ctx ends
	err    error         // then end with this error (nil: a normal end)
}

// script is a fake Listener that plays steps in order, then repeats the
// last one, and records every call.
type script struct {
	mu    sync.Mutex
	steps []step
	calls []call
}

type call struct {
	At    time.Duration // since the bubble's start
	Ver   Version
	Alias string
}

var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // synctest's start

func (s *script) Listen(ctx context.Context, ver Version, alias string) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		s.mu.Lock()
		s.calls = append(s.calls, call{At: time.Since(epoch), Ver: ver, Alias: alias})
		st := s.steps[0]
		if len(s.calls) > 100000 {
			// The Watcher spins: hold, so that virtual time can move on
			// and the test fail instead of hanging.
			st = step{hold: true}
		}
		if len(s.steps) > 1 {
			s.steps = s.steps[1:]
		}
		s.mu.Unlock()
		wait := func(d time.Duration) bool { // false: the request is gone
			if d > 0 {
				t := time.NewTimer(d)
				defer t.Stop()
				select {
				case <-t.C:
				case <-ctx.Done():
				}
			}
			return ctx.Err() == nil
		}
		for _, ev := range st.events {
			if !wait(st.gap) {
				yield(nil, ctx.Err())
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
		if !wait(st.after) {
			yield(nil, ctx.Err())
			return
		}
		if st.hold {
			<-ctx.Done()
			yield(nil, ctx.Err())
			return
		}
		if st.err != nil {
			yield(nil, st.err)
		}
	}
}

func (s *script) recorded() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.calls...)
}

// got is an event and when (in virtual time) it reached the consumer.
type got struct {
	At time.Duration
	Ev Event
}

// inBubble runs f as a parallel subtest inside a synctest bubble.
func inBubble(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, f)
	})
}

// watch runs w from version from for the virtual duration d, reading out
// as it goes, then cancels it. It checks that Run returns
// context.Canceled at once.
func watch(t *testing.T, w *Watcher, from Version, d time.Duration) []got {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := make(chan Event)
	var (
		mu   sync.Mutex
		evs  []got
		err  error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		err = w.Run(ctx, from, out)
	}()
	go func() {
		for {
			select {
			case ev := <-out:
				mu.Lock()
				evs = append(evs, got{At: time.Since(epoch), Ev: ev})
				mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	time.Sleep(d) // virtual time inside the bubble
	synctest.Wait()
	cancel()
	stopped := time.Now()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if lag := time.Since(stopped); lag != 0 {
		t.Errorf("Run took %v to return after cancel", lag)
	}
	synctest.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, g := range evs {
		if _, ok := g.Ev.(Skipped); ok {
			t.Errorf("Skipped reached the consumer at %v", g.At)
		}
	}
	return evs
}

// states keeps the StateChanged events (without Err, for comparison).
func states(evs []got) []got {
	var s []got
	for _, g := range evs {
		if sc, ok := g.Ev.(StateChanged); ok {
			sc.Err = nil
			s = append(s, got{At: g.At, Ev: sc})
		}
	}
	return s
}

func fixedRand(w *Watcher) *Watcher { w.rand = func() float64 { return 0.5 }; return w } // jitter factor exactly 1

var (
	errDrop = fmt.Errorf("exmail listen: %w", &netError{errors.New("connection reset by peer")})
	err503  = &Error{Op: "listen", HTTPStatus: 503}
)

func TestWatcherForwardsEventsAndCarriesTheVersion(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		mail := NewMail{User: "bob@x.com", MailID: "m1", Unread: 3}
		l := &script{steps: []step{
			{events: []Event{Ack{}, VersionChanged{Ver: "10"}, mail}, gap: time.Second, err: errDrop},
			{events: []Event{Ack{}, VersionChanged{Ver: "11"}}, after: time.Minute}, // ends normally
			{events: []Event{Ack{}}, hold: true},
		}}
		w := fixedRand(NewWatcher(l, WatchOptions{Alias: "bob@x.com", IdleTimeout: time.Hour}))
		evs := watch(t, w, "7", 10*time.Minute)

		want := []got{
			{0, StateChanged{State: StateConnecting}},
			{time.Second, StateChanged{State: StateOnline}},
			{2 * time.Second, VersionChanged{Ver: "10"}},
			{3 * time.Second, mail},
			{3 * time.Second, StateChanged{State: StateRetrying, RetryIn: time.Second}},
			{4 * time.Second, StateChanged{State: StateConnecting}},
			{4 * time.Second, StateChanged{State: StateOnline}},
			{4 * time.Second, VersionChanged{Ver: "11"}},
			// the normal end at 1m4s reconnects quietly: no state change
		}
		var gotEvs []got
		for _, g := range evs {
			if sc, ok := g.Ev.(StateChanged); ok {
				if sc.State == StateRetrying && !errors.Is(sc.Err, errDrop) {
					t.Errorf("Retrying with Err %v, want the drop", sc.Err)
				}
				sc.Err = nil
				g.Ev = sc
			}
			gotEvs = append(gotEvs, g)
		}
		checkDiff(t, "events", want, gotEvs)
		wantCalls := []call{
			{0, "7", "bob@x.com"},
			{4 * time.Second, "10", "bob@x.com"},
			{64 * time.Second, "11", "bob@x.com"},
		}
		checkDiff(t, "listen calls", wantCalls, l.recorded())
	})
}

func TestWatcherBackoffGrowsIsCappedAndResets(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fail := step{err: err503}
		steps := make([]step, 0, 12)
		for range 10 {
			steps = append(steps, fail)
		}
		// healthy for a minute, then dropped: the backoff starts over
		steps = append(steps, step{events: []Event{Ack{}}, after: time.Minute, err: errDrop}, fail)
		l := &script{steps: steps}
		w := fixedRand(NewWatcher(l, WatchOptions{IdleTimeout: time.Hour}))
		evs := watch(t, w, "", time.Hour)

		var waits []time.Duration
		for _, g := range evs {
			if sc, ok := g.Ev.(StateChanged); ok && sc.State == StateRetrying {
				waits = append(waits, sc.RetryIn)
				if !errors.Is(sc.Err, ErrUnavailable) && !errors.Is(sc.Err, errDrop) {
					t.Errorf("Err = %v", sc.Err)
				}
			}
		}
		s := time.Second
		want := []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 120 * s, 120 * s, 120 * s,
			1 * s, // after the healthy connection
			2 * s, 4 * s}
		if len(waits) < len(want) {
			t.Fatalf("waits = %v, want at least %v", waits, want)
		}
		checkDiff(t, "waits", want, waits[:len(want)])
		// and the calls really were that far apart
		calls := l.recorded()
		for i := 1; i < 10; i++ {
			if gap := calls[i].At - calls[i-1].At; gap != want[i-1] {
				t.Errorf("call %d came %v after the previous one, want %v", i, gap, want[i-1])
			}
		}
	})
}

func TestWatcherJitter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := &script{steps: []step{{err: err503}}}
		w := NewWatcher(l, WatchOptions{IdleTimeout: time.Hour}) // real randomness
		evs := watch(t, w, "", 6*time.Hour)
		base := time.Second
		seen := map[time.Duration]bool{}
		for _, g := range evs {
			sc, ok := g.Ev.(StateChanged)
			if !ok || sc.State != StateRetrying {
				continue
			}
			lo, hi := base*3/4, base*5/4
			if sc.RetryIn < lo || sc.RetryIn >= hi {
				t.Errorf("RetryIn %v outside [%v, %v)", sc.RetryIn, lo, hi)
			}
			seen[sc.RetryIn] = true
			base = min(2*base, DefaultMaxBackoff)
		}
		if len(seen) < 10 {
			t.Errorf("only %d distinct waits: no jitter?", len(seen))
		}
	})
}

// perMinute counts the calls in each virtual minute.
func perMinute(calls []call) map[int]int {
	m := map[int]int{}
	for _, c := range calls {
		m[int(c.At/time.Minute)]++
	}
	return m
}

func TestWatcherNeverSpins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		step    step
		maxCall int // per virtual minute
		// minLast10 is the least number of requests in the last ten
		// minutes of the run: however it backs off, the Watcher keeps
		// trying (at MaxBackoff, 2 min with jitter up to 2.5 min, that
		// is at least 4).
		minLast10 int
	}{
		// an instant, empty answer backs off up to MaxBackoff
		{name: "instant {\"Ret\":0}", step: step{events: []Event{Ack{}}}, maxCall: 7, minLast10: 4},
		{name: "instant empty body", step: step{}, maxCall: 7, minLast10: 4},
		{name: "instant error", step: step{err: err503}, maxCall: 7, minLast10: 4},
		// long poll with an event per request: reconnect at once, but at
		// most one request a second
		{name: "long poll, an event per answer", step: step{events: []Event{UnreadChanged{User: "a", Unread: 1}}}, maxCall: 60, minLast10: 600},
		{name: "long poll, another mailbox's event per answer", step: step{events: []Event{Skipped{}}}, maxCall: 60, minLast10: 600},
		// answered after 1.5 s with nothing: healthy, reconnect at once
		{name: "long poll timing out", step: step{events: []Event{Ack{}}, after: 1500 * time.Millisecond}, maxCall: 40, minLast10: 400},
	}
	for _, tt := range tests {
		inBubble(t, tt.name, func(t *testing.T) {
			l := &script{steps: []step{tt.step}}
			w := NewWatcher(l, WatchOptions{IdleTimeout: time.Hour})
			watch(t, w, "", 30*time.Minute)
			pm := perMinute(l.recorded())
			for minute, n := range pm {
				if n > tt.maxCall {
					t.Errorf("minute %d: %d requests, want at most %d", minute, n, tt.maxCall)
				}
			}
			last10 := 0
			for minute := 20; minute < 30; minute++ {
				last10 += pm[minute]
			}
			if last10 < tt.minLast10 {
				t.Errorf("last ten minutes: %d requests, want at least %d", last10, tt.minLast10)
			}
		})
	}
}

func TestWatcherWatchdog(t *testing.T) {
	t.Parallel()
	inBubble(t, "silent after the ack: quiet reconnect at exactly IdleTimeout", func(t *testing.T) {
		l := &script{steps: []step{{events: []Event{Ack{}, VersionChanged{Ver: "3"}}, hold: true}}}
		w := NewWatcher(l, WatchOptions{IdleTimeout: 2 * time.Minute})
		evs := watch(t, w, "1", 5*time.Minute)
		var at []time.Duration
		for _, c := range l.recorded() {
			at = append(at, c.At)
		}
		checkDiff(t, "calls", []time.Duration{0, 2 * time.Minute, 4 * time.Minute}, at)
		if v := l.recorded()[1].Ver; v != "3" {
			t.Errorf("reconnected with ver %q, want 3", v)
		}
		want := []got{{0, StateChanged{State: StateConnecting}}, {0, StateChanged{State: StateOnline}}}
		checkDiff(t, "states", want, states(evs))
	})
	inBubble(t, "silent from the start: a failure", func(t *testing.T) {
		l := &script{steps: []step{{hold: true}}}
		w := fixedRand(NewWatcher(l, WatchOptions{IdleTimeout: 2 * time.Minute}))
		evs := watch(t, w, "", 3*time.Minute)
		var stalled bool
		for _, g := range evs {
			if sc, ok := g.Ev.(StateChanged); ok && sc.State == StateRetrying {
				stalled = errors.Is(sc.Err, ErrStalled) && g.At == 2*time.Minute
			}
		}
		if !stalled {
			t.Errorf("no Retrying with ErrStalled at 2m: %v", evs)
		}
	})
	inBubble(t, "events keep it alive", func(t *testing.T) {
		evs := make([]Event, 30)
		for i := range evs {
			evs[i] = UnreadChanged{User: "a", Unread: i}
		}
		l := &script{steps: []step{{events: evs, gap: time.Minute, hold: true}}}
		w := NewWatcher(l, WatchOptions{IdleTimeout: 2 * time.Minute})
		watch(t, w, "", 30*time.Minute)
		if n := len(l.recorded()); n != 1 {
			t.Errorf("%d listen calls, want 1: an event a minute must keep a 2-minute watchdog quiet", n)
		}
	})
	inBubble(t, "other mailboxes' objects keep it alive", func(t *testing.T) {
		evs := make([]Event, 30)
		for i := range evs {
			evs[i] = Skipped{}
		}
		l := &script{steps: []step{{events: append([]Event{Ack{}}, evs...), gap: time.Minute, hold: true}}}
		w := NewWatcher(l, WatchOptions{IdleTimeout: 2 * time.Minute})
		seen := watch(t, w, "", 30*time.Minute)
		if n := len(l.recorded()); n != 1 {
			t.Errorf("%d listen calls, want 1", n)
		}
		checkDiff(t, "events", []got{{0, StateChanged{State: StateConnecting}}, {time.Minute, StateChanged{State: StateOnline}}}, seen)
	})
	inBubble(t, "a slow consumer is not a silent server", func(t *testing.T) {
		l := &script{steps: []step{{events: []Event{Ack{}, VersionChanged{Ver: "1"}, VersionChanged{Ver: "2"}}, hold: true}}}
		w := NewWatcher(l, WatchOptions{IdleTimeout: time.Minute})
		ctx, cancel := context.WithCancel(t.Context())
		out := make(chan Event)
		done := make(chan error)
		go func() { done <- w.Run(ctx, "", out) }()
		var got []Event
		for len(got) < 4 {
			time.Sleep(5 * time.Minute) // the consumer dawdles
			got = append(got, <-out)
		}
		cancel()
		<-done
		want := []Event{StateChanged{State: StateConnecting}, StateChanged{State: StateOnline}, VersionChanged{Ver: "1"}, VersionChanged{Ver: "2"}}
		checkDiff(t, "events", want, got)
		if n := len(l.recorded()); n != 1 {
			t.Errorf("%d listen calls, want 1", n)
		}
	})
}

func TestWatcherAuthFailedKickAndBlockedIP(t *testing.T) {
	t.Parallel()
	authErr := fmt.Errorf("%w (exmail token: HTTP 401)", ErrAuth)
	inBubble(t, "auth failures wait up to AuthMaxBackoff", func(t *testing.T) {
		l := &script{steps: []step{{err: authErr}}}
		w := fixedRand(NewWatcher(l, WatchOptions{IdleTimeout: time.Hour}))
		evs := watch(t, w, "", 6*time.Hour)
		var waits []time.Duration
		for _, g := range states(evs) {
			sc := g.Ev.(StateChanged)
			if sc.State == StateRetrying {
				t.Fatalf("Retrying for an auth failure")
			}
			if sc.State == StateAuthFailed {
				waits = append(waits, sc.RetryIn)
			}
		}
		if len(waits) < 14 || waits[7] != 128*time.Second || waits[12] != 30*time.Minute || waits[13] != 30*time.Minute {
			t.Errorf("waits = %v, want doubling from 1s past MaxBackoff up to 30m", waits)
		}
	})
	inBubble(t, "1200 after the ack is not an auth failure", func(t *testing.T) {
		l := &script{steps: []step{{events: []Event{Ack{}}, err: &Error{Op: "listen", HTTPStatus: 200, Code: 1200}}, {hold: true}}}
		w := NewWatcher(l, WatchOptions{IdleTimeout: time.Hour})
		for _, g := range states(watch(t, w, "", time.Minute)) {
			if g.Ev.(StateChanged).State == StateAuthFailed {
				t.Errorf("AuthFailed for a token that expired mid-stream")
			}
		}
	})
	inBubble(t, "Kick cuts the wait short", func(t *testing.T) {
		l := &script{steps: []step{{err: authErr}, {err: authErr}, {err: authErr}, {events: []Event{Ack{}}, hold: true}}}
		w := fixedRand(NewWatcher(l, WatchOptions{IdleTimeout: time.Hour}))
		ctx, cancel := context.WithCancel(t.Context())
		out := make(chan Event)
		done := make(chan error)
		go func() { done <- w.Run(ctx, "", out) }()
		var last StateChanged
		for last.State != StateAuthFailed || last.RetryIn != 4*time.Second {
			last, _ = (<-out).(StateChanged)
		}
		time.Sleep(time.Second) // the user fixes the key
		kicked := time.Now()
		w.Kick()
		for sc := (StateChanged{}); sc.State != StateOnline; {
			sc, _ = (<-out).(StateChanged)
		}
		if d := time.Since(kicked); d != 0 {
			t.Errorf("online %v after Kick, want at once", d)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	})
	inBubble(t, "IP not allowed waits BlockedWait", func(t *testing.T) {
		l := &script{steps: []step{{err: &Error{Op: "listen", HTTPStatus: 200, Code: CodeIPNotAllowed}}}}
		w := NewWatcher(l, WatchOptions{IdleTimeout: time.Hour})
		evs := watch(t, w, "", time.Hour)
		n := 0
		for _, g := range states(evs) {
			if sc := g.Ev.(StateChanged); sc.State == StateRetrying {
				n++
				if sc.RetryIn < DefaultBlockedWait*3/4 || sc.RetryIn >= DefaultBlockedWait*5/4 {
					t.Errorf("RetryIn = %v, want about %v", sc.RetryIn, DefaultBlockedWait)
				}
			}
		}
		if calls := len(l.recorded()); calls > 6 || n == 0 {
			t.Errorf("%d calls and %d waits in an hour with the IP blocked", calls, n)
		}
	})
}

func TestWatcherCancelIsPrompt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		step step
		read bool // whether the consumer reads out
	}{
		{name: "while connected", step: step{events: []Event{Ack{}}, hold: true}, read: true},
		{name: "while waiting to retry", step: step{err: err503}, read: true},
		{name: "while the consumer does not read", step: step{events: []Event{Ack{}, VersionChanged{Ver: "1"}}, hold: true}, read: false},
	}
	for _, tt := range tests {
		inBubble(t, tt.name, func(t *testing.T) {
			w := NewWatcher(&script{steps: []step{tt.step}}, WatchOptions{})
			ctx, cancel := context.WithCancel(t.Context())
			out := make(chan Event)
			done := make(chan error)
			go func() { done <- w.Run(ctx, "", out) }()
			if tt.read {
				go func() {
					for {
						select {
						case <-out:
						case <-ctx.Done():
							return
						}
					}
				}()
			}
			time.Sleep(30 * time.Second)
			synctest.Wait()
			cancel()
			start := time.Now()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("Run returned %v after cancel", d)
			}
			// synctest.Test fails if a goroutine of the Watcher is left.
		})
	}
}

func TestWatcherLogsNoMailContent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		l := &script{steps: []step{
			{events: []Event{
				Ack{Ret: 2},
				NewMail{User: "bob@x.com", MailID: "m1", Sender: "SENDER-X", Subject: "SUBJECT-X", Summary: "SUMMARY-X"},
				Unknown{Raw: []byte(`{"UserName":"bob@x.com","Title":"TITLE-X"}`)},
			}, err: errDrop},
			{hold: true},
		}}
		w := NewWatcher(l, WatchOptions{Logger: log, IdleTimeout: time.Hour})
		watch(t, w, "", time.Minute)
		logs := buf.String()
		for _, secret := range []string{"SENDER-X", "SUBJECT-X", "SUMMARY-X", "TITLE-X"} {
			if strings.Contains(logs, secret) {
				t.Errorf("the log contains %s:\n%s", secret, logs)
			}
		}
		for _, want := range []string{"connecting", "online", "retrying", "keys=UserName,Title", "ret=2"} {
			if !strings.Contains(logs, want) {
				t.Errorf("the log lacks %q:\n%s", want, logs)
			}
		}
		if n := strings.Count(logs, "level=INFO") + strings.Count(logs, "level=WARN"); n != 4 {
			t.Errorf("%d info/warn lines, want 4 (one per state change):\n%s", n, logs)
		}
	})
}

// --- the Watcher and the real Client against the fake server -----------

const (
	bob   = "bob@example.com"
	alice = "alice@example.com"
)

// fake starts exmailtest over an in-memory pipe (call it inside a
// synctest bubble) with bob and alice, and a Client for it.
func fake(t *testing.T, opts exmailtest.Options) (*exmailtest.Server, *Client) {
	t.Helper()
	srv := exmailtest.NewPipe(opts)
	t.Cleanup(srv.Close)
	for _, u := range []exmailtest.User{{Alias: bob, Name: "Bob"}, {Alias: alice, Name: "Alice"}} {
		if err := srv.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(Config{
		ClientID:         srv.ClientID(),
		ClientSecret:     Secret(srv.ClientSecret()),
		BaseURL:          srv.APIBase(),
		TokenURL:         srv.TokenURL(),
		InsecureTokenURL: true, // an in-memory transport: nothing crosses a network
		Transport:        srv.Transport(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// startOnline starts a Watcher with opts against fake and waits until it
// is online: listening, the Ack read.
func startOnline(t *testing.T, opts WatchOptions) (*exmailtest.Server, *running) {
	t.Helper()
	srv, c := fake(t, exmailtest.Options{})
	r := start(t, NewWatcher(c, opts), "")
	srv.WaitListeners(t.Context(), 1)
	synctest.Wait()
	return srv, r
}

// running is a Watcher at work whose events are being collected.
type running struct {
	mu     sync.Mutex
	evs    []got
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, w *Watcher, from Version) *running {
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	out := make(chan Event)
	go func() { r.done <- w.Run(ctx, from, out) }()
	go func() {
		for {
			select {
			case ev := <-out:
				r.mu.Lock()
				r.evs = append(r.evs, got{At: time.Since(epoch), Ev: ev})
				r.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	return r
}

// take returns the events collected so far (and forgets them).
func (r *running) take() []Event {
	synctest.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	var evs []Event
	for _, g := range r.evs {
		evs = append(evs, g.Ev)
	}
	r.evs = nil
	return evs
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// withoutStates drops StateChanged events; onlyStates keeps their State.
func withoutStates(evs []Event) []Event {
	var out []Event
	for _, ev := range evs {
		if _, ok := ev.(StateChanged); !ok {
			out = append(out, ev)
		}
	}
	return out
}

func stateList(evs []Event) []State {
	var out []State
	for _, ev := range evs {
		if sc, ok := ev.(StateChanged); ok {
			out = append(out, sc.State)
		}
	}
	return out
}

func TestWatcherFakeServerFramings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		framing exmailtest.Framing
	}{
		{"chunked stream", exmailtest.Framing{}},
		{"close-delimited stream", exmailtest.Framing{CloseDelimited: true}},
		{"long poll", exmailtest.Framing{Mode: exmailtest.LongPoll}},
		{"close-delimited long poll", exmailtest.Framing{Mode: exmailtest.LongPoll, CloseDelimited: true}},
		{"split at every byte", exmailtest.Framing{SplitEvery: 1}},
		{"coalesced with separators", exmailtest.Framing{Coalesce: true, Separator: " \r\n\t"}},
		{"PDF quirks, Ret before every push", exmailtest.Framing{PDFQuirks: true, RepeatRet: true, Separator: "\n"}},
		{"long poll split at 3 and 40", exmailtest.Framing{Mode: exmailtest.LongPoll, SplitAt: []int{3, 40}}},
	}
	for _, tt := range tests {
		inBubble(t, tt.name, func(t *testing.T) {
			srv, c := fake(t, exmailtest.Options{Framing: tt.framing, PollTimeout: 20 * time.Second})
			r := start(t, NewWatcher(c, WatchOptions{Alias: "BOB@example.com"}), "")
			ver := srv.Ver()
			srv.WaitListeners(t.Context(), 1)
			srv.SetBuffering(true) // for the gaps between long polls

			id := srv.Deliver(bob, exmailtest.Mail{Sender: `"Al" <al@example.com>`, Subject: "S", Summary: "Σ"})
			srv.Deliver(alice, exmailtest.Mail{Subject: "not for bob"})
			time.Sleep(2 * time.Second)
			srv.MarkRead(alice, 1)
			srv.MarkRead(bob, 1)
			time.Sleep(2 * time.Second)
			evs := r.take()
			r.stop(t)

			want := []Event{
				VersionChanged{Ver: Version(fmt.Sprint(ver))},
				NewMail{User: bob, MailID: id, Sender: `"Al" <al@example.com>`, Receiver: bob, Subject: "S", Summary: "Σ", Unread: 1},
				UnreadChanged{User: bob, Unread: 0},
			}
			checkDiff(t, "events for bob", want, withoutStates(evs))
			for _, ev := range evs {
				if sc, ok := ev.(StateChanged); ok && sc.State != StateConnecting && sc.State != StateOnline {
					t.Errorf("state %v (%v): want no failure", sc.State, sc.Err)
				}
			}
			for _, req := range srv.RequestsTo("listen") {
				if got := req.Form.Get("alias"); got != "BOB@example.com" || !req.Bearer {
					t.Errorf("listen request alias=%q bearer=%v", got, req.Bearer)
				}
			}
		})
	}
}

func TestWatcherFakeServerFaults(t *testing.T) {
	t.Parallel()

	inBubble(t, "dropped: reconnect with the latest Ver", func(t *testing.T) {
		srv, c := fake(t, exmailtest.Options{})
		r := start(t, NewWatcher(c, WatchOptions{Alias: bob}), "")
		srv.WaitListeners(t.Context(), 1)
		ver, _ := srv.BumpVer(alice)
		synctest.Wait()
		srv.DropListeners()
		time.Sleep(5 * time.Second)
		evs := r.take()
		r.stop(t)
		reqs := srv.RequestsTo("listen")
		if len(reqs) != 2 {
			t.Fatalf("%d listen requests, want 2", len(reqs))
		}
		if got, want := reqs[1].Form.Get("ver"), fmt.Sprint(ver); got != want {
			t.Errorf("reconnected with ver=%s, want %s", got, want)
		}
		if got := reqs[0].Form.Get("ver"); got != "0" {
			t.Errorf("first ver=%s, want 0", got)
		}
		want := []State{StateConnecting, StateOnline, StateRetrying, StateConnecting, StateOnline}
		checkDiff(t, "states", want, stateList(evs))
	})

	inBubble(t, "stall: the watchdog reconnects", func(t *testing.T) {
		srv, r := startOnline(t, WatchOptions{Alias: bob, IdleTimeout: time.Minute})
		srv.Stall(true)
		time.Sleep(time.Minute) // the open connection falls silent: quiet reconnect
		synctest.Wait()
		if n := len(srv.RequestsTo("listen")); n != 2 {
			t.Errorf("%d listen requests after a minute of silence, want 2", n)
		}
		time.Sleep(time.Minute) // the new request gets no header at all: a failure
		evs := r.take()
		checkDiff(t, "states", []State{StateConnecting, StateOnline, StateRetrying}, stateList(evs))
		if sc := evs[len(evs)-1].(StateChanged); !errors.Is(sc.Err, ErrStalled) {
			t.Errorf("Err = %v, want ErrStalled", sc.Err)
		}
		srv.Stall(false)
		time.Sleep(3 * time.Second)
		srv.Deliver(bob, exmailtest.Mail{Subject: "after the stall"})
		synctest.Wait()
		evs = r.take()
		r.stop(t)
		if len(evs) == 0 {
			t.Fatal("nothing after the stall ended")
		}
		if nm, ok := evs[len(evs)-1].(NewMail); !ok || nm.Subject != "after the stall" {
			t.Errorf("last event %#v, want the new mail", evs[len(evs)-1])
		}
	})

	inBubble(t, "garbage and oversized: reconnect, no event", func(t *testing.T) {
		srv, r := startOnline(t, WatchOptions{})
		r.take()
		for _, raw := range [][]byte{
			[]byte("<html>502 Bad Gateway</html>"),
			[]byte(`{"UserName":"bob@example.com","Subject":"` + strings.Repeat("x", MaxFrame) + `","MailId":"big"}`),
			[]byte(`{"UserName":"bob@example.com","NewCount":1]`),
		} {
			srv.SendRaw(raw)
			time.Sleep(5 * time.Second)
			evs := r.take()
			if diff := cmp.Diff([]State{StateRetrying, StateConnecting, StateOnline}, stateList(evs)); diff != "" {
				t.Errorf("%.20s: states (-want +got):\n%s", raw, diff)
			}
			for _, ev := range evs {
				switch ev := ev.(type) {
				case StateChanged:
					if ev.State == StateRetrying && !errors.Is(ev.Err, ErrBadStream) {
						t.Errorf("%.20s: Err = %v, want ErrBadStream", raw, ev.Err)
					}
				case NewMail, UnreadChanged, Unknown:
					t.Errorf("%.20s: event %T reached the consumer", raw, ev)
				}
			}
			srv.WaitListeners(t.Context(), 1)
		}
		r.stop(t)
	})

	inBubble(t, "IP not allowed: a long wait", func(t *testing.T) {
		srv, c := fake(t, exmailtest.Options{})
		srv.FailNext("listen", exmailtest.CodeIPNotAllowed, "", 1)
		r := start(t, NewWatcher(c, WatchOptions{IdleTimeout: time.Hour}), "")
		time.Sleep(time.Minute)
		evs := r.take()
		sc, _ := evs[1].(StateChanged)
		if sc.State != StateRetrying || !errors.Is(sc.Err, ErrIPNotAllowed) || sc.RetryIn < 10*time.Minute {
			t.Errorf("second event %#v, want Retrying with ErrIPNotAllowed for about 15m", evs[1])
		}
		if n := len(srv.RequestsTo("listen")); n != 1 {
			t.Errorf("%d listen requests in the first minute, want 1", n)
		}
		time.Sleep(20 * time.Minute)
		r.take()
		r.stop(t)
		if n := len(srv.RequestsTo("listen")); n != 2 {
			t.Errorf("%d listen requests after 21 minutes, want 2", n)
		}
	})

	inBubble(t, "5xx: backoff, then online", func(t *testing.T) {
		srv, c := fake(t, exmailtest.Options{})
		srv.FailNextHTTP("listen", 503, 3)
		w := fixedRand(NewWatcher(c, WatchOptions{}))
		r := start(t, w, "")
		time.Sleep(time.Minute)
		evs := r.take()
		r.stop(t)
		var waits []time.Duration
		for _, ev := range evs {
			if sc, ok := ev.(StateChanged); ok && sc.State == StateRetrying {
				waits = append(waits, sc.RetryIn)
				if !errors.Is(sc.Err, ErrUnavailable) {
					t.Errorf("Err = %v, want ErrUnavailable", sc.Err)
				}
			}
		}
		checkDiff(t, "waits", []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, waits)
		if s := stateList(evs); s[len(s)-1] != StateOnline {
			t.Errorf("states %v, want to end online", s)
		}
	})

	inBubble(t, "1200: a new token, no failure", func(t *testing.T) {
		srv, r := startOnline(t, WatchOptions{})
		srv.ExpireTokens()
		srv.DropListeners()
		time.Sleep(5 * time.Second)
		evs := r.take()
		r.stop(t)
		if n := len(srv.RequestsTo("cgi-bin/token")); n != 2 {
			t.Errorf("%d tokens issued, want 2", n)
		}
		want := []State{StateConnecting, StateOnline, StateRetrying, StateConnecting, StateOnline}
		checkDiff(t, "states", want, stateList(evs))
	})

	inBubble(t, "the token lifetime: a fresh token before it runs out", func(t *testing.T) {
		srv, c := fake(t, exmailtest.Options{TokenLifetime: time.Hour})
		r := start(t, NewWatcher(c, WatchOptions{Alias: bob, IdleTimeout: 3 * time.Hour}), "")
		time.Sleep(3 * time.Hour)
		evs := r.take()
		r.stop(t)
		if n := len(srv.RequestsTo("cgi-bin/token")); n != 4 {
			t.Errorf("%d tokens in 3 hours of 1-hour tokens, want 4", n)
		}
		checkDiff(t, "states", []State{StateConnecting, StateOnline}, stateList(evs))
	})

	inBubble(t, "bad credentials: auth failed", func(t *testing.T) {
		srv := exmailtest.NewPipe(exmailtest.Options{})
		t.Cleanup(srv.Close)
		c, err := New(Config{ClientID: "admin", ClientSecret: "wrong", BaseURL: srv.APIBase(), TokenURL: srv.TokenURL(), Transport: srv.Transport(), InsecureTokenURL: true})
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, NewWatcher(c, WatchOptions{}), "")
		time.Sleep(time.Second / 2)
		evs := r.take()
		r.stop(t)
		checkDiff(t, "states", []State{StateConnecting, StateAuthFailed}, stateList(evs))
		if sc := evs[1].(StateChanged); !IsAuth(sc.Err) || strings.Contains(sc.Err.Error(), "wrong") {
			t.Errorf("Err = %v: want IsAuth, without the secret", sc.Err)
		}
	})
}

// A Watcher for one mailbox, against the fake server: it connects,
// reports StateOnline, and passes on bob's new mail.
func ExampleWatcher() {
	srv := exmailtest.New(exmailtest.Options{})
	defer srv.Close()
	srv.AddUser(exmailtest.User{Alias: "bob@example.com", Name: "Bob"})
	c, err := New(Config{
		ClientID:     srv.ClientID(),
		ClientSecret: Secret(srv.ClientSecret()),
		BaseURL:      srv.APIBase(),
		TokenURL:     srv.TokenURL(),
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := NewWatcher(c, WatchOptions{Alias: "bob@example.com"})
	out := make(chan Event)
	go w.Run(ctx, "0", out) // returns ctx.Err() after cancel

	for ev := range out {
		switch ev := ev.(type) {
		case StateChanged:
			fmt.Println("state:", ev.State)
			if ev.State == StateOnline {
				srv.Deliver("bob@example.com", exmailtest.Mail{Subject: "Lunch?"})
			}
		case NewMail:
			fmt.Println(ev.User, ev.Subject, ev.Unread)
			return
		}
	}
	// Output:
	// state: connecting
	// state: online
	// bob@example.com Lunch? 1
}

func TestWatcherReconnect(t *testing.T) {
	t.Parallel()
	inBubble(t, "drops a connection that looks alive, goes through connecting, keeps the version", func(t *testing.T) {
		// After a suspend the old connection is dead but nothing says so:
		// it would only be noticed after IdleTimeout.
		l := &script{steps: []step{{events: []Event{Ack{}, VersionChanged{Ver: "7"}}, hold: true}}}
		w := NewWatcher(l, WatchOptions{IdleTimeout: time.Hour})
		go func() {
			time.Sleep(10 * time.Second)
			w.Reconnect() // the machine woke up
		}()
		evs := watch(t, w, "1", time.Minute)
		var at []time.Duration
		for _, c := range l.recorded() {
			at = append(at, c.At)
		}
		checkDiff(t, "listen calls at", []time.Duration{0, 10 * time.Second}, at)
		if v := l.recorded()[1].Ver; v != "7" {
			t.Errorf("reconnected with ver %q, want the latest, 7", v)
		}
		want := []got{
			{0, StateChanged{State: StateConnecting}}, {0, StateChanged{State: StateOnline}},
			{10 * time.Second, StateChanged{State: StateConnecting}}, {10 * time.Second, StateChanged{State: StateOnline}},
		}
		checkDiff(t, "states", want, states(evs))
	})
	inBubble(t, "cuts a backoff wait short", func(t *testing.T) {
		// Failures at 0, 10 s and 30 s; the next try would be at 70 s.
		l := &script{steps: []step{{err: err503}, {err: err503}, {err: err503}, {events: []Event{Ack{}}, hold: true}}}
		w := fixedRand(NewWatcher(l, WatchOptions{MinBackoff: 10 * time.Second, MaxBackoff: time.Hour}))
		go func() {
			time.Sleep(40 * time.Second)
			w.Reconnect() // the network came back
		}()
		watch(t, w, "", 2*time.Minute)
		var at []time.Duration
		for _, c := range l.recorded() {
			at = append(at, c.At)
		}
		checkDiff(t, "listen calls at", []time.Duration{0, 10 * time.Second, 30 * time.Second, 40 * time.Second}, at)
	})
}

// TestClassify is the Watcher's decision table: what each kind of ended
// attempt means, before any waiting or publishing.
func TestClassify(t *testing.T) {
	t.Parallel()
	o := WatchOptions{}.withDefaults()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	longAgo := now.Add(-stableAfter - time.Second) // online long enough to count as healthy
	justNow := now.Add(-time.Second)
	authErr := fmt.Errorf("token: %w", ErrAuth)
	tests := []struct {
		name string
		a    attempt
		want verdict
	}{
		{"a long poll that ended with an event: quiet, backoff reset",
			attempt{events: 1, online: justNow, duration: 3 * time.Second},
			verdict{kind: quiet, reset: true}},
		{"a reply with only other mailboxes' objects is not empty",
			attempt{others: 2, online: justNow, duration: time.Millisecond},
			verdict{kind: quiet, reset: true}},
		{"an instant empty reply is a failure, so it cannot spin",
			attempt{duration: time.Millisecond},
			verdict{kind: failed, err: ErrEmptyReply, next: StateRetrying, upTo: o.MaxBackoff}},
		{"an empty reply after a long wait is a normal end",
			attempt{duration: 2 * o.MinBackoff},
			verdict{kind: quiet, reset: true}},
		{"silence on an acknowledged connection: quiet",
			attempt{err: ErrStalled, online: justNow},
			verdict{kind: quiet, reset: true}},
		{"silence before any acknowledgement: a failure",
			attempt{err: ErrStalled},
			verdict{kind: failed, err: ErrStalled, next: StateRetrying, upTo: o.MaxBackoff}},
		{"Reconnect asked: at once, through connecting",
			attempt{err: errReconnect, online: justNow},
			verdict{kind: reconnect, reset: true}},
		{"a network error right after coming online keeps the backoff growing",
			attempt{err: io.ErrUnexpectedEOF, online: justNow},
			verdict{kind: failed, err: io.ErrUnexpectedEOF, next: StateRetrying, upTo: o.MaxBackoff}},
		{"a network error after a healthy connection starts the backoff afresh",
			attempt{err: io.ErrUnexpectedEOF, online: longAgo},
			verdict{kind: failed, err: io.ErrUnexpectedEOF, next: StateRetrying, reset: true, upTo: o.MaxBackoff}},
		{"rejected credentials: auth failed, the longer cap",
			attempt{err: authErr},
			verdict{kind: failed, err: authErr, next: StateAuthFailed, upTo: o.AuthMaxBackoff}},
		{"rejected credentials on a connection that was online: an ordinary retry",
			attempt{err: authErr, online: justNow},
			verdict{kind: failed, err: authErr, next: StateRetrying, upTo: o.MaxBackoff}},
		{"the IP is not on the allow list: the fixed wait",
			attempt{err: ErrIPNotAllowed},
			verdict{kind: failed, err: ErrIPNotAllowed, next: StateRetrying, upTo: o.MaxBackoff, fixed: o.BlockedWait}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := classify(tt.a, now, o)
			if got.kind != tt.want.kind || got.next != tt.want.next || got.reset != tt.want.reset ||
				got.upTo != tt.want.upTo || got.fixed != tt.want.fixed || !errors.Is(got.err, tt.want.err) {
				t.Errorf("classify = %+v\nwant       %+v", got, tt.want)
			}
		})
	}
}
