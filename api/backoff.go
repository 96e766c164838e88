package api

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff computes the waits between failed listen attempts: min·2ⁿ after
// the n-th consecutive failure, at most a cap the caller chooses per
// failure (credentials rejected waits longer), each scaled by a random
// factor in [0.75, 1.25) so that many clients do not retry in step. reset
// starts over after a healthy connection.
//
// There is no clock interface: the Watcher's tests run inside a
// testing/synctest bubble, where timers are virtual.
type backoff struct {
	min  time.Duration
	n    int            // consecutive failures so far
	rand func() float64 // in [0, 1); nil means math/rand/v2
}

// next returns the wait after one more failure.
func (b *backoff) next(limit time.Duration) time.Duration {
	d := b.min
	for i := 0; i < b.n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	b.n++
	return b.jitter(d)
}

// jitter scales d by a random factor in [0.75, 1.25).
func (b *backoff) jitter(d time.Duration) time.Duration {
	r := b.rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(float64(d) * (0.75 + r()/2))
}

func (b *backoff) reset() { b.n = 0 }

// sleep waits for d. It returns ctx.Err() if ctx ends first, and nil when
// d has passed or kick fired (a nil kick never fires). The timer is
// stopped on every path.
func sleep(ctx context.Context, d time.Duration, kick <-chan struct{}) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	case <-kick:
		return nil
	}
}
