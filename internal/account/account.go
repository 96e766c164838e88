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
	"github.com/exmail-notifier/exmail-notifier/creds"
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
}

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

// Resolve resolves the account. Each EXMAIL_* environment variable
// overrides the corresponding stored value: EXMAIL_AGENT, EXMAIL_SECRET,
// EXMAIL_ALIAS, EXMAIL_TOKEN_URL, EXMAIL_API_URL, EXMAIL_LOGIN_URL. The
// stored account is the config file (EXMAIL_CONFIG or config.DefaultPath)
// and the OS keyring, where the key is looked up by the admin account.
// Endpoints not set either way come from the installer's preset
// (config.Preset), then Tencent's defaults.
//
// Errors: ErrNoAccount when there is no admin account, or no key for it;
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
	stored := WithPreset(Account{TokenURL: cfg.TokenURL, APIURL: cfg.APIURL, LoginURL: cfg.LoginURL})
	a := Account{
		Agent:      cmp.Or(getenv("EXMAIL_AGENT"), cfg.Agent),
		Alias:      cmp.Or(getenv("EXMAIL_ALIAS"), cfg.Alias),
		TokenURL:   cmp.Or(getenv("EXMAIL_TOKEN_URL"), stored.TokenURL),
		APIURL:     cmp.Or(getenv("EXMAIL_API_URL"), stored.APIURL),
		LoginURL:   cmp.Or(getenv("EXMAIL_LOGIN_URL"), stored.LoginURL),
		ConfigPath: path,
	}
	if a.Agent == "" {
		return a, ErrNoAccount
	}
	if s := getenv("EXMAIL_SECRET"); s != "" {
		r.logger().Debug("using the interface key from EXMAIL_SECRET")
		a.Secret = api.Secret(s)
		return a, nil
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
	})
}

// NeedAlias reports a missing mailbox for commands that need one.
func (a Account) NeedAlias() error {
	if a.Alias == "" {
		return errors.New(`no mailbox to watch: set EXMAIL_ALIAS or run "exmail-notifier login"`)
	}
	return nil
}
