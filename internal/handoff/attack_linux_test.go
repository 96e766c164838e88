package handoff

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/exmail-notifier/exmail-notifier/internal/syncbuf"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// The attack of issue #8: another user reads the one-time link from
// xdg-open's command line (/proc/PID/cmdline is world-readable), binds its
// client socket to 127.0.0.X:P, where P is the link's own port, and
// connects to 127.0.0.1:P. A lookup by ports alone then also matches the
// app's accepted socket (local port P, remote port P), which belongs to
// the user, and may hand the other user the ticket. The attacker retries
// from many source addresses, and from IPv4-mapped IPv6 sockets, whose
// rows sit in /proc/net/tcp6.

// attackerEnv carries the link to the attacker process; when it is set,
// TestAttackerHelper is the attacker.
const attackerEnv = "HANDOFF_ATTACKER_URL"

// attackerFromEnv says which client sockets the attacker uses: "ipv4"
// (127.0.0.2 to .40 with the link's port, then 127.0.0.1) or "mapped"
// (IPv6 sockets on ::ffff:127.0.0.41 to .45 with the link's port, then
// ::ffff:127.0.0.1).
const attackerFromEnv = "HANDOFF_ATTACKER_FROM"

// attempt is what the attacker saw on one connection.
type attempt struct {
	From     string // the attacker's client address
	Status   int    // 0 when there was no HTTP response
	Location string
	Body     string
	Err      string
}

const attemptPrefix = "ATTEMPT "

// TestAttackerHelper is not a test: TestAttackAsAnotherUser runs this test
// binary as user nobody with attackerEnv set, and this function is then the
// attacker. It prints one attemptPrefix line per connection.
func TestAttackerHelper(t *testing.T) {
	link := os.Getenv(attackerEnv)
	if link == "" {
		t.Skip("the attacker process of TestAttackAsAnotherUser; runs only there")
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	server, err := netip.ParseAddrPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	port := server.Port()
	report := func(a attempt) {
		b, _ := json.Marshal(a)
		fmt.Println(attemptPrefix + string(b))
	}
	switch os.Getenv(attackerFromEnv) {
	case "ipv4":
		// IPv4 client sockets on other loopback addresses, with the
		// link's port; then the plain way, from 127.0.0.1.
		for i := 2; i <= 40; i++ {
			from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}), port)
			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(from), Timeout: 5 * time.Second}
			c, err := d.Dial("tcp4", server.String())
			report(fetch(from.String(), c, err, u))
		}
		c, err := net.DialTimeout("tcp4", server.String(), 5*time.Second)
		report(fetch("127.0.0.1:any", c, err, u))
	case "mapped":
		// IPv6 sockets with IPv4-mapped addresses: their rows are in
		// /proc/net/tcp6, while the server sees plain IPv4 peers.
		for i := 41; i <= 45; i++ {
			from := netip.AddrPortFrom(netip.AddrFrom16(netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}).As16()), port)
			c, err := dialMapped(from, server)
			if errors.Is(err, syscall.EAFNOSUPPORT) {
				fmt.Println("NOTE no IPv6 sockets on this machine")
				return
			}
			report(fetch(from.String(), c, err, u))
		}
		c, err := dialMapped(netip.MustParseAddrPort("[::ffff:127.0.0.1]:0"), server)
		report(fetch("[::ffff:127.0.0.1]:any", c, err, u))
	default:
		t.Fatalf("%s=%q, want ipv4 or mapped", attackerFromEnv, os.Getenv(attackerFromEnv))
	}
}

// dialMapped connects an AF_INET6 socket, bound to the IPv4-mapped from,
// to the IPv4 server through its mapped address. The net package would
// make an AF_INET socket for a mapped address, so this uses the syscalls.
func dialMapped(from, server netip.AddrPort) (net.Conn, error) {
	fd, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "mapped")
	defer f.Close()
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 0); err != nil {
		return nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet6{Port: int(from.Port()), Addr: from.Addr().As16()}); err != nil {
		return nil, fmt.Errorf("bind %s: %w", from, err)
	}
	to := netip.AddrFrom16(server.Addr().As16()) // ::ffff:127.0.0.1
	if err := syscall.Connect(fd, &syscall.SockaddrInet6{Port: int(server.Port()), Addr: to.As16()}); err != nil {
		return nil, fmt.Errorf("connect %s: %w", to, err)
	}
	return net.FileConn(f)
}

