//go:build !windows && !darwin

package main

import "context"

// platformLocale: Linux and the BSDs have nothing beyond the POSIX locale
// variables, which uiLang reads itself.
func platformLocale(context.Context) string { return "" }
