package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// Why a subscription ended.
const (
	endNone     int32 = iota
	endSlow           // its queue overflowed: the client reads too slowly
	endRevoked        // its device was revoked
	endShutdown       // the relay is stopping
	endReplaced       // its device opened more than maxPerDevice streams; the oldest goes
)

// maxPerDevice bounds the streams one device may hold open at once (a
// laptop reconnecting after a network change may briefly hold two). Past
// it the oldest is ended: it is the one most likely to be dead already.
const maxPerDevice = 4

// revokedMemory is how long the hub remembers a revocation, to refuse a
// stream whose device was looked up just before it was revoked.
const revokedMemory = 10 * time.Minute

// message is one stored event, rendered once as SSE bytes for every
// subscriber of the mailbox.
type message struct {
	seq    uint64
	unread int
	frame  []byte
	chunk  []byte // frame as one HTTP/1.1 chunk, for hijacked streams
}

// sub is one open stream's subscription. The hub only ever does
// non-blocking sends to it, so a slow stream never stalls a publisher or
// another stream.
type sub struct {
	alias, device string
	n             uint64        // order of subscription, for maxPerDevice
	ch            chan message  // bounded; overflow ends the subscription
	upstream      chan struct{} // capacity 1: the upstream state changed
	done          chan struct{} // closed when the hub ends the subscription
	why           atomic.Int32
	once          sync.Once
}

func (s *sub) end(why int32) {
	s.once.Do(func() {
		s.why.Store(why)
		close(s.done)
	})
}

// hub routes published events to the subscriptions of their mailbox.
type hub struct {
	queue int

	mu       sync.RWMutex
	byAlias  map[string]map[*sub]struct{}
	byDevice map[string]map[*sub]struct{}
	closed   bool
	n        int
	seq      uint64               // subscriptions ever made
	revoked  map[string]time.Time // device → when revoke was called, for revokedMemory

	upstream atomic.Bool
	slow     atomic.Int64 // subscriptions ended for overflow, for /metrics
}

func newHub(queue int) *hub {
	return &hub{queue: queue, byAlias: map[string]map[*sub]struct{}{}, byDevice: map[string]map[*sub]struct{}{}}
}

// subscribe registers a subscription for alias; it receives every message
// published for alias from now on. It reports false once the hub is shut
// down.
//
// A device revoked in the last revokedMemory gets a subscription that is
// already ended (endRevoked): its lookup may have raced the revocation. A
// device past maxPerDevice streams has its oldest one ended (endReplaced).
func (h *hub) subscribe(alias, device string) (*sub, bool) {
	s := &sub{alias: alias, device: device, ch: make(chan message, h.queue), upstream: make(chan struct{}, 1), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	if _, ok := h.revoked[device]; ok {
		s.end(endRevoked)
		return s, true
	}
	h.seq++
	s.n = h.seq
	if own := h.byDevice[device]; len(own) >= maxPerDevice {
		var oldest *sub
		for o := range own {
			if oldest == nil || o.n < oldest.n {
				oldest = o
			}
		}
		oldest.end(endReplaced)
	}
	add(h.byAlias, alias, s)
	add(h.byDevice, device, s)
	h.n++
	return s, true
}

func (h *hub) unsubscribe(s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if del(h.byAlias, s.alias, s) {
		h.n--
	}
	del(h.byDevice, s.device, s)
}

func add(m map[string]map[*sub]struct{}, k string, s *sub) {
	set := m[k]
	if set == nil {
		set = map[*sub]struct{}{}
		m[k] = set
	}
	set[s] = struct{}{}
}

func del(m map[string]map[*sub]struct{}, k string, s *sub) bool {
	set := m[k]
	if _, ok := set[s]; !ok {
		return false
	}
	delete(set, s)
	if len(set) == 0 {
		delete(m, k)
	}
	return true
}

// publish hands msg to every subscription of alias without ever blocking:
// a subscription whose queue is full is ended (endSlow); its client
// resumes from its Last-Event-ID.
func (h *hub) publish(alias string, msg message) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.byAlias[alias] {
		select {
		case s.ch <- msg:
		default:
			if s.why.Load() == endNone {
				h.slow.Add(1)
			}
			s.end(endSlow)
		}
	}
}

// setUpstream records the upstream state and tells every subscription
// when it changed.
func (h *hub) setUpstream(online bool) {
	if h.upstream.Swap(online) == online {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, set := range h.byAlias {
		for s := range set {
			select {
			case s.upstream <- struct{}{}:
			default:
			}
		}
	}
}

// revoke ends every subscription of device.
func (h *hub) revoke(device string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if h.revoked == nil {
		h.revoked = map[string]time.Time{}
	}
	for id, at := range h.revoked {
		if now.Sub(at) > revokedMemory {
			delete(h.revoked, id)
		}
	}
	h.revoked[device] = now
	for s := range h.byDevice[device] {
		s.end(endRevoked)
	}
}

// shutdown ends every subscription and refuses new ones.
func (h *hub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, set := range h.byAlias {
		for s := range set {
			s.end(endShutdown)
		}
	}
}

// subscribers is how many subscriptions are open.
func (h *hub) subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

// watched reports whether alias has an open subscription.
func (h *hub) watched(alias string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.byAlias[alias]) > 0
}
