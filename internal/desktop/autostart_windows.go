package desktop

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

// regAutostart is start-at-login through HKCU\…\Run, the value the MSI
// writes too.
type regAutostart struct{ exe string }

// newAutostart returns the registry backend.
func newAutostart(func(string) string) (autostarter, error) {
	exe, err := autostartExe()
	if err != nil {
		return nil, err
	}
	return &regAutostart{exe: exe}, nil
}

func (a *regAutostart) Enabled() (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if err != nil {
		if errors.Is(err, registry.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("autostart: %w", err)
	}
	defer k.Close()
	_, _, err = k.GetStringValue(autostartID)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (a *regAutostart) SetEnabled(on bool) error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	defer k.Close()
	if on {
		err = k.SetStringValue(autostartID, windowsRunValue(a.exe))
	} else if err = k.DeleteValue(autostartID); errors.Is(err, registry.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}
