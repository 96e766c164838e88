package trayapp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/assets"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
	"github.com/exmail-notifier/exmail-notifier/internal/handoff"
)

// browserOpener is app.Opener: the desktop's browser through a one-time
// loopback link (handoff.Open), so the URL never reaches the opener's
// argv; bounded by handoff.OpenerTimeout.
type browserOpener struct{ log *slog.Logger }

func (o browserOpener) Open(ctx context.Context, url api.Secret) error {
	_, err := handoff.Open(ctx, url, o.log)
	return err
}

// ConfigPrefs is app.PrefsSaver: it saves the menu's choices into the
// config file at Path through config.Update, so that a concurrent change
// of the account or the language is kept.
type ConfigPrefs struct{ Path string }

func (c *ConfigPrefs) SavePrefs(p app.Prefs) error {
	return config.Update(c.Path, func(cfg *config.Config) error {
		show, sound := p.ShowContent, p.Sound
		cfg.ShowContent, cfg.Sound = &show, &sound
		cfg.PausedUntil = p.PausedUntil
		cfg.QuietHours = nil
		if q := p.Quiet; q.On || q.From != q.To {
			cfg.QuietHours = &config.QuietHours{On: q.On, From: clock(q.From), To: clock(q.To)}
		}
		return nil
	})
}

// PrefsOf reads the menu's preferences from the config file's settings
// (the product's defaults where unset).
func PrefsOf(cfg *config.Config) app.Prefs {
	p := app.Prefs{ShowContent: cfg.ShowsContent(), PausedUntil: cfg.PausedUntil, Sound: cfg.PlaysSound()}
	if q := cfg.QuietHours; q != nil {
		if from, to, ok := q.Minutes(); ok {
			p.Quiet = app.QuietHours{On: q.On, From: from, To: to}
		}
	}
	return p
}

// clock writes minutes after midnight as "HH:MM".
func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60%24, min%60) }

// memAutostart is the demo's "Start at login": it only remembers the
// choice, so that trying the demo never changes the login items.
type memAutostart struct {
	mu sync.Mutex
	on bool
}

func (m *memAutostart) Enabled() (bool, error) { m.mu.Lock(); defer m.mu.Unlock(); return m.on, nil }
func (m *memAutostart) SetEnabled(on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.on = on
	return nil
}

// termView is the View without a desktop: one line per change of the
// tooltip (which carries the mailbox, the count and any problem).
type termView struct {
	mu   sync.Mutex
	w    io.Writer
	last string
}

func newTermView(w io.Writer) *termView { return &termView{w: w} }

func (v *termView) Render(m app.Model) {
	v.mu.Lock()
	defer v.mu.Unlock()
	line := m.Tooltip
	if line == v.last {
		return
	}
	v.last = line
	fmt.Fprintf(v.w, "[tray] %s\n", line)
}

// writeAppIcon writes the app icon PNG for notifications to the cache
// directory, once per version of the program (icon-VERSION.png; encoding
// it at every start would cost a megabyte of garbage for nothing), and
// returns its absolute path: notify wants a path that lives as long as the
// process. Icons of other versions are removed.
func writeAppIcon(version string) (string, error) {
	dir, err := desktop.LogDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	name := "icon-" + strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, version) + ".png"
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := desktop.WriteFileAtomic(path, assets.AppIconPNG(128), 0o644); err != nil {
		return "", err
	}
	if old, err := filepath.Glob(filepath.Join(dir, "icon*.png")); err == nil {
		for _, o := range old {
			if o != path {
				os.Remove(o)
			}
		}
	}
	return path, nil
}

// SaveLang stores the language chosen on the settings page ("", "zh" or
// "en") in the config file, re-reading it first as SavePrefs does.
func (c *ConfigPrefs) SaveLang(lang string) error {
	return config.Update(c.Path, func(cfg *config.Config) error {
		cfg.Lang = lang
		return nil
	})
}
