package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/creds"
)

// account is everything needed to talk to the server for one mailbox.
type account struct {
	Agent    string     // admin account, the token's client_id
	Secret   api.Secret // interface key
	Alias    string     // the mailbox to watch
	TokenURL string     // "" = api.DefaultTokenURL
	APIURL   string     // "" = api.DefaultBaseURL
	LoginURL string     // "" = api.DefaultLoginURL

	ConfigPath string // the settings file consulted ("" if there is no config directory)
}

// errNoAccount: nothing is configured; the user should run login. An
// admin account without a stored key matches it too.
var errNoAccount = errors.New(`no account configured: run "exmail-notifier login", or set EXMAIL_AGENT, EXMAIL_SECRET and EXMAIL_ALIAS`)

// keyStore holds the interface key, by admin account: creds.Keyring (the
// OS keyring) in the program, creds.Memory in tests. Errors match the
// creds sentinels (creds.ErrNotFound, creds.ErrLocked, ...).
type keyStore interface {
	Get(ctx context.Context, account string) (api.Secret, error)
	Set(ctx context.Context, account string, secret api.Secret) error
	Delete(ctx context.Context, account string) error
}

// keyStore returns the env's key store, the OS keyring by default.
func (e *env) keyStore() keyStore {
	if e.keys != nil {
		return e.keys
	}
	return &creds.Keyring{}
}

// configPath is EXMAIL_CONFIG, or config.DefaultPath().
func (e *env) configPath() (string, error) {
	if p := strings.TrimSpace(e.getenv("EXMAIL_CONFIG")); p != "" {
		return p, nil
	}
	return config.DefaultPath()
}

// loadConfig loads the settings file. A missing file is an empty config
// (config.New()), not an error; a broken one is an error naming the file
// and the field. path is "" only when there is no config directory (no
// HOME), which is returned as an error too.
func (e *env) loadConfig() (cfg *config.Config, path string, err error) {
	path, err = e.configPath()
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

// account resolves the account. Each EXMAIL_* environment variable
// overrides the corresponding stored value: EXMAIL_AGENT, EXMAIL_SECRET,
// EXMAIL_ALIAS, EXMAIL_TOKEN_URL, EXMAIL_API_URL, EXMAIL_LOGIN_URL. The
// stored account is the config file (EXMAIL_CONFIG or config.DefaultPath)
// and the OS keyring, where the key is looked up by the admin account.
// Endpoints not set either way come from the installer's preset
// (config.Preset), then Tencent's defaults.
//
// Errors: errNoAccount when there is no admin account, or no key for it;
// a config error when the settings file is broken (nothing is guessed);
// a creds error (creds.ErrLocked, creds.ErrUnavailable, creds.ErrTimeout)
// when the keyring cannot be read. The returned account is filled in as
// far as it was resolved, even with an error.
func (e *env) account(ctx context.Context) (account, error) {
	getenv := func(k string) string { return strings.TrimSpace(e.getenv(k)) }
	cfg, path, err := e.loadConfig()
	if err != nil {
		if path != "" {
			return account{ConfigPath: path}, err
		}
		// No config directory at all: only the environment can help.
		e.logger().Debug("no config file location; using the environment only", "err", err)
	}
	preset := config.Preset()
	a := account{
		Agent:      first(getenv("EXMAIL_AGENT"), cfg.Agent),
		Alias:      first(getenv("EXMAIL_ALIAS"), cfg.Alias),
		TokenURL:   first(getenv("EXMAIL_TOKEN_URL"), cfg.TokenURL, preset.TokenURL),
		APIURL:     first(getenv("EXMAIL_API_URL"), cfg.APIURL, preset.APIURL),
		LoginURL:   first(getenv("EXMAIL_LOGIN_URL"), cfg.LoginURL, preset.LoginURL),
		ConfigPath: path,
	}
	if a.Agent == "" {
		return a, errNoAccount
	}
	if s := getenv("EXMAIL_SECRET"); s != "" {
		e.logger().Debug("using the interface key from EXMAIL_SECRET")
		a.Secret = api.Secret(s)
		return a, nil
	}
	s, err := e.keyStore().Get(ctx, a.Agent)
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
	return target == errNoAccount || target == creds.ErrNotFound
}

// first returns the first non-empty string.
func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// client builds an API client for the resolved account.
func (e *env) client(ctx context.Context) (*api.Client, account, error) {
	a, err := e.account(ctx)
	if err != nil {
		return nil, a, err
	}
	c, err := a.newClient(e)
	return c, a, err
}

// newClient builds an API client for a.
func (a account) newClient(e *env) (*api.Client, error) {
	return api.New(api.Config{
		ClientID:     a.Agent,
		ClientSecret: a.Secret,
		BaseURL:      a.APIURL,
		TokenURL:     a.TokenURL,
		LoginURL:     a.LoginURL,
		Logger:       e.logger(),
	})
}

// needAlias reports a missing mailbox for commands that need one.
func (a account) needAlias() error {
	if a.Alias == "" {
		return errors.New(`no mailbox to watch: set EXMAIL_ALIAS or run "exmail-notifier login"`)
	}
	return nil
}
