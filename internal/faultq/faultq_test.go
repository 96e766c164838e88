package faultq

import "testing"

func TestQueue(t *testing.T) {
	type step struct {
		route string
		want  string // the reply taken, "" for none
	}
	tests := []struct {
		name  string
		setup func(q *Queue[string])
		steps []step
	}{
		{"empty queue fails nothing", func(*Queue[string]) {}, []step{{"listen", ""}}},
		{"a rule fails its route the given times, then no more", func(q *Queue[string]) {
			q.Add("listen", Fault[string]{Reply: "busy"}, 2)
		}, []step{{"mail/newcount", ""}, {"listen", "busy"}, {"listen", "busy"}, {"listen", ""}}},
		{"Any and the empty route match every route", func(q *Queue[string]) {
			q.Add(Any, Fault[string]{Reply: "a"}, 1)
			q.Add("", Fault[string]{Reply: "b"}, 1)
		}, []step{{"x", "a"}, {"y", "b"}, {"z", ""}}},
		{"the oldest matching rule applies first", func(q *Queue[string]) {
			q.Add("listen", Fault[string]{Reply: "first"}, 1)
			q.Add(Any, Fault[string]{Reply: "second"}, 1)
		}, []step{{"listen", "first"}, {"listen", "second"}, {"listen", ""}}},
		{"times < 0 fails until Clear", func(q *Queue[string]) {
			q.Add("listen", Fault[string]{Reply: "down"}, -1)
		}, []step{{"listen", "down"}, {"listen", "down"}, {"listen", "down"}}},
		{"times == 0 adds nothing", func(q *Queue[string]) {
			q.Add("listen", Fault[string]{Reply: "never"}, 0)
		}, []step{{"listen", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q Queue[string]
			tt.setup(&q)
			for i, s := range tt.steps {
				f, ok := q.Take(s.route)
				got := ""
				if ok {
					got = f.Reply
				}
				if got != s.want {
					t.Fatalf("request %d to %q: got %q, want %q", i+1, s.route, got, s.want)
				}
			}
		})
	}
	t.Run("Clear removes every rule", func(t *testing.T) {
		var q Queue[string]
		q.Add("listen", Fault[string]{Reply: "down"}, -1)
		q.Clear()
		if _, ok := q.Take("listen"); ok {
			t.Fatal("a rule survived Clear")
		}
	})
}
