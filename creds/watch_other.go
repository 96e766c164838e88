//go:build !(linux || freebsd || netbsd || openbsd || dragonfly)

package creds

import "context"

// WatchChanges reports when the keyring may have become usable. Only the
// Secret Service (Linux and the BSDs) can be watched: here it returns
// ErrCannotWatch.
func WatchChanges(ctx context.Context) (<-chan struct{}, error) {
	return nil, ErrCannotWatch
}
