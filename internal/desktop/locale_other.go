//go:build !windows && !darwin

package desktop

import "context"

// PlatformLocale: Linux and the BSDs have nothing beyond the POSIX locale
// variables, which uiLang reads itself.
func PlatformLocale(context.Context) string { return "" }
