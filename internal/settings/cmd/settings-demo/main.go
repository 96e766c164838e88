// Command settings-demo serves the settings page on a fake backend, for a
// look at it in a browser and for testdata/screenshots.sh. It is not part of
// the product: nothing imports it.
//
//	go run ./internal/settings/cmd/settings-demo            # prints a one-time link to a first-run page
//	go run ./internal/settings/cmd/settings-demo -driver    # also serves the screenshot driver
//
// The driver (for screenshots) answers GET /real/LANG/SCENARIO with a
// redirect to a fresh one-time link of a new server in that scenario (the
// real browser flow: link, cookie, page), and GET /shot/LANG/SCENARIO with
// the page a scenario's form posts end on (the driver posts them itself,
// with its own session), plus the embedded assets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/settings/settingstest"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
)

const demoLink = "exmail-notifier://enroll?relay=https://relay.example.com&code=7QK2-M9XD-4HPA"

func report() settings.Report {
	return settings.Report{
		Checks: []settings.Check{
			{Status: settings.CheckOK, Name: "Config file", Detail: "~/.config/exmail-notifier/config.json (mode 0600)"},
			{Status: settings.CheckOK, Name: "OS keyring", Detail: "gnome-keyring is running and unlocked; the device token is stored"},
			{Status: settings.CheckOK, Name: "Relay", Detail: "https://relay.example.com answers; upstream online"},
			{Status: settings.CheckWarn, Name: "Notifications", Detail: "no notification daemon answered; install dunst or use your desktop's"},
			{Status: settings.CheckInfo, Name: "Version", Detail: "exmail-notifier 1.4.0 (linux/amd64)"},
		},
		Text: "exmail-notifier 1.4.0 (linux/amd64), doctor, 2026-12-07 10:00 UTC\n" +
			"OK    Config file      ~/.config/exmail-notifier/config.json (mode 0600)\n" +
			"OK    OS keyring       gnome-keyring is running and unlocked; the device token is stored\n" +
			"OK    Relay            https://relay.example.com answers; upstream online\n" +
			"WARN  Notifications    no notification daemon answered\n" +
			"mode relay, mailbox bob@example.com\n",
	}
}

// scenario builds the fake backend of a scenario.
func scenario(name string, lang app.Lang) *settingstest.Fake {
	f := &settingstest.Fake{EnrollAlias: "bob@example.com", Report: report()}
	f.St.Lang = lang
	f.St.AutostartAvailable = true
	f.St.Prefs = settings.Prefs{ShowContent: true, Sound: true, Quiet: settings.QuietHours{On: true, From: 20 * 60, To: 8 * 60}}
	switch {
	case strings.HasPrefix(name, "settings-direct"):
		f.St.Mode, f.St.Mailbox, f.St.Agent = settings.ModeDirect, "bob@example.com", "admin@example.com"
	case strings.HasPrefix(name, "settings-corp"):
		f.St.Mode, f.St.Mailbox, f.St.CorpID = settings.ModeCorp, "bob@example.com", "wwd6a1c8f3e2b4"
	case strings.HasPrefix(name, "settings"), name == "signout", name == "doctor", name == "saved":
		f.St.Mode, f.St.Mailbox, f.St.Relay, f.St.Autostart = settings.ModeRelay, "bob@example.com", "https://relay.example.com", true
	}
	switch name {
	case "code-used":
		f.EnrollErr = fmt.Errorf("enrolling with the relay https://relay.example.com failed; nothing was stored: %w", client.ErrEnrollRefused)
	case "relay-unreachable":
		f.EnrollErr = fmt.Errorf("enrolling with the relay https://relay.example.com failed; nothing was stored: %w",
			&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")})
	case "admin-error":
		f.LoginErr = fmt.Errorf("exmail: this computer's public IP address is not on the allow list: %w", api.ErrIPNotAllowed)
	case "corp-error":
		f.LoginCorpErr = fmt.Errorf("gettoken (新邮件提醒): errcode 40001 invalid secret: %w", api.ErrAuth)
	}
	return f
}

type driver struct {
	ctx context.Context
	log *slog.Logger

	mu   sync.Mutex
	last *settings.Server
}

func (d *driver) newServer(name string, lang app.Lang) (*settings.Server, *settingstest.Fake, error) {
	f := scenario(name, lang)
	s, err := settings.New(settings.Options{Backend: f, Lang: lang, Log: d.log, DeviceName: "BOB-LAPTOP"})
	if err != nil {
		return nil, nil, err
	}
	if err := s.Start(d.ctx); err != nil {
		return nil, nil, err
	}
	d.mu.Lock()
	d.last = s
	d.mu.Unlock()
	return s, f, nil
}

// browse is a client with its own session on s.
type browse struct {
	hc     *http.Client
	origin string
	csrf   string
}

func newBrowse(s *settings.Server) (*browse, string, error) {
	jar := &jar{}
	b := &browse{hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}, origin: s.Origin()}
	link, err := s.OneTimeURL()
	if err != nil {
		return nil, "", err
	}
	body, err := b.get(link.Reveal())
	return b, body, err
}

