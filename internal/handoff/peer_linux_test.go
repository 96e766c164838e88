package handoff

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
)

func TestHandoffOnlyThisUsersSockets(t *testing.T) {
	t.Parallel()
	// Real connections from this process, over IPv4 and over an IPv6
	// socket with IPv4-mapped addresses: the kernel's socket table must
	// name this user as their owner.
	for _, tc := range []struct {
		name string
		dial func(server netip.AddrPort) (net.Conn, error)
	}{
		{"IPv4 socket", func(server netip.AddrPort) (net.Conn, error) {
			return net.Dial("tcp4", server.String())
		}},
		{"IPv6 socket with IPv4-mapped addresses", func(server netip.AddrPort) (net.Conn, error) {
			return dialMapped(netip.MustParseAddrPort("[::ffff:127.0.0.1]:0"), server)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := New(t.Context(), api.Secret(ssoURL), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			checked := make(chan error, 1)
			h.peerOK = func(remote, local net.Addr) (bool, error) {
				ok, err := samePeerUser(remote, local)
				if err == nil && !ok {
					err = errors.New("samePeerUser says our own connection belongs to someone else")
				}
				checked <- err
				return ok, err
			}
			server := netip.MustParseAddrPort(h.ln.Addr().String())
			client := &http.Client{
				Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					return tc.dial(server)
				}},
				CheckRedirect: noRedirect.CheckRedirect,
			}
			resp, err := client.Get(h.URL())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := <-checked; err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("own visit: %d, want 302", resp.StatusCode)
			}
		})
	}
}

func TestSamePeerUserCannotTell(t *testing.T) {
	t.Parallel()
	// No such connection: an error, which refuses, never a guess.
	nowhere := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 1}
	server := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2}
	if ok, err := samePeerUser(nowhere, server); err == nil {
		t.Errorf("a connection that does not exist: %v, nil; want an error", ok)
	}
	if ok, err := samePeerUser(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 1}, server); err == nil {
		t.Errorf("a UDP peer: %v, nil; want an error", ok)
	}
}

// The port P of the attack layout, and the rows of /proc/net/tcp as a
// little-endian machine (amd64, arm64) prints them: 127.0.0.1 is 0100007F.
const (
	attackPort = 0x9C47
	tcp4Table  = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C47 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 100 1
   1: 0100007F:9C47 0200007F:9C47 01 00000000:00000000 00:00000000 00000000  1000        0 101 1
   2: 0200007F:9C47 0100007F:9C47 01 00000000:00000000 00:00000000 00000000 65534        0 102 1
   3: 0100007F:A1B2 0100007F:9C47 01 00000000:00000000 00:00000000 00000000  1000        0 103 1
   4: 0100007F:9C47 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000  1000        0 104 1
   5: 0100007F:C3D4 0100007F:9C47 06 00000000:00000000 03:00000F8B 00000000     0        0 0 3
`
	tcp6Table = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000300007F:9C47 0000000000000000FFFF00000100007F:9C47 01 00000000:00000000 00:00000000 00000000 65534        0 200 1
   1: 0000000000000000FFFF00000100007F:E001 0000000000000000FFFF00000100007F:9C47 01 00000000:00000000 00:00000000 00000000  1000        0 201 1
   2: 00000000000000000000000001000000:D00D 00000000000000000000000001000000:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 202 1
   3: B80D0120000000000000000005000000:0016 B80D0120000000000000000009000000:E002 01 00000000:00000000 00:00000000 00000000  1002        0 203 1
`
	// The attacker's row on a big-endian machine (s390x): 127.0.0.2 is
	// 7F000002, and ::ffff:127.0.0.4 is 00000000 00000000 0000FFFF 7F000004.
	tcp4TableBigEndian = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 7F000001:9C47 7F000002:9C47 01 00000000:00000000 00:00000000 00000000  1000        0 101 1
   1: 7F000002:9C47 7F000001:9C47 01 00000000:00000000 00:00000000 00000000 65534        0 102 1
`
	tcp6TableBigEndian = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000FFFF7F000004:9C47 00000000000000000000FFFF7F000001:9C47 01 00000000:00000000 00:00000000 00000000 65534        0 200 1
`
)

