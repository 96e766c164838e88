package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
)

const settingsUsage = `Usage: exmail-notifier settings [--print-url]

Opens the tray app's settings page in the browser: set up the account
(the link or code from IT, or a direct login), choose what notifications
show, quiet hours, sound, language and start at login, sign out, and run
the checks of "doctor". A running tray app opens it; otherwise the tray
app is started in the background ("exmail-notifier tray --settings") and
opens it.

--print-url prints a one-time link to the page instead of opening it (for
tests, and for remote desktops where the browser runs elsewhere; the page
only answers on this computer's 127.0.0.1). The link works once, within
two minutes, and is as good as being at this desktop: do not paste it
anywhere else. It starts the tray app in the background when none runs.
`

// settingsURLWait bounds how long --print-url waits for a tray app it
// started to answer.
const settingsURLWait = 20 * time.Second

// cmdSettings opens the settings page (or prints a link to it), starting
// the tray app in the background when none runs.
func cmdSettings(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "settings", settingsUsage)
	printURL := f.Bool("print-url", false, "print a one-time link to the page instead of opening it")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.usageErrorf("unexpected argument %q", f.Arg(0))
	}
	dir, err := desktop.InstanceDir(e.getenv)
	if err != nil {
		return fmt.Errorf("cannot find the running tray app: %w", err)
	}
	if !*printURL {
		err := desktop.OpenSettings(ctx, dir, "tray")
		if errors.Is(err, desktop.ErrNotRunning) {
			if err := desktop.StartDetached("tray", "--settings"); err != nil {
				return fmt.Errorf("the tray app is not running and could not be started: %w", err)
			}
			fmt.Fprintln(e.stdout, "Started the tray app; it opens the settings page in your browser.")
			return nil
		}
		return err
	}
	u, err := desktop.SettingsURL(ctx, dir, "tray")
	if errors.Is(err, desktop.ErrNotRunning) {
		if err := desktop.StartDetached("tray"); err != nil {
			return fmt.Errorf("the tray app is not running and could not be started: %w", err)
		}
		u, err = waitSettingsURL(ctx, dir)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, u)
	return nil
}

// waitSettingsURL asks a tray app that is starting for a link, until it
// answers or settingsURLWait has passed.
func waitSettingsURL(ctx context.Context, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, settingsURLWait)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		u, err := desktop.SettingsURL(ctx, dir, "tray")
		if !errors.Is(err, desktop.ErrNotRunning) {
			return u, err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the tray app was started but did not answer within %v; see its log", settingsURLWait)
		case <-t.C:
		}
	}
}
