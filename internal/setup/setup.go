// Package setup changes this computer's account: it enrolls with a company
// relay, logs in on BizMail v1.4 or on Tencent's current API, and signs
// out. The command line (enroll, login, logout) and the settings page share
// it, so that both check the same things and store the same way:
//
//   - nothing is stored until the server has accepted the credential and
//     knows the mailbox;
//   - secrets go to the OS keyring, everything else to the config file
//     (through config.Update, so that a preference saved meanwhile is kept);
//   - one account at a time: the previous account's secrets are removed
//     from the keyring once the new one is stored.
//
// Errors name the problem and its fix, and never contain a secret. They
// wrap the cause's sentinel (api.ErrAuth, api.ErrIPNotAllowed,
// api.ErrNotFound, client.ErrEnrollRefused, creds.ErrLocked, …) for
// errors.Is, but their text is written for a person.
package setup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
)

// LinkScheme starts an enrollment link ("exmail-relay enroll" prints
// them); the desktop file, the MSI and the .app register exmail-notifier
// as its handler.
const LinkScheme = "exmail-notifier://"

// EnrollTimeout bounds the exchange with the relay in Enroll (the
// keyring's own wait for an unlock prompt is not part of it).
const EnrollTimeout = 30 * time.Second

// Store changes the stored account. Its zero value is not usable: set
// Keys and Config.
type Store struct {
	// Keys is the OS keyring (or a test's store).
	Keys account.KeyStore
	// Config loads the config file: a missing file is config.New(), a
	// broken one an error (nothing is then changed), path "" when there is
	// no place for one (account.Resolver.LoadConfig keeps this contract).
	Config func() (cfg *config.Config, path string, err error)
	// Log gets a line when an old secret could not be removed. nil
	// discards.
	Log *slog.Logger
}

func (s *Store) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// ConfigError: the config file cannot be read or has no place; nothing
// was changed. The CLI adds what to do next.
type ConfigError struct {
	Path string // "" when there is no place for the file
	Err  error
}

