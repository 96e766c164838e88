package cdp

import "testing"

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"a one-time page link", "http://127.0.0.1:4242/s/AbCdEf_-123", "http://127.0.0.1:4242/s/…"},
		{"a handoff link's nonce", "http://127.0.0.1:999/0123456789abcdef0123456789abcdef", "http://127.0.0.1:999/…"},
		{"an enrollment link", "exmail-notifier://enroll?relay=http://127.0.0.1:1/&code=exr_x1", "exmail-notifier://enroll?relay=http://127.0.0.1:1/&code=…"},
		{"a bare token", "token exr_0123456789abcdefghijklmnop here", "token … here"},
		{"text stays", "Enroll this computer? | Relay | http://127.0.0.1:4242", "Enroll this computer? | Relay | http://127.0.0.1:4242"},
		{"a long word without digits stays", "Internationalization-and-localization", "Internationalization-and-localization"},
		{"Chinese stays", "登记此电脑？", "登记此电脑？"},
		{"assets are not links", "/assets/style.css", "/assets/style.css"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
