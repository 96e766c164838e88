package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/relay/cli"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

const (
	bob  = "bob@example.com"
	lina = "lina@example.com"
	wait = 10 * time.Second
)

// TestMain lets the test binary act as exmail-relay in a subprocess, for
// the kill -9 test.
func TestMain(m *testing.M) {
	if os.Getenv("EXMAIL_RELAY_TEST_MAIN") == "1" {
		os.Exit(cli.Main(context.Background(), os.Args[1:], cli.OSEnv()))
	}
	os.Exit(m.Run())
}

type fixture struct {
	t   *testing.T
	up  *exmailtest.Server
	env map[string]string
	db  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	up := exmailtest.New(exmailtest.Options{})
	t.Cleanup(up.Close)
	for _, u := range []exmailtest.User{{Alias: bob, Name: "Bob"}, {Alias: lina, Name: "Lina"}} {
		if err := up.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	return &fixture{t: t, up: up, db: filepath.Join(dir, "relay.db"), env: map[string]string{
		"EXMAIL_AGENT": up.ClientID(), "EXMAIL_SECRET": up.ClientSecret(),
		"EXMAIL_TOKEN_URL": up.TokenURL(), "EXMAIL_API_URL": up.APIBase(), "EXMAIL_LOGIN_URL": up.LoginURL(),
		"EXMAIL_RELAY_URL": "https://relay.example.com", "STATE_DIRECTORY": dir,
	}}
}

// run runs one command and returns its exit status, stdout and stderr.
func (f *fixture) run(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Main(f.t.Context(), args, cli.Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return f.env[k] },
	})
	return code, out.String(), errb.String()
}

func TestExitStatusAndHelp(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no command", nil, 2},
		{"help", []string{"--help"}, 0},
		{"unknown command", []string{"frobnicate"}, 2},
		{"serve --help", []string{"serve", "--help"}, 0},
		{"enroll --help", []string{"enroll", "--help"}, 0},
		{"devices --help", []string{"devices", "--help"}, 0},
		{"revoke --help", []string{"revoke", "--help"}, 0},
		{"audit --help", []string{"audit", "--help"}, 0},
		{"serve without --listen", []string{"serve"}, 2},
		{"serve in plain HTTP on every interface", []string{"serve", "--listen", ":8080"}, 2},
		{"serve in plain HTTP on a LAN address", []string{"serve", "--listen", "192.168.1.5:8080"}, 2},
		{"serve with a cert but no key", []string{"serve", "--listen", ":8443", "--tls-cert", "c.pem"}, 2},
		{"the key as a flag value", []string{"serve", "--listen", "127.0.0.1:0", "--secret", "abc"}, 2},
		{"enroll without an alias", []string{"enroll"}, 2},
		{"enroll of an unknown mailbox", []string{"enroll", "nobody@example.com"}, 1},
		{"revoke of an unknown device", []string{"revoke", "d_0000"}, 1},
		{"revoke with both forms", []string{"revoke", "d_0000", "--alias", bob}, 2},
		{"audit with a bad --since", []string{"audit", "--since", "yesterday"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, stderr := f.run("", tc.args...); code != tc.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.want, stderr)
			}
		})
	}
}

func TestEnrollPrintsTheCodeThenTheLink(t *testing.T) {
	f := newFixture(t)
	code, out, stderr := f.run("", "enroll", "Bob@Example.com", "--ttl", "1h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], wire.CodePrefix) || len(lines[0]) != len(wire.CodePrefix)+43 {
		t.Fatalf("stdout = %q, want the code then the link", out)
	}
	relayURL, c, err := client.ParseEnrollLink(lines[1])
	if err != nil || relayURL != "https://relay.example.com" || c.Reveal() != lines[0] {
		t.Fatalf("link %q → %q, %v", lines[1], relayURL, err)
	}
	db, _ := os.ReadFile(f.db)
	if bytes.Contains(db, []byte(lines[0][len(wire.CodePrefix):])) {
		t.Fatal("the database holds the raw code")
	}
}

