package desktop

import (
	"context"
	"log/slog"
	"time"
)

// Sleep and resume. After a suspend the listen connection is usually dead
// without knowing it, and the unread count is stale. The idle watchdog
// cannot help quickly: Go's timers run on the monotonic clock, which stops
// while the machine sleeps. So the tray watches for wake-ups itself and
// asks the Watcher to reconnect at once.
//
// Where logind is on the system bus (most Linux desktops), its
// PrepareForSleep(false) signal says so, with no polling. Elsewhere the
// wall clock is compared with the monotonic clock once a minute: a wall
// clock that moved much further than the monotonic one means the machine
// was asleep in between.

const (
	// wakeCheckEvery is the period of the wall-clock comparison where no
	// wake signal is available.
	wakeCheckEvery = time.Minute
	// wakeJump is how much further the wall clock must have moved than
	// the monotonic clock to count as a sleep: more than timer slack and
	// NTP steps.
	wakeJump = 20 * time.Second
)

// WatchWake calls woke after every wake-up until ctx ends. It blocks only
// as long as it uses the wall clock; with logind it returns at once and
// follows the signal on a goroutine of its own. woke must not block (it is
// the Watcher's Reconnect).
func WatchWake(ctx context.Context, log *slog.Logger, woke func()) {
	err := watchLogind(ctx, log, woke)
	if err == nil {
		return
	}
	log.Debug("no logind sleep signal; watching the wall clock for wake-ups", "reason", err)
	watchWallClock(ctx, wakeCheckEvery, woke)
}

// watchWallClock checks every period whether the wall clock jumped ahead
// of the monotonic clock, and calls woke when it did.
func watchWallClock(ctx context.Context, period time.Duration, woke func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if slept(now.Round(0).Sub(last.Round(0)), now.Sub(last)) {
				woke()
			}
			last = now
		}
	}
}

// slept reports whether the machine slept between two readings of
// time.Now, given how far the wall clock (t.Round(0) strips the monotonic
// reading) and the monotonic clock moved: the wall clock moved more than
// wakeJump further.
func slept(wall, mono time.Duration) bool { return wall-mono > wakeJump }
