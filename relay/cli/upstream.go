package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/corpapi/callback"
)

// The upstreams --upstream selects.
const (
	upstreamV14  = "v14"  // BizMail OpenApi v1.4: the listen connection
	upstreamCorp = "corp" // Tencent's current API: callbacks, or polled counts
)

// secret is where one secret may come from, in this order: a file named
// by a flag, a systemd credential (LoadCredential=, in
// $CREDENTIALS_DIRECTORY), an environment variable. Never a flag value.
type secret struct {
	what       string // for messages: "the interface key"
	flag       string // "secret-file"
	credential string // "exmail-secret"
	env        string // "EXMAIL_SECRET"
}

var (
	interfaceKey = secret{"the interface key", "secret-file", "exmail-secret", "EXMAIL_SECRET"}
	corpSSO      = secret{"the secret of the 单点登录 (SSO) application", "corp-sso-secret-file", "exmail-corp-sso-secret", "EXMAIL_CORP_SSO_SECRET"}
	corpMail     = secret{"the secret of the 新邮件提醒 (new-mail reminder) application", "corp-mail-secret-file", "exmail-corp-mail-secret", "EXMAIL_CORP_MAIL_SECRET"}
	// The callback settings are two secrets: a file or credential holds
	// the Token on its first line and the EncodingAESKey on its second;
	// the environment has a variable for each (callbackTokenEnv,
	// callbackAESKeyEnv), so this one names none.
	callbackKeys = secret{"the callback Token and EncodingAESKey", "callback-secret-file", "exmail-callback", ""}
)

const (
	callbackTokenEnv  = "EXMAIL_CALLBACK_TOKEN"
	callbackAESKeyEnv = "EXMAIL_CALLBACK_AES_KEY"
)

// secretVars are the environment variables OSEnv takes out of the
// process environment.
var secretVars = []string{interfaceKey.env, corpSSO.env, corpMail.env, callbackTokenEnv, callbackAESKeyEnv}

// lookup reads s from file (its flag's value), the credential or the
// environment. It returns "" and no error when none is set; src says
// where the value came from, for messages.
func (s secret) lookup(e Env, file string) (value, src string, err error) {
	if value, src, err = s.fromFile(e, file); value != "" || err != nil {
		return value, src, err
	}
	return strings.TrimSpace(e.Getenv(s.env)), s.env, nil
}

// fromFile reads s from file (its flag's value) or, without one, the
// systemd credential; "" and no error when neither is there.
func (s secret) fromFile(e Env, file string) (value, src string, err error) {
	src = "--" + s.flag
	if file == "" {
		if d := e.Getenv("CREDENTIALS_DIRECTORY"); d != "" {
			if p := filepath.Join(d, s.credential); exists(p) {
				file, src = p, "the systemd credential "+s.credential
			}
		}
	}
	if file != "" {
		if fi, err := os.Stat(file); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
			return "", src, fmt.Errorf("the file of %s (%s) has mode %v: anyone on this server could read it; chmod 600 it (root-owned), or use a systemd credential", s.what, src, fi.Mode().Perm())
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", src, fmt.Errorf("reading %s from %s: %w", s.what, src, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", src, fmt.Errorf("the file of %s (%s) is empty", s.what, src)
		}
		return v, src, nil
	}
	return "", "", nil
}

// require is lookup for a secret that must be set.
func (s secret) require(e Env, file string) (api.Secret, error) {
	v, _, err := s.lookup(e, file)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", fmt.Errorf("no %s: use --%s FILE, a systemd credential named %s (LoadCredential=), or %s", strings.TrimPrefix(s.what, "the "), s.flag, s.credential, s.env)
	}
	return api.Secret(v), nil
}

// upstreamFlags are the flags that choose and configure the upstream.
type upstreamFlags struct {
	kind                                     *string
	keyFile, ssoFile, mailFile, callbackFile *string
}

