// Package account resolves the account the notifier uses in direct mode
// (the enterprise admin account, its interface key, the mailbox and the
// endpoints) from the environment, the config file and the OS keyring.
package account

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
)

// Account is everything needed to talk to the server for one mailbox.
type Account struct {
	Agent    string     // admin account, the token's client_id
	Secret   api.Secret // interface key
	Alias    string     // the mailbox to watch
	TokenURL string     // "" = api.DefaultTokenURL
	APIURL   string     // "" = api.DefaultBaseURL
	LoginURL string     // "" = api.DefaultLoginURL

	ConfigPath string // the settings file consulted ("" if there is no config directory)

	// InsecureTokenURL lets the key go to a plain-HTTP token URL on
	// another machine (api.Config.InsecureTokenURL): the CLI's --insecure.
	InsecureTokenURL bool

	// Relay mode (after "enroll"): the company relay's base URL and this
	// device's token for it. Agent, Secret and the endpoints are then
	// empty: no admin key is on this machine.
	Relay       string
	DeviceToken api.Secret

	// Corp mode (after "login --corp"): Tencent's current API with the
	// enterprise's corpid and two applications' secrets, for the unread
	// count (新邮件提醒) and single sign-on (单点登录).
	CorpID         string
	CorpAPIURL     string // "" = corpapi.DefaultBaseURL
	CorpSSOSecret  api.Secret
	CorpMailSecret api.Secret
}

// Corp reports whether a is an account on Tencent's current API.
func (a Account) Corp() bool { return a.CorpID != "" }

// CorpKeyName is the name under which the secret of application app
// ("sso", "mail") of the enterprise corpID is kept in the OS keyring.
func CorpKeyName(corpID, app string) string { return "corp-" + app + " " + corpID }

// Relayed reports whether a is a relay account.
func (a Account) Relayed() bool { return a.Relay != "" }

// DeviceKeyName is the name under which the device token for the relay at
// relayURL is kept in the OS keyring (the service is creds.Service, as for
// the interface key).
func DeviceKeyName(relayURL string) string { return "relay-device " + relayURL }

// ErrNoAccount: nothing is configured; the user should run login. An
// admin account without a stored key matches it too.
var ErrNoAccount = errors.New(`no account configured: run "exmail-notifier login", or set EXMAIL_AGENT, EXMAIL_SECRET and EXMAIL_ALIAS`)

// KeyStore holds the interface key, by admin account: creds.Keyring (the
// OS keyring) in the program, creds.Memory in tests. Errors match the
// creds sentinels (creds.ErrNotFound, creds.ErrLocked, ...).
type KeyStore interface {
	Get(ctx context.Context, account string) (api.Secret, error)
	Set(ctx context.Context, account string, secret api.Secret) error
	Delete(ctx context.Context, account string) error
}

// Resolver finds the account. Its zero value reads nothing: set Getenv.
type Resolver struct {
	// Getenv reads the environment (os.Getenv in the program).
	Getenv func(string) string
	// Keys is the interface key store; nil is the OS keyring.
	Keys KeyStore
	// Log gets debug lines (where a value came from); nil discards.
	Log *slog.Logger
	// InsecureTokenURL is copied into every Account (the CLI's --insecure).
	InsecureTokenURL bool
}

func (r *Resolver) keyStore() KeyStore {
	if r.Keys != nil {
		return r.Keys
	}
	return &creds.Keyring{}
}

func (r *Resolver) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// ConfigPath is EXMAIL_CONFIG, or config.DefaultPath().
func (r *Resolver) ConfigPath() (string, error) {
	if p := strings.TrimSpace(r.Getenv("EXMAIL_CONFIG")); p != "" {
		return p, nil
	}
	return config.DefaultPath()
}

// LoadConfig loads the settings file. A missing file is an empty config
// (config.New()), not an error; a broken one is an error naming the file
// and the field (cfg is then nil). path is "" only when there is no
// config directory (no HOME), which is returned as an error too.
func (r *Resolver) LoadConfig() (cfg *config.Config, path string, err error) {
	path, err = r.ConfigPath()
	if err != nil {
		return config.New(), "", err
	}
	cfg, err = config.Load(path)
	if errors.Is(err, config.ErrNotExist) {
		return config.New(), path, nil
	}
	if err != nil {
		return nil, path, err
	}
	return cfg, path, nil
}

