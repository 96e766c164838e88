package main

import (
	"context"

	"github.com/exmail-notifier/exmail-notifier/app"
)

// uiLang picks the language of the tray and toasts: the config's "lang"
// when it names one, else the POSIX locale variables (LC_ALL, LC_MESSAGES,
// LANG, LANGUAGE), else the platform's UI language (Windows, macOS: GUI
// programs there get no locale variables), else English.
func (e *env) uiLang(ctx context.Context, configured string) app.Lang {
	if l, ok := app.ParseLang(configured); ok {
		return l
	}
	fallback := app.English
	if s := platformLocale(ctx); s != "" {
		if l, ok := app.ParseLang(s); ok {
			fallback = l
		}
		e.logger().Debug("platform locale", "locale", s)
	}
	return app.DetectLang(e.getenv, fallback)
}