// addUpstreamFlags adds --upstream and the secret files to f; --callback-
// secret-file only with callbacks (serve).
func addUpstreamFlags(f *flags, callbacks bool) *upstreamFlags {
	u := &upstreamFlags{
		kind:     f.String("upstream", "", "where mail comes from: v14 (BizMail OpenApi v1.4, the listen connection) or corp (Tencent's current API, api.exmail.qq.com). Default: $EXMAIL_RELAY_UPSTREAM, else v14"),
		keyFile:  f.String(interfaceKey.flag, "", "v14: read the interface key from this file"),
		ssoFile:  f.String(corpSSO.flag, "", "corp: read the 单点登录 (SSO) application's secret from this file"),
		mailFile: f.String(corpMail.flag, "", "corp: read the 新邮件提醒 (new-mail reminder) application's secret from this file"),
	}
	if callbacks {
		u.callbackFile = f.String(callbackKeys.flag, "", "corp: read the callback Token (first line) and EncodingAESKey (second line) from this file")
	} else {
		u.callbackFile = new(string)
	}
	return u
}

// upstreamConn is the configured upstream: the v1.4 client, or the
// current API's client and callback settings.
type upstreamConn struct {
	kind string
	v14  *api.Client
	key  api.Secret // v14: the interface key

	corp              *corpapi.Client
	mailSecret        api.Secret
	cbToken, cbAESKey api.Secret // corp: empty without callbacks
}

// open reads the upstream's configuration: for v14 the admin account
// (EXMAIL_AGENT), the endpoints (EXMAIL_TOKEN_URL, EXMAIL_API_URL,
// EXMAIL_LOGIN_URL) and the interface key; for corp the corpid
// (EXMAIL_CORPID), the endpoint (EXMAIL_CORP_API_URL), the new-mail
// secret, the SSO secret if sso, and the callback settings if callbacks.
// Every error names what to set.
func (u *upstreamFlags) open(f *flags, e Env, sso, callbacks bool) (*upstreamConn, error) {
	kind := strings.ToLower(strings.TrimSpace(*u.kind))
	if kind == "" {
		kind = strings.ToLower(strings.TrimSpace(e.Getenv("EXMAIL_RELAY_UPSTREAM")))
	}
	switch kind {
	case "", upstreamV14, "v1.4":
		for _, fl := range []struct{ name, v string }{{corpSSO.flag, *u.ssoFile}, {corpMail.flag, *u.mailFile}, {callbackKeys.flag, *u.callbackFile}} {
			if fl.v != "" {
				return nil, f.usageErrorf("--%s is for --upstream corp", fl.name)
			}
		}
		return openV14(e, *u.keyFile)
	case upstreamCorp:
		if *u.keyFile != "" {
			return nil, f.usageErrorf("--%s is the v1.4 interface key; --upstream corp takes --%s and --%s", interfaceKey.flag, corpSSO.flag, corpMail.flag)
		}
		return u.openCorp(e, sso, callbacks)
	}
	return nil, f.usageErrorf("--upstream %q: use v14 or corp", kind)
}

func openV14(e Env, keyFile string) (*upstreamConn, error) {
	agent := strings.TrimSpace(e.Getenv("EXMAIL_AGENT"))
	if agent == "" {
		return nil, errors.New("EXMAIL_AGENT (the enterprise admin account) is not set (for Tencent's current API instead, use --upstream corp)")
	}
	key, err := interfaceKey.require(e, keyFile)
	if err != nil {
		return nil, err
	}
	c, err := api.New(api.Config{
		ClientID: agent, ClientSecret: key,
		TokenURL: e.Getenv("EXMAIL_TOKEN_URL"),
		BaseURL:  e.Getenv("EXMAIL_API_URL"),
		LoginURL: e.Getenv("EXMAIL_LOGIN_URL"),
	})
	if err != nil {
		return nil, err
	}
	return &upstreamConn{kind: upstreamV14, v14: c, key: key}, nil
}

