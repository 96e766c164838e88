package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/config"
)

func TestLoadValid(t *testing.T) {
	t.Parallel()
	got, err := config.Load(filepath.Join("testdata", "valid.json"))
	if err != nil {
		t.Fatal(err)
	}
	no := false
	want := &config.Config{
		Version:     1,
		Agent:       "admin",
		Alias:       "bob@example.com",
		TokenURL:    "https://exmail.example.net/cgi-bin/token",
		APIURL:      "http://openapi.example.net:12211/openapi/",
		LoginURL:    "https://exmail.example.net/cgi-bin/login",
		Lang:        "zh",
		ShowContent: &no,
		PausedUntil: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		IdleTimeout: config.Duration(90 * time.Second),
		LogLevel:    "debug",
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	if got.ShowsContent() {
		t.Error("ShowsContent() = true with show_content false")
	}
	if !got.Paused(time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)) || got.Paused(time.Date(2026, 11, 27, 0, 0, 1, 0, time.UTC)) {
		t.Error("Paused is wrong around paused_until")
	}
}

func TestLoadRelayAccount(t *testing.T) {
	t.Parallel()
	c, err := config.Load(filepath.Join("testdata", "relay.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasAccount() || !c.Relayed() || c.Alias != "bob@example.com" || c.RelayDevice != "dev_3f9a2c" {
		t.Errorf("relay account: %+v (HasAccount %v, Relayed %v)", c, c.HasAccount(), c.Relayed())
	}
	c.ClearAccount()
	if c.HasAccount() || c.Relayed() || c.RelayDevice != "" {
		t.Errorf("after ClearAccount: %+v", c)
	}
}

func TestLoadMinimalDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(filepath.Join("testdata", "minimal.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.ShowsContent() {
		t.Error("ShowsContent() = false when show_content is unset; want the default true")
	}
	if c.HasAccount() || c.Paused(time.Now()) {
		t.Errorf("minimal config: HasAccount %v, Paused %v", c.HasAccount(), c.Paused(time.Now()))
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []string // substrings of the error
	}{
		{"unknown-field.json", []string{"unknown-field.json", `unknown field "wacth"`}},
		{"missing-version.json", []string{"version: missing"}},
		{"future-version.json", []string{"version: 2 is newer", "upgrade"}},
		{"trailing-garbage.json", []string{"trailing data"}},
		{"truncated.json", []string{"truncated"}},
		{"wrong-type.json", []string{"show_content", "bool"}},
		{"bad-duration.json", []string{`"soon" is not a duration`}},
		// A relay account is not a direct one, and its URL must be https
		// off this machine.
		{"relay-mixed.json", []string{
			"relay_url: is set together with direct-mode fields",
			`relay_url: "http://relay.example.com" is plain http to another machine`,
			`relay_device: "dev 1" has spaces`,
		}},
		// Every problem at once, each naming its field.
		{"invalid-values.json", []string{
			`alias: "bob" is not a mail address`,
			"alias: is set but neither agent",
			`api_url: "http://openapi.example.net:12211/openapi" must end in "/"`,
			`lang: "fr"`,
			`log_level: "loud"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(filepath.Join("testdata", tt.file))
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if errors.Is(err, config.ErrNotExist) {
				t.Errorf("a broken file matches ErrNotExist: %v", err)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	t.Parallel()
	_, err := config.Load(filepath.Join(t.TempDir(), "nope", "config.json"))
	if !errors.Is(err, config.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist and fs.ErrNotExist", err)
	}
}

func TestSaveRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "exmail-notifier", "config.json") // directory made by Save
	yes := true
	in := config.New()
	in.Agent = "admin"
	in.Alias = "bob@example.com"
	in.APIURL = "http://127.0.0.1:8080/openapi/"
	in.ShowContent = &yes
	in.PausedUntil = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	in.IdleTimeout = config.Duration(2 * time.Minute)
	if err := config.Save(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("Save then Load (-saved +loaded):\n%s", diff)
	}

	// Saving again replaces the file and leaves no temporary file behind.
	out.ClearAccount()
	if err := config.Save(path, out); err != nil {
		t.Fatal(err)
	}
	again, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.HasAccount() || again.Alias != "" || again.APIURL != "" || !again.ShowsContent() || again.IdleTimeout != in.IdleTimeout {
		t.Errorf("after ClearAccount: %+v; want the account gone and the settings kept", again)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only config.json", entries)
	}
}

func TestSaveFormat(t *testing.T) {
	t.Parallel()
	path, c := tempConfig(t)
	c.Agent = "admin"
	if err := config.Save(path, c); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"version\": 1,\n  \"agent\": \"admin\"\n}\n"
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

func TestSaveMode(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	dir := filepath.Join(t.TempDir(), "exmail-notifier")
	path := filepath.Join(dir, "config.json")
	// An existing file with loose permissions is replaced by a 0600 one.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"version":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := config.Save(path, config.New()); err != nil {
		t.Fatal(err)
	}
	wantPerm(t, "file", path, 0o600)

	fresh := filepath.Join(t.TempDir(), "new", "config.json")
	if err := config.Save(fresh, config.New()); err != nil {
		t.Fatal(err)
	}
	wantPerm(t, "directory", filepath.Dir(fresh), 0o700)
}

// wantPerm checks the permission bits of path, a file or a directory.
func wantPerm(t *testing.T, what, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != want {
		t.Errorf("%s mode %v, want %v", what, m, want)
	}
}

// tempConfig is a fresh config and a path to save it to.
func tempConfig(t *testing.T) (path string, c *config.Config) {
	return filepath.Join(t.TempDir(), "config.json"), config.New()
}

func TestSaveRefusesInvalid(t *testing.T) {
	t.Parallel()
	path, c := tempConfig(t)
	c.Lang = "fr"
	err := config.Save(path, c)
	if err == nil || !strings.Contains(err.Error(), "lang") {
		t.Errorf("err = %v, want a complaint about lang", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an invalid config was written (stat: %v)", err)
	}
}

func TestValidateURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(*config.Config)
		want string // "" = valid
	}{
		{"defaults", func(*config.Config) {}, ""},
		{"https token url", func(c *config.Config) { c.TokenURL = "https://exmail.qq.com/cgi-bin/token" }, ""},
		{"not a url", func(c *config.Config) { c.TokenURL = "exmail.qq.com" }, "token_url"},
		{"ftp", func(c *config.Config) { c.LoginURL = "ftp://exmail.qq.com/" }, "login_url"},
		{"credentials", func(c *config.Config) { c.APIURL = "http://u:p@h/openapi/" }, "credentials"},
		{"query", func(c *config.Config) { c.TokenURL = "https://h/t?client_secret=x" }, "query"},
		{"no scheme, a token in the query", func(c *config.Config) { c.APIURL = "h/openapi/?access_token=SECRET#frag" }, "api_url"},
		{"agent with newline", func(c *config.Config) { c.Agent = "ad\nmin" }, "agent"},
		{"alias with space", func(c *config.Config) { c.Agent = "admin"; c.Alias = "bob @example.com" }, "alias"},
		{"negative idle", func(c *config.Config) { c.IdleTimeout = -1 }, "idle_timeout"},
		{"old version", func(c *config.Config) { c.Version = 0 }, "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.New()
			tt.set(c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error naming %q", err, tt.want)
			case err != nil && (strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "client_secret=x") || strings.Contains(err.Error(), "u:p@")):
				t.Errorf("Validate = %v: the error repeats what could be a credential", err)
			}
		})
	}
}

func TestDefaultPath(t *testing.T) {
	// Not parallel: it changes the environment.
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	t.Setenv("AppData", dir)
	p, err := config.DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, dir) || !strings.HasSuffix(p, filepath.Join("exmail-notifier", "config.json")) {
		t.Errorf("DefaultPath() = %q, want it under %q ending in exmail-notifier/config.json", p, dir)
	}
}

func TestPresetEmptyOffWindows(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("reads the registry")
	}
	if p := config.Preset(); p != (config.Endpoints{}) {
		t.Errorf("Preset() = %+v, want empty", p)
	}
}

// TestUpdateKeepsConcurrentChanges: two writers changing different fields
// (the tray's preferences, the settings page's language) never undo each
// other's change.
func TestUpdateKeepsConcurrentChanges(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.json")
	const n = 50
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			paused := time.Date(2026, 12, 7, 8, 0, i, 0, time.UTC)
			if err := config.Update(path, func(c *config.Config) error { c.PausedUntil = paused; return nil }); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Go(func() {
		for i := range n {
			lang := []string{"zh", "en"}[i%2]
			if err := config.Update(path, func(c *config.Config) error { c.Lang = lang; return nil }); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 7, 8, 0, n-1, 0, time.UTC); !c.PausedUntil.Equal(want) || c.Lang != "en" {
		t.Errorf("after both writers: paused %v (want %v), lang %q (want en)", c.PausedUntil, want, c.Lang)
	}
	if err := config.Update(path, func(c *config.Config) error { return errors.New("no") }); err == nil {
		t.Error("a failing change was not reported")
	}
}