func TestSocketOwners(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	p := func(a string) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(a), attackPort) }
	for _, tc := range []struct {
		name          string
		table         string
		order         binary.ByteOrder
		local, remote netip.AddrPort // of the row sought: the client's socket
		want          []int
	}{
		{"IPv4: this user's client socket", tcp4Table, binary.LittleEndian,
			ap("127.0.0.1:41394"), p("127.0.0.1"), []int{1000}},
		{"attack: the attacker's socket 127.0.0.2:P→127.0.0.1:P, though the server's row shares both ports", tcp4Table, binary.LittleEndian,
			p("127.0.0.2"), p("127.0.0.1"), []int{65534}},
		{"attack: the server's accepted row 127.0.0.1:P→127.0.0.2:P matches only its own 4-tuple", tcp4Table, binary.LittleEndian,
			p("127.0.0.1"), p("127.0.0.2"), []int{1000}},
		{"attack: same ports, an address with no row", tcp4Table, binary.LittleEndian,
			p("127.0.0.5"), p("127.0.0.1"), nil},
		{"IPv4: a socket listed twice (one inode) counts once", tcp4Table + "   3: 0100007F:A1B2 0100007F:9C47 01 00000000:00000000 00:00000000 00000000  1000        0 103 1\n", binary.LittleEndian,
			ap("127.0.0.1:41394"), p("127.0.0.1"), []int{1000}},
		{"IPv4: two sockets on one 4-tuple are both reported", tcp4Table + "   9: 0100007F:A1B2 0100007F:9C47 01 00000000:00000000 00:00000000 00000000 65534        0 999 1\n", binary.LittleEndian,
			ap("127.0.0.1:41394"), p("127.0.0.1"), []int{1000, 65534}},
		{"IPv4: same addresses, another port", tcp4Table, binary.LittleEndian,
			ap("127.0.0.1:41395"), p("127.0.0.1"), nil},
		{"IPv4: a TIME_WAIT row belongs to nobody", tcp4Table, binary.LittleEndian,
			ap("127.0.0.1:50132"), p("127.0.0.1"), nil},
		{"IPv4-mapped: the attacker's IPv6 socket, sought by IPv4 addresses", tcp6Table, binary.LittleEndian,
			p("127.0.0.3"), p("127.0.0.1"), []int{65534}},
		{"IPv4-mapped: sought by mapped addresses", tcp6Table, binary.LittleEndian,
			ap("[::ffff:127.0.0.1]:57345"), p("::ffff:127.0.0.1"), []int{1000}},
		{"IPv6 loopback", tcp6Table, binary.LittleEndian,
			ap("[::1]:53261"), ap("[::1]:8080"), []int{1001}},
		{"IPv6: every word in the kernel's order", tcp6Table, binary.LittleEndian,
			ap("[2001:db8::5]:22"), ap("[2001:db8::9]:57346"), []int{1002}},
		{"IPv6 table: the IPv4 attacker is not there", tcp6Table, binary.LittleEndian,
			p("127.0.0.2"), p("127.0.0.1"), nil},
		{"big-endian kernel: IPv4 attack row", tcp4TableBigEndian, binary.BigEndian,
			p("127.0.0.2"), p("127.0.0.1"), []int{65534}},
		{"big-endian kernel: IPv4-mapped attack row", tcp6TableBigEndian, binary.BigEndian,
			p("127.0.0.4"), p("127.0.0.1"), []int{65534}},
		{"little-endian rows read as big-endian are other addresses", tcp4Table, binary.BigEndian,
			p("127.0.0.2"), p("127.0.0.1"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := socketOwners(strings.NewReader(tc.table), tc.order, tc.local, tc.remote)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("socketOwners(%s→%s) = %v, %v; want %v", tc.local, tc.remote, got, err, tc.want)
			}
		})
	}
}

func TestSocketOwnersRejectsWhatItCannotRead(t *testing.T) {
	t.Parallel()
	const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	for _, tc := range []struct{ name, row string }{
		{"short row", "   0: 0100007F:9C47 0100007F:A1B2 01\n"},
		{"address not hex", "   0: 0100007G:A1B2 0100007F:9C47 01 0:0 0:0 0 1000 0 1 1\n"},
		{"address of 7 digits", "   0: 100007F:A1B2 0100007F:9C47 01 0:0 0:0 0 1000 0 1 1\n"},
		{"address of 12 digits", "   0: 0100007F0000:A1B2 0100007F:9C47 01 0:0 0:0 0 1000 0 1 1\n"},
		{"no port", "   0: 0100007F 0100007F:9C47 01 0:0 0:0 0 1000 0 1 1\n"},
		{"port not hex", "   0: 0100007F:A1BZ 0100007F:9C47 01 0:0 0:0 0 1000 0 1 1\n"},
		{"port too large", "   0: 0100007F:1A1B2 0100007F:9C47 01 0:0 0:0 0 1000 0 1 1\n"},
		{"uid not a number", "   0: 0100007F:A1B2 0100007F:9C47 01 0:0 0:0 0 x 0 1 1\n"},
		{"state not hex", "   0: 0100007F:A1B2 0100007F:9C47 ZZ 0:0 0:0 0 1000 0 1 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := socketOwners(strings.NewReader(header+tc.row), binary.LittleEndian,
				netip.MustParseAddrPort("127.0.0.1:41394"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), attackPort))
			if err == nil {
				t.Errorf("socketOwners = %v, nil; want an error", got)
			}
		})
	}
}