// fetch sends GET for the link on c and reads the answer.
func fetch(from string, c net.Conn, err error, link *url.URL) attempt {
	a := attempt{From: from}
	if err != nil {
		a.Err = err.Error()
		return a
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", link.Path, link.Host); err != nil {
		a.Err = err.Error()
		return a
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	a.Status, a.Location, a.Body = resp.StatusCode, resp.Header.Get("Location"), string(body)
	return a
}

// TestAttackAsAnotherUser runs the attack of issue #8 for real: this test
// binary, copied where user nobody can run it, attacks a live Link as
// nobody, once with IPv4 sockets and once with IPv6 sockets on
// IPv4-mapped addresses. No answer may carry the ticket; the first
// attempt must be refused because the kernel's table names nobody as its
// owner (not merely because the lookup failed); and after it the link
// must be cancelled for everyone, the user included.
func TestAttackAsAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run the attacker as another uid")
	}
	bin := attackerBinary(t)
	uid, gid := nobody(t)
	for _, tc := range []struct {
		name, from  string
		minAttempts int
	}{
		{"IPv4 sockets on 127.0.0.2 to .40 with the link's port, then 127.0.0.1", "ipv4", 40},
		{"IPv6 sockets on IPv4-mapped addresses with the link's port, then ::ffff:127.0.0.1", "mapped", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncbuf.Buffer{}
			h, err := New(t.Context(), api.Secret(ssoURL), slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()

			cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestAttackerHelper$", "-test.count=1")
			cmd.Env = []string{attackerEnv + "=" + h.URL(), attackerFromEnv + "=" + tc.from}
			cmd.Dir = "/"
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("the attacker (uid %d) failed: %v\nstdout:\n%s\nstderr:\n%s", uid, err, &stdout, &stderr)
			}
			attempts := attackerReport(t, stdout.String())
			if len(attempts) < tc.minAttempts {
				t.Fatalf("the attacker reported %d attempts, want at least %d:\n%s", len(attempts), tc.minAttempts, &stdout)
			}
			statuses := map[int]int{}
			for i, a := range attempts {
				statuses[a.Status]++
				if strings.Contains(a.Location+a.Body+a.Err, "SECRET-TICKET") || a.Location != "" {
					t.Errorf("the attacker from %s got the ticket: %d Location=%q", a.From, a.Status, a.Location)
				}
				// Every attempt must have reached the server: an attack
				// that could not connect proves nothing.
				if a.Err != "" {
					t.Errorf("attempt from %s did not get an answer: %s", a.From, a.Err)
				}
				want := http.StatusGone // the link is cancelled
				if i == 0 {
					want = http.StatusForbidden
				}
				if a.Err == "" && a.Status != want {
					t.Errorf("attempt %d from %s: status %d, want %d", i+1, a.From, a.Status, want)
				}
			}
			t.Logf("the attacker (uid %d) made %d attempts; answers by status: %v", uid, len(attempts), statuses)

			// The user's browser comes too late: the link is cancelled,
			// the page says why, and Wait tells the caller.
			resp, err := noRedirect.Get(h.URL())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusGone || resp.Header.Get("Location") != "" || strings.Contains(string(body), "SECRET-TICKET") {
				t.Errorf("the user's visit after the attack: %d Location=%q, want 410 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if err := waitBriefly(t, h); !errors.Is(err, ErrRefused) {
				t.Errorf("Wait after the attack = %v, want ErrRefused", err)
			}
			log := logs.String()
			if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "a process of another user requested") {
				t.Errorf("the refusal was not logged at Warn as another user's (did the lookup fail instead?):\n%s", log)
			}
			if strings.Contains(log, "SECRET-TICKET") || strings.Contains(log, h.path) {
				t.Errorf("the log names the ticket or the link:\n%s", log)
			}
		})
	}
}

// attackerReport parses the attacker's output; a NOTE skips the test.
func attackerReport(t *testing.T, out string) []attempt {
	t.Helper()
	var attempts []attempt
	for line := range strings.Lines(out) {
		if note, ok := strings.CutPrefix(line, "NOTE "); ok {
			t.Skip(strings.TrimSpace(note))
		}
		js, ok := strings.CutPrefix(line, attemptPrefix)
		if !ok {
			continue
		}
		var a attempt
		if err := json.Unmarshal([]byte(js), &a); err != nil {
			t.Fatalf("attacker output %q: %v", line, err)
		}
		attempts = append(attempts, a)
	}
	return attempts
}

// attackerBinary copies this test binary into a new directory that user
// nobody can enter, since the build directory may be private (0700).
func attackerBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("cannot find this test binary to run it as the attacker: %v", err)
	}
	dir, err := os.MkdirTemp("", "handoff-attacker-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			t.Fatalf("cannot run the attacker as another user: %s (mode %v) is not searchable by others; set TMPDIR to a directory they can enter", p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "handoff-attacker.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// nobody returns the uid and gid of user nobody (65534 when the
// system does not list it).
func nobody(t *testing.T) (uid, gid uint32) {
	t.Helper()
	uid, gid = 65534, 65534
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Logf("no user nobody (%v); attacking as uid %d", err, uid)
		return uid, gid
	}
	if n, err := strconv.ParseUint(u.Uid, 10, 32); err == nil {
		uid = uint32(n)
	}
	if n, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
		gid = uint32(n)
	}
	return uid, gid
}
