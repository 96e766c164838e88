package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
	"github.com/exmail-notifier/exmail-notifier/internal/setup"

	"golang.org/x/term"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/creds"
)

const loginUsage = `Usage: exmail-notifier login [--agent A] [--alias ADDRESS] [--secret-stdin] [--api-url U] [--token-url U] [--login-url U]

Stores the account the notifier uses: the enterprise admin account, its
interface key (接口key: exmail admin console → 工具箱 → 开放协议) and the
mailbox to watch. Whatever no flag gives is asked for on the terminal, the key
without echo. When standard input is not a terminal, --secret-stdin reads the
key from it, and the rest must come from flags (or is kept from the config
file). The key is never a flag. Login reads no EXMAIL_* variable but EXMAIL_CONFIG.

Nothing is stored until the server has accepted the key and knows the
mailbox. Then the key goes to the OS keyring (service "exmail-notifier",
user = the admin account) and the rest to the config file.

` + keyWarning + `
`

// keyWarning says plainly what the interface key is, in English and
// Chinese: login prints it before asking for the key, and its usage ends
// with it.
const keyWarning = `The interface key is an administrator credential for the whole company:
whoever holds it can open every mailbox, reset passwords and lift two-factor
sign-in, and the v1.4 API carries it over plain HTTP. On a shared desktop,
prefer a company relay: IT keeps the key on one server and sends you a link.
接口key 是整个企业的管理员凭据：持有者可以打开所有邮箱、重置密码、关闭二次验证，
且 v1.4 接口以未加密的 HTTP 传输。请优先使用公司中继：由 IT 在一台服务器上保管此 key，
并向您发送登记链接。
`

// loginKeyringTimeout bounds the keyring calls of login and logout. It is
// longer than creds.DefaultTimeout: a person at the terminal may have to
// answer an unlock prompt first.
const loginKeyringTimeout = 2 * time.Minute

func cmdLogin(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "login", loginUsage)
	agent := f.String("agent", "", "admin account (client_id) of the enterprise")
	alias := f.String("alias", "", "mailbox to watch, e.g. bob@example.com")
	secretStdin := f.Bool("secret-stdin", false, "read the interface key from standard input instead of asking")
	apiURL := f.String("api-url", "", "API base URL, ending in / (default: the stored one, else "+defaultBaseURL+")")
	tokenURL := f.String("token-url", "", "token endpoint (default: the stored one, else "+defaultTokenURL+")")
	loginURL := f.String("login-url", "", "SSO login endpoint (default: the stored one, else "+defaultLoginURL+")")
	corp := f.Bool("corp", false, "Tencent's current API (api.exmail.qq.com): the corpid and two application secrets instead of the v1.4 key")
	corpID := f.String("corpid", "", "with --corp: the enterprise's corpid (工具箱 → 应用中心)")
	corpAPIURL := f.String("corp-api-url", "", "with --corp: the API base, ending in / (default "+corpapi.DefaultBaseURL+")")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.usageErrorf("unexpected argument %q", f.Arg(0))
	}

	cfg, path, err := e.settingsToChange("then log in again")
	if err != nil {
		return err
	}

	// On a terminal, ask for what is missing (the key without echo, even
	// with --secret-stdin). Otherwise the key comes from standard input
	// and the rest from flags or the config file.
	tty := e.terminal()
	if tty == nil && !*secretStdin {
		return f.usageErrorf("standard input is not a terminal: pipe the interface key with --secret-stdin")
	}
	p := &prompter{in: bufio.NewReader(e.stdin), out: e.stderr, tty: tty}
	ask := func(value *string, flagName, label, stored string) error {
		if *value = strings.TrimSpace(*value); *value != "" {
			return nil
		}
		if tty == nil {
			if stored == "" {
				return f.usageErrorf("--%s is required when standard input is not a terminal", flagName)
			}
			*value = stored
			return nil
		}
		v, err := p.line(label, stored)
		if err != nil {
			return err
		}
		if v == "" {
			return fmt.Errorf("login cancelled: no %s given", strings.ToLower(label))
		}
		*value = v
		return nil
	}
	if *corp {
		return loginCorp(ctx, e, f, cfg, path, p, ask, corpLogin{corpID: *corpID, alias: *alias, apiURL: *corpAPIURL, tty: tty})
	}
	if err := ask(agent, "agent", "Admin account", cfg.Agent); err != nil {
		return err
	}
	if err := ask(alias, "alias", "Mailbox to watch", cfg.Alias); err != nil {
		return err
	}

	// Check what can be checked before asking for the key.
	d := setup.Direct{Agent: *agent, Alias: *alias, TokenURL: *tokenURL, APIURL: *apiURL, LoginURL: *loginURL, InsecureTokenURL: e.insecure}
	probe, err := d.Next(cfg)
	if err != nil {
		return &usageError{msg: oneLine(err.Error()), usage: f.help()}
	}

	var key api.Secret
	if tty != nil {
		// A person is about to type the key: say what it is first.
		// Scripts (--secret-stdin) keep stderr to the one-line reason;
		// the warning ends --help.
		fmt.Fprint(e.stderr, "\n"+keyWarning+"\n")
		key, err = p.secret("Interface key (接口key, not shown)")
	} else {
		key, err = readStdinSecret(e.stdin, "--secret-stdin", "interface key", true)
	}
	if err != nil {
		return err
	}

	// Verified before anything is stored: a token, then the mailbox.
	d.Key = key
	user, err := e.setupStore().Login(ctx, d)
	if err != nil {
		return configHint(err, "then log in again")
	}
	who := probe.Alias
	if name := safetext.Line(user.Name, 64); name != "" {
		who = fmt.Sprintf("%s (%s)", probe.Alias, name)
	}
	fmt.Fprintf(e.stdout, "Logged in: watching %s as admin account %q.\n", who, probe.Agent)
	fmt.Fprintf(e.stdout, "Settings: %s. The interface key is in the OS keyring (service %q).\n", path, creds.Service)
	return nil
}

