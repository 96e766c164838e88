package desktop

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// scriptedProbe answers with states in turn (the last one repeats) and
// records each read's deadline. block makes a read wait for its ctx to end.
// The test reads what it recorded under mu (synctest.Wait alone is no
// happens-before edge for the race detector).
type scriptedProbe struct {
	states []PowerState
	err    error
	block  bool

	mu        sync.Mutex
	reads     int
	deadlines []time.Duration // time left when each read began
	closed    bool
}

func (p *scriptedProbe) read(ctx context.Context) (PowerState, error) {
	p.mu.Lock()
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Time{}
	}
	p.deadlines = append(p.deadlines, time.Until(d))
	s := p.states[min(p.reads, len(p.states)-1)]
	p.reads++
	p.mu.Unlock()
	if p.block {
		<-ctx.Done()
		return PowerState{}, ctx.Err()
	}
	return s, p.err
}

func (p *scriptedProbe) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
}

func (p *scriptedProbe) record() (reads int, deadlines []time.Duration, closed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reads, p.deadlines, p.closed
}

func TestPowerWatchRefreshes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		probe := &scriptedProbe{states: []PowerState{
			{},
			{OnBattery: true},
			{Idle: true},
			{},
		}}
		var changes []PowerState // appended on the watch's goroutine, read after synctest.Wait under mu
		var mu sync.Mutex
		o := PowerOptions{Every: time.Minute, Timeout: 3 * time.Second, OnChange: func(s PowerState) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, s)
		}}.withDefaults()
		p := &Power{}
		if p.Slow() {
			t.Fatal("slow before the first answer")
		}
		go p.watch(ctx, o, probe)
		for i, want := range []bool{false, true, true, false} {
			synctest.Wait() // the watch has read and is waiting for its ticker
			if got := p.Slow(); got != want {
				t.Errorf("after read %d: Slow() = %v, want %v (state %+v)", i+1, got, want, p.State())
			}
			time.Sleep(o.Every) // the bubble's clock: no real wait
		}
		mu.Lock()
		if want := []PowerState{{OnBattery: true}, {Idle: true}, {}}; !slices.Equal(changes, want) {
			t.Errorf("OnChange got %+v, want %+v (no call for the first answer)", changes, want)
		}
		mu.Unlock()
		_, deadlines, _ := probe.record()
		for i, left := range deadlines {
			if left != o.Timeout {
				t.Errorf("read %d had %v left, want the Timeout %v", i+1, left, o.Timeout)
			}
		}
		cancel()
		synctest.Wait()
		if _, _, closed := probe.record(); !closed {
			t.Error("the probe was not closed when ctx ended")
		}
	})
}

func TestPowerSlowNeverWaitsForTheProbe(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		probe := &scriptedProbe{states: []PowerState{{OnBattery: true}}, block: true}
		o := PowerOptions{Every: time.Minute, Timeout: 2 * time.Second}.withDefaults()
		p := &Power{}
		p.set(PowerState{Idle: true})
		go p.watch(t.Context(), o, probe)
		synctest.Wait() // the read is stuck until its deadline
		if !p.Slow() {
			t.Error("Slow() lost the last state while a read hangs")
		}
		time.Sleep(o.Timeout)
		synctest.Wait()
		// A read that timed out counts as "not known": not slow.
		if p.Slow() {
			t.Errorf("after a timed-out read: state %+v, want not slow", p.State())
		}
		if reads, _, _ := probe.record(); reads != 1 {
			t.Errorf("%d reads before Every passed, want 1", reads)
		}
	})
}

func TestPowerWatchKeepsWhatItCouldRead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		probe := &scriptedProbe{states: []PowerState{{OnBattery: true}}, err: errors.New("idle: no logind")}
		p := &Power{}
		go p.watch(t.Context(), PowerOptions{}.withDefaults(), probe)
		synctest.Wait()
		if s := p.State(); !s.OnBattery || s.Idle {
			t.Errorf("state %+v, want on battery and not idle", s)
		}
	})
}

func TestPowerZeroAndNil(t *testing.T) {
	t.Parallel()
	var nilPower *Power
	if nilPower.Slow() || (&Power{}).Slow() {
		t.Error("a zero or nil Power is slow")
	}
}

func TestPowerOptionsDefaults(t *testing.T) {
	t.Parallel()
	o := PowerOptions{}.withDefaults()
	if o.Every != time.Minute || o.IdleAfter != 10*time.Minute || o.Timeout != 2*time.Second || o.Logger == nil || o.Getenv == nil {
		t.Errorf("defaults: %+v", o)
	}
}

func TestPowerStateSlow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    PowerState
		want bool
	}{
		{"in use on mains", PowerState{}, false},
		{"on battery", PowerState{OnBattery: true}, true},
		{"idle", PowerState{Idle: true}, true},
		{"idle on battery", PowerState{OnBattery: true, Idle: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &Power{}
			p.set(tc.s)
			if p.State() != tc.s {
				t.Errorf("stored %+v, read back %+v", tc.s, p.State())
			}
			if got := p.Slow(); got != tc.want {
				t.Errorf("Slow() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWindowsOnBattery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		acLine, battery byte
		want            bool
	}{
		{"laptop on mains, charging", 1, 8, false},
		{"laptop on battery, high", 0, 1, true},
		{"laptop on battery, critical", 0, 4, true},
		{"desktop: no system battery", 1, 128, false},
		{"offline but no system battery (a UPS-less desktop misreporting)", 0, 128, false},
		{"AC status unknown", 255, 1, false},
		{"battery status unknown", 0, 255, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := windowsOnBattery(tc.acLine, tc.battery); got != tc.want {
				t.Errorf("windowsOnBattery(%d, %d) = %v, want %v", tc.acLine, tc.battery, got, tc.want)
			}
		})
	}
}

func TestWindowsIdleFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		now, lastInput uint32
		want           time.Duration
	}{
		{"input just now", 5000, 5000, 0},
		{"eleven minutes ago", 700_000, 40_000, 660 * time.Second},
		{"across the 49.7-day wrap", 1000, ^uint32(0) - 999, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := windowsIdleFor(tc.now, tc.lastInput); got != tc.want {
				t.Errorf("windowsIdleFor(%d, %d) = %v, want %v", tc.now, tc.lastInput, got, tc.want)
			}
		})
	}
}
