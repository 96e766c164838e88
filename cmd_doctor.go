package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/notify"
	"github.com/exmail-notifier/exmail-notifier/tray"
)

// A finding is one line of the doctor's report.
type finding struct {
	status string // "ok", "warn", "FAIL", "skip"
	what   string
	detail string
}

type report struct {
	header   []string // the version and platform, the desktop
	findings []finding
}

func (r *report) add(status, what, format string, args ...any) {
	r.findings = append(r.findings, finding{status, what, oneLine(fmt.Sprintf(format, args...))})
}

func (r *report) failed() int {
	n := 0
	for _, f := range r.findings {
		if f.status == "FAIL" {
			n++
		}
	}
	return n
}

// print writes the report as doctor prints it (and the settings page's
// support report shows it).
func (r *report) print(w io.Writer) {
	for _, h := range r.header {
		fmt.Fprintln(w, h)
	}
	fmt.Fprintln(w)
	for _, f := range r.findings {
		fmt.Fprintf(w, "[%-4s] %-14s %s\n", f.status, f.what, f.detail)
	}
}

// cmdDoctor checks everything the notifier depends on and prints a report
// that can be pasted into a support ticket: no secret appears in it (the
// interface key, tokens, auth keys and SSO URLs are never printed).
func cmdDoctor(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "doctor", `Usage: exmail-notifier doctor [--timeout 10s]

Checks the desktop (session bus, tray host, notification server, browser
opener), the keyring, the account and every server endpoint, and prints a
report that is safe to paste into a support ticket: secrets are never shown.
Exit status 1 when a check failed.
`)
	timeout := f.Duration("timeout", 10*time.Second, "bound on each check")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.usageErrorf("doctor takes no arguments")
	}
	r := e.doctor(ctx, *timeout)
	r.print(e.stdout)
	if n := r.failed(); n > 0 {
		return fmt.Errorf("doctor: %d check(s) failed", n)
	}
	return nil
}

// doctor runs every check, each bounded by timeout.
func (e *env) doctor(ctx context.Context, timeout time.Duration) *report {
	r := &report{}
	r.header = append(r.header, fmt.Sprintf("%s — %s/%s, %s", versionString(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format(time.RFC3339)))
	if d := e.getenv("XDG_CURRENT_DESKTOP"); d != "" {
		r.header = append(r.header, "desktop: "+oneLine(d))
	}
	within := func(fn func(ctx context.Context)) {
		c, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		fn(c)
	}
	within(func(ctx context.Context) { doctorDesktop(ctx, e, r, timeout) })
	var a account.Account
	var aerr error
	within(func(ctx context.Context) { a, aerr = doctorAccount(ctx, e, r) })
	if aerr == nil {
		doctorServer(ctx, e, r, a, timeout)
	}
	return r
}

// doctorPageTimeout bounds each check run for the settings page.
const doctorPageTimeout = 8 * time.Second

// doctorReport is doctor for the settings page: the checks as a
// checklist, and the printed report as the support text (no secrets, as
// doctor's own output).
func (e *env) doctorReport(ctx context.Context) (settings.Report, error) {
	r := e.doctor(ctx, doctorPageTimeout)
	var out settings.Report
	for _, f := range r.findings {
		st := settings.CheckInfo
		switch f.status {
		case "ok":
			st = settings.CheckOK
		case "warn":
			st = settings.CheckWarn
		case "FAIL":
			st = settings.CheckFail
		}
		out.Checks = append(out.Checks, settings.Check{Status: st, Name: f.what, Detail: f.detail})
	}
	var b strings.Builder
	r.print(&b)
	out.Text = b.String()
	return out, nil
}

// timed returns a check runner: each check gets its own timeout, and its
// result is added with how long it took.
func (r *report) timed(ctx context.Context, timeout time.Duration) func(what string, fn func(ctx context.Context) (string, error)) bool {
	return func(what string, fn func(ctx context.Context) (string, error)) bool {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		detail, err := fn(cctx)
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			r.add("FAIL", what, "%s (after %s)", describe(err), took)
			return false
		}
		r.add("ok", what, "%s (%s)", detail, took)
		return true
	}
}

