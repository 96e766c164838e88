package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeBackend records toasts. Its show can be made to hang (ignoring ctx,
// as beeep does) or to fail.
type fakeBackend struct {
	clicked func(key string) // set by newTestNotifier

	mu     sync.Mutex
	shown  []toast
	calls  int
	hang   chan struct{} // if non-nil, show waits for it to close, ignoring ctx
	honour bool          // if set, show waits for ctx like the D-Bus backend
	errs   []error       // returned by successive calls; nil when exhausted
	info   ServerInfo    // for probe
	perr   error         // for probe
	phang  chan struct{} // if non-nil, probe waits for it, ignoring ctx
	closed bool
	starts []time.Time       // when each show started
	ends   map[int]time.Time // when show i gave up on its ctx
	active int               // shows running right now
	maxAct int               // the most shows ever running at once
}

func (f *fakeBackend) show(ctx context.Context, t toast) error {
	f.mu.Lock()
	i := f.calls
	f.calls++
	f.active++
	f.maxAct = max(f.maxAct, f.active)
	f.starts = append(f.starts, time.Now())
	hang, honour := f.hang, f.honour
	var err error
	if i < len(f.errs) {
		err = f.errs[i]
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()

	if hang != nil {
		<-hang
	}
	if honour {
		<-ctx.Done()
		f.mu.Lock()
		if f.ends == nil {
			f.ends = map[int]time.Time{}
		}
		f.ends[i] = time.Now()
		f.mu.Unlock()
		return &Error{Op: "toast", Backend: "fake", Kind: ErrTimeout, Err: ctx.Err()}
	}
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.shown = append(f.shown, t)
	f.mu.Unlock()
	return nil
}

func (f *fakeBackend) probe(ctx context.Context) (ServerInfo, error) {
	if f.phang != nil {
		<-f.phang
	}
	return f.info, f.perr
}

func (f *fakeBackend) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

func (f *fakeBackend) titles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, t := range f.shown {
		out = append(out, t.title)
	}
	return out
}

// logRecorder is a slog.Handler that keeps "LEVEL message k=v…" lines.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Level.String() + " " + rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}

// find returns the lines that start with level and contain every part.
func (r *logRecorder) find(level slog.Level, parts ...string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
next:
	for _, l := range r.lines {
		if !strings.HasPrefix(l, level.String()+" ") {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

const testTimeout = 5 * time.Second

// failsafe bounds waits for things that normally happen within
// milliseconds; the tests never sleep.
const failsafe = 10 * time.Second

func newTestNotifier(t *testing.T, f *fakeBackend, opts Options) (*Notifier, *logRecorder) {
	t.Helper()
	rec := &logRecorder{}
	opts.Logger = slog.New(rec)
	if opts.Timeout == 0 {
		opts.Timeout = testTimeout
	}
	n := newNotifier(opts, func(clicked func(string), _ *slog.Logger) backend {
		f.clicked = clicked
		return f
	})
	return n, rec
}

// newFakeNotifier is newTestNotifier with a plain fakeBackend.
func newFakeNotifier(t *testing.T, opts Options) (*fakeBackend, *Notifier, *logRecorder) {
	t.Helper()
	f := &fakeBackend{}
	n, rec := newTestNotifier(t, f, opts)
	return f, n, rec
}

// startFake is newFakeNotifier, running: stop as from run.
func startFake(t *testing.T, opts Options) (f *fakeBackend, n *Notifier, stop func()) {
	t.Helper()
	f, n, _ = newFakeNotifier(t, opts)
	return f, n, run(t, n)
}

// run starts n.Run and returns a function that stops it and checks that
// it returned nil.
func run(t *testing.T, n *Notifier) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	}
}

func TestToast_QueueIsBoundedAndDropsTheOldest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f, n, logs := newFakeNotifier(t, Options{})
		const sent = queueSize + 4
		for i := range sent {
			n.Toast(fmt.Sprintf("t%02d", i), "body", "")
		}
		if got := len(n.queue); got != queueSize {
			t.Errorf("queue length = %d, want %d", got, queueSize)
		}
		stop := run(t, n)
		synctest.Wait()
		stop()

		var want []string
		for i := sent - queueSize; i < sent; i++ {
			want = append(want, fmt.Sprintf("t%02d", i))
		}
		if diff := cmp.Diff(want, f.titles()); diff != "" {
			t.Errorf("shown toasts mismatch (-want +got):\n%s", diff)
		}
		if got := logs.find(slog.LevelWarn, "toast queue full", "dropped_total=1"); len(got) != 1 {
			t.Errorf("want one warning for the first drop, got %q\nall logs:\n%s", got, logs)
		}
		if got := logs.find(slog.LevelDebug, "toast queue full", "dropped_total=4"); len(got) != 1 {
			t.Errorf("want a counted debug line for the 4th drop, got %q", got)
		}
		if !f.closed {
			t.Error("Run returned without closing the backend")
		}
	})
}

