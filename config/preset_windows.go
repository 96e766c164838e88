//go:build windows

package config

import "golang.org/x/sys/windows/registry"

// presetKey is where the MSI installer may preset endpoint defaults, as
// string values named like the environment variables.
const presetKey = `Software\exmail-notifier`

// Preset returns the endpoint defaults preset by the installer in
// HKEY_CURRENT_USER\Software\exmail-notifier (string values EXMAIL_API_URL,
// EXMAIL_TOKEN_URL, EXMAIL_LOGIN_URL). Missing values are empty.
func Preset() Endpoints {
	k, err := registry.OpenKey(registry.CURRENT_USER, presetKey, registry.QUERY_VALUE)
	if err != nil {
		return Endpoints{}
	}
	defer k.Close()
	get := func(name string) string {
		s, _, err := k.GetStringValue(name)
		if err != nil {
			return ""
		}
		return s
	}
	return Endpoints{
		TokenURL: get("EXMAIL_TOKEN_URL"),
		APIURL:   get("EXMAIL_API_URL"),
		LoginURL: get("EXMAIL_LOGIN_URL"),
	}
}
