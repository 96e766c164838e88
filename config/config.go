// Package config reads and writes the user's settings file,
// os.UserConfigDir()/exmail-notifier/config.json.
//
// The file never contains a secret: the interface key is in the OS keyring
// (package creds), access tokens only in memory. Loading is strict (an
// unknown or misspelt field is an error, not a silently ignored setting)
// and saving is atomic with mode 0600.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the file format this package reads and writes.
const Version = 1

// ErrNotExist: there is no config file. Load wraps it (and fs.ErrNotExist);
// callers treat it as "not set up yet".
var ErrNotExist = errors.New("config: no config file")

// Config is the user's settings. It never contains secrets.
//
// Empty string fields mean "the default"; the endpoint defaults are
// Tencent's (see package api), or what the installer preset (Preset).
type Config struct {
	Version int `json:"version"` // must be Version

	// The account: direct mode (Agent, the endpoints; after "login") or
	// relay mode (RelayURL, RelayDevice; after "enroll"), never both.
	// Alias is the mailbox in either mode. All are empty before set-up
	// and after "logout".
	Agent    string `json:"agent,omitempty"`     // admin account: the token's client_id
	Alias    string `json:"alias,omitempty"`     // the mailbox to watch, e.g. bob@example.com
	TokenURL string `json:"token_url,omitempty"` // default api.DefaultTokenURL
	APIURL   string `json:"api_url,omitempty"`   // ends in "/"; default api.DefaultBaseURL
	LoginURL string `json:"login_url,omitempty"` // default api.DefaultLoginURL
	// RelayURL is the company relay this device is enrolled with
	// (https://…; http:// only on loopback). Its device token is in the
	// OS keyring, never here.
	RelayURL string `json:"relay_url,omitempty"`
	// RelayDevice is the device id the relay gave at enrollment (shown
	// by "exmail-relay devices"; not a secret).
	RelayDevice string `json:"relay_device,omitempty"`
	// CorpID selects Tencent's current API (api.exmail.qq.com) in direct
	// mode (after "login --corp"): the enterprise's corpid. Its
	// applications' secrets are in the OS keyring, never here.
	CorpID string `json:"corp_id,omitempty"`
	// CorpAPIURL is that API's base, ending in "/"; default
	// corpapi.DefaultBaseURL.
	CorpAPIURL string `json:"corp_api_url,omitempty"`

	// Lang is the language of the tray and toasts: "zh", "en", or "" to
	// follow the system.
	Lang string `json:"lang,omitempty"`
	// ShowContent puts sender and subject into toasts. Unset (nil) means
	// true; use ShowsContent to read it.
	ShowContent *bool `json:"show_content,omitempty"`
	// PausedUntil: no toasts before this instant (zero: not paused).
	PausedUntil time.Time `json:"paused_until,omitzero"`
	// QuietHours pauses toasts on weekdays from From to To ("HH:MM",
	// local time; a span that crosses midnight belongs to the weekday it
	// starts on), e.g. {"on": true, "from": "20:00", "to": "08:00"}.
	QuietHours *QuietHours `json:"quiet_hours,omitempty"`
	// Sound lets notifications play the desktop's sound. Unset (nil)
	// means true; use PlaysSound to read it.
	Sound *bool `json:"sound,omitempty"`
	// IdleTimeout is how long the listen connection may stay silent before
	// it is considered dead and reopened. Zero: the watcher's default.
	IdleTimeout Duration `json:"idle_timeout,omitzero"`
	// LogLevel is "debug", "info", "warn" or "error"; "" means "info".
	LogLevel string `json:"log_level,omitempty"`
}

// New returns an empty config of the current version.
func New() *Config { return &Config{Version: Version} }

// QuietHours is the pause schedule of Config.QuietHours.
type QuietHours struct {
	On   bool   `json:"on"`
	From string `json:"from"` // "HH:MM"
	To   string `json:"to"`   // "HH:MM"
}

// Minutes returns From and To as minutes after midnight; ok is false when
// either is not a valid "HH:MM".
func (q QuietHours) Minutes() (from, to int, ok bool) {
	from, ok1 := clockMinutes(q.From)
	to, ok2 := clockMinutes(q.To)
	return from, to, ok1 && ok2
}

// clockMinutes reads "HH:MM" (00:00 to 23:59).
func clockMinutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// PlaysSound reports whether notifications may play a sound (default
// true).
func (c *Config) PlaysSound() bool { return c.Sound == nil || *c.Sound }

