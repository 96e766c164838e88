// Package faultq is the fault queue of the repository's fake servers
// (api/exmailtest, corpapi/corptest): rules that make the next requests to
// a route fail, oldest first. It is test support with no dependencies, so
// that both fakes keep one rule for which fault applies.
package faultq

import "sync"

// Any is the route that matches every request.
const Any = "*"

// Fault is what a matching request answers: an HTTP status (when not 0),
// else the fake's own error reply R.
type Fault[R any] struct {
	Status int
	Reply  R
}

type rule[R any] struct {
	route string
	fault Fault[R]
	times int // remaining; < 0 means until Clear
}

// Queue holds the rules. The zero Queue is empty and ready; it is safe for
// concurrent use.
type Queue[R any] struct {
	mu    sync.Mutex
	rules []*rule[R]
}

// Add queues f for the next times requests to route ("" or Any: every
// route). times < 0 keeps it until Clear; times == 0 adds nothing.
func (q *Queue[R]) Add(route string, f Fault[R], times int) {
	if times == 0 {
		return
	}
	if route == "" {
		route = Any
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rules = append(q.rules, &rule[R]{route: route, fault: f, times: times})
}

// Clear removes every rule.
func (q *Queue[R]) Clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rules = nil
}

// Take returns the fault for one request to route, using up one of the
// oldest matching rule's requests, or false if no rule matches.
func (q *Queue[R]) Take(route string) (Fault[R], bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, r := range q.rules {
		if r.route != Any && r.route != route {
			continue
		}
		if r.times > 0 {
			r.times--
			if r.times == 0 {
				q.rules = append(q.rules[:i:i], q.rules[i+1:]...)
			}
		}
		return r.fault, true
	}
	return Fault[R]{}, false
}
