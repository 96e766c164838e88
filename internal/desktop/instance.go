package desktop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrAlreadyRunning: another instance of the tray app runs for this user;
// it was asked to open the mailbox, and this one should exit 0.
var ErrAlreadyRunning = errors.New("the notifier is already running; asked it to open the mailbox")

// instanceTimeout bounds the talk between a second launch and the first.
const instanceTimeout = 3 * time.Second

// Instance makes the tray app a single instance per user. The lock is
// a Unix-domain socket (Windows 10 and later have them too) in a directory
// only the user can reach: whoever listens on it is the running instance.
// A second launch connects, asks the running one to open the mailbox, and
// exits; a socket file nobody answers on is stale and replaced.
type Instance struct {
	ln   net.Listener
	path string
}

// InstanceDir is the directory of the lock socket: $XDG_RUNTIME_DIR (a
// per-user 0700 tmpfs) when it really is private (checkPrivateDir: a
// directory, not a link, owned by this user, mode 0700), else the user's
// cache directory. Whoever can write the directory could take the lock's
// place and be asked to open the mailbox.
func InstanceDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) && checkPrivateDir(d) == nil {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "exmail-notifier"), nil
}

// AcquireInstance takes the lock named name ("tray", "demo") in dir. If
// another process holds it, it sends that process "open" and returns
// ErrAlreadyRunning.
func AcquireInstance(ctx context.Context, dir, name string) (*Instance, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "exmail-notifier-"+name+".sock")
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("unix", path)
		if err == nil {
			os.Chmod(path, 0o600)
			return &Instance{ln: ln, path: path}, nil
		}
		if attempt > 0 {
			return nil, fmt.Errorf("single-instance lock %s: %w", path, err)
		}
		// Taken: is somebody home?
		if herr := askRunning(ctx, path, "open"); herr == nil {
			return nil, ErrAlreadyRunning
		}
		// Nobody answers: a stale socket from a crashed run.
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return nil, fmt.Errorf("single-instance lock %s: %w", path, err)
		}
	}
}

// AskToQuit asks the instance named name in dir, if one runs, to quit,
// and waits until its lock is free (at most a few seconds). It reports
// whether one was running.
func AskToQuit(ctx context.Context, dir, name string) (bool, error) {
	path := filepath.Join(dir, "exmail-notifier-"+name+".sock")
	if err := askRunning(ctx, path, "quit"); err != nil {
		return false, nil // nobody answers: nothing runs
	}
	ctx, cancel := context.WithTimeout(ctx, 2*instanceTimeout)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if c, err := net.Dial("unix", path); err != nil {
			return true, nil // the listener is gone
		} else {
			c.Close()
		}
		select {
		case <-ctx.Done():
			return true, fmt.Errorf("the running notifier did not quit within %v", 2*instanceTimeout)
		case <-t.C:
		}
	}
}

// askRunning sends one command to the running instance and waits for "ok".
func askRunning(ctx context.Context, path, cmd string) error {
	_, err := ask(ctx, path, cmd)
	return err
}

// ErrNotRunning: no instance of that name answers.
var ErrNotRunning = errors.New("the tray app is not running")

// maxRequest bounds a request line (an enrollment link is the longest).
const maxRequest = 4096

