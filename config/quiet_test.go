package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/config"
)

func TestQuietHoursAndSound(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.json")
	c := config.New()
	if !c.PlaysSound() {
		t.Error("a new config plays no sound; the default is on")
	}
	off := false
	c.Sound = &off
	c.QuietHours = &config.QuietHours{On: true, From: "20:00", To: "08:00"}
	if err := config.Save(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	from, to, ok := got.QuietHours.Minutes()
	if got.PlaysSound() || !got.QuietHours.On || !ok || from != 20*60 || to != 8*60 {
		t.Errorf("after a round trip: sound %v, quiet %+v (%d, %d, %v)", got.PlaysSound(), got.QuietHours, from, to, ok)
	}
	for _, bad := range []config.QuietHours{{On: true, From: "8pm", To: "08:00"}, {From: "24:00", To: "08:00"}, {From: "20:00", To: "8:00"}} {
		t.Run(bad.From+"-"+bad.To, func(t *testing.T) {
			c := config.New()
			c.QuietHours = &bad
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "quiet_hours") {
				t.Errorf("Validate(%+v) = %v, want a quiet_hours error", bad, err)
			}
		})
	}
}
