package main

// Test helpers shared by the command tests: an env with a fake keyring
// and a temporary config file.

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
)

// acctEnv is an env for account and login tests: environment variables
// from vars (EXMAIL_CONFIG defaults to a fresh temporary file name), the
// key store keys, stdin in, and buffers for stdout and stderr.
func acctEnv(t *testing.T, vars map[string]string, keys account.KeyStore, in string) (e *env, stdout, stderr *bytes.Buffer) {
	t.Helper()
	if _, ok := vars["EXMAIL_CONFIG"]; !ok {
		if vars == nil {
			vars = map[string]string{}
		}
		vars["EXMAIL_CONFIG"] = filepath.Join(t.TempDir(), "exmail-notifier", "config.json")
	}
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	e = &env{
		stdin:  strings.NewReader(in),
		stdout: stdout,
		stderr: stderr,
		getenv: func(k string) string { return vars[k] },
		keys:   keys,
	}
	return e, stdout, stderr
}

// writeConfig saves c (version filled in) where e looks for it.
func writeConfig(t *testing.T, e *env, c config.Config) {
	t.Helper()
	c.Version = config.Version
	path, err := e.accounts().ConfigPath()
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