func TestToast_NeverBlocksWhileTheBackendHangs(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeBackend{hang: make(chan struct{})}
		n, logs := newTestNotifier(t, f, Options{})
		stop := run(t, n)

		n.Toast("first", "", "")
		synctest.Wait() // the worker is now stuck in show

		// 100 toasts while the call hangs. If Toast blocked, the bubble
		// would deadlock and synctest would fail the test.
		for i := range 100 {
			n.Toast(fmt.Sprintf("t%02d", i), "", "")
		}
		time.Sleep(testTimeout + hangGrace)
		synctest.Wait()

		f.mu.Lock()
		calls, maxAct := f.calls, f.maxAct
		f.mu.Unlock()
		if calls != 1 || maxAct != 1 {
			t.Errorf("while hung: %d calls started, %d at once; want 1 and 1", calls, maxAct)
		}
		if got := logs.find(slog.LevelWarn, "desktop notification failed", ErrTimeout.Error()); len(got) != 1 {
			t.Errorf("want one timeout warning, got %q\nall logs:\n%s", got, logs)
		}

		// The service answers again: the first toast completes, the backlog
		// (the newest queueSize toasts) collapses to the newest one.
		close(f.hang)
		synctest.Wait()
		stop()

		if diff := cmp.Diff([]string{"first", "t99"}, f.titles()); diff != "" {
			t.Errorf("shown toasts mismatch (-want +got):\n%s", diff)
		}
		if got := logs.find(slog.LevelWarn, "showing only the newest", fmt.Sprintf("dropped=%d", queueSize-1)); len(got) != 1 {
			t.Errorf("want one coalescing line, got %q\nall logs:\n%s", got, logs)
		}
		if got := logs.find(slog.LevelInfo, "work again"); len(got) != 1 {
			t.Errorf("want one recovery line, got %q", got)
		}
	})
}

func TestRun_TimeoutOfABackendThatHonoursCtx(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeBackend{honour: true}
		n, logs := newTestNotifier(t, f, Options{Timeout: 2 * time.Second})
		stop := run(t, n)
		for i := range 3 {
			n.Toast(fmt.Sprintf("t%d", i), "", "")
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		stop()

		f.mu.Lock()
		defer f.mu.Unlock()
		if f.calls < 2 {
			t.Fatalf("%d calls, want at least 2", f.calls)
		}
		for i := range f.calls {
			if end, ok := f.ends[i]; !ok || end.Sub(f.starts[i]) != 2*time.Second {
				t.Errorf("call %d: ctx ended after %v, want the 2s Timeout", i, end.Sub(f.starts[i]))
			}
		}
		if got := logs.find(slog.LevelWarn, "desktop notification failed", ErrTimeout.Error()); len(got) != 1 {
			t.Errorf("want exactly one timeout warning for repeated timeouts, got %q\nall logs:\n%s", got, logs)
		}
	})
}

func TestRun_LogsEachDistinctErrorOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		errA := &Error{Op: "toast", Backend: "fake", Kind: ErrNoServer}
		errB := &Error{Op: "toast", Backend: "fake", Err: errors.New("something else")}
		f := &fakeBackend{errs: []error{errA, errA, errB, errA, nil, errA}}
		n, logs := newTestNotifier(t, f, Options{})
		stop := run(t, n)
		for i := range 6 {
			n.Toast(fmt.Sprint(i), "", "")
			synctest.Wait()
		}
		stop()

		var warned []string
		for _, l := range logs.find(slog.LevelWarn) {
			warned = append(warned, strings.TrimPrefix(l, "WARN desktop notification failed err="))
		}
		want := []string{errA.Error(), errB.Error(), errA.Error()} // errA again after the success in between
		if diff := cmp.Diff(want, warned); diff != "" {
			t.Errorf("warnings mismatch (-want +got):\n%s\nall logs:\n%s", diff, logs)
		}
		if got := logs.find(slog.LevelInfo, "work again"); len(got) != 1 {
			t.Errorf("want one recovery line, got %q", got)
		}
		if got := logs.find(slog.LevelDebug, "failed again"); len(got) != 2 {
			t.Errorf("want the 2 repeats at debug level, got %q", got)
		}
	})
}

func TestRun_ClickCallsOnClickWithTheKey(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var got []string // touched only by OnClick, which runs on Run's goroutine
		f, n, _ := newFakeNotifier(t, Options{OnClick: func(key string) { got = append(got, key) }})

		f.clicked("before-run") // buffered until the worker runs
		stop := run(t, n)
		f.clicked("mail-1")
		f.clicked("") // toasts without a key are not clickable
		f.clicked("mail-2")
		synctest.Wait()
		stop()

		if diff := cmp.Diff([]string{"before-run", "mail-1", "mail-2"}, got); diff != "" {
			t.Errorf("OnClick keys mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestRun_ClicksWithoutOnClickAreIgnored(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f, n, stop := startFake(t, Options{})
		f.clicked("mail-1")
		n.Toast("after the click", "", "")
		synctest.Wait()
		stop()
		if diff := cmp.Diff([]string{"after the click"}, f.titles()); diff != "" {
			t.Errorf("worker stopped after a click without OnClick (-want +got):\n%s", diff)
		}
	})
}

func TestRun_SecondCallFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, n, stop := startFake(t, Options{})
		synctest.Wait()
		if err := n.Run(t.Context()); !errors.Is(err, ErrRunning) {
			t.Errorf("second Run() = %v, want ErrRunning", err)
		}
		stop()
	})
}