// Resolve resolves the account, in relay mode (EXMAIL_RELAY, or a stored
// relay account; see resolveRelay) or direct mode. Each EXMAIL_* environment variable
// overrides the corresponding stored value: EXMAIL_AGENT, EXMAIL_SECRET,
// EXMAIL_ALIAS, EXMAIL_TOKEN_URL, EXMAIL_API_URL, EXMAIL_LOGIN_URL. The
// stored account is the config file (EXMAIL_CONFIG or config.DefaultPath)
// and the OS keyring, where the key is looked up by the admin account.
// Endpoints not set either way come from the installer's preset
// (config.Preset), then Tencent's defaults.
//
// The key stored in the keyring goes only to the stored account's
// endpoints (see checkEndpoints); EXMAIL_SECRET goes wherever the
// environment says.
//
// Errors: ErrNoAccount when there is no admin account, or no key for it;
// ErrForeignEndpoint when an EXMAIL_*_URL would receive the stored key;
// a config error when the settings file is broken (nothing is guessed);
// a creds error (creds.ErrLocked, creds.ErrUnavailable, creds.ErrTimeout)
// when the keyring cannot be read. The returned account is filled in as
// far as it was resolved, even with an error.
func (r *Resolver) Resolve(ctx context.Context) (Account, error) {
	getenv := func(k string) string { return strings.TrimSpace(r.Getenv(k)) }
	cfg, path, err := r.LoadConfig()
	if err != nil {
		if path != "" {
			return Account{ConfigPath: path}, err
		}
		// No config directory at all: only the environment can help.
		r.logger().Debug("no config file location; using the environment only", "err", err)
	}
	// Relay mode: EXMAIL_RELAY, else the stored relay account unless
	// EXMAIL_AGENT asks for a direct one.
	relay := getenv("EXMAIL_RELAY")
	if relay == "" && getenv("EXMAIL_AGENT") == "" {
		relay = cfg.RelayURL
	}
	if relay != "" {
		return r.resolveRelay(ctx, relay, cfg, path)
	}
	// Corp mode: EXMAIL_CORPID, else the stored corp account unless
	// EXMAIL_AGENT asks for a v1.4 one.
	corp := getenv("EXMAIL_CORPID")
	if corp == "" && getenv("EXMAIL_AGENT") == "" {
		corp = cfg.CorpID
	}
	if corp != "" {
		return r.resolveCorp(ctx, corp, cfg, path)
	}
	stored := WithPreset(Account{TokenURL: cfg.TokenURL, APIURL: cfg.APIURL, LoginURL: cfg.LoginURL})
	a := Account{
		Agent:      cmp.Or(getenv("EXMAIL_AGENT"), cfg.Agent),
		Alias:      cmp.Or(getenv("EXMAIL_ALIAS"), cfg.Alias),
		TokenURL:   cmp.Or(getenv("EXMAIL_TOKEN_URL"), stored.TokenURL),
		APIURL:     cmp.Or(getenv("EXMAIL_API_URL"), stored.APIURL),
		LoginURL:   cmp.Or(getenv("EXMAIL_LOGIN_URL"), stored.LoginURL),
		ConfigPath: path,

		InsecureTokenURL: r.InsecureTokenURL,
	}
	if a.Agent == "" {
		return a, ErrNoAccount
	}
	if s := getenv("EXMAIL_SECRET"); s != "" {
		r.logger().Debug("using the interface key from EXMAIL_SECRET")
		a.Secret = api.Secret(s)
		return a, nil
	}
	if err := r.checkEndpoints(a, stored); err != nil {
		return a, err
	}
	s, err := r.keyStore().Get(ctx, a.Agent)
	switch {
	case errors.Is(err, creds.ErrNotFound):
		return a, &noKeyError{agent: a.Agent}
	case err != nil:
		return a, err
	}
	a.Secret = s
	return a, nil
}

