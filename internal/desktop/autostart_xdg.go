//go:build !windows && !darwin

package desktop

// newAutostart returns the XDG autostart backend, or nil (the menu item is
// hidden) when it cannot work.
func newAutostart(getenv func(string) string) (autostarter, error) {
	exe, err := autostartExe()
	if err != nil {
		return nil, err
	}
	a, err := newXDGAutostart(getenv, exe)
	if err != nil {
		return nil, err
	}
	return a, nil
}
