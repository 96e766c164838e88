package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// OpenerTimeout bounds the wait for the desktop's URL opener: xdg-open
// may not return until the browser exits.
const OpenerTimeout = 10 * time.Second

// Open opens url in the desktop's browser without putting it on the
// opener's command line: the opener gets a one-time loopback Link that
// redirects to url. It waits at most OpenerTimeout for the opener and
// returns the Link, which keeps working for Lifetime; a caller that is
// about to exit can Wait on it until the browser fetched it.
//
// On Linux the opener runs with the environment of openerEnv, without
// this process's secrets; elsewhere it inherits the whole environment
// (see the package documentation).
//
// Errors never contain url.
func Open(ctx context.Context, url api.Secret, log *slog.Logger) (*Link, error) {
	h, err := New(context.Background(), url, log)
	if err != nil {
		return nil, fmt.Errorf("could not prepare the sign-in link: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- startOpener(h.URL()) }()
	t := time.NewTimer(OpenerTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			h.Close()
			// err names the opener and its exit status, never the URL.
			return nil, fmt.Errorf("could not open a browser (%v); run \"exmail-notifier open --print\" and open the URL yourself", err)
		}
		return h, nil
	case <-t.C:
		log.Debug("the browser opener has not returned; assuming the browser is open", "after", OpenerTimeout)
		return h, nil
	case <-ctx.Done():
		h.Close()
		return nil, errors.New("interrupted while opening the browser")
	}
}

// openerEnv returns environ (as from os.Environ) without what the browser
// opener, and the browser it may start, has no business seeing: every
// variable whose name starts with EXMAIL_ (EXMAIL_SECRET can hold the
// interface key) and every variable whose name contains SECRET, TOKEN,
// PASSWORD or PASSWD, all regardless of case. What a desktop needs
// (DISPLAY, WAYLAND_DISPLAY, DBUS_SESSION_BUS_ADDRESS, XDG_*, PATH, HOME,
// BROWSER …) stays. XDG_ACTIVATION_TOKEN goes too: it was handed to this
// process, not to its children.
func openerEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if secretEnvName(name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// secretEnvName reports whether the variable name must not reach the
// opener; see openerEnv.
func secretEnvName(name string) bool {
	n := strings.ToUpper(name)
	if strings.HasPrefix(n, "EXMAIL_") {
		return true
	}
	for _, s := range []string{"SECRET", "TOKEN", "PASSWORD", "PASSWD"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
