package desktop

import (
	"errors"
	"path/filepath"
)

// newAutostart returns the LaunchAgent backend.
func newAutostart(getenv func(string) string) (autostarter, error) {
	exe, err := autostartExe()
	if err != nil {
		return nil, err
	}
	home := getenv("HOME")
	if home == "" {
		return nil, errors.New("autostart: HOME is not set")
	}
	return &fileAutostart{
		path:    filepath.Join(home, "Library", "LaunchAgents", launchAgentID+".plist"),
		content: launchAgent(exe),
	}, nil
}
