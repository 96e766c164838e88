package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/google/go-cmp/cmp"
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

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{feed: make(chan api.Event)}
		counter := &fakeCounter{n: 3}
		linker := &fakeLinker{gate: make(chan struct{})}
		opener := &fakeOpener{}
		toaster := &fakeToaster{}
		view := &fakeView{}
		prefs := &fakePrefs{}
		auto := &fakeAutostart{on: true}
		var logs syncBuffer
		actions := make(chan Action, 8)
		a := New(baseConfig(), Deps{
			Source: src, Counter: counter, Linker: linker, Opener: opener,
			Toaster: toaster, View: view, Autostart: auto, Prefs: prefs,
			Actions: actions,
			Log:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		errc := make(chan error, 1)
		go func() { errc <- a.Run(t.Context()) }()
		synctest.Wait()
		if m := view.last(); m.Icon != IconConnecting || !m.Autostart {
			t.Fatalf("at start: icon %v, autostart %v; want connecting, true", m.Icon, m.Autostart)
		}

		// Coming online fetches the count off the loop.
		src.feed <- api.StateChanged{State: api.StateOnline}
		synctest.Wait()
		if m := view.last(); m.Icon != IconOnline || m.Unread != 3 {
			t.Errorf("online: icon %v, unread %d; want online, 3", m.Icon, m.Unread)
		}
		if diff := cmp.Diff([]string{me}, counter.calls); diff != "" {
			t.Errorf("NewCount calls (-want +got):\n%s", diff)
		}

		// Another mailbox's mail is dropped; ours toasts after the burst window.
		src.feed <- api.NewMail{User: "carol@example.com", MailID: "c1", Sender: "Carol <c@example.com>",
			Subject: "Carol's private subject", Unread: 50}
		src.feed <- mailFor("m1", me, 4)
		synctest.Wait()
		if got := toaster.got(); len(got) != 0 {
			t.Errorf("toasts before the burst window ended: %v", got)
		}
		time.Sleep(DefaultBurstWindow)
		synctest.Wait()
		if diff := cmp.Diff([]toastFx{mailToast("m1")}, toaster.got()); diff != "" {
			t.Errorf("toasts (-want +got):\n%s", diff)
		}
		if m := view.last(); m.Unread != 4 || len(m.Recent) != 1 || m.Recent[0].MailID != "m1" {
			t.Errorf("after the mail: unread %d, recent %v; want 4, [m1]", m.Unread, m.Recent)
		}

		// Opening runs off the loop: while LoginURL waits, the loop still
		// takes actions.
		actions <- OpenMail{MailID: "m1"}
		actions <- OpenMail{MailID: "m1"} // a double click opens once
		synctest.Wait()
		actions <- Pause{For: time.Hour}
		synctest.Wait()
		if m := view.last(); !m.Paused {
			t.Error("the loop did not handle Pause while the SSO URL was being fetched")
		}
		close(linker.gate)
		synctest.Wait()
		if diff := cmp.Diff([]string{me + "|m1"}, linker.calls); diff != "" {
			t.Errorf("LoginURL calls (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{secretURL + "&mailid=m1"}, opener.urls); diff != "" {
			t.Errorf("opened (-want +got):\n%s", diff)
		}
		if got := toaster.got(); got[len(got)-1].Title != "Could not open the mailbox" {
			t.Errorf("a failed open shows %v, want one toast saying so", got[len(got)-1])
		}

		// A short outage shows nothing; a long one shows offline.
		src.feed <- api.StateChanged{State: api.StateRetrying, Err: api.ErrUnavailable}
		synctest.Wait()
		time.Sleep(DefaultOfflineGrace - time.Second)
		synctest.Wait()
		if m := view.last(); m.Icon != IconOnline {
			t.Errorf("within the grace period: icon %v, want online", m.Icon)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if m := view.last(); m.Icon != IconOffline || m.Unread != 4 {
			t.Errorf("after the grace period: icon %v, unread %d; want offline, 4", m.Icon, m.Unread)
		}

		actions <- Quit{}
		if err := <-errc; err != nil {
			t.Errorf("Run after Quit = %v, want nil", err)
		}
		prefs.mu.Lock()
		last := prefs.saved[len(prefs.saved)-1]
		prefs.mu.Unlock()
		if last.PausedUntil.IsZero() {
			t.Errorf("the pause was not saved: %+v", prefs.saved)
		}

		out := logs.String()
		for _, secret := range []string{"SECRET-TICKET", "Subject m1", "Summary m1", "carol", "Carol"} {
			if strings.Contains(out, secret) {
				t.Errorf("the log contains %q:\n%s", secret, out)
			}
		}
		if !strings.Contains(out, "[redacted]") || !strings.Contains(out, "mail_id=m1") {
			t.Errorf("the log does not record the failed open by mail id:\n%s", out)
		}
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
