package desktop

import (
	"fmt"
	"io"
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

// LogDir is where the tray app writes its log: os.UserCacheDir()/exmail-notifier
// ($XDG_CACHE_HOME or ~/.cache on Linux, %LocalAppData% on Windows,
// ~/Library/Caches on macOS).
func LogDir() (string, error) {
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

// OpenLogFile opens (creating, mode 0600) the tray app's rotating log
// file, LogDir()/exmail-notifier.log, kept at 1 MiB with three old files.
// path is the file's path, for the start-up log line.
func OpenLogFile() (w io.WriteCloser, path string, err error) {
	dir, err := LogDir()
	if err != nil {
		return nil, "", err
	}
	f, err := openRotating(filepath.Join(dir, logFileName), logMaxSize, logKeep)
	if err != nil {
		return nil, "", err
	}
	return f, f.path, nil
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
