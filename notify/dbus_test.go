//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notify

import (
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The id → key bookkeeping of the D-Bus backend, without a bus. Steps are
// "remember ID KEY", "click ID" and "close ID"; want is the keys handed to
// clicked, in order.
func TestDBusBackend_ClickBookkeeping(t *testing.T) {
	t.Parallel()
	type step struct {
		op  string
		id  uint32
		key string
	}
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{
			name:  "click after the reply",
			steps: []step{{"remember", 1, "m1"}, {"click", 1, ""}},
			want:  []string{"m1"},
		},
		{
			name:  "click overtakes the reply",
			steps: []step{{"click", 1, ""}, {"remember", 1, "m1"}},
			want:  []string{"m1"},
		},
		{
			name:  "a second click on the same toast is ignored",
			steps: []step{{"remember", 1, "m1"}, {"click", 1, ""}, {"click", 1, ""}, {"remember", 2, "m2"}},
			want:  []string{"m1"},
		},
		{
			name:  "clicks on other ids never fire later",
			steps: []step{{"click", 7, ""}, {"remember", 8, "m8"}, {"remember", 7, "m7"}},
			want:  nil,
		},
		{
			name:  "closed toasts are forgotten",
			steps: []step{{"remember", 1, "m1"}, {"close", 1, ""}, {"click", 1, ""}},
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			b := newDBusBackend(Options{}, func(k string) { got = append(got, k) }, slog.New(&logRecorder{}))
			for _, s := range tt.steps {
				switch s.op {
				case "remember":
					b.remember(s.id, s.key)
				case "click":
					if k := b.click(s.id); k != "" {
						b.clicked(k)
					}
				case "close":
					b.take(s.id)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("clicked keys mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDBusBackend_RemembersABoundedNumberOfToasts(t *testing.T) {
	t.Parallel()
	b := newDBusBackend(Options{}, func(string) {}, slog.New(&logRecorder{}))
	for id := uint32(1); id <= maxKeys+10; id++ {
		b.remember(id, "k")
	}
	for range maxEarly + 10 {
		b.click(1000) // unknown ids
	}
	if len(b.keys) != maxKeys || len(b.order) != maxKeys || len(b.early) != maxEarly {
		t.Errorf("kept %d keys, %d order entries, %d early clicks; want %d, %d, %d",
			len(b.keys), len(b.order), len(b.early), maxKeys, maxKeys, maxEarly)
	}
	if b.take(1) != "" || b.take(maxKeys+10) != "k" {
		t.Error("want the oldest toasts forgotten first")
	}
}
