package desktop

import (
	"testing"
	"time"
)

func TestSleptComparesTheClocks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		wall, mono time.Duration
		want       bool
	}{
		{"awake: both clocks moved a minute", time.Minute, time.Minute, false},
		{"timer slack", time.Minute + 2*time.Second, time.Minute, false},
		{"an NTP step of a few seconds", time.Minute + 10*time.Second, time.Minute, false},
		{"the clock set back", 0, time.Minute, false},
		{"asleep for an hour", time.Hour + time.Minute, time.Minute, true},
		{"asleep just over the threshold", time.Minute + wakeJump + time.Second, time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := slept(tc.wall, tc.mono); got != tc.want {
				t.Errorf("slept(wall %v, mono %v) = %v, want %v", tc.wall, tc.mono, got, tc.want)
			}
		})
	}
}
