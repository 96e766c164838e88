//go:build !(linux || freebsd || netbsd || openbsd || dragonfly)

package creds

import (
	"context"
	"errors"
)

// Usable reports whether reading the key may work now without prompting.
// Only the Secret Service (Linux and the BSDs) can be asked: here the
// answer is always unknown (an error).
func Usable(ctx context.Context) (bool, error) {
	return false, errors.New("creds: cannot tell whether the keyring is usable on this platform")
}
