package trayapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/creds"
)

// errNoKeyYet: the mailbox cannot be used before the interface key has
// been read from the keyring.
var errNoKeyYet = errors.New("the interface key cannot be read yet: the keyring is locked or missing")

// keyringSource is the tray's Source, Counter and Linker when the
// interface key could not be read at start (the keyring is locked or not
// running). It reports the problem to the app, waits for the keyring to
// change, and then reads the key. It never reads while the keyring says,
// when asked without prompting (usable), that it is not running or its
// default collection is locked: a read from a locked keyring pops an
// unlock prompt, and unrelated keyring activity must not do that. Right
// after subscribing it asks once, since a change between the failed first
// read and the subscription is never reported. When the read works it
// runs the normal session; Counter and Linker delegate to it from then on
// and fail with errNoKeyYet before.
type keyringSource struct {
	first error // why the key could not be read at start
	// watch reports keyring changes (creds.WatchChanges).
	watch func(ctx context.Context) (<-chan struct{}, error)
	// usable asks, without prompting, whether a read may work now
	// (creds.Usable); an error means unknown.
	usable func(ctx context.Context) (bool, error)
	// open reads the key (bounded by the keyring's own timeout) and builds
	// the session.
	open func(ctx context.Context) (Backend, error)
	log  *slog.Logger

	mu   sync.Mutex
	sess *Backend
}

// cannotReadKey reports whether err means the key cannot be read (yet):
// the keyring is locked, missing or silent, or holds no key.
func cannotReadKey(err error) bool {
	return errors.Is(err, creds.ErrLocked) || errors.Is(err, creds.ErrUnavailable) ||
		errors.Is(err, creds.ErrTimeout) || errors.Is(err, creds.ErrNotFound)
}

// keyringState is the event that shows why the key cannot be read;
// restart: nothing watches the keyring, so the fix is to restart.
func keyringState(err error, restart bool) api.StateChanged {
	switch {
	case errors.Is(err, creds.ErrUnavailable):
		sentinel := app.ErrKeyringUnavailable
		if restart {
			sentinel = app.ErrKeyringUnavailableRestart
		}
		return api.StateChanged{State: api.StateRetrying, Err: fmt.Errorf("%w: %w", sentinel, err)}
	case errors.Is(err, creds.ErrNotFound):
		// The keyring works but holds no key: "run login".
		return api.StateChanged{State: api.StateAuthFailed, Err: err}
	}
	sentinel := app.ErrKeyringLocked
	if restart {
		sentinel = app.ErrKeyringLockedRestart
	}
	return api.StateChanged{State: api.StateRetrying, Err: fmt.Errorf("%w: %w", sentinel, err)}
}

func (k *keyringSource) Run(ctx context.Context, out chan<- api.Event) error {
	send := func(ev api.Event) error {
		select {
		case out <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	why := k.first
	// The problem first: setting up the watch may take a few seconds.
	if err := send(keyringState(why, false)); err != nil {
		return err
	}
	changes, err := k.watch(ctx)
	if err != nil {
		k.log.Warn("cannot watch the keyring: restart exmail-notifier once it is usable", "err", err)
		return k.waitForRestart(ctx, why, send)
	}
	startup := true
	for {
		if !startup {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case _, ok := <-changes:
				if !ok {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					k.log.Warn("lost the session bus: no longer watching the keyring")
					return k.waitForRestart(ctx, why, send)
				}
			}
		}
		ok, err := k.usable(ctx)
		switch {
		case err != nil && startup:
			// Unknown: wait for a change rather than risk a prompt.
			k.log.Debug("cannot tell whether the keyring is usable: waiting for a change", "err", err)
			startup = false
			continue
		case err != nil:
			k.log.Debug("cannot tell whether the keyring is usable: reading the key", "err", err)
		case !ok:
			startup = false
			continue // still locked or not running: reading would prompt
		}
		startup = false
		sess, err := k.open(ctx)
		if err != nil {
			if !cannotReadKey(err) {
				return err
			}
			k.log.Info("the keyring changed, but the key cannot be read yet", "err", err)
			why = err
			if err := send(keyringState(why, false)); err != nil {
				return err
			}
			continue
		}
		k.log.Info("the keyring is usable: connecting")
		k.mu.Lock()
		k.sess = &sess
		k.mu.Unlock()
		return sess.Source.Run(ctx, out)
	}
}

// waitForRestart shows why with the restart wording until ctx ends:
// nothing would notice the keyring becoming usable.
func (k *keyringSource) waitForRestart(ctx context.Context, why error, send func(api.Event) error) error {
	if err := send(keyringState(why, true)); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

func (k *keyringSource) session() (*Backend, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sess == nil {
		return nil, errNoKeyYet
	}
	return k.sess, nil
}

// NewCount is app.Counter.
func (k *keyringSource) NewCount(ctx context.Context, alias string) (int, error) {
	s, err := k.session()
	if err != nil {
		return 0, err
	}
	return s.Counter.NewCount(ctx, alias)
}

// LoginURL is app.Linker.
func (k *keyringSource) LoginURL(ctx context.Context, alias, mailID string) (api.Secret, error) {
	s, err := k.session()
	if err != nil {
		return "", err
	}
	return s.Linker.LoginURL(ctx, alias, mailID)
}
