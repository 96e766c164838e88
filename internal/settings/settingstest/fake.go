// Package settingstest is a fake settings.Backend for tests and the demo:
// an account in memory, enrollment links of the form
// exmail-notifier://enroll?relay=URL&code=CODE (or a bare code with a relay
// address), and errors chosen by the caller.
package settingstest

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
)

// Fake is a settings.Backend in memory. Set the Err fields to make a call
// fail; the zero value has no account and succeeds everywhere. Its methods
// are safe for concurrent use; lock Mu to read or change fields while a
// server runs.
type Fake struct {
	Mu sync.Mutex

	St settings.State
	// EnrollAlias is the mailbox Enroll reports ("bob@example.com" when "").
	EnrollAlias string
	// Report is what Doctor returns.
	Report settings.Report

	PreviewErr, EnrollErr, LoginErr, LoginCorpErr, PrefsErr, AutostartErr, SignOutErr, DoctorErr, StateErr error

	// Calls records each call by name, for assertions.
	Calls []string
	// Secrets records every secret the fake was given, for leak checks.
	Secrets []string
}

var _ settings.Backend = (*Fake)(nil)

func (f *Fake) record(name string, secrets ...api.Secret) {
	f.Calls = append(f.Calls, name)
	for _, s := range secrets {
		f.Secrets = append(f.Secrets, s.Reveal())
	}
}

// CallsOf returns how often name was called.
func (f *Fake) CallsOf(name string) int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	n := 0
	for _, c := range f.Calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *Fake) State(ctx context.Context) (settings.State, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Calls = append(f.Calls, "State")
	st := f.St
	if l, ok := app.ParseLang(st.Prefs.Lang); ok {
		st.Lang = l
	}
	return st, f.StateErr
}

// parse reads a link or a bare code the way the product does.
func parse(input, relayFlag string) (string, error) {
	if rest, ok := strings.CutPrefix(input, "exmail-notifier://enroll?"); ok {
		q, err := url.ParseQuery(rest)
		if err != nil || q.Get("relay") == "" || q.Get("code") == "" {
			return "", errors.New("this is not an enrollment link: it needs relay= and code=; copy the whole link from IT's mail")
		}
		return q.Get("relay"), nil
	}
	if strings.Contains(input, "://") {
		return "", errors.New("this is not an enrollment link (exmail-notifier://enroll?…); copy the whole link from IT's mail")
	}
	if relayFlag == "" {
		return "", errors.New("a bare code needs the relay's address (https://…): fill in Relay address, or paste the whole link")
	}
	return relayFlag, nil
}

func (f *Fake) PreviewEnrollment(ctx context.Context, input api.Secret, relayFlag string) (string, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("PreviewEnrollment", input)
	if f.PreviewErr != nil {
		return "", f.PreviewErr
	}
	return parse(input.Reveal(), relayFlag)
}

func (f *Fake) Enroll(ctx context.Context, input api.Secret, relayFlag, deviceName string) (string, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("Enroll", input)
	relay, err := parse(input.Reveal(), relayFlag)
	if err != nil {
		return "", err
	}
	if f.EnrollErr != nil {
		return "", f.EnrollErr
	}
	alias := f.EnrollAlias
	if alias == "" {
		alias = "bob@example.com"
	}
	f.St.Mode, f.St.Mailbox, f.St.Relay, f.St.Agent, f.St.CorpID = settings.ModeRelay, alias, relay, "", ""
	return alias, nil
}

func (f *Fake) Login(ctx context.Context, agent, alias string, key api.Secret) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("Login", key)
	if f.LoginErr != nil {
		return f.LoginErr
	}
	f.St.Mode, f.St.Mailbox, f.St.Agent, f.St.Relay, f.St.CorpID = settings.ModeDirect, alias, agent, "", ""
	return nil
}

func (f *Fake) LoginCorp(ctx context.Context, corpID, alias string, sso, mail api.Secret) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("LoginCorp", sso, mail)
	if f.LoginCorpErr != nil {
		return f.LoginCorpErr
	}
	f.St.Mode, f.St.Mailbox, f.St.CorpID, f.St.Agent, f.St.Relay = settings.ModeCorp, alias, corpID, "", ""
	return nil
}

func (f *Fake) SetPrefs(ctx context.Context, p settings.Prefs) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("SetPrefs")
	if f.PrefsErr != nil {
		return f.PrefsErr
	}
	f.St.Prefs = p
	return nil
}

func (f *Fake) SetAutostart(ctx context.Context, on bool) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("SetAutostart")
	if f.AutostartErr != nil {
		return f.AutostartErr
	}
	f.St.Autostart = on
	return nil
}

func (f *Fake) SignOut(ctx context.Context) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("SignOut")
	if f.SignOutErr != nil {
		return f.SignOutErr
	}
	f.St.Mode, f.St.Mailbox, f.St.Relay, f.St.Agent, f.St.CorpID = settings.ModeNone, "", "", "", ""
	return nil
}

func (f *Fake) Doctor(ctx context.Context) (settings.Report, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("Doctor")
	return f.Report, f.DoctorErr
}
