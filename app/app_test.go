package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/exmail-notifier/exmail-notifier/internal/syncbuf"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// Hand-written fakes for the loop test. Each records what it was asked.

type fakeSource struct{ feed chan api.Event }

func (f *fakeSource) Run(ctx context.Context, out chan<- api.Event) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-f.feed:
			select {
			case out <- ev:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

type fakeCounter struct {
	mu    sync.Mutex
	n     int
	calls []string
}

func (f *fakeCounter) NewCount(ctx context.Context, alias string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, alias)
	return f.n, nil
}

const secretURL = "https://exmail.qq.com/cgi-bin/login?fun=bizopenssologin&ticket=SECRET-TICKET-0123"

type fakeLinker struct {
	gate  chan struct{} // LoginURL waits for it
	mu    sync.Mutex
	calls []string
}

func (f *fakeLinker) LoginURL(ctx context.Context, alias, mailID string) (api.Secret, error) {
	f.mu.Lock()
	f.calls = append(f.calls, alias+"|"+mailID)
	f.mu.Unlock()
	select {
	case <-f.gate:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return api.Secret(secretURL + "&mailid=" + mailID), nil
}

// fakeOpener fails with an error that quotes the URL, as a careless
// browser adapter might.
type fakeOpener struct {
	mu   sync.Mutex
	urls []string
}

func (f *fakeOpener) Open(ctx context.Context, url api.Secret) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = append(f.urls, url.Reveal())
	return fmt.Errorf("xdg-open %s: exit status 4", url.Reveal())
}

type fakeToaster struct {
	mu     sync.Mutex
	toasts []toastFx
}

func (f *fakeToaster) Toast(title, body, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.toasts = append(f.toasts, toastFx{title, body, key})
}

func (f *fakeToaster) got() []toastFx {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]toastFx(nil), f.toasts...)
}

type fakeView struct {
	mu     sync.Mutex
	models []Model
}

func (f *fakeView) Render(m Model) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.models = append(f.models, m)
}

func (f *fakeView) last() Model {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.models[len(f.models)-1]
}

type fakePrefs struct {
	mu    sync.Mutex
	saved []Prefs
}

func (f *fakePrefs) SavePrefs(p Prefs) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.saved = append(f.saved, p)
	return nil
}

type fakeAutostart struct {
	mu sync.Mutex
	on bool
}

func (f *fakeAutostart) Enabled() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on, nil
}

func (f *fakeAutostart) SetEnabled(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.on = on
	return nil
}

// running is an App at work on hand-written fakes, inside a synctest
// bubble: the loop test's harness.
type running struct {
	src     *fakeSource
	counter *fakeCounter
	linker  *fakeLinker
	opener  *fakeOpener
	toaster *fakeToaster
	view    *fakeView
	prefs   *fakePrefs
	logs    *syncbuf.Buffer
	actions chan Action
	errc    chan error
}

