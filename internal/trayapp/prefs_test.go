package trayapp

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/config"
)

// The preferences survive a restart: what SavePrefs writes, PrefsOf reads.
func TestPrefsRoundTripThroughTheConfigFile(t *testing.T) {
	t.Parallel()
	for _, p := range []app.Prefs{
		{ShowContent: true, Sound: true},
		{ShowContent: false, Sound: false, Quiet: app.QuietHours{On: true, From: 20 * 60, To: 8 * 60}},
		{ShowContent: true, Sound: true, Quiet: app.QuietHours{On: false, From: 12 * 60, To: 13*60 + 30}},
	} {
		t.Run(fmtPrefs(p), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "config.json")
			if err := (&ConfigPrefs{Path: path}).SavePrefs(p); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, PrefsOf(cfg)); diff != "" {
				t.Errorf("prefs after a restart (-saved +read):\n%s", diff)
			}
		})
	}
	if got := PrefsOf(config.New()); !got.ShowContent || !got.Sound || got.Quiet.On {
		t.Errorf("defaults: %+v; want content and sound on, no quiet hours", got)
	}
}

func fmtPrefs(p app.Prefs) string {
	s := "content"
	if !p.ShowContent {
		s = "no content"
	}
	switch {
	case p.Quiet.On:
		s += ", quiet " + clock(p.Quiet.From) + "-" + clock(p.Quiet.To)
	case p.Quiet.From != p.Quiet.To:
		s += ", quiet hours set but off"
	}
	return s
}
