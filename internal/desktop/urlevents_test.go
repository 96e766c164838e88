package desktop

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
)

const secretLink = "exmail-notifier://enroll?relay=https%3A%2F%2Frelay.example&code=ONE-TIME-7Q4K"

// The darwin callback feeds a urlRouter; this is everything it does short
// of the Apple event itself.
func TestURLRouter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"installs only after subscribing, and delivers in order", func(t *testing.T) {
			var r urlRouter
			got := make(chan string, 8)
			installed := false
			stop := r.open(t.Context(), nil, func(u string) { got <- u }, func() {
				installed = true
				// Whatever the platform sends from here on has a subscriber.
				if n := r.deliver("exmail-notifier://first"); n != 1 {
					t.Errorf("a URL sent during install reached %d subscribers, want 1", n)
				}
			})
			defer stop()
			if !installed {
				t.Fatal("install was not called")
			}
			r.deliver("exmail-notifier://second")
			for _, want := range []string{"exmail-notifier://first", "exmail-notifier://second"} {
				if u := <-got; u != want {
					t.Errorf("got %q, want %q", u, want)
				}
			}
		}},
		{"a busy handler: the queue is bounded, the rest dropped without the URL", func(t *testing.T) {
			var r urlRouter
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			release := make(chan struct{})
			entered := make(chan struct{}, 1)
			var mu sync.Mutex
			var handled []string
			stop := r.open(t.Context(), log, func(u string) {
				mu.Lock()
				handled = append(handled, u)
				mu.Unlock()
				entered <- struct{}{}
				<-release
			}, func() {})
			defer stop()
			r.deliver("exmail-notifier://busy")
			<-entered // the handler holds the first URL; the queue is empty
			for i := range urlQueueLen {
				if n := r.deliver(secretLink); n != 1 {
					t.Fatalf("URL %d while busy: taken by %d, want 1 (the queue holds %d)", i, n, urlQueueLen)
				}
			}
			if n := r.deliver(secretLink); n != 0 {
				t.Fatalf("a URL beyond the queue was taken by %d subscribers; want it dropped", n)
			}
			if !strings.Contains(logs.String(), "dropped a link") {
				t.Errorf("no warning for the dropped URL; log: %q", logs.String())
			}
			if strings.Contains(logs.String(), "ONE-TIME") || strings.Contains(logs.String(), "enroll") {
				t.Errorf("the log names the link: %q", logs.String())
			}
			close(release)
			for range urlQueueLen {
				<-entered
			}
			mu.Lock()
			defer mu.Unlock()
			if len(handled) != 1+urlQueueLen {
				t.Errorf("handled %d URLs, want %d", len(handled), 1+urlQueueLen)
			}
		}},
		{"too long: dropped before it is queued", func(t *testing.T) {
			var r urlRouter
			stop := r.open(t.Context(), nil, func(string) { t.Error("handler called for an oversized URL") }, func() {})
			defer stop()
			if n := r.deliver("exmail-notifier://" + strings.Repeat("a", maxURLLen)); n != 0 {
				t.Errorf("an oversized URL reached %d subscribers", n)
			}
		}},
		{"every subscriber gets each URL", func(t *testing.T) {
			var r urlRouter
			a, b := make(chan string, 1), make(chan string, 1)
			stopA := r.open(t.Context(), nil, func(u string) { a <- u }, func() {})
			defer stopA()
			stopB := r.open(t.Context(), nil, func(u string) { b <- u }, func() {})
			defer stopB()
			if n := r.deliver("exmail-notifier://x"); n != 2 {
				t.Fatalf("reached %d subscribers, want 2", n)
			}
			if <-a != "exmail-notifier://x" || <-b != "exmail-notifier://x" {
				t.Error("a subscriber got another URL")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t)
		})
	}
}

func TestURLRouterStop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		stop func(cancel context.CancelFunc, stop func())
	}{
		{"stop", func(_ context.CancelFunc, stop func()) { stop() }},
		{"ctx ends", func(cancel context.CancelFunc, _ func()) { cancel() }},
		{"stop twice, then ctx ends", func(cancel context.CancelFunc, stop func()) { stop(); stop(); cancel() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var r urlRouter
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				called := 0
				stop := r.open(ctx, nil, func(string) { called++ }, func() {})
				tc.stop(cancel, stop)
				// Every goroutine of the bubble has ended or is durably
				// blocked: the delivering goroutine must be gone, or the
				// bubble's end reports it.
				synctest.Wait()
				if n := r.deliver(secretLink); n != 0 {
					t.Errorf("after stop, a URL reached %d subscribers", n)
				}
				synctest.Wait()
				if called != 0 {
					t.Errorf("handler called %d times after stop", called)
				}
				r.mu.Lock()
				defer r.mu.Unlock()
				if len(r.subs) != 0 {
					t.Errorf("%d subscribers left after stop", len(r.subs))
				}
			})
		})
	}
}

// OpenURLEvents off macOS: links come in argv, so nothing is set up.
func TestOpenURLEventsElsewhereIsANoOp(t *testing.T) {
	t.Parallel()
	if urlEventsSupported {
		t.Skip("this platform sends URL events")
	}
	stop := OpenURLEvents(t.Context(), nil, func(string) { t.Error("handler called") })
	stop()
	stop()
	appleURLs.mu.Lock()
	defer appleURLs.mu.Unlock()
	if len(appleURLs.subs) != 0 {
		t.Error("OpenURLEvents subscribed where there are no URL events")
	}
}