func TestToast_CapsTitleAndBody(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f, n, stop := startFake(t, Options{})
		n.Toast(strings.Repeat("标", 300), strings.Repeat("😀", 900), "k")
		synctest.Wait()
		stop()

		want := toast{title: strings.Repeat("标", maxTitle-1) + "…", body: strings.Repeat("😀", maxBody-1) + "…", key: "k"}
		if diff := cmp.Diff([]toast{want}, f.shown, cmp.AllowUnexported(toast{})); diff != "" {
			t.Errorf("capped toast mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestProbe(t *testing.T) {
	t.Parallel()
	info := ServerInfo{Name: "dunst", Vendor: "knopwob", Version: "1.9.0", Spec: "1.2", Actions: true, Backend: "dbus"}
	noServer := &Error{Op: "probe", Backend: "dbus", Kind: ErrNoServer}
	tests := []struct {
		name     string
		f        *fakeBackend
		want     ServerInfo
		wantKind error
	}{
		{name: "server", f: &fakeBackend{info: info}, want: info},
		{name: "no server", f: &fakeBackend{perr: noServer}, wantKind: ErrNoServer},
		{name: "backend timeout", f: &fakeBackend{perr: fmt.Errorf("call: %w", context.DeadlineExceeded)}, wantKind: ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, _ := newTestNotifier(t, tt.f, Options{})
			got, err := n.Probe(t.Context())
			if tt.wantKind == nil && err != nil {
				t.Fatalf("Probe() error = %v", err)
			}
			if tt.wantKind != nil && !errors.Is(err, tt.wantKind) {
				t.Fatalf("Probe() error = %v, want one that Is %v", err, tt.wantKind)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Probe() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProbe_HungBackendTimesOut(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeBackend{phang: make(chan struct{})}
		defer close(f.phang) // let the abandoned probe goroutine finish
		n, _ := newTestNotifier(t, f, Options{Timeout: 3 * time.Second})
		start := time.Now()
		_, err := n.Probe(t.Context())
		if elapsed := time.Since(start); elapsed != 3*time.Second {
			t.Errorf("Probe took %v, want the 3s Timeout", elapsed)
		}
		var e *Error
		if !errors.As(err, &e) || e.Kind != ErrTimeout || e.Op != "probe" {
			t.Errorf("Probe() error = %#v, want *Error{Op: probe, Kind: ErrTimeout}", err)
		}
	})
}

func TestError(t *testing.T) {
	t.Parallel()
	cause := errors.New("org.freedesktop.DBus.Error.ServiceUnknown: not provided")
	tests := []struct {
		name    string
		err     *Error
		text    string
		is, not []error
	}{
		{
			name: "kind and cause",
			err:  &Error{Op: "probe", Backend: "dbus", Kind: ErrNoServer, Err: cause},
			text: "notify probe (dbus): " + ErrNoServer.Error() + ": " + cause.Error(),
			is:   []error{ErrNoServer, cause},
			not:  []error{ErrTimeout, ErrNoSessionBus},
		},
		{
			name: "kind only",
			err:  &Error{Op: "toast", Backend: "dbus", Kind: ErrNoSessionBus},
			text: "notify toast (dbus): " + ErrNoSessionBus.Error(),
			is:   []error{ErrNoSessionBus},
			not:  []error{ErrNoServer},
		},
		{
			name: "cause only",
			err:  &Error{Op: "toast", Backend: "beeep", Err: cause},
			text: "notify toast (beeep): " + cause.Error(),
			is:   []error{cause},
			not:  []error{ErrNoServer, ErrTimeout, ErrNoSessionBus},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("Error() = %q, want %q", got, tt.text)
			}
			for _, target := range tt.is {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(err, %q) = false, want true", target)
				}
			}
			for _, target := range tt.not {
				if errors.Is(tt.err, target) {
					t.Errorf("errors.Is(err, %q) = true, want false", target)
				}
			}
		})
	}
}

func TestErrNoServer_NamesTheFix(t *testing.T) {
	t.Parallel()
	for _, want := range []string{"no notification server on the session bus", "dunst", "mako"} {
		if !strings.Contains(ErrNoServer.Error(), want) {
			t.Errorf("ErrNoServer = %q, want it to mention %q", ErrNoServer, want)
		}
	}
}

// waitingRecorder is a logRecorder that can wait for a line.
type waitingRecorder struct {
	logRecorder
	added chan struct{}
}

func (r *waitingRecorder) Handle(ctx context.Context, rec slog.Record) error {
	err := r.logRecorder.Handle(ctx, rec)
	select {
	case r.added <- struct{}{}:
	default:
	}
	return err
}

func (r *waitingRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *waitingRecorder) WithGroup(string) slog.Handler      { return r }

func (r *waitingRecorder) waitFor(t *testing.T, level slog.Level, parts ...string) {
	t.Helper()
	deadline := time.After(failsafe)
	for len(r.find(level, parts...)) == 0 {
		select {
		case <-r.added:
		case <-deadline:
			t.Fatalf("no %v log line with %q; logs:\n%s", level, parts, &r.logRecorder)
		}
	}
}
