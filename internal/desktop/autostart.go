package desktop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/config"
)

// Start at login, per user. Each platform has its own mechanism behind
// Autostart:
//
//   - Linux and the BSDs: an XDG autostart entry,
//     $XDG_CONFIG_HOME/autostart/exmail-notifier.desktop (mode 0644);
//   - macOS: a LaunchAgent, ~/Library/LaunchAgents/io.github.exmail-notifier.plist;
//   - Windows: the value "exmail-notifier" under
//     HKCU\Software\Microsoft\Windows\CurrentVersion\Run, the same value
//     the MSI writes.
//
// The file contents come from desktopEntry and launchAgent (plain
// formatting: no template engine is parsed at every start).

const (
	autostartID    = "exmail-notifier"           // .desktop file name and Run value name
	launchAgentID  = "io.github.exmail-notifier" // matches CFBundleIdentifier
	desktopEntryFn = autostartID + ".desktop"
)

// desktopEntry renders the XDG autostart entry that runs exe. hidden
// writes an entry that switches a system-wide one off.
func desktopEntry(exe string, hidden bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `[Desktop Entry]
Type=Application
Name=Exmail Notifier
Name[zh_CN]=企业邮箱提醒
Comment=New-mail notifications for Tencent Enterprise Mail
Comment[zh_CN]=腾讯企业邮箱新邮件提醒
Exec=%s
Icon=exmail-notifier
Terminal=false
StartupNotify=false
X-GNOME-Autostart-enabled=%t
`, desktopExecQuote(exe), !hidden)
	if hidden {
		b.WriteString("Hidden=true\n")
	}
	return []byte(b.String())
}

// launchAgent renders the macOS LaunchAgent that runs exe at login.
func launchAgent(exe string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>%s</string>
	<key>ProgramArguments</key>
	<array>
		<string>%s</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`, xmlEscape(launchAgentID), xmlEscape(exe))
}

// windowsRunValue is the HKCU Run value's data: the quoted path.
func windowsRunValue(exe string) string { return `"` + exe + `"` }

// desktopExecQuote quotes one Exec argument as the Desktop Entry
// Specification asks: inside double quotes, `"`, "`", "$" and "\" are
// escaped with a backslash, and the string-level escaping then doubles
// every backslash; "%" becomes "%%".
func desktopExecQuote(arg string) string {
	arg = strings.ReplaceAll(arg, "%", "%%")
	if !strings.ContainsAny(arg, " \t\n\"'\\><~|&;$*?#()`=") {
		return arg
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range arg {
		switch r {
		case '"', '`', '$':
			b.WriteString(`\\`) // the quoting backslash, escaped at string level
			b.WriteRune(r)
		case '\\':
			b.WriteString(`\\\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Autostart reads and changes "start at login" for this program and user
// (it fits app.Autostart).
type Autostart struct{ impl autostarter }

// autostarter is one platform's mechanism.
type autostarter interface {
	Enabled() (bool, error)
	SetEnabled(on bool) error
}

// NewAutostart returns this platform's start-at-login backend, found
// through getenv (HOME, XDG_CONFIG_HOME, XDG_CONFIG_DIRS). It fails when
// start at login cannot work, e.g. in a temporary `go run` build: the menu
// item should then be hidden.
func NewAutostart(getenv func(string) string) (*Autostart, error) {
	impl, err := newAutostart(getenv)
	if err != nil {
		return nil, err
	}
	return &Autostart{impl: impl}, nil
}

// Enabled reports whether the program starts at login.
func (a *Autostart) Enabled() (bool, error) { return a.impl.Enabled() }

// SetEnabled turns start at login on or off.
func (a *Autostart) SetEnabled(on bool) error { return a.impl.SetEnabled(on) }

// xdgAutostart is start-at-login through XDG autostart entries.
type xdgAutostart struct {
	userDir    string   // $XDG_CONFIG_HOME/autostart
	systemDirs []string // $XDG_CONFIG_DIRS/autostart (default /etc/xdg/autostart)
	exe        string
}

// newXDGAutostart finds the autostart directories through getenv.
func newXDGAutostart(getenv func(string) string, exe string) (*xdgAutostart, error) {
	cfg := getenv("XDG_CONFIG_HOME")
	if cfg == "" || !filepath.IsAbs(cfg) {
		home := getenv("HOME")
		if home == "" {
			return nil, errors.New("autostart: neither XDG_CONFIG_HOME nor HOME is set")
		}
		cfg = filepath.Join(home, ".config")
	}
	a := &xdgAutostart{userDir: filepath.Join(cfg, "autostart"), exe: exe}
	dirs := getenv("XDG_CONFIG_DIRS")
	if dirs == "" {
		dirs = "/etc/xdg"
	}
	for _, d := range filepath.SplitList(dirs) {
		if filepath.IsAbs(d) {
			a.systemDirs = append(a.systemDirs, filepath.Join(d, "autostart"))
		}
	}
	return a, nil
}

func (a *xdgAutostart) userFile() string { return filepath.Join(a.userDir, desktopEntryFn) }

// Enabled: the user's entry decides if there is one; else a system-wide
// entry (a package may install one) counts.
func (a *xdgAutostart) Enabled() (bool, error) {
	on, err := entryEnabled(a.userFile())
	if err == nil {
		return on, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	return a.systemEnabled(), nil
}

func (a *xdgAutostart) systemEnabled() bool {
	for _, d := range a.systemDirs {
		if on, err := entryEnabled(filepath.Join(d, desktopEntryFn)); err == nil {
			return on
		}
	}
	return false
}

// SetEnabled writes the user's entry, or removes it; when a system-wide
// entry would still start the notifier, "off" writes a Hidden=true entry
// that masks it.
func (a *xdgAutostart) SetEnabled(on bool) error {
	if !on && !a.systemEnabled() {
		err := os.Remove(a.userFile())
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("autostart: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(a.userDir, 0o755); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return WriteFileAtomic(a.userFile(), desktopEntry(a.exe, !on), 0o644)
}

// entryEnabled reads a .desktop file: Hidden=true or
// X-GNOME-Autostart-enabled=false switch it off.
func entryEnabled(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	on := true
	s := bufio.NewScanner(f)
	inEntry := false
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if strings.HasPrefix(line, "[") {
			inEntry = line == "[Desktop Entry]"
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !inEntry || !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Hidden":
			if strings.TrimSpace(v) == "true" {
				on = false
			}
		case "X-GNOME-Autostart-enabled":
			if strings.TrimSpace(v) == "false" {
				on = false
			}
		}
	}
	return on, s.Err()
}

// fileAutostart is start-at-login through one file that exists or not
// (the macOS LaunchAgent).
type fileAutostart struct {
	path    string
	content []byte
}

func (a *fileAutostart) Enabled() (bool, error) {
	_, err := os.Stat(a.path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (a *fileAutostart) SetEnabled(on bool) error {
	if !on {
		if err := os.Remove(a.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("autostart: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(a.path), 0o755); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return WriteFileAtomic(a.path, a.content, 0o644)
}

// WriteFileAtomic is config.WriteFileAtomic with errors that say what
// was being written.
func WriteFileAtomic(path string, b []byte, mode os.FileMode) error {
	if err := config.WriteFileAtomic(path, b, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// autostartExe is the program autostart should run: this executable,
// with symlinks resolved, unless it is a temporary `go run` build.
func autostartExe() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "", errors.New("autostart: this is a temporary `go run` build")
	}
	return exe, nil
}
