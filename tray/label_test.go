package tray

import "testing"

// TestMenuLabel checks menuLabel against what this platform's menu
// wants (labelFor, one file per platform, as with menuLabel itself); the
// one table shows every platform's escaping side by side.
func TestMenuLabel(t *testing.T) {
	t.Parallel()
	tests := []menuLabelCase{
		// name, in, dbusmenu (Linux, the BSDs: "_" doubled), Win32 ("&" doubled); NSMenu: in as it is
		{"plain text", "Open mailbox", "Open mailbox", "Open mailbox"},
		{"one underscore", "EXMAIL_SECRET", "EXMAIL__SECRET", "EXMAIL_SECRET"},
		{"every underscore", "build_bot — build_failed on ci_main", "build__bot — build__failed on ci__main", "build_bot — build_failed on ci_main"},
		{"a leading and a trailing underscore", "_draft_", "__draft__", "_draft_"},
		{"a double underscore", "a__b", "a____b", "a__b"},
		{"Chinese text with an underscore", "张伟 — 预算_v2 定稿", "张伟 — 预算__v2 定稿", "张伟 — 预算_v2 定稿"},
		{"one ampersand", "R&D budget", "R&D budget", "R&&D budget"},
		{"every ampersand", "Q&A & more", "Q&A & more", "Q&&A && more"},
		{"Chinese text with an ampersand", "研发&测试", "研发&测试", "研发&&测试"},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, want := menuLabel(tt.in), labelFor(tt); got != want {
				t.Errorf("menuLabel(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

// menuLabelCase is an input and the label each platform's menu wants.
type menuLabelCase struct{ name, in, dbusmenu, win32 string }
