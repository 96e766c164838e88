package desktop

import (
	"context"

	"golang.org/x/sys/windows"
)

// PlatformLocale returns the user's first preferred UI language, e.g.
// "zh-CN" (GetUserPreferredUILanguages, MUI_LANGUAGE_NAME): the language
// Windows itself is shown in, which is what the menu should follow.
func PlatformLocale(context.Context) string {
	langs, err := windows.GetUserPreferredUILanguages(windows.MUI_LANGUAGE_NAME)
	if err != nil || len(langs) == 0 {
		return ""
	}
	return langs[0]
}