// corpLogin is what login --corp was given on the command line.
type corpLogin struct {
	corpID, alias, apiURL string
	tty                   *os.File // nil: the secrets come from standard input
}

// loginCorp is login --corp: the corpid, the mailbox and the secrets of
// two applications (单点登录, 新邮件提醒), checked with the server (a token
// for each, then the mailbox's count) before anything is stored. The
// secrets go to the OS keyring, the rest to the config file; a v1.4 key or
// a relay token stored before is removed.
func loginCorp(ctx context.Context, e *env, f *flags, cfg *config.Config, path string, p *prompter,
	ask func(value *string, flagName, label, stored string) error, in corpLogin) error {
	if err := ask(&in.corpID, "corpid", "Corp ID (corpid)", cfg.CorpID); err != nil {
		return err
	}
	if err := ask(&in.alias, "alias", "Mailbox to watch", cfg.Alias); err != nil {
		return err
	}
	c := setup.Corp{CorpID: in.corpID, Alias: in.alias, APIURL: in.apiURL}
	probe, err := c.Next(cfg)
	if err != nil {
		return &usageError{msg: oneLine(err.Error()), usage: f.help()}
	}
	var sso, mail api.Secret
	if in.tty != nil {
		var err error
		if sso, err = p.secret("单点登录 (single sign-on) application secret (not shown)"); err != nil {
			return err
		}
		if mail, err = p.secret("新邮件提醒 (new-mail) application secret (not shown)"); err != nil {
			return err
		}
	} else {
		s, err := readStdinSecrets(e.stdin, "--secret-stdin", []string{"single sign-on application secret", "new-mail application secret"}, true)
		if err != nil {
			return err
		}
		sso, mail = s[0], s[1]
	}
	c.SSO, c.Mail = sso, mail
	if err := e.setupStore().LoginCorp(ctx, c); err != nil {
		return configHint(err, "then log in again")
	}
	fmt.Fprintf(e.stdout, "Logged in: watching %s on Tencent's current API (corpid %s).\n", safetext.Line(probe.Alias, 120), safetext.Line(probe.CorpID, 80))
	fmt.Fprintln(e.stdout, "Notifications show counts only: without a company relay this API gives no sender or subject.")
	fmt.Fprintf(e.stdout, "Settings: %s. The secrets are in the OS keyring (service %q).\n", path, creds.Service)
	return nil
}

