//go:build !linux

package handoff

import "net"

// peerCheck returns nil: only Linux has a lookup of which user owns a
// loopback connection. Here a Link serves any local process and relies on
// its link being random (128 bits), single-use and short-lived (Lifetime);
// see the package documentation.
func peerCheck() func(remote, local net.Addr) (bool, error) { return nil }
