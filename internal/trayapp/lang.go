package trayapp

import (
	"context"
	"log/slog"

	"github.com/exmail-notifier/exmail-notifier/app"
)

// UILang picks the language of the tray and toasts: the config's "lang"
// (configured) when it names one, else the POSIX locale variables
// (LC_ALL, LC_MESSAGES, LANG, LANGUAGE, through getenv), else the
// platform's UI language (platformLocale: desktop.PlatformLocale in the
// program; Windows and macOS GUI programs get no locale variables), else
// English.
func UILang(ctx context.Context, configured string, getenv func(string) string, platformLocale func(context.Context) string, log *slog.Logger) app.Lang {
	if l, ok := app.ParseLang(configured); ok {
		return l
	}
	fallback := app.English
	if s := platformLocale(ctx); s != "" {
		if l, ok := app.ParseLang(s); ok {
			fallback = l
		}
		log.Debug("platform locale", "locale", s)
	}
	return app.DetectLang(getenv, fallback)
}
