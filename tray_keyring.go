package main

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

// keyedSession is what the tray talks to once the interface key is known.
type keyedSession struct {
	source  app.Source
	counter app.Counter
	linker  app.Linker
}

// keyringSource is the tray's Source, Counter and Linker when the
// interface key could not be read at start (the keyring is locked or not
// running). It reports the problem to the app, waits for the keyring to
// change, without ever reading it in between (a read from a locked
// keyring pops an unlock prompt), and then reads the key once. When that
// works it runs the normal session; Counter and Linker delegate to it
// from then on and fail with errNoKeyYet before.
type keyringSource struct {
	first error // why the key could not be read at start
	// watch reports keyring changes (creds.WatchChanges).
	watch func(ctx context.Context) (<-chan struct{}, error)
	// open reads the key (bounded by the keyring's own timeout) and builds
	// the session.
	open func(ctx context.Context) (keyedSession, error)
	log  *slog.Logger

	mu   sync.Mutex
	sess *keyedSession
}

// keyringError reports whether err means the key cannot be read (yet):
// the keyring is locked, missing or silent, or holds no key.
func keyringError(err error) bool {
	return errors.Is(err, creds.ErrLocked) || errors.Is(err, creds.ErrUnavailable) ||
		errors.Is(err, creds.ErrTimeout) || errors.Is(err, creds.ErrNotFound)
}

// keyringState is the event that shows why the key cannot be read.
func keyringState(err error) api.StateChanged {
	switch {
	case errors.Is(err, creds.ErrUnavailable):
		return api.StateChanged{State: api.StateRetrying, Err: fmt.Errorf("%w: %w", app.ErrKeyringUnavailable, err)}
	case errors.Is(err, creds.ErrNotFound):
		// The keyring works but holds no key: "run login".
		return api.StateChanged{State: api.StateAuthFailed, Err: err}
	}
	return api.StateChanged{State: api.StateRetrying, Err: fmt.Errorf("%w: %w", app.ErrKeyringLocked, err)}
}

func (k *keyringSource) Run(ctx context.Context, out chan<- api.Event) error {
	changes, err := k.watch(ctx)
	if err != nil {
		k.log.Warn("cannot watch the keyring: restart exmail-notifier once it is usable", "err", err)
	}
	why := k.first
	for {
		select {
		case out <- keyringState(why):
		case <-ctx.Done():
			return ctx.Err()
		}
		if changes == nil {
			<-ctx.Done()
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-changes:
			if !ok {
				if ctx.Err() == nil {
					k.log.Warn("lost the session bus: no longer watching the keyring")
				}
				changes = nil
				continue
			}
		}
		sess, err := k.open(ctx)
		if err != nil {
			if !keyringError(err) {
				return err
			}
			k.log.Info("the keyring changed, but the key cannot be read yet", "err", err)
			why = err
			continue
		}
		k.log.Info("the keyring is usable: connecting")
		k.mu.Lock()
		k.sess = &sess
		k.mu.Unlock()
		return sess.source.Run(ctx, out)
	}
}

func (k *keyringSource) session() (*keyedSession, error) {
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
	return s.counter.NewCount(ctx, alias)
}

// LoginURL is app.Linker.
func (k *keyringSource) LoginURL(ctx context.Context, alias, mailID string) (api.Secret, error) {
	s, err := k.session()
	if err != nil {
		return "", err
	}
	return s.linker.LoginURL(ctx, alias, mailID)
}
