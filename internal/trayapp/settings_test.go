package trayapp

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/setup"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
)

// fakeAccounts is Accounts in memory: it remembers which account is
// stored, as the config file would.
type fakeAccounts struct {
	mu        sync.Mutex
	alias     string // "" when signed out
	relay     string
	enrollErr error
}

func (f *fakeAccounts) Enroll(ctx context.Context, relay string, code api.Secret, name string) (setup.Enrolled, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.enrollErr != nil {
		return setup.Enrolled{}, f.enrollErr
	}
	f.alias, f.relay = "bob@example.com", relay
	return setup.Enrolled{Relay: relay, Alias: f.alias, DeviceID: "dev-1"}, nil
}

func (f *fakeAccounts) Login(ctx context.Context, d setup.Direct) (*api.User, error) {
	return nil, errors.New("not in this test")
}

func (f *fakeAccounts) LoginCorp(ctx context.Context, c setup.Corp) error {
	return errors.New("not in this test")
}

func (f *fakeAccounts) SignOut(ctx context.Context, agent string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alias, f.relay = "", ""
	return []string{"the account"}, nil
}

// session is what Reload reads back: the stored account, following
// nothing (no Source).
func (f *fakeAccounts) session(ctx context.Context) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := Account{Alias: f.alias, Relay: f.relay, Lang: app.English}
	if f.relay != "" {
		a.Mode = app.ModeRelay
	}
	return a, nil
}

// modelView passes every rendered model to a channel.
type modelView struct{ models chan app.Model }

func (v modelView) Render(m app.Model) {
	select {
	case v.models <- m:
	default: // the test reads only what it waits for
	}
}

// waitModel returns the first model rendered that satisfies ok.
func waitModel(t *testing.T, v modelView, what string, ok func(app.Model) bool) app.Model {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-v.models:
			if ok(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no model with %s", what)
		}
	}
}

// startTestTray runs the parts of Run that need no desktop: the page, the
// app and its reloads, with no browser behind the page.
func startTestTray(t *testing.T, acc *fakeAccounts) (*runner, modelView, <-chan api.Secret) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	a, _ := acc.session(ctx)
	s := Session{Account: a}
	s.Prefs = app.Prefs{ShowContent: true, Sound: true}
	opened := make(chan api.Secret, 4)
	s.Page = &Page{Accounts: acc, Browse: func(ctx context.Context, link api.Secret) error {
		opened <- link
		return nil
	}}
	s.Reload = acc.session
	r := &runner{env: Env{Version: "test"}, s: s, log: slog.New(slog.DiscardHandler), stop: cancel,
		actions: make(chan app.Action, 16), restart: make(chan struct{}, 1)}
	r.toaster = nopToaster{}
	if err := r.startPage(ctx); err != nil {
		t.Fatal(err)
	}
	v := modelView{models: make(chan app.Model, 64)}
	r.start(ctx, v)
	t.Cleanup(func() { cancel(); r.wg.Wait() })
	return r, v, opened
}

type nopToaster struct{}

func (nopToaster) Toast(title, body, key string) {}

// TestThePageSwitchesTheAccountLive: enrolling on the page turns the
// running tray from its setup state to the relay's mailbox, and signing
// out turns it back, without a restart; the page reads the new state at
// once.
func TestThePageSwitchesTheAccountLive(t *testing.T) {
	acc := &fakeAccounts{}
	r, v, opened := startTestTray(t, acc)
	waitModel(t, v, "the setup state", func(m app.Model) bool { return m.Icon == app.IconSetup && m.SettingsAvailable })
	select {
	case link := <-opened:
		if !strings.HasPrefix(link.Reveal(), "http://127.0.0.1:") {
			t.Errorf("the first run opened %q, not the page", link.Reveal())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first run (no account) did not open the settings page")
	}

	g := r.page
	alias, err := g.Enroll(t.Context(), "exmail-notifier://enroll?relay=https://relay.example.com&code=exr_enr_abc", "", "laptop")
	if err != nil || alias != "bob@example.com" {
		t.Fatalf("Enroll = %q, %v", alias, err)
	}
	if st, _ := g.State(t.Context()); st.Mode != settings.ModeRelay || st.Mailbox != "bob@example.com" || st.Relay != "https://relay.example.com" {
		t.Errorf("the page's state right after enrolling: %+v", st)
	}
	waitModel(t, v, "the relay's mailbox", func(m app.Model) bool { return m.Alias == "bob@example.com" && m.Icon != app.IconSetup })

	if err := g.SignOut(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st, _ := g.State(t.Context()); st.Mode != settings.ModeNone {
		t.Errorf("the page's state after signing out: %+v", st)
	}
	waitModel(t, v, "the setup state again", func(m app.Model) bool { return m.Icon == app.IconSetup && m.Alias == "" })
}

// TestARefusedEnrollmentChangesNothing: the relay's refusal reaches the
// page (which names the fix) and the tray stays as it was.
func TestARefusedEnrollmentChangesNothing(t *testing.T) {
	acc := &fakeAccounts{enrollErr: client.ErrEnrollRefused}
	r, v, _ := startTestTray(t, acc)
	waitModel(t, v, "the setup state", func(m app.Model) bool { return m.Icon == app.IconSetup })
	_, err := r.page.Enroll(t.Context(), "exmail-notifier://enroll?relay=https://relay.example.com&code=exr_enr_used", "", "laptop")
	if !errors.Is(err, client.ErrEnrollRefused) {
		t.Fatalf("Enroll = %v, want ErrEnrollRefused", err)
	}
	if st, _ := r.page.State(t.Context()); st.Mode != settings.ModeNone {
		t.Errorf("state after a refused code: %+v", st)
	}
}

// TestThePagesPreferencesReachTheMenu: content and quiet hours set on the
// page apply to the running app at once (its menu checkbox follows), and
// the page reads them back.
func TestThePagesPreferencesReachTheMenu(t *testing.T) {
	acc := &fakeAccounts{alias: "bob@example.com", relay: "https://relay.example.com"}
	r, v, opened := startTestTray(t, acc)
	waitModel(t, v, "content shown", func(m app.Model) bool { return m.ShowContent })
	r.send(app.OpenSettings{}) // the Settings… item
	if link := <-opened; !strings.HasPrefix(link.Reveal(), "http://127.0.0.1:") {
		t.Errorf("Settings… opened %q, not the page", link.Reveal())
	}

	want := settings.Prefs{ShowContent: false, Sound: true, Quiet: settings.QuietHours{On: true, From: 20 * 60, To: 8 * 60}}
	if err := r.page.SetPrefs(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	waitModel(t, v, "content hidden", func(m app.Model) bool { return !m.ShowContent })
	if st, _ := r.page.State(t.Context()); st.Prefs != want {
		t.Errorf("the page reads back %+v, want %+v", st.Prefs, want)
	}
}