// ask sends one request line and returns what follows "ok" in the reply
// ("" for a plain "ok"). A refused dial is ErrNotRunning.
func ask(ctx context.Context, path, cmd string) (string, error) {
	if len(cmd) >= maxRequest || strings.ContainsAny(cmd, "\r\n") {
		return "", errors.New("request too long or not one line")
	}
	ctx, cancel := context.WithTimeout(ctx, instanceTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	reply, err := bufio.NewReader(io.LimitReader(c, maxRequest)).ReadString('\n')
	if err != nil {
		return "", err
	}
	reply = strings.TrimSpace(reply)
	if reply == "ok" {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(reply, "ok "); ok {
		return rest, nil
	}
	if reply == "unknown" {
		return "", fmt.Errorf("the running tray app does not understand this request (an older version? quit it and start it again)")
	}
	return "", fmt.Errorf("the running tray app answered: %s", strings.TrimPrefix(reply, "error "))
}

// OpenSettings asks the running instance named name in dir to open its
// settings page (ErrNotRunning when none runs).
func OpenSettings(ctx context.Context, dir, name string) error {
	_, err := ask(ctx, filepath.Join(dir, "exmail-notifier-"+name+".sock"), "settings")
	return err
}

// SettingsURL asks the running instance for a one-time link to its
// settings page. The link is a secret (it opens a session on the page):
// the socket is the user's alone, and the link is never logged.
func SettingsURL(ctx context.Context, dir, name string) (string, error) {
	return ask(ctx, filepath.Join(dir, "exmail-notifier-"+name+".sock"), "settings-url")
}

// OfferEnrollment hands an enrollment link (a clicked exmail-notifier://
// link) to the running instance, which shows it on its settings page for
// the user to confirm. The link travels only over the user's socket.
func OfferEnrollment(ctx context.Context, dir, name, link string) error {
	_, err := ask(ctx, filepath.Join(dir, "exmail-notifier-"+name+".sock"), "enroll "+link)
	return err
}

// Requests handles what later launches ask the running instance. A nil
// handler makes its request "unknown".
type Requests struct {
	Open func() // "open": open the mailbox (a second launch)
	Quit func() // "quit": end, so that a new account can start (after enroll)
	// Settings: "settings": open the settings page.
	Settings func()
	// SettingsURL: "settings-url": a one-time link to the page (a secret).
	SettingsURL func() (string, error)
	// Enroll: "enroll LINK": offer an enrollment link on the page (a secret).
	Enroll func(link string)
}

// Serve answers later launches until ctx is done, calling the handler of
// each request; a request without a handler is answered "unknown".
func (l *Instance) Serve(ctx context.Context, log *slog.Logger, h Requests) {
	stop := context.AfterFunc(ctx, func() { l.ln.Close() })
	defer stop()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("single-instance lock stopped answering", "err", err)
			}
			return
		}
		c.SetDeadline(time.Now().Add(instanceTimeout))
		line, err := bufio.NewReader(io.LimitReader(c, maxRequest)).ReadString('\n')
		switch req := strings.TrimSpace(line); {
		case req == "open" && h.Open != nil:
			log.Info("another launch asked to open the mailbox")
			h.Open()
			io.WriteString(c, "ok\n")
		case req == "quit" && h.Quit != nil:
			log.Info("another launch asked this one to quit")
			h.Quit()
			io.WriteString(c, "ok\n")
		case req == "settings" && h.Settings != nil:
			log.Info("another launch asked to open the settings page")
			h.Settings()
			io.WriteString(c, "ok\n")
		case req == "settings-url" && h.SettingsURL != nil:
			log.Info("another launch asked for a link to the settings page")
			if u, err := h.SettingsURL(); err != nil {
				io.WriteString(c, "error "+strings.ReplaceAll(err.Error(), "\n", " ")+"\n")
			} else {
				io.WriteString(c, "ok "+u+"\n")
			}
		case strings.HasPrefix(req, "enroll ") && h.Enroll != nil:
			log.Info("another launch handed over an enrollment link") // never the link
			h.Enroll(strings.TrimPrefix(req, "enroll "))
			io.WriteString(c, "ok\n")
		default:
			log.Debug("single-instance lock: unknown request", "err", err) // never the line: it may hold a link
			io.WriteString(c, "unknown\n")
		}
		c.Close()
	}
}

// Close releases the lock.
func (l *Instance) Close() error {
	err := l.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	// Go removes the socket file when a unix listener closes; make sure.
	os.Remove(l.path)
	return err
}