// ShowsContent reports whether toasts show sender and subject (default
// true).
func (c *Config) ShowsContent() bool { return c.ShowContent == nil || *c.ShowContent }

// Paused reports whether toasts are paused at now.
func (c *Config) Paused(now time.Time) bool { return now.Before(c.PausedUntil) }

// ClearAccount removes the account fields of both modes (agent, alias,
// endpoints, relay) and keeps the rest of the settings.
func (c *Config) ClearAccount() {
	c.Agent, c.Alias, c.TokenURL, c.APIURL, c.LoginURL = "", "", "", "", ""
	c.RelayURL, c.RelayDevice = "", ""
	c.CorpID, c.CorpAPIURL = "", ""
}

// HasAccount reports whether an account is configured, in either mode.
func (c *Config) HasAccount() bool { return c.Agent != "" || c.RelayURL != "" || c.CorpID != "" }

// Relayed reports whether the account is in relay mode.
func (c *Config) Relayed() bool { return c.RelayURL != "" }

// Validate reports every problem of c at once (errors.Join), each naming
// its JSON field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Version != Version {
		bad("version", "is %d, want %d", c.Version, Version)
	}
	if strings.TrimSpace(c.Agent) != c.Agent || strings.ContainsFunc(c.Agent, isControl) {
		bad("agent", "%q has surrounding spaces or control characters", c.Agent)
	}
	if c.Alias != "" {
		if at := strings.LastIndexByte(c.Alias, '@'); at <= 0 || at == len(c.Alias)-1 ||
			strings.ContainsFunc(c.Alias, func(r rune) bool { return r == ' ' || isControl(r) }) {
			bad("alias", "%q is not a mail address", c.Alias)
		}
		if c.Agent == "" && c.RelayURL == "" && c.CorpID == "" {
			bad("alias", "is set but neither agent (the admin account), relay_url nor corp_id is")
		}
	}
	if c.RelayURL != "" {
		if c.Agent != "" || c.TokenURL != "" || c.APIURL != "" || c.LoginURL != "" {
			bad("relay_url", "is set together with direct-mode fields (agent, token_url, api_url, login_url); an account is one or the other")
		}
		if err := CheckRelayURL(c.RelayURL); err != nil {
			bad("relay_url", "%v", err)
		}
	}
	if c.CorpID != "" {
		if c.Agent != "" || c.RelayURL != "" || c.TokenURL != "" || c.APIURL != "" || c.LoginURL != "" {
			bad("corp_id", "is set together with another account's fields (agent, relay_url, endpoints); an account is one kind")
		}
		if strings.ContainsFunc(c.CorpID, func(r rune) bool { return r == ' ' || r == '/' || isControl(r) }) {
			bad("corp_id", "%q has spaces, slashes or control characters", c.CorpID)
		}
	}
	if c.CorpAPIURL != "" {
		if err := checkURL(c.CorpAPIURL, true); err != nil {
			bad("corp_api_url", "%v", err)
		}
	}
	if strings.ContainsFunc(c.RelayDevice, func(r rune) bool { return r == ' ' || isControl(r) }) {
		bad("relay_device", "%q has spaces or control characters", c.RelayDevice)
	}
	for _, u := range []struct {
		field, value string
		slash        bool
	}{
		{"token_url", c.TokenURL, false},
		{"api_url", c.APIURL, true},
		{"login_url", c.LoginURL, false},
	} {
		if u.value == "" {
			continue
		}
		if err := checkURL(u.value, u.slash); err != nil {
			bad(u.field, "%v", err)
		}
	}
	switch c.Lang {
	case "", "zh", "en":
	default:
		bad("lang", "%q is not one of \"zh\", \"en\" or \"\" (system)", c.Lang)
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if q := c.QuietHours; q != nil {
		if _, _, ok := q.Minutes(); !ok {
			bad("quiet_hours", "from %q and to %q must be times of day such as \"20:00\" and \"08:00\"", q.From, q.To)
		}
	}
	if c.IdleTimeout < 0 {
		bad("idle_timeout", "%v is negative", time.Duration(c.IdleTimeout))
	}
	return errors.Join(errs...)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkURL accepts an http(s) URL with a host and without credentials or a
// query; slash requires a path ending in "/".
func checkURL(raw string, slash bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Echo only what cannot hide a credential: no user info, query or fragment.
		shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
		return fmt.Errorf("%q is not an http(s) URL", shown.String())
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must not carry credentials, a query or a fragment")
	}
	if slash && !strings.HasSuffix(u.Path, "/") {
		return fmt.Errorf("%q must end in \"/\"", raw)
	}
	return nil
}

