package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// Log file defaults for the tray app: there is no console under
// -H=windowsgui, and an autostarted tray's stderr goes nowhere.
const (
	logFileName = "exmail-notifier.log"
	logMaxSize  = 1 << 20 // rotate at 1 MiB
	logKeep     = 3       // exmail-notifier.log.1 … .3
)

// logDir is where the tray app writes its log: os.UserCacheDir()/exmail-notifier
// ($XDG_CACHE_HOME or ~/.cache on Linux, %LocalAppData% on Windows,
// ~/Library/Caches on macOS).
func logDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "exmail-notifier"), nil
}

// rotatingFile is an io.Writer that appends to path and, when a write would
// take the file past max bytes, renames path → path.1 → … → path.keep
// (dropping the oldest) and starts afresh. It is safe for concurrent use.
type rotatingFile struct {
	path string
	max  int64
	keep int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// openRotating opens (creating, mode 0600) the log file at path.
func openRotating(path string, max int64, keep int) (*rotatingFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	r := &rotatingFile{path: path, max: max, keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, st.Size()
	return nil
}

func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.size > 0 && r.size+int64(len(p)) > r.max {
		if err := r.rotate(); err != nil {
			return 0, fmt.Errorf("log rotation: %w", err)
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotate shifts the old files and reopens; r.mu is held.
func (r *rotatingFile) rotate() error {
	r.f.Close()
	r.f = nil
	os.Remove(fmt.Sprintf("%s.%d", r.path, r.keep))
	for i := r.keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", r.path, i), fmt.Sprintf("%s.%d", r.path, i+1))
	}
	if r.keep > 0 {
		if err := os.Rename(r.path, r.path+".1"); err != nil && !os.IsNotExist(err) {
			return err
		}
	} else {
		os.Remove(r.path)
	}
	return r.open()
}

// Close closes the file; later writes fail.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// setupTrayLog sends the process's logs to the rotating log file (and also
// to stderr when that is a terminal or --verbose was given), and makes it
// slog's default, so that the std log lines of fyne.io/systray ("systray
// error: …") land there too. It returns the file's path and a closer. When
// the file cannot be opened, logs go to stderr alone and path is "".
func (e *env) setupTrayLog(levelName string) (path string, closer func()) {
	level := new(slog.LevelVar)
	if e.verbose || levelName == "debug" {
		level.Set(slog.LevelDebug)
	} else if err := level.UnmarshalText([]byte(levelName)); err != nil || levelName == "" {
		level.Set(slog.LevelInfo)
	}
	var w io.Writer = e.stderr
	closer = func() {}
	var ferr error
	if dir, err := logDir(); err != nil {
		ferr = err
	} else if f, err := openRotating(filepath.Join(dir, logFileName), logMaxSize, logKeep); err != nil {
		ferr = err
	} else {
		path, closer = f.path, func() { f.Close() }
		w = f
		if e.verbose || isTerminal(e.stderr) {
			w = io.MultiWriter(f, e.stderr)
		}
	}
	e.log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(e.log)
	if ferr != nil {
		e.log.Warn("no log file; logging to stderr only", "err", ferr)
	}
	return path, closer
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
