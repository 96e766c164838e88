package account

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/creds"
)

// resolver is a Resolver for tests: environment variables from vars
// (EXMAIL_CONFIG defaults to a fresh temporary file name) and the key
// store keys.
func resolver(t *testing.T, vars map[string]string, keys KeyStore) *Resolver {
	t.Helper()
	if _, ok := vars["EXMAIL_CONFIG"]; !ok {
		if vars == nil {
			vars = map[string]string{}
		}
		vars["EXMAIL_CONFIG"] = filepath.Join(t.TempDir(), "exmail-notifier", "config.json")
	}
	return &Resolver{Getenv: func(k string) string { return vars[k] }, Keys: keys}
}

// resolverWith is resolver with c, unless nil, saved where it looks.
func resolverWith(t *testing.T, vars map[string]string, keys KeyStore, c *config.Config) *Resolver {
	t.Helper()
	r := resolver(t, vars, keys)
	if c != nil {
		writeConfig(t, r, *c)
	}
	return r
}

// writeConfig saves c (version filled in) where r looks for it.
func writeConfig(t *testing.T, r *Resolver, c config.Config) {
	t.Helper()
	c.Version = config.Version
	path, err := r.ConfigPath()
	if err != nil {
		t.Fatal(err)
	}
	if err := config.Save(path, &c); err != nil {
		t.Fatal(err)
	}
}

const (
	storedKey = "0123456789abcdef0123456789abcdef"
	envKey    = "fedcba9876543210fedcba9876543210"
)

var storedConfig = config.Config{
	Agent:    "admin",
	Alias:    "bob@example.com",
	TokenURL: "https://stored.example/cgi-bin/token",
	APIURL:   "http://stored.example/openapi/",
	LoginURL: "https://stored.example/cgi-bin/login",
}

func TestAccountResolution(t *testing.T) {
	t.Parallel()
	testResolve(t, []resolveCase{
		{
			name:   "stored account: config file and keyring",
			config: &storedConfig,
			keys:   creds.MemoryWith("admin", storedKey),
			want: Account{Agent: "admin", Secret: storedKey, Alias: "bob@example.com",
				TokenURL: storedConfig.TokenURL, APIURL: storedConfig.APIURL, LoginURL: storedConfig.LoginURL},
		},
		{
			name: "environment only: the keyring is not asked",
			vars: map[string]string{"EXMAIL_AGENT": " admin ", "EXMAIL_SECRET": envKey, "EXMAIL_ALIAS": "eve@example.com",
				"EXMAIL_API_URL": "http://127.0.0.1:1/openapi/"},
			keys: &creds.Memory{Err: errors.New("the keyring must not be asked")},
			want: Account{Agent: "admin", Secret: envKey, Alias: "eve@example.com", APIURL: "http://127.0.0.1:1/openapi/"},
		},
		{
			name:   "each variable overrides its stored value (the stored key only when the user says so)",
			config: &storedConfig,
			vars: map[string]string{"EXMAIL_ALIAS": "eve@example.com", "EXMAIL_TOKEN_URL": "http://env/token",
				"EXMAIL_API_URL": "http://env/openapi/", "EXMAIL_LOGIN_URL": "http://env/login", "EXMAIL_ALLOW_ENV_ENDPOINTS": "1"},
			keys: creds.MemoryWith("admin", storedKey),
			want: Account{Agent: "admin", Secret: storedKey, Alias: "eve@example.com",
				TokenURL: "http://env/token", APIURL: "http://env/openapi/", LoginURL: "http://env/login"},
		},
		{
			name:   "endpoints from the environment with the key from the environment",
			config: &storedConfig,
			vars:   map[string]string{"EXMAIL_SECRET": envKey, "EXMAIL_API_URL": "http://127.0.0.1:1/openapi/"},
			keys:   &creds.Memory{Err: errors.New("the keyring must not be asked")},
			want: Account{Agent: "admin", Secret: envKey, Alias: "bob@example.com",
				TokenURL: storedConfig.TokenURL, APIURL: "http://127.0.0.1:1/openapi/", LoginURL: storedConfig.LoginURL},
		},
		{
			name:   "an environment variable equal to the stored endpoint is no override",
			config: &storedConfig,
			vars:   map[string]string{"EXMAIL_API_URL": storedConfig.APIURL},
			keys:   creds.MemoryWith("admin", storedKey),
			want: Account{Agent: "admin", Secret: storedKey, Alias: "bob@example.com",
				TokenURL: storedConfig.TokenURL, APIURL: storedConfig.APIURL, LoginURL: storedConfig.LoginURL},
		},
		{
			name:   "EXMAIL_SECRET overrides the keyring",
			config: &storedConfig,
			vars:   map[string]string{"EXMAIL_SECRET": envKey},
			keys:   &creds.Memory{Err: errors.New("the keyring must not be asked")},
			want: Account{Agent: "admin", Secret: envKey, Alias: "bob@example.com",
				TokenURL: storedConfig.TokenURL, APIURL: storedConfig.APIURL, LoginURL: storedConfig.LoginURL},
		},
		{
			name:   "EXMAIL_AGENT picks whose key is read",
			config: &storedConfig,
			vars:   map[string]string{"EXMAIL_AGENT": "other"},
			keys:   creds.MemoryWith("admin", storedKey, "other", envKey),
			want: Account{Agent: "other", Secret: envKey, Alias: "bob@example.com",
				TokenURL: storedConfig.TokenURL, APIURL: storedConfig.APIURL, LoginURL: storedConfig.LoginURL},
		},
		{
			name:   "config without endpoints: Tencent's defaults (empty)",
			config: &config.Config{Agent: "admin"},
			keys:   creds.MemoryWith("admin", storedKey),
			want:   Account{Agent: "admin", Secret: storedKey},
		},
	})
}