func TestEnrollManyToCSV(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "codes.csv")
	code, stdout, stderr := f.run(bob+"\n# a comment\n"+lina+"\n", "enroll", "--csv", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, wire.CodePrefix) {
		t.Fatalf("stdout shows a code: %q", stdout)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if fi, _ := fh.Stat(); fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", out, fi.Mode().Perm())
	}
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][0] != bob || rows[2][0] != lina || !strings.HasPrefix(rows[2][2], "exmail-notifier://enroll?") {
		t.Fatalf("rows = %v, %v", rows, err)
	}
}

// A CSV file that cannot be created stores no code: a stored code is
// always also handed out.
func TestEnrollToAnExistingCSVStoresNoCode(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "codes.csv")
	if err := os.WriteFile(out, []byte("earlier codes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := f.run(bob+"\n", "enroll", "--csv", out)
	if code == 0 || !strings.Contains(stderr, "must not exist yet") {
		t.Fatalf("exit %d, stderr %q; want a refusal naming the existing file", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "earlier codes\n" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	code, stdout, stderr := f.run("", "audit", "--json")
	if code != 0 {
		t.Fatalf("audit: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, `"code"`) {
		t.Fatalf("a code was stored (audit: %s)", stdout)
	}
}

// serve runs "exmail-relay serve" in this process until the test ends.
func (f *fixture) serve(extra ...string) (url string, logs *syncBuffer) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan int, 1)
	logs = &syncBuffer{}
	go func() {
		done <- cli.Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--keepalive", "1s"}, extra...), cli.Env{
			Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs,
			Getenv: func(k string) string { return f.env[k] },
			Ready:  func(a string) { addr <- a },
		})
	}()
	f.t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			f.t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	})
	select {
	case a := <-addr:
		return "http://" + a, logs
	case code := <-done:
		f.t.Fatalf("serve exited %d:\n%s", code, logs.String())
	case <-time.After(wait):
		f.t.Fatal("serve did not start")
	}
	return "", nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func nextMail(t *testing.T, ch <-chan api.Event) api.NewMail {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case ev := <-ch:
			if m, ok := ev.(api.NewMail); ok {
				return m
			}
		case <-timer.C:
			t.Fatal("no new mail within", wait)
		}
	}
}

func waitOnline(t *testing.T, ch <-chan api.Event) {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case ev := <-ch:
			if sc, ok := ev.(api.StateChanged); ok && sc.State == api.StateOnline {
				return
			}
		case <-timer.C:
			t.Fatal("not online within", wait)
		}
	}
}

func TestServeEnrollDevicesRevokeAudit(t *testing.T) {
	f := newFixture(t)
	url, logs := f.serve()
	f.env["EXMAIL_RELAY_URL"] = url

	code, out, stderr := f.run("", "enroll", bob)
	if code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, stderr)
	}
	_, enrollCode, _ := client.ParseEnrollLink(strings.Split(out, "\n")[1])
	e, err := client.Enroll(t.Context(), url, enrollCode, "bob's laptop")
	if err != nil {
		t.Fatal(err)
	}
	src, err := client.New(client.Config{URL: url, Token: e.Token, Alias: e.Alias, Keepalive: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan api.Event, 100)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, events) }()
	defer func() { cancel(); <-done }()
	waitOnline(t, events)
	id := f.up.Deliver(bob, exmailtest.Mail{Sender: "lina@example.com", Subject: "hello"})
	if m := nextMail(t, events); m.MailID != id || m.Subject != "hello" {
		t.Fatalf("got %+v", m)
	}

	t.Run("devices", func(t *testing.T) {
		code, out, _ := f.run("", "devices", "--json")
		var d map[string]string
		if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d["id"] != e.DeviceID || d["alias"] != bob || d["name"] != "bob's laptop" || d["revoked"] != "" {
			t.Fatalf("devices --json: exit %d, %q", code, out)
		}
		if code, out, _ := f.run("", "devices"); code != 0 || !strings.Contains(out, e.DeviceID) || !strings.Contains(out, "active") {
			t.Fatalf("devices: exit %d, %q", code, out)
		}
	})
	t.Run("revoke closes the stream", func(t *testing.T) {
		if code, out, stderr := f.run("", "revoke", "--alias", bob); code != 0 || strings.TrimSpace(out) != e.DeviceID {
			t.Fatalf("revoke: exit %d, %q %s", code, out, stderr)
		}
		timer := time.NewTimer(wait)
		defer timer.Stop()
		for {
			select {
			case ev := <-events:
				if sc, ok := ev.(api.StateChanged); ok && errors.Is(sc.Err, client.ErrUnauthorized) {
					return
				}
			case <-timer.C:
				t.Fatal("the revoked device is still connected")
			}
		}
	})
	t.Run("audit", func(t *testing.T) {
		code, out, _ := f.run("", "audit", "--json")
		var actions []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var a map[string]string
			json.Unmarshal([]byte(line), &a)
			actions = append(actions, a["action"])
		}
		if code != 0 || strings.Join(actions, ",") != "code,enroll,revoke" {
			t.Fatalf("audit: exit %d, actions %v", code, actions)
		}
		if code, out, _ := f.run("", "audit", "--verify"); code != 0 || !strings.Contains(out, "intact: 3 lines") {
			t.Fatalf("audit --verify: exit %d, %q", code, out)
		}
	})
	t.Run("no secret in the log", func(t *testing.T) {
		for name, s := range map[string]string{"token": e.Token.Reveal(), "code": enrollCode.Reveal(), "key": f.up.ClientSecret()} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("the serve log holds the %s", name)
			}
		}
	})
}

