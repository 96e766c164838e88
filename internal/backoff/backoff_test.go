package backoff

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoffGrowthCapJitterReset(t *testing.T) {
	t.Parallel()
	s := time.Second
	tests := []struct {
		name  string
		rand  float64
		limit time.Duration
		want  []time.Duration
	}{
		{"no jitter", 0.5, 2 * time.Minute, []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 120 * s, 120 * s}},
		{"lowest jitter", 0, 2 * time.Minute, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * s, 6 * s, 12 * s, 24 * s, 48 * s, 90 * s, 90 * s}},
		{"highest jitter", 0.999999, 10 * s, []time.Duration{1250000 * time.Microsecond, 2499999 * time.Microsecond, 4999998 * time.Microsecond, 9999996 * time.Microsecond, 12499995 * time.Microsecond}},
		{"auth cap", 0.5, 30 * time.Minute, []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 128 * s, 256 * s, 512 * s, 1024 * s, 1800 * s, 1800 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := Backoff{Min: time.Second, Rand: func() float64 { return tt.rand }}
			var got []time.Duration
			for range tt.want {
				got = append(got, b.Next(tt.limit).Round(time.Microsecond))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			b.Reset()
			if d := b.Next(tt.limit); d > 5*time.Second/4 {
				t.Errorf("after reset: %v, want about Min", d)
			}
		})
	}
}

func TestBackoffNeverOverflows(t *testing.T) {
	t.Parallel()
	b := Backoff{Min: time.Second, n: 1 << 20}
	if d := b.Next(time.Hour); d < 45*time.Minute || d >= 75*time.Minute {
		t.Errorf("after a million failures: %v, want about the cap", d)
	}
}

func TestRetryDoublesWithJitter(t *testing.T) {
	t.Parallel()
	for attempt, base := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second} {
		for range 20 {
			if d := Retry(attempt); d < base/2 || d >= base*3/2 {
				t.Fatalf("Retry(%d) = %v, want within [%v, %v)", attempt, d, base/2, base*3/2)
			}
		}
	}
}
