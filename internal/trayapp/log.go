package trayapp

import (
	"io"
	"log/slog"

	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
)

// Logger returns the tray app's logger: the rotating log file
// (desktop.OpenLogFile), also copied to stderr when that is a terminal or
// verbose is set; debug level with verbose or levelName "debug", else
// levelName ("info", "warn", "error"; "" is info). When the file cannot be
// opened, logs go to stderr alone and path is "". Call closer at exit.
//
// Logger does not install itself as slog's default: main does, so that
// the std log lines of fyne.io/systray ("systray error: …") land there too.
func Logger(stderr io.Writer, verbose bool, levelName string) (log *slog.Logger, path string, closer func()) {
	level := new(slog.LevelVar)
	if verbose || levelName == "debug" {
		level.Set(slog.LevelDebug)
	} else if err := level.UnmarshalText([]byte(levelName)); err != nil || levelName == "" {
		level.Set(slog.LevelInfo)
	}
	w := stderr
	closer = func() {}
	f, path, ferr := desktop.OpenLogFile()
	if ferr == nil {
		closer = func() { f.Close() }
		w = f
		if verbose || desktop.IsTerminal(stderr) {
			w = io.MultiWriter(f, stderr)
		}
	}
	log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	if ferr != nil {
		log.Warn("no log file; logging to stderr only", "err", ferr)
	}
	return log, path, closer
}
