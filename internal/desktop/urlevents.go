package desktop

import (
	"context"
	"log/slog"
	"sync"
)

// Links clicked on macOS. Linux (the .desktop file's MimeType) and Windows
// (the MSI's URL Protocol key) start "exmail-notifier <url>", so a link
// arrives in argv. macOS never puts it in argv: LaunchServices starts the
// .app (or finds it running) and sends the URL as a Get URL Apple event
// (kInternetEventClass/kAEGetURL) to the app's run loop, which
// fyne.io/systray owns. OpenURLEvents is how the tray hears those.

const (
	// urlQueueLen is how many links may wait while the handler is busy
	// with one. A person clicks a link once or twice; more than this at
	// once is noise, and is dropped rather than queued without bound.
	urlQueueLen = 4
	// maxURLLen drops anything longer than any link the relay writes
	// (an enrollment link is about 100 bytes) before it is copied.
	maxURLLen = 8 << 10
)

// OpenURLEvents hands each URL that the platform sends the running app
// (on macOS: a Get URL Apple event, for the schemes the .app's Info.plist
// names in CFBundleURLTypes: exmail-notifier://) to handle, until stop is
// called or ctx ends. Elsewhere links come in argv and it does nothing: it
// returns a no-op stop and starts no goroutine.
//
// The URL is a secret (an enrollment link carries a one-time code): it is
// never logged here, and handle must not log it either.
//
// handle runs on one goroutine of OpenURLEvents' own, one URL at a time,
// in the order they came; it may block (to ask the person at the
// computer), never the app's main thread, which only queues the URL. While
// it runs, up to 4 more URLs wait; any beyond that are dropped, and a
// warning (without the URL) says so.
//
// stop is idempotent and returns at once: URLs still queued are dropped;
// a call to handle already under way (or starting at that instant) runs to
// its end. The
// platform's handler itself stays installed for the life of the process
// (it is one per process, and drops what nobody listens for).
//
// On macOS, call it on the main goroutine before the tray's run loop
// starts (before tray.Run, so before systray.Run): it installs the handler
// at once and again when the app is about to finish launching, which is
// what catches the click that launched the app. See urlevents_darwin.go.
func OpenURLEvents(ctx context.Context, log *slog.Logger, handle func(url string)) (stop func()) {
	if !urlEventsSupported {
		return func() {}
	}
	return appleURLs.open(ctx, log, handle, installURLHandler)
}

// appleURLs is the one router that the platform's handler feeds (a C
// callback has no other way to find its Go side). Tests use routers of
// their own.
var appleURLs urlRouter

// urlRouter hands URLs from the platform's callback to the current
// subscribers without ever blocking the callback (it runs on the main
// thread).
type urlRouter struct {
	mu   sync.Mutex
	subs map[*urlSub]struct{} // guarded by mu
}

type urlSub struct {
	q    chan string // capacity urlQueueLen
	done chan struct{}
	log  *slog.Logger
}

// open is OpenURLEvents on r; install is called once the subscription
// exists, so that nothing the platform sends after it is lost.
func (r *urlRouter) open(ctx context.Context, log *slog.Logger, handle func(string), install func()) (stop func()) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &urlSub{q: make(chan string, urlQueueLen), done: make(chan struct{}), log: log}
	r.mu.Lock()
	if r.subs == nil {
		r.subs = make(map[*urlSub]struct{})
	}
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	install()

	var once sync.Once
	stop = func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.subs, s)
			r.mu.Unlock()
			close(s.done)
		})
	}
	unhook := context.AfterFunc(ctx, stop)
	go func() {
		defer unhook()
		for {
			select {
			case <-s.done:
				return
			case u := <-s.q:
				// Both may be ready at once; stop wins.
				select {
				case <-s.done:
					return
				default:
				}
				handle(u)
			}
		}
	}()
	return stop
}

// deliver queues url for every subscriber and reports how many took it.
// It never blocks: a full queue drops the URL (with a warning that does
// not name it), and so does a URL longer than maxURLLen.
func (r *urlRouter) deliver(url string) int {
	if len(url) > maxURLLen {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for s := range r.subs {
		select {
		case s.q <- url:
			n++
		default:
			s.log.Warn("dropped a link the system sent: too many are waiting", "waiting", urlQueueLen)
		}
	}
	return n
}