func (b *browse) get(u string) (string, error) {
	res, err := b.hc.Get(u)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if c := attr(string(body), `name="csrf" value="`); c != "" {
		b.csrf = c
	}
	return string(body), err
}

func (b *browse) post(path string, form url.Values) (string, error) {
	form.Set("csrf", b.csrf)
	r, _ := http.NewRequest(http.MethodPost, b.origin+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", b.origin)
	res, err := b.hc.Do(r)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return string(body), err
}

func attr(body, mark string) string {
	i := strings.Index(body, mark)
	if i < 0 {
		return ""
	}
	rest := body[i+len(mark):]
	return rest[:strings.IndexByte(rest, '"')]
}

// jar is a one-origin cookie jar (net/http/cookiejar would do too).
type jar struct {
	mu sync.Mutex
	cs []*http.Cookie
}

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	j.cs = append(j.cs, cs...)
	j.mu.Unlock()
}
func (j *jar) Cookies(*url.URL) []*http.Cookie { j.mu.Lock(); defer j.mu.Unlock(); return j.cs }

// shot drives a scenario to its page.
func (d *driver) shot(name string, lang app.Lang) (string, error) {
	s, _, err := d.newServer(name, lang)
	if err != nil {
		return "", err
	}
	b, body, err := newBrowse(s)
	if err != nil {
		return "", err
	}
	enroll := url.Values{"input": {demoLink}}
	switch name {
	case "confirm":
		return b.post("/enroll/preview", enroll)
	case "enrolled", "code-used", "relay-unreachable":
		page, err := b.post("/enroll/preview", enroll)
		if err != nil {
			return "", err
		}
		return b.post("/enroll/confirm", url.Values{"id": {attr(page, `name="id" value="`)}})
	case "bare-code-error":
		return b.post("/enroll/preview", url.Values{"input": {"7QK2-M9XD-4HPA"}})
	case "admin-error":
		return b.post("/login", url.Values{"agent": {"admin@example.com"}, "alias": {"bob@example.com"}, "key": {"not-the-key"}})
	case "corp-error":
		return b.post("/login-corp", url.Values{"corpid": {"wwd6a1c8f3e2b4"}, "alias": {"bob@example.com"}, "sso": {"x"}, "mail": {"y"}})
	case "saved":
		return b.post("/prefs", url.Values{"content": {"on"}, "sound": {"on"}, "quiet": {"on"}, "from": {"20:00"}, "to": {"08:00"}, "lang": {""}, "autostart": {"on"}})
	case "signout":
		return b.get(b.origin + "/signout")
	case "doctor":
		return b.get(b.origin + "/doctor")
	}
	return body, nil
}

func (d *driver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if parts[0] == "assets" {
		d.mu.Lock()
		s := d.last
		d.mu.Unlock()
		if s == nil {
			http.NotFound(w, r)
			return
		}
		res, err := http.Get(s.Origin() + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
		io.Copy(w, res.Body)
		return
	}
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	lang := app.English
	if parts[1] == "zh" {
		lang = app.Chinese
	}
	switch parts[0] {
	case "real":
		s, _, err := d.newServer(parts[2], lang)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if parts[2] == "offer" {
			s.OfferEnrollment(demoLink)
		}
		link, err := s.OneTimeURL()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, link.Reveal(), http.StatusFound)
	case "shot":
		body, err := d.shot(parts[2], lang)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, body)
	default:
		http.NotFound(w, r)
	}
}

func main() {
	lang := flag.String("lang", "en", "the page's language: en or zh")
	drive := flag.Bool("driver", false, "serve the screenshot driver too")
	driverAddr := flag.String("driver-addr", "127.0.0.1:0", "the driver's listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	l := app.English
	if *lang == "zh" {
		l = app.Chinese
	}
	d := &driver{ctx: ctx, log: log}
	s, _, err := d.newServer("firstrun", l)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	link, err := s.OneTimeURL()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("page:", link.Reveal())
	if *drive {
		ln, err := net.Listen("tcp4", *driverAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("driver:", "http://"+ln.Addr().String())
		go http.Serve(ln, d)
	}
	<-ctx.Done()
}
