//go:build windows

package tray

import "testing"

func TestMenuLabelEscapesWin32AccessKeys(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"no ampersand: unchanged", "Open mailbox", "Open mailbox"},
		{"one ampersand is doubled", "R&D budget", "R&&D budget"},
		{"every ampersand is doubled", "Q&A & more", "Q&&A && more"},
		{"an underscore has no role here", "EXMAIL_SECRET", "EXMAIL_SECRET"},
		{"Chinese text with an ampersand", "研发&测试", "研发&&测试"},
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