func (e *ConfigError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("no place for the config file: %v (set HOME, or EXMAIL_CONFIG to a file path)", e.Err)
	}
	return fmt.Sprintf("%v (fix or delete the file)", e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// InvalidError: what was typed cannot be stored (a malformed address or
// URL); nothing was sent anywhere.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// explained is an error whose text is written for a person and whose
// cause stays reachable for errors.Is.
type explained struct {
	msg   string
	cause error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.cause }

// NamesFix reports that the text already says what to fix, so that a
// caller adds no hint of its own.
func (e *explained) NamesFix() bool { return true }

func (s *Store) load() (*config.Config, string, error) {
	cfg, path, err := s.Config()
	if err != nil || path == "" {
		return nil, "", &ConfigError{Path: path, Err: cmp.Or(err, errors.New("no config directory"))}
	}
	return cfg, path, nil
}

// ParseEnrollment reads what IT sent: an exmail-notifier://enroll link
// (which names the relay), or a bare code with the relay's address in
// relayFlag. It makes no network call. Errors never contain the code.
func ParseEnrollment(input api.Secret, relayFlag string) (relay string, code api.Secret, err error) {
	s := strings.TrimSpace(input.Reveal())
	relayFlag = strings.TrimSpace(relayFlag)
	if strings.HasPrefix(strings.ToLower(s), LinkScheme) {
		relay, code, err = client.ParseEnrollLink(s)
		if err != nil {
			return "", "", &InvalidError{errors.New("this is not an enrollment link from exmail-relay; copy the whole link from IT's message")}
		}
		if relayFlag != "" && relayFlag != relay {
			return "", "", &InvalidError{fmt.Errorf("the relay address %s differs from the relay the link names (%s)", relayFlag, relay)}
		}
	} else {
		if s == "" {
			return "", "", &InvalidError{errors.New("no enrollment link or code was given; paste the link from IT's message")}
		}
		if relayFlag == "" {
			return "", "", &InvalidError{errors.New("a bare code needs the relay's address (or give the whole link)")}
		}
		relay, code = relayFlag, api.Secret(s)
	}
	if err := config.CheckRelayURL(relay); err != nil {
		return "", "", &InvalidError{fmt.Errorf("relay address: %w", err)}
	}
	return relay, code, nil
}

// Enrolled is what an enrollment stored.
type Enrolled struct {
	Relay    string // the relay's URL
	Alias    string // the mailbox the relay serves this computer (untrusted text)
	DeviceID string // what IT sees in "exmail-relay devices" (untrusted text)
	// RemovedAgent is the admin account whose v1.4 key was removed from
	// the keyring ("" when there was none).
	RemovedAgent string
}

// Enroll trades an enrollment code with the relay for a device token,
// stores the token in the keyring and the relay in the config file, and
// removes an earlier account's secrets. name is what IT sees for this
// computer. The code is used up even when storing fails afterwards; the
// error then says to ask IT to revoke the device and send a new code.
func (s *Store) Enroll(ctx context.Context, relay string, code api.Secret, name string) (Enrolled, error) {
	cfg, path, err := s.load()
	if err != nil {
		return Enrolled{}, err
	}
	ectx, cancel := context.WithTimeout(ctx, EnrollTimeout)
	en, err := client.Enroll(ectx, relay, code, name)
	cancel()
	if err != nil {
		return Enrolled{}, fmt.Errorf("enrolling with the relay %s failed; nothing was stored: %w", relay, err)
	}
	// The code is spent: storing must not stop because the caller went
	// away (a closed browser tab); the keyring's own timeout bounds it.
	ctx = context.WithoutCancel(ctx)
	if err := s.Keys.Set(ctx, account.DeviceKeyName(relay), en.Token); err != nil {
		return Enrolled{}, fmt.Errorf("the relay enrolled this computer as device %s, but the OS keyring refused its token, so nothing was stored: %w (ask IT to revoke that device and send a new code)", en.DeviceID, err)
	}
	old := *cfg
	if err := config.Update(path, func(c *config.Config) error {
		c.ClearAccount()
		c.RelayURL, c.RelayDevice, c.Alias = relay, en.DeviceID, en.Alias
		return nil
	}); err != nil {
		return Enrolled{}, fmt.Errorf("the device token is in the OS keyring, but the config file could not be written: %w", err)
	}
	out := Enrolled{Relay: relay, Alias: en.Alias, DeviceID: en.DeviceID}
	// No administrator key stays behind on a relay desktop.
	if s.removeOld(ctx, &old, &config.Config{RelayURL: relay}) {
		out.RemovedAgent = old.Agent
	}
	return out, nil
}

// Direct is a BizMail v1.4 account as typed: the admin account, the
// mailbox, the interface key, and the endpoints ("" keeps the stored one,
// else the installer's preset, else Tencent's).
type Direct struct {
	Agent, Alias               string
	Key                        api.Secret
	TokenURL, APIURL, LoginURL string
	InsecureTokenURL           bool // the CLI's --insecure
}

// Next is the config that storing d over stored would give, checked (an
// *InvalidError when something typed cannot be stored). The key is not
// part of it: the CLI checks this before asking for the key.
func (d Direct) Next(stored *config.Config) (config.Config, error) {
	next := *stored
	next.ClearAccount()
	next.Agent, next.Alias = strings.TrimSpace(d.Agent), strings.TrimSpace(d.Alias)
	next.TokenURL = cmp.Or(strings.TrimSpace(d.TokenURL), stored.TokenURL)
	next.APIURL = cmp.Or(strings.TrimSpace(d.APIURL), stored.APIURL)
	next.LoginURL = cmp.Or(strings.TrimSpace(d.LoginURL), stored.LoginURL)
	if next.Agent == "" || next.Alias == "" {
		return next, &InvalidError{errors.New("the admin account and the mailbox are both needed")}
	}
	if err := next.Validate(); err != nil {
		return next, &InvalidError{err}
	}
	return next, nil
}

// Login checks d with the server (a token, then the mailbox) and stores
// it: the key in the keyring under the admin account, the rest in the
// config file. It returns the mailbox's user record.
func (s *Store) Login(ctx context.Context, d Direct) (*api.User, error) {
	cfg, path, err := s.load()
	if err != nil {
		return nil, err
	}
	next, err := d.Next(cfg)
	if err != nil {
		return nil, err
	}
	if d.Key.Reveal() == "" {
		return nil, &InvalidError{errors.New("the interface key is empty")}
	}
	a := account.WithPreset(account.Account{
		Agent: next.Agent, Secret: d.Key, Alias: next.Alias,
		TokenURL: next.TokenURL, APIURL: next.APIURL, LoginURL: next.LoginURL,
		InsecureTokenURL: d.InsecureTokenURL,
	})
	user, err := Verify(ctx, a, s.log())
	if err != nil {
		return nil, err
	}
	if err := s.Keys.Set(ctx, a.Agent, d.Key); err != nil {
		return nil, fmt.Errorf("the account works, but storing the interface key failed, so nothing was stored: %w", err)
	}
	if err := config.Update(path, func(c *config.Config) error {
		c.ClearAccount()
		c.Agent, c.Alias, c.TokenURL, c.APIURL, c.LoginURL = next.Agent, next.Alias, next.TokenURL, next.APIURL, next.LoginURL
		return nil
	}); err != nil {
		return nil, fmt.Errorf("the interface key is in the OS keyring, but the config file could not be written: %w", err)
	}
	s.removeOld(ctx, cfg, &next)
	return user, nil
}

// Verify checks a v1.4 account against the server: a token (the admin
// account and key), then user/get of the mailbox. Its errors say what to
// fix and that nothing was stored.
func Verify(ctx context.Context, a account.Account, log *slog.Logger) (*api.User, error) {
	c, err := a.NewClient(log)
	if err != nil {
		return nil, fmt.Errorf("login failed: %w", err)
	}
	u, err := c.Users.Get(ctx, a.Alias)
	switch {
	case err == nil:
		return u, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case api.IsAuth(err):
		return nil, &explained{fmt.Sprintf("login failed: the server rejected admin account %q or the interface key; check both in the exmail admin console (工具箱 → 开放协议). Nothing was stored", a.Agent), err}
	case errors.Is(err, api.ErrIPNotAllowed):
		return nil, &explained{fmt.Sprintf("login failed: %s. Nothing was stored", strings.TrimPrefix(api.ErrIPNotAllowed.Error(), "exmail: ")), err}
	case errors.Is(err, api.ErrNotFound):
		return nil, &explained{fmt.Sprintf("login failed: the mailbox %q does not exist in this enterprise (the admin account and key are fine). Nothing was stored", a.Alias), err}
	}
	return nil, fmt.Errorf("login failed: could not check the account with the server: %w. Nothing was stored", err)
}

// Corp is an account on Tencent's current API as typed: the corpid, the
// mailbox, the API base ("" keeps the stored one, else Tencent's) and the
// secrets of the 单点登录 (SSO) and 新邮件提醒 (new-mail) applications.
type Corp struct {
	CorpID, Alias, APIURL string
	SSO, Mail             api.Secret
}

// Next is the config that storing c over stored would give, checked (an
// *InvalidError when something typed cannot be stored); the secrets are
// not part of it.
func (c Corp) Next(stored *config.Config) (config.Config, error) {
	next := *stored
	next.ClearAccount()
	next.CorpID, next.Alias = strings.TrimSpace(c.CorpID), strings.TrimSpace(c.Alias)
	next.CorpAPIURL = cmp.Or(strings.TrimSpace(c.APIURL), stored.CorpAPIURL)
	if next.CorpID == "" || next.Alias == "" {
		return next, &InvalidError{errors.New("the corpid and the mailbox are both needed")}
	}
	if err := next.Validate(); err != nil {
		return next, &InvalidError{err}
	}
	return next, nil
}

// LoginCorp checks c with the server (a token for each application, then
// the mailbox's count) and stores it: the secrets in the keyring, the rest
// in the config file.
func (s *Store) LoginCorp(ctx context.Context, c Corp) error {
	cfg, path, err := s.load()
	if err != nil {
		return err
	}
	next, err := c.Next(cfg)
	if err != nil {
		return err
	}
	if c.SSO.Reveal() == "" || c.Mail.Reveal() == "" {
		return &InvalidError{errors.New("both application secrets are needed: 单点登录 (single sign-on) and 新邮件提醒 (new mail)")}
	}
	a := account.Account{CorpID: next.CorpID, CorpAPIURL: next.CorpAPIURL, Alias: next.Alias, CorpSSOSecret: c.SSO, CorpMailSecret: c.Mail}
	if err := VerifyCorp(ctx, a, s.log()); err != nil {
		return err
	}
	for _, k := range []struct {
		app    string
		secret api.Secret
	}{{"sso", c.SSO}, {"mail", c.Mail}} {
		if err := s.Keys.Set(ctx, account.CorpKeyName(a.CorpID, k.app), k.secret); err != nil {
			return fmt.Errorf("the account works, but storing its secrets in the OS keyring failed: %w", err)
		}
	}
	if err := config.Update(path, func(c *config.Config) error {
		c.ClearAccount()
		c.CorpID, c.Alias, c.CorpAPIURL = next.CorpID, next.Alias, next.CorpAPIURL
		return nil
	}); err != nil {
		return fmt.Errorf("the secrets are in the OS keyring, but the config file could not be written: %w", err)
	}
	s.removeOld(ctx, cfg, &next)
	return nil
}

// VerifyCorp checks a current-API account with the server: a token for
// each application, then the mailbox's unread count. Its errors say what
// to fix and that nothing was stored.
func VerifyCorp(ctx context.Context, a account.Account, log *slog.Logger) error {
	c, err := a.NewCorpClient(log)
	if err != nil {
		return fmt.Errorf("login failed: %w", err)
	}
	for _, app := range []struct {
		app  corpapi.App
		name string
	}{{corpapi.AppSSO, "单点登录 (single sign-on)"}, {corpapi.AppNewMail, "新邮件提醒 (new-mail)"}} {
		if err := c.CheckToken(ctx, app.app); err != nil {
			if api.IsAuth(err) {
				return &explained{fmt.Sprintf("login failed: the server refused corpid %q with the %s application's secret; check both in the exmail admin console (工具箱 → 应用中心). Nothing was stored", a.CorpID, app.name), err}
			}
			return fmt.Errorf("login failed: could not check the %s application with the server: %w. Nothing was stored", app.name, err)
		}
	}
	if _, err := c.Mail.NewCount(ctx, a.Alias); err != nil {
		if errors.Is(err, api.ErrNotFound) {
			return &explained{fmt.Sprintf("login failed: the mailbox %q does not exist in this enterprise (the corpid and secrets are fine). Nothing was stored", a.Alias), err}
		}
		return fmt.Errorf("login failed: could not read the unread count of %s: %w. Nothing was stored", a.Alias, err)
	}
	return nil
}

// SignOut removes the stored account: its secrets from the keyring (the
// v1.4 key, the relay's device token, the current API's secrets) and the
// account fields from the config file; the preferences stay. agent, when
// not "", removes only that admin account's key (and the account fields
// only if it is the stored one). It returns what was removed, in words;
// what is already missing is fine. The relay lists the device until IT
// revokes it.
func (s *Store) SignOut(ctx context.Context, agent string) (removed []string, err error) {
	cfg, path, err := s.load()
	if err != nil {
		return nil, err
	}
	only := strings.TrimSpace(agent)
	agent = cmp.Or(only, cfg.Agent)
	rm := func(name, what string) error {
		switch err := s.Keys.Delete(ctx, name); {
		case err == nil:
			removed = append(removed, what)
		case !errors.Is(err, creds.ErrNotFound):
			return fmt.Errorf("nothing more was removed: %w", err)
		}
		return nil
	}
	if agent != "" {
		if err := rm(agent, fmt.Sprintf("the interface key of %q from the OS keyring", agent)); err != nil {
			return removed, err
		}
	}
	if cfg.CorpID != "" && only == "" {
		for _, app := range []string{"sso", "mail"} {
			if err := rm(account.CorpKeyName(cfg.CorpID, app), "the current API's "+app+" application secret from the OS keyring"); err != nil {
				return removed, err
			}
		}
	}
	if cfg.RelayURL != "" && only == "" {
		if err := rm(account.DeviceKeyName(cfg.RelayURL), "this computer's relay token from the OS keyring"); err != nil {
			return removed, err
		}
	}
	if cfg.HasAccount() || cfg.Alias != "" || cfg.TokenURL != "" || cfg.APIURL != "" || cfg.LoginURL != "" || cfg.CorpAPIURL != "" {
		if only == "" || only == cfg.Agent {
			if err := config.Update(path, func(c *config.Config) error { c.ClearAccount(); return nil }); err != nil {
				return removed, fmt.Errorf("could not remove the account from the config file: %w", err)
			}
			removed = append(removed, "the account from "+path)
		}
	}
	return removed, nil
}

// keyNames are the keyring entries of c's account: the admin account's
// key, the relay's device token, the current API's two secrets.
func keyNames(c *config.Config) []string {
	var names []string
	if c.Agent != "" {
		names = append(names, c.Agent)
	}
	if c.RelayURL != "" {
		names = append(names, account.DeviceKeyName(c.RelayURL))
	}
	if c.CorpID != "" {
		names = append(names, account.CorpKeyName(c.CorpID, "sso"), account.CorpKeyName(c.CorpID, "mail"))
	}
	return names
}

// removeOld deletes the old account's secrets that the next one does not
// use (one account at a time), logging (never failing) when the keyring
// refuses. It reports whether old's admin key was removed.
func (s *Store) removeOld(ctx context.Context, old, next *config.Config) (removedAgent bool) {
	keep := keyNames(next)
	for _, name := range keyNames(old) {
		if slices.Contains(keep, name) {
			continue
		}
		switch err := s.Keys.Delete(ctx, name); {
		case err == nil:
			removedAgent = removedAgent || name == old.Agent
		case !errors.Is(err, creds.ErrNotFound):
			s.log().Warn("could not remove the previous account's secret from the OS keyring; remove it by hand", "err", err)
		}
	}
	return removedAgent
}