func TestServeReadsTheKeyFromASystemdCredential(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "exmail-secret"), []byte(f.up.ClientSecret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(f.env, "EXMAIL_SECRET")
	f.env["CREDENTIALS_DIRECTORY"] = dir
	f.serve()
	t.Run("and a wrong key fails at start", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, "exmail-secret"), []byte("0000"), 0o600)
		if code, _, stderr := f.run("", "serve", "--listen", "127.0.0.1:0"); code != 1 || !strings.Contains(stderr, "rejected") {
			t.Fatalf("exit %d, %s", code, stderr)
		}
	})
}

// TestResumeAfterKill9 kills the relay process with SIGKILL and starts a
// new one on the same database and port: a device that saw some mails
// resumes with exactly the mails stored after them.
func TestResumeAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	f := newFixture(t)
	start := func(addr string) (*exec.Cmd, string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "serve", "--listen", addr, "--keepalive", "1s")
		cmd.Env = append(os.Environ(), "EXMAIL_RELAY_TEST_MAIN=1")
		for k, v := range f.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		re := regexp.MustCompile(`msg="relay: serving" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				go io.Copy(io.Discard, stderr)
				return cmd, m[1]
			}
		}
		t.Fatal("the relay subprocess did not start")
		return nil, ""
	}
	listeners := f.up.Listeners()
	cmd, addr := start("127.0.0.1:0")
	url := "http://" + addr
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	if err := f.up.WaitListeners(ctx, listeners+1); err != nil {
		t.Fatal(err)
	}
	f.env["EXMAIL_RELAY_URL"] = url
	enroll := func() client.Enrollment {
		_, out, _ := f.run("", "enroll", bob)
		_, c, err := client.ParseEnrollLink(strings.Split(out, "\n")[1])
		if err != nil {
			t.Fatal(err)
		}
		e, err := client.Enroll(t.Context(), url, c, "x")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	run := func(e client.Enrollment) (chan api.Event, func()) {
		src, err := client.New(client.Config{URL: url, Token: e.Token, Alias: bob, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan api.Event, 100)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { src.Run(ctx, ch); close(done) }()
		return ch, func() { cancel(); <-done }
	}
	devA, devW := enroll(), enroll()
	srcA, err := client.New(client.Config{URL: url, Token: devA.Token, Alias: bob, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a := make(chan api.Event, 100)
	actx, acancel := context.WithCancel(t.Context())
	adone := make(chan struct{})
	go func() { srcA.Run(actx, a); close(adone) }()
	waitOnline(t, a)
	seen := f.up.Deliver(bob, exmailtest.Mail{Subject: "before"})
	if m := nextMail(t, a); m.MailID != seen {
		t.Fatalf("got %s, want %s", m.MailID, seen)
	}
	acancel()
	<-adone

	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	start(addr) // same database (STATE_DIRECTORY), same port
	w, stopW := run(devW)
	defer stopW()
	waitOnline(t, w) // online: the relay's upstream listen is up again
	var missed []string
	for i := range 3 {
		missed = append(missed, f.up.Deliver(bob, exmailtest.Mail{Subject: fmt.Sprint("after ", i)}))
	}
	for range missed {
		nextMail(t, w) // the witness saw them: they are stored
	}

	actx, acancel = context.WithCancel(t.Context())
	defer acancel()
	go srcA.Run(actx, a) // the same Source resumes from the id it saw
	var got []string
	for range missed {
		got = append(got, nextMail(t, a).MailID)
	}
	if strings.Join(got, ",") != strings.Join(missed, ",") {
		t.Fatalf("after kill -9: %v, want exactly %v", got, missed)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relay.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, pool
}

func TestServeOverTLSWithMetrics(t *testing.T) {
	f := newFixture(t)
	certFile, keyFile, pool := selfSigned(t)
	url, logs := f.serve("--tls-cert", certFile, "--tls-key", keyFile, "--metrics-listen", "127.0.0.1:0")
	url = strings.Replace(url, "http://", "https://", 1)
	f.env["EXMAIL_RELAY_URL"] = url

	for _, proto := range []struct {
		name  string
		http2 bool
	}{{"HTTP/1.1", false}, {"HTTP/2", true}} {
		t.Run(proto.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: proto.http2}
			hc := &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
			_, out, _ := f.run("", "enroll", bob)
			_, code, err := client.ParseEnrollLink(strings.Split(out, "\n")[1])
			if err != nil {
				t.Fatal(err)
			}
			e, err := client.EnrollClient(t.Context(), hc, url, code, "tls")
			if err != nil {
				t.Fatal(err)
			}
			src, err := client.New(client.Config{URL: url, Token: e.Token, Alias: bob, HTTPClient: hc})
			if err != nil {
				t.Fatal(err)
			}
			events := make(chan api.Event, 100)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { src.Run(ctx, events); close(done) }()
			defer func() { cancel(); <-done }()
			waitOnline(t, events)
			id := f.up.Deliver(bob, exmailtest.Mail{Subject: "over TLS"})
			if m := nextMail(t, events); m.MailID != id {
				t.Fatalf("got %s, want %s", m.MailID, id)
			}
			n, err := src.NewCount(t.Context(), bob)
			if err != nil || n != f.up.Unread(bob) {
				t.Fatalf("NewCount = %d, %v; want %d", n, err, f.up.Unread(bob))
			}
		})
	}

	t.Run("metrics", func(t *testing.T) {
		m := regexp.MustCompile(`msg="relay: metrics" addr=(\S+)`).FindStringSubmatch(logs.String())
		if m == nil {
			t.Fatalf("no metrics address in the log:\n%s", logs.String())
		}
		resp, err := http.Get("http://" + m[1] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, want := range []string{"exmail_relay_upstream_online 1", "exmail_relay_enroll_ok_total 2", "exmail_relay_stream_connects_total"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %q:\n%s", want, body)
			}
		}
	})
}

// The interface key file must be the server's secret: a file others can
// read is refused, with the fix (found by review).
func TestAKeyFileOthersCanReadIsRefused(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("file modes are a Unix matter")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return map[string]string{"EXMAIL_AGENT": "admin"}[k] }}
	code := cli.Main(t.Context(), []string{"enroll", "--db", filepath.Join(dir, "relay.db"), "--relay-url", "https://relay.example.com", "--secret-file", path, "bob@example.com"}, env)
	if code != 1 || !strings.Contains(stderr.String(), "chmod 600") || strings.Contains(stderr.String(), "0123456789abcdef") {
		t.Errorf("enroll with a 0644 key file: exit %d, stderr %q; want 1 and the fix, without the key", code, stderr.String())
	}
}
