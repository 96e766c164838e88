package notify

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBeeepBackend_Show(t *testing.T) {
	t.Parallel()
	type call struct {
		Title, Body string
		Icon        any
	}
	var got []call
	failure := errors.New("notify-send: exit status 1")
	b := &beeepBackend{icon: "/opt/exmail/icon.png", notify: func(title, body string, icon any) error {
		got = append(got, call{title, body, icon})
		if title == "fail" {
			return failure
		}
		return nil
	}}

	if err := b.show(t.Context(), toast{title: "New mail", body: "hello", key: "m1"}); err != nil {
		t.Errorf("show() = %v", err)
	}
	err := b.show(t.Context(), toast{title: "fail"})
	var e *Error
	if !errors.As(err, &e) || e.Backend != "beeep" || !errors.Is(err, failure) {
		t.Errorf("show() error = %v, want *Error from beeep wrapping the cause", err)
	}
	want := []call{
		{"New mail", "hello", "/opt/exmail/icon.png"}, // the icon is a path, never bytes
		{"fail", "", "/opt/exmail/icon.png"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("beeep.Notify calls mismatch (-want +got):\n%s", diff)
	}
}
