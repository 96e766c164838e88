package desktop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDesktopEntryRoundTrip(t *testing.T) {
	t.Parallel()
	cfg := t.TempDir()
	sys := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": cfg, "XDG_CONFIG_DIRS": sys, "HOME": "/nonexistent"}
	a, err := newXDGAutostart(func(k string) string { return env[k] }, "/opt/Exmail Notifier/exmail-notifier")
	if err != nil {
		t.Fatal(err)
	}
	check := func(want bool, what string) {
		t.Helper()
		on, err := a.Enabled()
		if err != nil || on != want {
			t.Fatalf("%s: Enabled() = %v, %v; want %v", what, on, err, want)
		}
	}
	check(false, "fresh")

	if err := a.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	check(true, "after SetEnabled(true)")
	path := filepath.Join(cfg, "autostart", "exmail-notifier.desktop")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{"[Desktop Entry]\n", "Type=Application\n",
		"Exec=\"/opt/Exmail Notifier/exmail-notifier\"\n", "X-GNOME-Autostart-enabled=true\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("entry lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "Hidden") {
		t.Errorf("an enabled entry is hidden:\n%s", b)
	}

	if err := a.SetEnabled(false); err != nil {
		t.Fatal(err)
	}
	check(false, "after SetEnabled(false)")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("user entry still there after off: %v", err)
	}

	// A system-wide entry (from a package) starts it too; "off" must mask it.
	if err := os.MkdirAll(filepath.Join(sys, "autostart"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys, "autostart", "exmail-notifier.desktop"), desktopEntry("exmail-notifier", false), 0o644); err != nil {
		t.Fatal(err)
	}
	check(true, "system entry")
	if err := a.SetEnabled(false); err != nil {
		t.Fatal(err)
	}
	check(false, "system entry masked")
	b, _ = os.ReadFile(path)
	if !strings.Contains(string(b), "Hidden=true\n") {
		t.Errorf("masking entry lacks Hidden=true:\n%s", b)
	}
	if err := a.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	check(true, "unmasked")
}

func TestDesktopExecQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"a plain path stays bare", "/usr/bin/exmail-notifier", "/usr/bin/exmail-notifier"},
		{"a space needs quotes", "/opt/My App/exmail-notifier", `"/opt/My App/exmail-notifier"`},
		{"a double quote is escaped", `/opt/a"b/x`, `"/opt/a\\"b/x"`},
		{"a dollar is escaped", `/opt/$HOME/x`, `"/opt/\\$HOME/x"`},
		{"a backslash is escaped twice", `/opt/a\b/x`, `"/opt/a\\\\b/x"`},
		{"a percent is doubled", "/opt/100%/x", "/opt/100%%/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := desktopExecQuote(tt.in); got != tt.want {
				t.Errorf("desktopExecQuote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestLaunchAgentAndRunValue(t *testing.T) {
	t.Parallel()
	p := string(launchAgent("/Applications/Exmail Notifier.app/Contents/MacOS/exmail-notifier & co"))
	for _, want := range []string{"<string>io.github.exmail-notifier</string>",
		"<string>/Applications/Exmail Notifier.app/Contents/MacOS/exmail-notifier &amp; co</string>",
		"<key>RunAtLoad</key>\n\t<true/>"} {
		if !strings.Contains(p, want) {
			t.Errorf("plist lacks %q:\n%s", want, p)
		}
	}
	a := &fileAutostart{path: filepath.Join(t.TempDir(), "LaunchAgents", "x.plist"), content: []byte(p)}
	for _, on := range []bool{true, false, false, true} {
		if err := a.SetEnabled(on); err != nil {
			t.Fatal(err)
		}
		if got, err := a.Enabled(); got != on || err != nil {
			t.Errorf("after SetEnabled(%v): Enabled() = %v, %v", on, got, err)
		}
	}
	if got := windowsRunValue(`C:\Users\李\AppData\Local\exmail-notifier\exmail-notifier.exe`); got != `"C:\Users\李\AppData\Local\exmail-notifier\exmail-notifier.exe"` {
		t.Errorf("Run value = %s", got)
	}
}
