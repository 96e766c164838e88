package callback

import (
	"container/list"
	"sync"
	"time"
)

// nonceCache remembers (timestamp, nonce) pairs of accepted callbacks for
// as long as their timestamp could still pass the window check, so that
// a captured request cannot be replayed inside the window. It holds at
// most max entries; when full it forgets the oldest, so memory stays
// bounded under a flood (a flood of validly signed requests needs the
// Token anyway).
//
// A pair is first reserved while its message is delivered and then either
// kept (delivered) or released (delivery failed, so that Tencent's retry
// of the same request is accepted).
type nonceCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	order *list.List               // of *nonceEntry, oldest first
	byKey map[string]*list.Element // key → element in order
}

type nonceEntry struct {
	key     string
	expires time.Time
}

func newNonceCache(max int, ttl time.Duration) *nonceCache {
	return &nonceCache{max: max, ttl: ttl, order: list.New(), byKey: map[string]*list.Element{}}
}

// reserve records key at now. It reports false if key is already there
// (a replay, or the same request still being delivered).
func (c *nonceCache) reserve(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.order.Front(); e != nil; e = c.order.Front() {
		if ent := e.Value.(*nonceEntry); now.Before(ent.expires) {
			break
		}
		c.remove(e)
	}
	if _, ok := c.byKey[key]; ok {
		return false
	}
	for c.order.Len() >= c.max {
		c.remove(c.order.Front())
	}
	c.byKey[key] = c.order.PushBack(&nonceEntry{key: key, expires: now.Add(c.ttl)})
	return true
}

// release forgets key (delivery failed).
func (c *nonceCache) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.remove(e)
	}
}

func (c *nonceCache) remove(e *list.Element) {
	delete(c.byKey, e.Value.(*nonceEntry).key)
	c.order.Remove(e)
}

func (c *nonceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