// resolveCase is one Resolve call: what is stored and set, and the
// account or error it gives.
type resolveCase struct {
	name   string
	config *config.Config // nil: no file
	vars   map[string]string
	keys   *creds.Memory
	want   Account // ConfigPath is checked apart
	is     error   // the error, if any (errAny: any error will do)
}

// errAny: any error will do.
var errAny = errors.New("any error")

// testResolve runs each case. An account found carries the config
// path; an error names none of secrets.
func testResolve(t *testing.T, tests []resolveCase, secrets ...string) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resolverWith(t, tt.vars, tt.keys, tt.config)
			got, err := r.Resolve(t.Context())
			switch {
			case tt.is == nil && err != nil:
				t.Fatalf("Resolve: %v", err)
			case tt.is == errAny && err == nil, tt.is != nil && tt.is != errAny && !errors.Is(err, tt.is):
				t.Fatalf("Resolve: err = %v, want %v", err, tt.is)
			}
			if want, _ := r.ConfigPath(); err == nil && got.ConfigPath != want {
				t.Errorf("ConfigPath = %q, want %q", got.ConfigPath, want)
			}
			for _, secret := range secrets {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret (%q): %v", secret, err)
				}
			}
			got.ConfigPath = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("account (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccountErrors(t *testing.T) {
	t.Parallel()
	locked := &creds.Error{Op: "get", Account: "admin", Kind: creds.ErrLocked}
	tests := []struct {
		name      string
		config    *config.Config
		rawConfig string // written verbatim instead
		vars      map[string]string
		keys      *creds.Memory
		is        []error // the error matches all of these
		isNot     []error
		text      []string
	}{
		{
			name: "nothing configured",
			keys: &creds.Memory{},
			is:   []error{ErrNoAccount},
			text: []string{"exmail-notifier login"},
		},
		{
			name:   "an alias but no admin account",
			vars:   map[string]string{"EXMAIL_ALIAS": "bob@example.com", "EXMAIL_SECRET": envKey},
			keys:   &creds.Memory{},
			is:     []error{ErrNoAccount},
			isNot:  []error{creds.ErrNotFound},
			config: nil,
		},
		{
			name:   "an admin account without a key",
			config: &storedConfig,
			keys:   creds.MemoryWith("someone-else", storedKey),
			is:     []error{ErrNoAccount, creds.ErrNotFound},
			text:   []string{`"admin"`, "exmail-notifier login", "EXMAIL_SECRET"},
		},
		{
			name:   "a leftover demo.env never receives the stored key",
			config: &storedConfig,
			vars:   map[string]string{"EXMAIL_TOKEN_URL": "http://127.0.0.1:40000/cgi-bin/token"},
			keys:   &creds.Memory{Err: errors.New("the keyring must not even be read")},
			is:     []error{ErrForeignEndpoint},
			isNot:  []error{ErrNoAccount},
			text:   []string{"EXMAIL_TOKEN_URL", "EXMAIL_ALLOW_ENV_ENDPOINTS=1", "EXMAIL_SECRET"},
		},
		{
			name:   "locked keyring: typed, not 'no account'",
			config: &storedConfig,
			keys:   &creds.Memory{Err: locked},
			is:     []error{creds.ErrLocked},
			isNot:  []error{ErrNoAccount},
			text:   []string{"locked"},
		},
		{
			name:      "broken config file: reported, even with the environment set",
			rawConfig: `{"version": 1, "agnet": "admin"}`,
			vars:      map[string]string{"EXMAIL_AGENT": "admin", "EXMAIL_SECRET": envKey},
			keys:      &creds.Memory{},
			isNot:     []error{ErrNoAccount, config.ErrNotExist},
			text:      []string{"config.json", `unknown field "agnet"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resolverWith(t, tt.vars, tt.keys, tt.config)
			if tt.rawConfig != "" {
				path, _ := r.ConfigPath()
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.rawConfig), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			a, err := r.Resolve(t.Context())
			if err == nil {
				t.Fatalf("account() = %+v, want an error", a)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = true", err, target)
				}
			}
			for _, s := range tt.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if a.Secret != "" {
				t.Errorf("an account with an error carries a key")
			}
		})
	}
}

func TestClientUsesAccount(t *testing.T) {
	t.Parallel()
	a, err := resolver(t, map[string]string{"EXMAIL_AGENT": "admin", "EXMAIL_SECRET": envKey}, &creds.Memory{}).Resolve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientID() != "admin" || a.Agent != "admin" {
		t.Errorf("client for %q, account %q; want admin", c.ClientID(), a.Agent)
	}
	if err := a.NeedAlias(); err == nil {
		t.Error("NeedAlias: no error without an alias")
	}
	if _, err := resolver(t, nil, &creds.Memory{}).Resolve(t.Context()); !errors.Is(err, ErrNoAccount) {
		t.Errorf("Resolve without an account: err = %v, want ErrNoAccount", err)
	}
}

func TestRelayAccount(t *testing.T) {
	t.Parallel()
	relayConfig := config.Config{Alias: "bob@example.com", RelayURL: "https://relay.example.com", RelayDevice: "dev_1"}
	testResolve(t, []resolveCase{
		{
			name:   "enrolled: the device token from the keyring, no admin key anywhere",
			config: &relayConfig,
			keys:   creds.MemoryWith(DeviceKeyName("https://relay.example.com"), "exr_dev_token"),
			want:   Account{Alias: "bob@example.com", Relay: "https://relay.example.com", DeviceToken: "exr_dev_token"},
		},
		{
			name: "headless: EXMAIL_RELAY and EXMAIL_DEVICE_TOKEN, the keyring not asked",
			vars: map[string]string{"EXMAIL_RELAY": "https://relay.example.com", "EXMAIL_DEVICE_TOKEN": "exr_dev_env", "EXMAIL_ALIAS": "eve@example.com"},
			keys: &creds.Memory{Err: errors.New("the keyring must not be asked")},
			want: Account{Alias: "eve@example.com", Relay: "https://relay.example.com", DeviceToken: "exr_dev_env"},
		},
		{
			name:   "EXMAIL_AGENT chooses direct mode over a stored relay account",
			config: &relayConfig,
			vars:   map[string]string{"EXMAIL_AGENT": "admin", "EXMAIL_SECRET": envKey},
			keys:   &creds.Memory{},
			want:   Account{Agent: "admin", Secret: envKey, Alias: "bob@example.com"},
		},
		{
			name:   "enrolled, but the keyring lost the token: enroll again",
			config: &relayConfig,
			keys:   &creds.Memory{},
			want:   Account{Alias: "bob@example.com", Relay: "https://relay.example.com"},
			is:     ErrNoAccount,
		},
		{
			name:   "another relay from the environment never gets the stored token",
			config: &relayConfig,
			vars:   map[string]string{"EXMAIL_RELAY": "https://other.example.com"},
			keys:   &creds.Memory{Err: errors.New("the keyring must not be asked")},
			want:   Account{Alias: "bob@example.com", Relay: "https://other.example.com"},
			is:     ErrNoAccount,
		},
		{
			name: "a plain-http relay off this machine is refused",
			vars: map[string]string{"EXMAIL_RELAY": "http://relay.example.com", "EXMAIL_DEVICE_TOKEN": "t"},
			keys: &creds.Memory{},
			want: Account{Relay: "http://relay.example.com"},
			is:   errAny,
		},
	}, "exr_dev")
}

func TestCorpAccount(t *testing.T) {
	t.Parallel()
	stored := config.Config{Alias: "bob@example.com", CorpID: "wm123"}
	keys := func(t *testing.T) *creds.Memory {
		return creds.MemoryWith(CorpKeyName("wm123", "sso"), "sso-secret", CorpKeyName("wm123", "mail"), "mail-secret")
	}
	testResolve(t, []resolveCase{
		{
			name: "stored: the corpid in the config, both secrets in the keyring", config: &stored, keys: keys(t),
			want: Account{Alias: "bob@example.com", CorpID: "wm123", CorpSSOSecret: "sso-secret", CorpMailSecret: "mail-secret"},
		},
		{
			name: "headless: everything from the environment",
			vars: map[string]string{"EXMAIL_CORPID": "wm9", "EXMAIL_CORP_SSO_SECRET": "s", "EXMAIL_CORP_MAIL_SECRET": "m",
				"EXMAIL_ALIAS": "eve@example.com", "EXMAIL_CORP_API_URL": "http://127.0.0.1:1/cgi-bin/"},
			keys: &creds.Memory{Err: errors.New("the keyring must not be asked")},
			want: Account{Alias: "eve@example.com", CorpID: "wm9", CorpAPIURL: "http://127.0.0.1:1/cgi-bin/", CorpSSOSecret: "s", CorpMailSecret: "m"},
		},
		{
			name: "a missing secret names the application", config: &stored,
			keys: creds.MemoryWith(CorpKeyName("wm123", "sso"), "sso-secret"),
			want: Account{Alias: "bob@example.com", CorpID: "wm123", CorpSSOSecret: "sso-secret"},
			is:   ErrNoAccount,
		},
		{
			name: "another corpid from the environment never gets the stored secrets", config: &stored,
			vars: map[string]string{"EXMAIL_CORPID": "wm999"},
			keys: &creds.Memory{Err: errors.New("the keyring must not be asked")},
			want: Account{Alias: "bob@example.com", CorpID: "wm999"},
			is:   ErrNoAccount,
		},
	}, `secret"`, "sso-secret")
}
