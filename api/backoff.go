package api

import (
	"context"
	"time"
)

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
