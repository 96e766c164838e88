//go:build !((linux || freebsd || openbsd || netbsd) && !android) && !windows

package tray

import "testing"

func TestMenuLabelIsPlainOnMacOS(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"underscores", "EXMAIL_SECRET"},
		{"ampersands", "R&D"},
		{"Chinese", "张伟 — 预算_v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := menuLabel(tt.in); got != tt.in {
				t.Errorf("menuLabel(%q) = %q, want it unchanged", tt.in, got)
			}
		})
	}
}
