//go:build !(linux || freebsd || openbsd || netbsd)

package tray

// sniIcon: only the StatusNotifierItem path needs the fix-up (icon_sni.go).
func sniIcon(b []byte) []byte { return b }
