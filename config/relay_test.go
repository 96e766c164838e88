package config_test

import (
	"testing"

	"github.com/exmail-notifier/exmail-notifier/config"
)

func TestCheckRelayURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://relay.example.com", true},
		{"https://relay.example.com:8443/exmail/", true},
		{"http://127.0.0.1:8080", true},
		{"http://relay.example.com", false},           // plain http off this machine
		{"https://h/%C2%9B2J%C2%9B31mPWNED", false},   // an escape hidden in the path
		{"https://relay.example.com/\u009b2J", false}, // a raw C1 control
		{"https://réseau.example.com", false},         // not plain ASCII
		{"https://relay.example.com/?code=x", false},  // a query
		{"https://user:pw@relay.example.com", false},  // credentials
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			if err := config.CheckRelayURL(tt.url); (err == nil) != tt.ok {
				t.Errorf("CheckRelayURL(%q) = %v, want ok %v", tt.url, err, tt.ok)
			}
		})
	}
}