// resolveRelay resolves a relay account: the relay URL (EXMAIL_RELAY or
// the config's), the mailbox (EXMAIL_ALIAS or the config's; "" when only
// the relay knows it), and the device token from EXMAIL_DEVICE_TOKEN, else
// the OS keyring, where only the stored relay's token is looked up.
func (r *Resolver) resolveRelay(ctx context.Context, relay string, cfg *config.Config, path string) (Account, error) {
	getenv := func(k string) string { return strings.TrimSpace(r.Getenv(k)) }
	a := Account{Relay: relay, Alias: cmp.Or(getenv("EXMAIL_ALIAS"), cfg.Alias), ConfigPath: path}
	if err := config.CheckRelayURL(relay); err != nil {
		return a, fmt.Errorf("relay URL: %w", err)
	}
	if t := getenv("EXMAIL_DEVICE_TOKEN"); t != "" {
		r.logger().Debug("using the device token from EXMAIL_DEVICE_TOKEN")
		a.DeviceToken = api.Secret(t)
		return a, nil
	}
	if relay != cfg.RelayURL {
		return a, fmt.Errorf("%w: EXMAIL_RELAY names a relay this device is not enrolled with; set EXMAIL_DEVICE_TOKEN too, or run \"exmail-notifier enroll\"", ErrNoAccount)
	}
	t, err := r.keyStore().Get(ctx, DeviceKeyName(relay))
	switch {
	case errors.Is(err, creds.ErrNotFound):
		return a, &noTokenError{relay: relay}
	case err != nil:
		return a, err
	}
	a.DeviceToken = t
	return a, nil
}

// resolveCorp resolves an account on Tencent's current API: the corpid,
// the mailbox (EXMAIL_ALIAS or the config's), the API base
// (EXMAIL_CORP_API_URL or the config's) and the two secrets, each from
// its environment variable (EXMAIL_CORP_SSO_SECRET, EXMAIL_CORP_MAIL_SECRET)
// else the OS keyring, where only the stored enterprise's are looked up.
func (r *Resolver) resolveCorp(ctx context.Context, corp string, cfg *config.Config, path string) (Account, error) {
	getenv := func(k string) string { return strings.TrimSpace(r.Getenv(k)) }
	a := Account{
		CorpID:     corp,
		CorpAPIURL: cmp.Or(getenv("EXMAIL_CORP_API_URL"), cfg.CorpAPIURL),
		Alias:      cmp.Or(getenv("EXMAIL_ALIAS"), cfg.Alias),
		ConfigPath: path,
	}
	secrets := []struct {
		dst      *api.Secret
		env, app string
		what     string
	}{
		{&a.CorpSSOSecret, "EXMAIL_CORP_SSO_SECRET", "sso", "the single sign-on (单点登录) application's secret"},
		{&a.CorpMailSecret, "EXMAIL_CORP_MAIL_SECRET", "mail", "the new-mail (新邮件提醒) application's secret"},
	}
	for _, sec := range secrets {
		if v := getenv(sec.env); v != "" {
			*sec.dst = api.Secret(v)
			continue
		}
		if corp != cfg.CorpID {
			return a, fmt.Errorf("%w: EXMAIL_CORPID names an enterprise not stored here; set %s too, or run \"exmail-notifier login --corp\"", ErrNoAccount, sec.env)
		}
		v, err := r.keyStore().Get(ctx, CorpKeyName(corp, sec.app))
		switch {
		case errors.Is(err, creds.ErrNotFound):
			return a, fmt.Errorf("%w: no %s in the OS keyring; run \"exmail-notifier login --corp\" (or set %s)", ErrNoAccount, sec.what, sec.env)
		case err != nil:
			return a, err
		}
		*sec.dst = v
	}
	return a, nil
}

// NewCorpClient returns the client of Tencent's current API for a corp
// account.
func (a Account) NewCorpClient(log *slog.Logger) (*corpapi.Client, error) {
	return corpapi.New(corpapi.Config{CorpID: a.CorpID, SSOSecret: a.CorpSSOSecret, NewMailSecret: a.CorpMailSecret,
		BaseURL: a.CorpAPIURL, Logger: log})
}

// noTokenError: a relay account is configured but the keyring holds no
// device token for it. It matches ErrNoAccount and creds.ErrNotFound.
type noTokenError struct{ relay string }

func (e *noTokenError) Error() string {
	return fmt.Sprintf(`no device token for the relay %s in the OS keyring: enroll again with the link or code from IT ("exmail-notifier enroll"), or set EXMAIL_DEVICE_TOKEN`, e.relay)
}

