//go:build linux || freebsd || netbsd || openbsd || dragonfly

package sessionbus

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		files   []string
		wantErr error
		wantSet map[string]string // what is written to the environment
	}{
		{
			name:    "no bus: fail, and never autolaunch",
			wantErr: ErrNoBus,
		},
		{
			name:    "autolaunch: is no bus",
			env:     map[string]string{"DBUS_SESSION_BUS_ADDRESS": "autolaunch:"},
			wantErr: ErrNoBus,
		},
		{
			name: "the address in the environment is used as it is",
			env:  map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/bus"},
		},
		{
			name:    "a bus in XDG_RUNTIME_DIR is handed to godbus, which would not look there",
			env:     map[string]string{"XDG_RUNTIME_DIR": "/tmp/rt"},
			files:   []string{"/tmp/rt/bus"},
			wantSet: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/rt/bus"},
		},
		{
			name:    "the user bus replaces autolaunch:",
			env:     map[string]string{"DBUS_SESSION_BUS_ADDRESS": "autolaunch:"},
			files:   []string{"/run/user/1000/bus"},
			wantSet: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set := map[string]string{}
			err := export(
				func(k string) string { return tt.env[k] }, 1000,
				func(p string) bool { return slices.Contains(tt.files, p) },
				func(k, v string) error { set[k] = v; return nil })
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("export() = %v, want %v", err, tt.wantErr)
			}
			if tt.wantSet == nil {
				tt.wantSet = map[string]string{}
			}
			if diff := cmp.Diff(tt.wantSet, set); diff != "" {
				t.Errorf("environment written (-want +got):\n%s", diff)
			}
		})
	}
}