// startApp runs an App for me with three unread mails on the server, and
// waits until the loop is idle. Call it inside synctest.Test.
func startApp(t *testing.T) *running {
	t.Helper()
	r := &running{
		src:     &fakeSource{feed: make(chan api.Event)},
		counter: &fakeCounter{n: 3},
		linker:  &fakeLinker{gate: make(chan struct{})},
		opener:  &fakeOpener{},
		toaster: &fakeToaster{},
		view:    &fakeView{},
		prefs:   &fakePrefs{},
		logs:    &syncbuf.Buffer{},
		actions: make(chan Action, 8),
		errc:    make(chan error, 1),
	}
	a := New(baseConfig(), Deps{
		Source: r.src, Counter: r.counter, Linker: r.linker, Opener: r.opener,
		Toaster: r.toaster, View: r.view, Autostart: &fakeAutostart{on: true}, Prefs: r.prefs,
		Actions: r.actions,
		Log:     slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	go func() { r.errc <- a.Run(t.Context()) }()
	synctest.Wait()
	return r
}

// push hands the app one event from its Source and waits until the loop
// is idle.
func (r *running) push(ev api.Event) {
	r.src.feed <- ev
	synctest.Wait()
}

// quit asks the app to quit and returns Run's result.
func (r *running) quit() error {
	r.actions <- Quit{}
	return <-r.errc
}

// logHasNo fails if the log contains any of secrets.
func (r *running) logHasNo(t *testing.T, secrets ...string) {
	t.Helper()
	out := r.logs.String()
	for _, secret := range secrets {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q:\n%s", secret, out)
		}
	}
}

func TestRun(t *testing.T) {
	t.Run("it starts connecting, with start at login shown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startApp(t)
			if m := r.view.last(); m.Icon != IconConnecting || !m.Autostart {
				t.Errorf("at start: icon %v, autostart %v; want connecting, true", m.Icon, m.Autostart)
			}
			if err := r.quit(); err != nil {
				t.Errorf("Run after Quit = %v, want nil", err)
			}
		})
	})

	t.Run("coming online fetches the count off the loop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startApp(t)
			r.push(api.StateChanged{State: api.StateOnline})
			if m := r.view.last(); m.Icon != IconOnline || m.Unread != 3 {
				t.Errorf("online: icon %v, unread %d; want online, 3", m.Icon, m.Unread)
			}
			checkDiff(t, "NewCount calls", []string{me}, r.counter.calls)
			r.quit()
		})
	})

	t.Run("another mailbox's mail is dropped unseen; ours toasts at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startApp(t)
			r.push(api.StateChanged{State: api.StateOnline})
			r.push(api.NewMail{User: "carol@example.com", MailID: "c1", Sender: "Carol <c@example.com>",
				Subject: "Carol's private subject", Unread: 50})
			r.push(mailFor("m1", me, 4))
			checkDiff(t, "toasts", []toastFx{mailToast("m1")}, r.toaster.got())
			if m := r.view.last(); m.Unread != 4 || len(m.Recent) != 1 || m.Recent[0].MailID != "m1" {
				t.Errorf("after the mail: unread %d, recent %v; want 4, [m1]", m.Unread, m.Recent)
			}
			r.quit()
			r.logHasNo(t, "Subject m1", "Summary m1", "carol", "Carol")
		})
	})

	t.Run("opening runs off the loop, once per double click, and a failure says so without the link", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startApp(t)
			r.push(api.StateChanged{State: api.StateOnline})
			r.push(mailFor("m1", me, 4))
			// While LoginURL waits, the loop still takes actions.
			r.actions <- OpenMail{MailID: "m1"}
			r.actions <- OpenMail{MailID: "m1"} // a double click opens once
			synctest.Wait()
			r.actions <- Pause{For: time.Hour}
			synctest.Wait()
			if m := r.view.last(); !m.Paused {
				t.Error("the loop did not handle Pause while the SSO URL was being fetched")
			}
			close(r.linker.gate)
			synctest.Wait()
			checkDiff(t, "LoginURL calls", []string{me + "|m1"}, r.linker.calls)
			checkDiff(t, "opened", []string{secretURL + "&mailid=m1"}, r.opener.urls)
			if got := r.toaster.got(); got[len(got)-1].Title != "Could not open the mailbox" {
				t.Errorf("a failed open shows %v, want one toast saying so", got[len(got)-1])
			}
			r.quit()
			r.logHasNo(t, "SECRET-TICKET")
			if out := r.logs.String(); !strings.Contains(out, "[redacted]") || !strings.Contains(out, "mail_id=m1") {
				t.Errorf("the log does not record the failed open by mail id:\n%s", out)
			}
		})
	})

	t.Run("a short outage shows nothing; a long one shows offline and keeps the count", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startApp(t)
			r.push(api.StateChanged{State: api.StateOnline})
			r.push(api.StateChanged{State: api.StateRetrying, Err: api.ErrUnavailable})
			time.Sleep(DefaultOfflineGrace - time.Second)
			synctest.Wait()
			if m := r.view.last(); m.Icon != IconOnline {
				t.Errorf("within the grace period: icon %v, want online", m.Icon)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			if m := r.view.last(); m.Icon != IconOffline || m.Unread != 3 {
				t.Errorf("after the grace period: icon %v, unread %d; want offline, 3", m.Icon, m.Unread)
			}
			r.quit()
		})
	})

	t.Run("Quit ends Run with nil and the last preferences are saved", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := startApp(t)
			r.actions <- Pause{For: time.Hour}
			synctest.Wait()
			if err := r.quit(); err != nil {
				t.Errorf("Run after Quit = %v, want nil", err)
			}
			r.prefs.mu.Lock()
			defer r.prefs.mu.Unlock()
			if n := len(r.prefs.saved); n == 0 || r.prefs.saved[n-1].PausedUntil.IsZero() {
				t.Errorf("the pause was not saved: %+v", r.prefs.saved)
			}
		})
	})
}

func TestRunSetup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := baseConfig()
		cfg.Alias = ""
		src := &fakeSource{feed: make(chan api.Event)}
		view := &fakeView{}
		toaster := &fakeToaster{}
		actions := make(chan Action, 1)
		a := New(cfg, Deps{Source: src, View: view, Toaster: toaster, Actions: actions})
		errc := make(chan error, 1)
		go func() { errc <- a.Run(t.Context()) }()
		actions <- OpenMailbox{}
		synctest.Wait()
		if m := view.last(); m.Icon != IconSetup || m.CanOpen {
			t.Errorf("icon %v, CanOpen %v; want setup, false", m.Icon, m.CanOpen)
		}
		if got := toaster.got(); len(got) != 1 || !strings.Contains(got[0].Body, "exmail-notifier login") {
			t.Errorf("Open in setup shows %v, want the login hint", got)
		}
		// No Source runs in the setup state: nobody reads its feed.
		select {
		case src.feed <- api.StateChanged{State: api.StateOnline}:
			t.Error("the Source was started in the setup state")
		default:
		}
		actions <- Quit{}
		if err := <-errc; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
}

func TestRunCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		a := New(baseConfig(), Deps{Source: &fakeSource{feed: make(chan api.Event)}})
		errc := make(chan error, 1)
		go func() { errc <- a.Run(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}

func TestScrub(t *testing.T) {
	t.Parallel()
	secret := api.Secret("https://x/?ticket=T0P")
	base := fmt.Errorf("wrapped: %w", api.ErrIPNotAllowed)
	err := scrub(fmt.Errorf("open %s: %w", secret.Reveal(), base), secret)
	if strings.Contains(err.Error(), "T0P") {
		t.Errorf("scrubbed error still has the secret: %q", err)
	}
	if !errors.Is(err, api.ErrIPNotAllowed) {
		t.Error("scrubbing lost the error chain")
	}
	if scrub(nil, secret) != nil {
		t.Error("scrub(nil) is not nil")
	}
	if plain := errors.New("plain"); scrub(plain, secret) != plain {
		t.Error("an error without the secret was changed")
	}
}

// Closing the actions channel does not make the loop spin or stop.
func TestRunActionsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		actions := make(chan Action)
		view := &fakeView{}
		a := New(baseConfig(), Deps{View: view, Actions: actions})
		errc := make(chan error, 1)
		go func() { errc <- a.Run(ctx) }()
		close(actions)
		synctest.Wait() // returns only if the loop is blocked, not spinning
		time.Sleep(DefaultOfflineGrace)
		synctest.Wait()
		if m := view.last(); m.Icon != IconOffline {
			t.Errorf("icon %v, want offline: the loop stopped working", m.Icon)
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}
