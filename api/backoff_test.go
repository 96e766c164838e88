package api

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

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
