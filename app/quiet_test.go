package app

import (
	"testing"
	"time"
)

func TestQuietHoursUntil(t *testing.T) {
	t.Parallel()
	at := func(day, hh, mm int) time.Time { return time.Date(2026, 11, day, hh, mm, 0, 0, zone) } // Nov 2026: the 26th is a Thursday
	night := QuietHours{On: true, From: 20 * 60, To: 8 * 60}
	tests := []struct {
		name  string
		q     QuietHours
		t     time.Time
		quiet bool
		until time.Time
	}{
		{"Thursday evening is quiet until Friday morning", night, at(26, 21, 0), true, at(27, 8, 0)},
		{"Friday just before eight is still Thursday's night", night, at(27, 7, 59), true, at(27, 8, 0)},
		{"Friday at eight the night is over", night, at(27, 8, 0), false, time.Time{}},
		{"Friday night belongs to Friday: quiet into Saturday", night, at(27, 22, 0), true, at(28, 8, 0)},
		{"Saturday night is not a weekday's", night, at(28, 22, 0), false, time.Time{}},
		{"Monday early morning is Sunday's night: not quiet", night, at(30, 7, 0), false, time.Time{}},
		{"Thursday noon", night, at(26, 12, 0), false, time.Time{}},
		{"a daytime span", QuietHours{On: true, From: 12 * 60, To: 13 * 60}, at(25, 12, 30), true, at(25, 13, 0)},
		{"off", QuietHours{From: 20 * 60, To: 8 * 60}, at(26, 21, 0), false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			until, quiet := tt.q.Until(tt.t)
			if quiet != tt.quiet || !until.Equal(tt.until) {
				t.Errorf("Until(%v) = %v, %v; want %v, %v", tt.t, until, quiet, tt.until, tt.quiet)
			}
		})
	}
}

// Quiet hours hold toasts back like a pause; the badge still counts, the
// toasts come back when the span ends, and Resume ends the span early.
func TestQuietHoursHoldToastsBack(t *testing.T) {
	t.Parallel()
	quiet := baseConfig() // t0 is Thursday 10:00
	quiet.Prefs.Quiet = QuietHours{On: true, From: 9 * 60, To: 11 * 60}
	toasts := func(fx []effect) (n int) {
		for _, f := range fx {
			if _, ok := f.(toastFx); ok {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name   string
		steps  []step
		toasts int
	}{
		{"a mail during quiet hours shows nothing", []step{online(0), at(time.Minute, mailFor("m1", me, 1))}, 0},
		{"a mail after they end toasts", []step{online(0), at(61*time.Minute+time.Second, mailFor("m1", me, 1))}, 1},
		{"Resume during quiet hours lets the next mail through", []step{online(0), do(time.Minute, Resume{}), at(2*time.Minute, mailFor("m1", me, 1))}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, s := drive(t, quiet, tt.steps, 3*time.Hour)
			if n := toasts(got); n != tt.toasts {
				t.Errorf("%d toasts, want %d: %v", n, tt.toasts, got)
			}
			if s.unread != 1 {
				t.Errorf("the badge says %d, want 1: quiet hours hold toasts, not counts", s.unread)
			}
		})
	}
	t.Run("the menu says until when", func(t *testing.T) {
		t.Parallel()
		_, s := drive(t, quiet, []step{online(0)}, time.Minute)
		m := s.model(t0.Add(time.Minute))
		if !m.Paused || !m.PausedUntil.Equal(t0.Add(time.Hour)) {
			t.Errorf("model: paused %v until %v; want paused until 11:00", m.Paused, m.PausedUntil)
		}
	})
}
