package api

import (
	"context"
	"testing"
	"testing/synctest"
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
			b := backoff{min: time.Second, rand: func() float64 { return tt.rand }}
			var got []time.Duration
			for range tt.want {
				got = append(got, b.next(tt.limit).Round(time.Microsecond))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			b.reset()
			if d := b.next(tt.limit); d > 5*time.Second/4 {
				t.Errorf("after reset: %v, want about MinBackoff", d)
			}
		})
	}
}

func TestBackoffNeverOverflows(t *testing.T) {
	t.Parallel()
	b := backoff{min: time.Second, n: 1 << 20}
	if d := b.next(time.Hour); d < 45*time.Minute || d >= 75*time.Minute {
		t.Errorf("after a million failures: %v, want about the cap", d)
	}
}

func TestBackoffSleep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := sleep(t.Context(), time.Minute, nil); err != nil || time.Since(start) != time.Minute {
			t.Errorf("sleep: %v after %v", err, time.Since(start))
		}

		kick := make(chan struct{}, 1)
		start = time.Now()
		go func() {
			time.Sleep(time.Second)
			kick <- struct{}{}
		}()
		if err := sleep(t.Context(), time.Hour, kick); err != nil || time.Since(start) != time.Second {
			t.Errorf("kicked sleep: %v after %v, want nil after 1s", err, time.Since(start))
		}

		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start = time.Now()
		if err := sleep(ctx, time.Hour, nil); err != context.DeadlineExceeded || time.Since(start) != 2*time.Second {
			t.Errorf("cancelled sleep: %v after %v", err, time.Since(start))
		}
		if err := sleep(ctx, 0, nil); err != context.DeadlineExceeded {
			t.Errorf("sleep(0) with a done ctx: %v", err)
		}
	})
}