func (e *noTokenError) Is(target error) bool {
	return target == ErrNoAccount || target == creds.ErrNotFound
}

// ErrForeignEndpoint: an EXMAIL_*_URL variable points the key stored in
// the keyring at a server the stored account does not name.
var ErrForeignEndpoint = errors.New("an endpoint from the environment would receive the stored interface key")

// checkEndpoints refuses to send the stored key (the keyring's) to an
// endpoint that came from the environment rather than from the stored
// account or the installer's preset: a leftover demo.env would otherwise
// send the domain's admin key to whatever now listens on that port. The
// user can say so explicitly with EXMAIL_ALLOW_ENV_ENDPOINTS=1, or bring
// the key for that server in EXMAIL_SECRET.
func (r *Resolver) checkEndpoints(a, stored Account) error {
	if strings.TrimSpace(r.Getenv("EXMAIL_ALLOW_ENV_ENDPOINTS")) == "1" {
		return nil
	}
	for _, e := range []struct{ name, got, stored string }{
		{"EXMAIL_TOKEN_URL", a.TokenURL, stored.TokenURL},
		{"EXMAIL_API_URL", a.APIURL, stored.APIURL},
		{"EXMAIL_LOGIN_URL", a.LoginURL, stored.LoginURL},
	} {
		if e.got != e.stored {
			return fmt.Errorf("%w: %s is set and differs from the stored account's endpoint; unset it (a leftover demo.env?), set EXMAIL_SECRET to that server's key, or set EXMAIL_ALLOW_ENV_ENDPOINTS=1 to send the stored key there", ErrForeignEndpoint, e.name)
		}
	}
	return nil
}

// noKeyError: an admin account is configured but the keyring holds no key
// for it. It matches errNoAccount and creds.ErrNotFound.
type noKeyError struct{ agent string }

func (e *noKeyError) Error() string {
	return fmt.Sprintf(`no interface key for admin account %q in the OS keyring: run "exmail-notifier login" (or set EXMAIL_SECRET)`, e.agent)
}

func (e *noKeyError) Is(target error) bool {
	return target == ErrNoAccount || target == creds.ErrNotFound
}

// WithPreset fills the endpoints a leaves empty from the installer's
// preset (config.Preset: the Windows MSI's EXMAIL_*_URL properties); what
// is still empty means Tencent's defaults. It is the one rule for
// endpoints that neither a flag, the environment nor the config file set.
func WithPreset(a Account) Account {
	p := config.Preset()
	a.TokenURL = cmp.Or(a.TokenURL, p.TokenURL)
	a.APIURL = cmp.Or(a.APIURL, p.APIURL)
	a.LoginURL = cmp.Or(a.LoginURL, p.LoginURL)
	return a
}

// NewClient builds an API client for a; log gets the client's debug lines.
func (a Account) NewClient(log *slog.Logger) (*api.Client, error) {
	return api.New(api.Config{
		ClientID:     a.Agent,
		ClientSecret: a.Secret,
		BaseURL:      a.APIURL,
		TokenURL:     a.TokenURL,
		LoginURL:     a.LoginURL,
		Logger:       log,

		InsecureTokenURL: a.InsecureTokenURL,
	})
}

// NeedAlias reports a missing mailbox for commands that need one.
func (a Account) NeedAlias() error {
	switch {
	case a.Alias != "":
		return nil
	case a.Relayed():
		return errors.New(`no mailbox: set EXMAIL_ALIAS to the mailbox this device is enrolled for, or run "exmail-notifier enroll"`)
	case a.Corp():
		return errors.New(`no mailbox to watch: set EXMAIL_ALIAS or run "exmail-notifier login --corp"`)
	}
	return errors.New(`no mailbox to watch: set EXMAIL_ALIAS or run "exmail-notifier login"`)
}

// NewRelaySource returns the relay client of a relay account: the event
// stream, the unread count and the sign-in link of its own mailbox only.
func (a Account) NewRelaySource(log *slog.Logger) (*client.Source, error) {
	if err := a.NeedAlias(); err != nil {
		return nil, err
	}
	return client.New(client.Config{URL: a.Relay, Token: a.DeviceToken, Alias: a.Alias, Logger: log})
}