// settingsToChange loads the config file for a command that will write
// it. A broken file is an error that says to fix or delete it, then what
// (then): nothing is guessed or overwritten.
func (e *env) settingsToChange(then string) (*config.Config, string, error) {
	cfg, path, err := e.accounts().LoadConfig()
	if err != nil {
		return nil, "", configHint(&setup.ConfigError{Path: path, Err: err}, then)
	}
	return cfg, path, nil
}

// interactiveKeyStore is e's key store with loginKeyringTimeout for the OS
// keyring: a person at the terminal may have to answer an unlock prompt.
func (e *env) interactiveKeyStore() account.KeyStore {
	keys := e.keyStore()
	if k, ok := keys.(*creds.Keyring); ok && k.Timeout == 0 {
		keys = &creds.Keyring{Timeout: loginKeyringTimeout}
	}
	return keys
}

// terminal returns standard input if it is a terminal.
func (e *env) terminal() *os.File {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return f
}

// prompter asks questions on the terminal: prompts on out (stderr),
// answers from in; the secret without echo.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
	tty *os.File
}

// line asks for one line; def is offered and taken on an empty answer.
func (p *prompter) line(label, def string) (string, error) {
	if def != "" {
		fmt.Fprintf(p.out, "%s [%s]: ", label, def)
	} else {
		fmt.Fprintf(p.out, "%s: ", label)
	}
	s, err := p.in.ReadString('\n')
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			return "", errors.New("login cancelled")
		}
		return "", err
	}
	if s = strings.TrimSpace(s); s == "" {
		return def, nil
	}
	return s, nil
}

// secret asks for the key with echo off.
func (p *prompter) secret(label string) (api.Secret, error) {
	fmt.Fprintf(p.out, "%s: ", label)
	b, err := term.ReadPassword(int(p.tty.Fd()))
	fmt.Fprintln(p.out)
	if err != nil {
		return "", fmt.Errorf("reading the interface key: %w", err)
	}
	s := strings.TrimSpace(string(b))
	clear(b)
	if s == "" {
		return "", errors.New("login cancelled: no interface key given")
	}
	return api.Secret(s), nil
}

const logoutUsage = `Usage: exmail-notifier logout [--agent A]

Removes the stored account: the interface key (or, on a computer enrolled
with a relay, its device token) from the OS keyring and the account fields
(admin account, mailbox, endpoints, relay) from the config file. Other
settings stay. What is already missing is fine. The relay lists the device
until IT revokes it ("exmail-relay revoke").
`

func cmdLogout(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "logout", logoutUsage)
	agentFlag := f.String("agent", "", "remove the key of this admin account (default: the stored one)")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.usageErrorf("unexpected argument %q", f.Arg(0))
	}
	removed, err := e.setupStore().SignOut(ctx, *agentFlag)
	if err != nil {
		if len(removed) > 0 {
			fmt.Fprintf(e.stdout, "Removed %s.\n", strings.Join(removed, " and "))
		}
		return configHint(err, "the key stays in the OS keyring")
	}
	if len(removed) == 0 {
		fmt.Fprintln(e.stdout, "Nothing to remove: no account is stored.")
	} else {
		fmt.Fprintf(e.stdout, "Removed %s.\n", strings.Join(removed, " and "))
	}
	if e.getenv("EXMAIL_AGENT") != "" || e.getenv("EXMAIL_SECRET") != "" || e.getenv("EXMAIL_RELAY") != "" {
		fmt.Fprintln(e.stderr, "Note: EXMAIL_AGENT/EXMAIL_SECRET or EXMAIL_RELAY are set in the environment and still provide an account.")
	}
	return nil
}
