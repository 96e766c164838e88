// Package backoff is the one retry policy of the project: how long to
// wait after a failure before trying again, for connections that
// reconnect (api.Watcher, poll.Source) and for single calls that retry
// (the two API clients).
//
// There is no clock interface: the callers' tests run inside a
// testing/synctest bubble, where timers are virtual.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff computes the waits between consecutive failures: Min·2ⁿ after
// the n-th, at most a cap the caller chooses per failure (credentials
// rejected may wait longer), each scaled by a random factor in
// [0.75, 1.25) so that many clients do not retry in step. Reset starts
// over after a healthy connection. The zero value waits from 0: set Min.
type Backoff struct {
	Min  time.Duration
	Rand func() float64 // in [0, 1); nil means math/rand/v2
	n    int            // consecutive failures so far
}

// Next returns the wait after one more failure.
func (b *Backoff) Next(limit time.Duration) time.Duration {
	d := b.Min
	for i := 0; i < b.n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	b.n++
	return b.Jitter(d)
}

// Jitter scales d by a random factor in [0.75, 1.25).
func (b *Backoff) Jitter(d time.Duration) time.Duration {
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(float64(d) * (0.75 + r()/2))
}

// Reset starts over: the next wait is about Min again.
func (b *Backoff) Reset() { b.n = 0 }

// Retry is the wait before the attempt-th retry (0 for the first) of a
// single call after a transient failure: 250 ms doubling, scaled by a
// random factor in [0.5, 1.5). Calls retry a few times only, so it has no
// cap.
func Retry(attempt int) time.Duration {
	d := 250 * time.Millisecond << attempt
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}
