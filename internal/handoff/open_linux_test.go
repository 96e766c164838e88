package handoff

import (
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// fakeOpener writes an opener named name into dir that records its
// environment (name.env, as the shell's "export -p") and its arguments
// (name.argv). It uses shell built-ins only, so PATH may be just dir.
func fakeOpener(t *testing.T, dir, name string) {
	t.Helper()
	script := "#!/bin/sh\nexport -p > \"$0.env\"\nprintf '%s\\n' \"$@\" > \"$0.argv\"\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// exportedNames parses "export -p" output (dash: export NAME='v'; bash
// as sh: export NAME="v") into the variables' names.
func exportedNames(out string) map[string]bool {
	names := map[string]bool{}
	for line := range strings.Lines(out) {
		rest, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue // a continuation of a multi-line value
		}
		name, _, _ := strings.Cut(strings.TrimSpace(rest), "=")
		names[name] = true
	}
	return names
}

// The opener and the browser it starts must not inherit the process's
// secrets: no EXMAIL_ variable (EXMAIL_SECRET holds the interface key),
// nothing named like a secret. What the desktop needs stays.
// Not parallel: it sets the process's environment and PATH.
func TestOpenGivesTheOpenerNoSecrets(t *testing.T) {
	secrets := map[string]string{
		"EXMAIL_SECRET":      "value-of-exmail-secret",
		"EXMAIL_CORP_ID":     "value-of-exmail-corp-id",
		"exmail_lower":       "value-of-exmail-lower",
		"GITHUB_TOKEN":       "value-of-github-token",
		"DB_PASSWORD":        "value-of-db-password",
		"MYSQL_PASSWD":       "value-of-mysql-passwd",
		"client_secret_file": "value-of-client-secret-file",
	}
	kept := map[string]string{"DISPLAY": ":42", "XDG_RUNTIME_DIR": "/run/user/4242", "HANDOFF_TEST_KEPT": "kept"}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	for k, v := range kept {
		t.Setenv(k, v)
	}
	for _, tc := range []struct {
		name   string
		on     []string // the openers on PATH
		called string
	}{
		{"xdg-open", []string{"xdg-open", "x-www-browser", "www-browser"}, "xdg-open"},
		{"no xdg-open: x-www-browser", []string{"x-www-browser", "www-browser"}, "x-www-browser"},
		{"only www-browser", []string{"www-browser"}, "www-browser"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			for _, name := range tc.on {
				fakeOpener(t, bin, name)
			}
			t.Setenv("PATH", bin)
			h, err := Open(t.Context(), api.Secret(ssoURL), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			// Open returned, so the opener exited: its records are written.
			argv, err := os.ReadFile(filepath.Join(bin, tc.called+".argv"))
			if err != nil {
				t.Fatalf("%s was not run: %v", tc.called, err)
			}
			if string(argv) != h.URL()+"\n" {
				t.Errorf("%s got arguments %q, want just the one-time link %q", tc.called, argv, h.URL())
			}
			env, err := os.ReadFile(filepath.Join(bin, tc.called+".env"))
			if err != nil {
				t.Fatal(err)
			}
			names := exportedNames(string(env))
			for _, k := range slices.Sorted(maps.Keys(secrets)) {
				if v := secrets[k]; names[k] || strings.Contains(string(env), v) {
					t.Errorf("%s reached the opener's environment", k)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(kept)) {
				if v := kept[k]; !names[k] || !strings.Contains(string(env), v) {
					t.Errorf("%s=%s is missing from the opener's environment:\n%s", k, v, env)
				}
			}
		})
	}
}

func TestOpenWithoutAnOpener(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Open(t.Context(), api.Secret(ssoURL), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "xdg-open") || strings.Contains(err.Error(), "TICKET") {
		t.Fatalf("Open with no opener on PATH = %v; want an error naming xdg-open, without the URL", err)
	}
}
