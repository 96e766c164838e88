package handoff

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// samePeerUser reports whether the TCP connection remote→local (both on
// this machine) was made by a process of the current user. It looks the
// client's socket up in the kernel's table (/proc/net/tcp and tcp6),
// where each socket carries the uid that owns it.
func samePeerUser(remote, local net.Addr) (bool, error) {
	r, ok1 := remote.(*net.TCPAddr)
	l, ok2 := local.(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false, errors.New("not a TCP connection")
	}
	for _, path := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		uid, found, err := socketOwner(f, r.Port, l.Port)
		f.Close()
		if err != nil {
			return false, err
		}
		if found {
			return uid == os.Getuid(), nil
		}
	}
	return false, fmt.Errorf("no socket from port %d to port %d in /proc/net", r.Port, l.Port)
}

// socketOwner finds, in a /proc/net/tcp table, the socket whose local port
// is from and whose remote port is to, and returns its uid.
func socketOwner(table io.Reader, from, to int) (uid int, found bool, err error) {
	sc := bufio.NewScanner(table)
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		lp, ok1 := hexPort(f[1])
		rp, ok2 := hexPort(f[2])
		if !ok1 || !ok2 || lp != from || rp != to {
			continue
		}
		u, err := strconv.Atoi(f[7])
		if err != nil {
			return 0, false, fmt.Errorf("bad uid %q in socket table", f[7])
		}
		return u, true, nil
	}
	return 0, false, sc.Err()
}

// hexPort extracts the port of an "ADDR:PORT" field, both in hex.
func hexPort(field string) (int, bool) {
	i := strings.LastIndexByte(field, ':')
	if i < 0 {
		return 0, false
	}
	p, err := strconv.ParseUint(field[i+1:], 16, 16)
	return int(p), err == nil
}
