//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import "testing"

func TestMenuLabelEscapesDbusmenuAccessKeys(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"no underscore: unchanged", "Open mailbox", "Open mailbox"},
		{"one underscore is doubled", "EXMAIL_SECRET", "EXMAIL__SECRET"},
		{"every underscore is doubled", "build_bot — build_failed on ci_main", "build__bot — build__failed on ci__main"},
		{"a leading and a trailing underscore", "_draft_", "__draft__"},
		{"a double underscore stays two literal ones", "a__b", "a____b"},
		{"Chinese text with an underscore", "张伟 — 预算_v2 定稿", "张伟 — 预算__v2 定稿"},
		{"an ampersand has no role here", "R&D", "R&D"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := menuLabel(tt.in); got != tt.want {
				t.Errorf("menuLabel(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