// CheckRelayURL accepts a relay's base URL: https with a host, or plain
// http only on a loopback address (a relay on this machine); no
// credentials, query or fragment.
func CheckRelayURL(raw string) error {
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r > '~' || r == '%' }) {
		return errors.New("a relay address is plain ASCII with no escapes, e.g. https://relay.example.com")
	}
	if err := checkURL(raw, false); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return fmt.Errorf("%q is plain http to another machine: a relay URL must be https://", u.Scheme+"://"+u.Host)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Duration is a time.Duration written as a string ("90s", "2m").
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a string such as "90s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"90s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"90s\"", s)
	}
	*d = Duration(v)
	return nil
}

// maxSize bounds the file Load reads.
const maxSize = 1 << 20

// Load reads and validates the config file at path. A missing file is an
// error matching ErrNotExist.
//
// It is strict: the version is checked first (a file from a newer release
// says so rather than listing unknown fields), then unknown fields,
// trailing data and invalid values are errors that name the file and the
// field.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrNotExist, err)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("config %s: larger than 1 MiB", path)
	}
	c, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

func parse(b []byte) (*Config, error) {
	var head struct {
		Version *int `json:"version"`
	}
	// The first JSON value only: trailing data is reported below, after
	// the version.
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&head); err != nil {
		return nil, jsonError(err)
	}
	switch {
	case head.Version == nil:
		return nil, errors.New(`version: missing (want "version": 1)`)
	case *head.Version > Version:
		return nil, fmt.Errorf("version: %d is newer than this program understands (%d): upgrade exmail-notifier", *head.Version, Version)
	case *head.Version != Version:
		return nil, fmt.Errorf("version: %d is not supported (want %d)", *head.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// jsonError makes encoding/json's errors read as a config file's problems.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		return fmt.Errorf("%s: want a JSON %s, not %s", te.Field, te.Type, te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no type for it.
		return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("empty or truncated JSON")
	}
	return err
}

// updating holds one lock per config path: Update's read, change and
// write run one at a time in this process.
var updating sync.Map // path → *sync.Mutex

// Update reads the config file at path (a missing file is New()), lets
// change modify it and saves it, with every other Update of path in this
// process waiting: two writers that change different fields (the tray's
// preferences, the settings page's language or account) never undo each
// other. change's error aborts without saving; a broken file is an error
// and is not overwritten.
func Update(path string, change func(c *Config) error) error {
	m, _ := updating.LoadOrStore(path, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	c, err := Load(path)
	if errors.Is(err, ErrNotExist) {
		c, err = New(), nil
	}
	if err != nil {
		return err
	}
	if err := change(c); err != nil {
		return err
	}
	return Save(path, c)
}

// Save validates c and writes it to path atomically: a temporary file in
// the same directory (mode 0600), fsync, rename over path. The directory
// is created with mode 0700 if missing. A reader sees the old file or the
// new one, never a mix.
func Save(path string, c *Config) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("config: not saving an invalid config: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	b = append(b, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := WriteFileAtomic(path, b, 0o600); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// WriteFileAtomic writes b to path through a temporary file in the same
// directory (created with mode perm, fsynced) and a rename, so that a
// reader sees the old file or the new one, never a mix. The directory must
// exist.
func WriteFileAtomic(path string, b []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename it is gone already
	if err := tmp.Chmod(perm); err != nil && !isUnsupported(err) {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes the rename durable where the OS allows it (not Windows);
// a failure only risks the rename, not the file's content, so it is
// ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// isUnsupported: Chmod is not supported on some platforms (plan9, wasip1);
// CreateTemp already made the file 0600 there.
func isUnsupported(err error) bool { return errors.Is(err, errors.ErrUnsupported) }

// DefaultPath returns os.UserConfigDir()/exmail-notifier/config.json:
// ~/.config/exmail-notifier/config.json on Linux,
// ~/Library/Application Support/exmail-notifier/config.json on macOS,
// %AppData%\exmail-notifier\config.json on Windows.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return filepath.Join(dir, "exmail-notifier", "config.json"), nil
}

// Endpoints are server URLs; an empty field means Tencent's default.
type Endpoints struct {
	TokenURL string
	APIURL   string
	LoginURL string
}
