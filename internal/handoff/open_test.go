package handoff

import (
	"slices"
	"testing"
)

func TestOpenerEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		kv   string
		kept bool
	}{
		{"the interface key", "EXMAIL_SECRET=k", false},
		{"any EXMAIL_ variable", "EXMAIL_CONFIG=/x", false},
		{"EXMAIL_ in lower case", "exmail_secret=k", false},
		{"a token", "GITHUB_TOKEN=t", false},
		{"a secret inside the name", "AWS_SECRET_ACCESS_KEY=s", false},
		{"a password", "PGPASSWORD=p", false},
		{"a passwd", "MYSQL_PASSWD=p", false},
		{"the activation token handed to this process", "XDG_ACTIVATION_TOKEN=a", false},
		{"a value that looks like a secret, under a harmless name", "NOTE=EXMAIL_SECRET", true},
		{"EXMAIL without the underscore", "EXMAILER=x", true},
		{"the display", "DISPLAY=:0", true},
		{"the session bus", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus", true},
		{"the user's browser choice", "BROWSER=firefox", true},
		{"PATH", "PATH=/usr/bin", true},
		{"a variable with no value", "EMPTY=", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Contains(openerEnv([]string{"HOME=/home/u", tc.kv}), tc.kv)
			if got != tc.kept {
				t.Errorf("openerEnv kept %q: %v, want %v", tc.kv, got, tc.kept)
			}
		})
	}
}