func doctorDesktop(ctx context.Context, e *env, r *report, timeout time.Duration) {
	if runtime.GOOS == "linux" || strings.HasSuffix(runtime.GOOS, "bsd") {
		if e.getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
			r.add("warn", "session bus", "DBUS_SESSION_BUS_ADDRESS is not set; the tray, toasts and keyring need a desktop session")
		} else {
			r.add("ok", "session bus", "present")
		}
		if e.getenv("DISPLAY") == "" && e.getenv("WAYLAND_DISPLAY") == "" {
			r.add("warn", "display", "neither DISPLAY nor WAYLAND_DISPLAY is set")
		}
	}
	switch h := tray.ProbeHost(ctx); h {
	case tray.HostReady:
		r.add("ok", "tray host", "a StatusNotifierItem host is running")
	default:
		r.add("FAIL", "tray host", "%s: %s", h, tray.Advice(h, e.getenv("XDG_CURRENT_DESKTOP")))
	}
	n := notify.New(notify.Options{AppName: "Exmail Notifier", Timeout: timeout, Logger: e.logger()})
	info, err := n.Probe(ctx)
	if err != nil {
		r.add("FAIL", "notifications", "%v", err)
	} else {
		clicks := "clicks open the mail"
		if !info.Actions {
			clicks = "no click actions"
		}
		r.add("ok", "notifications", "%s %s (%s, spec %s; %s)", info.Name, info.Version, info.Backend, info.Spec, clicks)
	}
	if runtime.GOOS == "linux" || strings.HasSuffix(runtime.GOOS, "bsd") {
		found := ""
		for _, p := range []string{"xdg-open", "x-www-browser", "www-browser"} {
			if path, err := exec.LookPath(p); err == nil {
				found = path
				break
			}
		}
		if found == "" {
			r.add("FAIL", "browser", "no xdg-open, x-www-browser or www-browser on PATH: install xdg-utils")
		} else {
			r.add("ok", "browser", "opener %s", found)
		}
	}
}

func doctorAccount(ctx context.Context, e *env, r *report) (account.Account, error) {
	a, err := e.accounts().Resolve(ctx)
	if a.ConfigPath != "" {
		if _, serr := os.Stat(a.ConfigPath); serr == nil {
			r.add("ok", "config", "%s", a.ConfigPath)
		} else {
			r.add("skip", "config", "%s (not written yet)", a.ConfigPath)
		}
	}
	src := "config file"
	if e.getenv("EXMAIL_AGENT") != "" {
		src = "EXMAIL_AGENT"
	}
	switch {
	case errors.Is(err, creds.ErrLocked), errors.Is(err, creds.ErrUnavailable), errors.Is(err, creds.ErrTimeout):
		r.add("FAIL", "keyring", "%v", err)
		return a, err
	case err != nil:
		r.add("FAIL", "account", "%s", describe(err))
		return a, err
	}
	if a.Relayed() {
		r.add("ok", "account", "enrolled with the relay %s (no admin key on this computer)", a.Relay)
		if e.getenv("EXMAIL_DEVICE_TOKEN") != "" {
			r.add("ok", "device token", "from EXMAIL_DEVICE_TOKEN (not shown)")
		} else {
			r.add("ok", "device token", "in the OS keyring (not shown)")
		}
		if err := a.NeedAlias(); err != nil {
			r.add("FAIL", "mailbox", "%v", err)
			return a, err
		}
		r.add("ok", "mailbox", "%s", a.Alias)
		return a, nil
	}
	if a.Corp() {
		r.add("ok", "account", "corpid %q on Tencent's current API (counts only without a relay)", a.CorpID)
		r.add("ok", "app secrets", "单点登录 (SSO) and 新邮件提醒 (new-mail) secrets present (not shown)")
		if err := a.NeedAlias(); err != nil {
			r.add("FAIL", "mailbox", "%v", err)
			return a, err
		}
		r.add("ok", "mailbox", "%s", a.Alias)
		return a, nil
	}
	r.add("ok", "account", "admin %q (from %s)", a.Agent, src)
	r.add("warn", "admin key", "this computer holds the enterprise administrator key, which opens every mailbox; a company relay keeps it off desktops")
	if e.getenv("EXMAIL_SECRET") != "" {
		r.add("ok", "interface key", "from EXMAIL_SECRET (not shown)")
	} else {
		r.add("ok", "interface key", "in the OS keyring (not shown)")
	}
	if err := a.NeedAlias(); err != nil {
		r.add("FAIL", "mailbox", "%v", err)
		return a, err
	}
	r.add("ok", "mailbox", "%s", a.Alias)
	return a, nil
}

