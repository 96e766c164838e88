package creds

import "errors"

// ErrCannotWatch: WatchChanges cannot follow the keyring here (no Secret
// Service platform, or no session bus).
var ErrCannotWatch = errors.New("creds: cannot watch the keyring for changes")
