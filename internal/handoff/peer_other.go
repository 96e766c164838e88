//go:build !linux

package handoff

import (
	"errors"
	"net"
)

// samePeerUser cannot tell who owns a loopback connection here; the
// handoff then relies on its link being random, single-use and short-lived.
func samePeerUser(net.Addr, net.Addr) (bool, error) {
	return false, errors.New("peer user lookup is only implemented on Linux")
}