// doctorRelay checks the relay of a relay account: it answers, it knows
// this device, and it hands out a sign-in link for its mailbox.
func doctorRelay(ctx context.Context, e *env, r *report, a account.Account, timeout time.Duration) {
	src, err := a.NewRelaySource(e.logger())
	if err != nil {
		r.add("FAIL", "relay", "%v", err)
		return
	}
	check := r.timed(ctx, timeout)
	if !check("relay", func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.Relay, "/")+"/healthz", nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s/healthz answered HTTP %d", a.Relay, resp.StatusCode)
		}
		return fmt.Sprintf("%s/healthz answered HTTP 200", a.Relay), nil
	}) {
		return
	}
	check("unread count", func(ctx context.Context) (string, error) {
		n, err := src.NewCount(ctx, a.Alias)
		return fmt.Sprintf("the relay knows this device: %d unread", n), err
	})
	check("sso link", func(ctx context.Context) (string, error) {
		if _, err := src.LoginURL(ctx, a.Alias, ""); err != nil {
			return "", err
		}
		return "the relay issued a one-time sign-in link (not shown)", nil
	})
}

// doctorCorp checks an account on Tencent's current API: which of its
// applications' secrets the server takes, the count and the sign-in link.
func doctorCorp(ctx context.Context, e *env, r *report, a account.Account, timeout time.Duration) {
	c, err := a.NewCorpClient(e.logger())
	if err != nil {
		r.add("FAIL", "current API", "%v", err)
		return
	}
	check := r.timed(ctx, timeout)
	ok := true
	for _, app := range []struct {
		app  corpapi.App
		name string
	}{{corpapi.AppSSO, "单点登录 (SSO)"}, {corpapi.AppNewMail, "新邮件提醒 (new-mail)"}} {
		ok = check(app.app.String()+" token", func(ctx context.Context) (string, error) {
			if err := c.CheckToken(ctx, app.app); err != nil {
				return "", fmt.Errorf("the %s application's secret: %w", app.name, err)
			}
			return "corpid and the " + app.name + " secret work with the current API", nil
		}) && ok
	}
	if !ok {
		return
	}
	check("unread count", func(ctx context.Context) (string, error) {
		n, err := c.Mail.NewCount(ctx, a.Alias)
		return fmt.Sprintf("mail/newcount: %d unread", n), err
	})
	check("sso link", func(ctx context.Context) (string, error) {
		if _, err := c.Mail.LoginURL(ctx, a.Alias, ""); err != nil {
			return "", err
		}
		return "service/get_login_url issued a one-time link (not shown)", nil
	})
}

func doctorServer(ctx context.Context, e *env, r *report, a account.Account, timeout time.Duration) {
	if a.Relayed() {
		doctorRelay(ctx, e, r, a, timeout)
		return
	}
	if a.Corp() {
		doctorCorp(ctx, e, r, a, timeout)
		return
	}
	c, err := a.NewClient(e.logger())
	if err != nil {
		r.add("FAIL", "endpoints", "%v", err)
		return
	}
	check := r.timed(ctx, timeout)
	tokenURL := cmp.Or(a.TokenURL, api.DefaultTokenURL)
	if !check("token", func(ctx context.Context) (string, error) {
		exp, err := c.CheckToken(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s issued a token, used until %s", tokenURL, exp.UTC().Format(time.RFC3339)), nil
	}) {
		return
	}
	if strings.HasPrefix(c.BaseURL(), "http://") {
		r.add("warn", "plain HTTP", "%s is unencrypted (the protocol's port 12211 has no TLS): tokens and mail metadata cross the network in clear text", c.BaseURL())
	}
	check("unread count", func(ctx context.Context) (string, error) {
		n, err := c.Mail.NewCount(ctx, a.Alias)
		return fmt.Sprintf("%smail/newcount: %d unread", c.BaseURL(), n), err
	})
	check("listen", func(ctx context.Context) (string, error) {
		for ev, err := range c.Listen(ctx, "", a.Alias) {
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%slisten answered (%T)", c.BaseURL(), ev), nil
		}
		return "", errors.New("the listen reply ended without an object")
	})
	check("sso link", func(ctx context.Context) (string, error) {
		if _, err := c.Mail.LoginURL(ctx, a.Alias, ""); err != nil {
			return "", err
		}
		return "mail/authkey issued a one-time key (not shown)", nil
	})
	check("login page", func(ctx context.Context) (string, error) {
		status, err := c.CheckLoginHost(ctx)
		return fmt.Sprintf("%s answered HTTP %d", c.LoginEndpoint(), status), err
	})
}
