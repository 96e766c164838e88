package main

import (
	"context"
	"errors"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// account is everything needed to talk to the server for one mailbox.
type account struct {
	Agent    string     // admin account, the token's client_id
	Secret   api.Secret // interface key
	Alias    string     // the mailbox to watch
	TokenURL string
	APIURL   string
	LoginURL string
}

// errNoAccount: nothing is configured; the user should run login.
var errNoAccount = errors.New(`no account configured: run "exmail-notifier login", or set EXMAIL_AGENT, EXMAIL_SECRET and EXMAIL_ALIAS`)

// account resolves the account. The environment (EXMAIL_*) overrides what
// is stored. TODO(creds helper): the stored account (config + keyring).
func (e *env) account(ctx context.Context) (account, error) {
	a := account{
		Agent:    strings.TrimSpace(e.getenv("EXMAIL_AGENT")),
		Secret:   api.Secret(strings.TrimSpace(e.getenv("EXMAIL_SECRET"))),
		Alias:    strings.TrimSpace(e.getenv("EXMAIL_ALIAS")),
		TokenURL: e.getenv("EXMAIL_TOKEN_URL"),
		APIURL:   e.getenv("EXMAIL_API_URL"),
		LoginURL: e.getenv("EXMAIL_LOGIN_URL"),
	}
	if a.Agent == "" || a.Secret == "" {
		return a, errNoAccount
	}
	return a, nil
}

// client builds an API client for the resolved account.
func (e *env) client(ctx context.Context) (*api.Client, account, error) {
	a, err := e.account(ctx)
	if err != nil {
		return nil, a, err
	}
	c, err := api.New(api.Config{
		ClientID:     a.Agent,
		ClientSecret: a.Secret,
		BaseURL:      a.APIURL,
		TokenURL:     a.TokenURL,
		LoginURL:     a.LoginURL,
		Logger:       e.logger(),
	})
	return c, a, err
}

// needAlias reports a missing mailbox for commands that need one.
func (a account) needAlias() error {
	if a.Alias == "" {
		return errors.New(`no mailbox to watch: set EXMAIL_ALIAS or run "exmail-notifier login"`)
	}
	return nil
}
