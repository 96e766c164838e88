//go:build !(linux || freebsd || netbsd || openbsd || dragonfly)

package creds

// platformBus: the Windows Credential Manager and the macOS Keychain need
// no session bus.
func platformBus() func() error { return nil }
