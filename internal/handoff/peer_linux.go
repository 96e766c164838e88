package handoff

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// peerCheck returns how a Link tells whether a connection is this user's:
// on Linux, samePeerUser.
func peerCheck() func(remote, local net.Addr) (bool, error) { return samePeerUser }

// samePeerUser reports whether the TCP connection from remote to local
// (both on this machine; remote is the client, local the server's end)
// was made by a process of the current user.
//
// It finds the client's socket in the kernel's socket tables
// (/proc/net/tcp, and /proc/net/tcp6 for IPv6 sockets, where an IPv6
// socket connected to an IPv4 address shows IPv4-mapped addresses) by the
// exact 4-tuple: the row whose local end is remote and whose remote end is
// local, addresses and ports. Each row carries the uid that owns it.
// Matching ports alone is not enough: another user can bind its client
// socket to 127.0.0.X with the server's own port, and "local port P,
// remote port P" then also matches the server's accepted socket, which
// belongs to this user (issue #8).
//
// It returns an error, never a guess, when it cannot tell: the tables
// cannot be read, no row or more than one row matches, or the addresses
// are not TCP.
func samePeerUser(remote, local net.Addr) (bool, error) {
	client, err := tcpAddrPort(remote)
	if err != nil {
		return false, err
	}
	server, err := tcpAddrPort(local)
	if err != nil {
		return false, err
	}
	if client == server {
		return false, fmt.Errorf("connection from %s to itself", client)
	}
	// The kernel writes the tables in pieces while sockets come and go, so
	// one read can list a socket twice (same inode: socketOwners counts it
	// once) or miss one. A read that finds no row or several is tried
	// again before it counts.
	var uids []int
	for try := 0; try < 3 && (try == 0 || len(uids) != 1); try++ {
		uids, err = readOwners(client, server)
		if err != nil {
			return false, err
		}
	}
	switch len(uids) {
	case 0:
		return false, fmt.Errorf("no socket from %s to %s in /proc/net/tcp{,6}", client, server)
	case 1:
		return uids[0] == os.Getuid(), nil
	default:
		return false, fmt.Errorf("%d sockets from %s to %s in /proc/net/tcp{,6}", len(uids), client, server)
	}
}

// readOwners reads /proc/net/tcp and /proc/net/tcp6 once for the owners
// of the sockets from client to server.
func readOwners(client, server netip.AddrPort) ([]int, error) {
	var uids []int
	for _, path := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) && path == "/proc/net/tcp6" {
			continue // no IPv6 on this kernel, so no IPv6 sockets
		}
		if err != nil {
			return nil, err
		}
		u, err := socketOwners(f, binary.NativeEndian, client, server)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		uids = append(uids, u...)
	}
	return uids, nil
}

// tcpAddrPort converts a *net.TCPAddr to a netip.AddrPort with an IPv4
// address unmapped.
func tcpAddrPort(a net.Addr) (netip.AddrPort, error) {
	t, ok := a.(*net.TCPAddr)
	if !ok || t == nil {
		return netip.AddrPort{}, fmt.Errorf("not a TCP address: %v", a)
	}
	ap := t.AddrPort()
	if !ap.IsValid() {
		return netip.AddrPort{}, fmt.Errorf("not a TCP address: %v", a)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// tcpTimeWait is the st column of a socket in TIME_WAIT: the kernel's
// remnant of a closed connection, listed with uid 0 and no owner.
const tcpTimeWait = 0x06

// socketOwners returns the uids of the sockets in table (the text of
// /proc/net/tcp or /proc/net/tcp6) whose local end is local and whose
// remote end is remote, exactly: address and port. IPv4-mapped IPv6
// addresses match their IPv4 address. Rows in TIME_WAIT are skipped: they
// belong to no process. A socket listed twice (the same inode, as a table
// read while it changes can show) counts once.
//
// order is the byte order of the kernel that wrote table (the machine's
// own, binary.NativeEndian): the kernel prints each address as 32-bit
// words in that order (127.0.0.1 is 0100007F on little-endian machines),
// and ports as plain numbers.
//
// A row it cannot parse is an error, not a skipped row: a table it does
// not understand must not look like "no such socket".
func socketOwners(table io.Reader, order binary.ByteOrder, local, remote netip.AddrPort) ([]int, error) {
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	var uids []int
	seen := map[string]bool{} // inodes
	sc := bufio.NewScanner(table)
	if !sc.Scan() { // header
		return nil, sc.Err()
	}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 {
			return nil, fmt.Errorf("short row %q in socket table", sc.Text())
		}
		l, err := parseHexAddrPort(f[1], order)
		if err != nil {
			return nil, err
		}
		r, err := parseHexAddrPort(f[2], order)
		if err != nil {
			return nil, err
		}
		if l != local || r != remote {
			continue
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("bad state %q in socket table", f[3])
		}
		if st == tcpTimeWait {
			continue
		}
		u, err := strconv.Atoi(f[7])
		if err != nil {
			return nil, fmt.Errorf("bad uid %q in socket table", f[7])
		}
		if seen[f[9]] {
			continue
		}
		seen[f[9]] = true
		uids = append(uids, u)
	}
	return uids, sc.Err()
}

// parseHexAddrPort parses an "ADDR:PORT" field of /proc/net/tcp{,6}: ADDR
// is 8 (IPv4) or 32 (IPv6) hex digits, 32-bit words each printed as a
// number in the kernel's byte order; PORT is 4 hex digits, a plain number.
// An IPv4-mapped IPv6 address comes back as its IPv4 address.
func parseHexAddrPort(field string, order binary.ByteOrder) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(field, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil || len(a)%8 != 0 {
		return netip.AddrPort{}, fmt.Errorf("bad address %q in socket table", field)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad address %q in socket table", field)
	}
	// raw holds each word big-endian (as printed); store it back in the
	// kernel's order to get the address's bytes.
	for i := 0; i < len(raw); i += 4 {
		order.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	var addr netip.Addr
	switch len(raw) {
	case 4:
		addr = netip.AddrFrom4([4]byte(raw))
	case 16:
		addr = netip.AddrFrom16([16]byte(raw)).Unmap()
	default:
		return netip.AddrPort{}, fmt.Errorf("bad address %q in socket table", field)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