func (u *upstreamFlags) openCorp(e Env, sso, callbacks bool) (*upstreamConn, error) {
	corpID := strings.TrimSpace(e.Getenv("EXMAIL_CORPID"))
	if corpID == "" {
		return nil, errors.New("EXMAIL_CORPID (the enterprise's corpid, shown at the bottom of 工具箱 → 应用中心 in the admin console) is not set; --upstream corp needs it")
	}
	conn := &upstreamConn{kind: upstreamCorp}
	var err error
	if conn.mailSecret, err = corpMail.require(e, *u.mailFile); err != nil {
		return nil, err
	}
	var ssoSecret api.Secret
	if sso {
		if ssoSecret, err = corpSSO.require(e, *u.ssoFile); err != nil {
			return nil, err
		}
	}
	base := strings.TrimSpace(e.Getenv("EXMAIL_CORP_API_URL"))
	if base != "" && !strings.HasSuffix(base, "/") {
		base += "/"
	}
	conn.corp, err = corpapi.New(corpapi.Config{CorpID: corpID, BaseURL: base, SSOSecret: ssoSecret, NewMailSecret: conn.mailSecret})
	if err != nil {
		return nil, fmt.Errorf("EXMAIL_CORP_API_URL: %w", err)
	}
	if callbacks {
		if conn.cbToken, conn.cbAESKey, err = readCallbackKeys(e, *u.callbackFile); err != nil {
			return nil, err
		}
		if conn.cbToken != "" {
			if _, err := callback.NewCrypto(conn.cbToken, conn.cbAESKey, corpID); err != nil {
				return nil, fmt.Errorf("the callback settings are not valid (set EXMAIL_CALLBACK_AES_KEY to the 43-character EncodingAESKey of the 新邮件提醒 application): %w", err)
			}
		}
	}
	return conn, nil
}

// readCallbackKeys reads the callback Token and EncodingAESKey: both, or
// neither (then the relay polls the counts).
func readCallbackKeys(e Env, file string) (token, aesKey api.Secret, err error) {
	v, src, err := callbackKeys.fromFile(e, file)
	if err != nil {
		return "", "", err
	}
	if v != "" {
		lines := strings.Fields(v)
		if len(lines) != 2 {
			return "", "", fmt.Errorf("%s must hold two lines, the callback Token then the EncodingAESKey; it holds %d", src, len(lines))
		}
		return api.Secret(lines[0]), api.Secret(lines[1]), nil
	}
	token = api.Secret(strings.TrimSpace(e.Getenv(callbackTokenEnv)))
	aesKey = api.Secret(strings.TrimSpace(e.Getenv(callbackAESKeyEnv)))
	switch {
	case token != "" && aesKey == "":
		return "", "", errors.New("EXMAIL_CALLBACK_TOKEN is set but EXMAIL_CALLBACK_AES_KEY is not: callbacks need both (or neither, to poll the unread counts)")
	case token == "" && aesKey != "":
		return "", "", errors.New("EXMAIL_CALLBACK_AES_KEY is set but EXMAIL_CALLBACK_TOKEN is not: callbacks need both (or neither, to poll the unread counts)")
	}
	return token, aesKey, nil
}

// clusterKey is what scale-out nodes derive their message key from: a
// secret every node holds.
func (c *upstreamConn) clusterKey() []byte {
	if c.kind == upstreamCorp {
		return []byte("exmail-relay corp\x00" + c.corp.CorpID() + "\x00" + c.mailSecret.Reveal())
	}
	return []byte(c.key.Reveal())
}

// checkMailbox reports whether alias is a mailbox of the enterprise:
// user/get on v1.4; on the current API mail/newcount (the relay holds no
// address-book secret), which answers "not found" the same way.
func (c *upstreamConn) checkMailbox(ctx context.Context, alias string) error {
	var err error
	if c.kind == upstreamCorp {
		_, err = c.corp.Mail.NewCount(ctx, alias)
	} else {
		_, err = c.v14.Users.Get(ctx, alias)
	}
	if errors.Is(err, api.ErrNotFound) {
		return fmt.Errorf("%s is not a mailbox of the enterprise", alias)
	}
	if err != nil {
		return fmt.Errorf("checking %s upstream: %w", alias, err)
	}
	return nil
}
