//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/config"
	"github.com/exmail-notifier/exmail-notifier/creds"
)

// openPTY returns a pseudo-terminal pair, or skips the test.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		master.Close()
		t.Skipf("ptsname: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Skipf("open the terminal side: %v", err)
	}
	return master, tty
}

// waitEchoOff returns once the terminal stops echoing (the password
// prompt is reading), so what is typed next is not echoed by the kernel.
func waitEchoOff(t *testing.T, tty *os.File) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Errorf("tcgetattr: %v", err)
			return
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		runtime.Gosched()
	}
	t.Error("echo was never switched off for the interface key")
}

// TestLoginInteractive types the answers on a real pseudo-terminal: the
// admin account and mailbox are echoed as typed, the key is not.
func TestLoginInteractive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stored *config.Config // config file before login
		lines  string         // typed before the key
		prompt []string       // on stderr
	}{
		{"fresh, and the key is said plainly to be an administrator credential before it is asked for", nil, "admin\nbob@example.com\n",
			[]string{"Admin account: ", "Mailbox to watch: ", "open every mailbox, reset passwords", "打开所有邮箱", "Interface key"}},
		{"Enter keeps the stored values", &config.Config{Agent: "admin", Alias: "bob@example.com"}, "\n\n",
			[]string{"Admin account [admin]: ", "Mailbox to watch [bob@example.com]: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := loginServer(t)
			master, tty := openPTY(t)
			defer master.Close()
			keys := &creds.Memory{}
			e, stdout, stderr := acctEnv(t, nil, keys, "")
			e.stdin = tty
			if tt.stored != nil {
				writeConfig(t, e, *tt.stored)
			}

			echoed := make(chan string)
			go func() {
				var b bytes.Buffer
				_, _ = io.Copy(&b, master) // ends with EIO once tty is closed
				echoed <- b.String()
			}()
			code := make(chan int)
			go func() {
				code <- run([]string{"login", "--api-url", s.APIBase(), "--token-url", s.TokenURL(), "--login-url", s.LoginURL()}, e)
			}()
			if _, err := io.WriteString(master, tt.lines); err != nil {
				t.Fatal(err)
			}
			waitEchoOff(t, tty)
			if _, err := io.WriteString(master, exmailtest.DefaultClientSecret+"\n"); err != nil {
				t.Fatal(err)
			}
			if c := <-code; c != exitOK {
				t.Errorf("exit %d; stderr:\n%s", c, stderr)
			}
			tty.Close()
			screen := <-echoed

			if strings.Contains(screen, exmailtest.DefaultClientSecret) {
				t.Errorf("the key was echoed on the terminal: %q", screen)
			}
			if !strings.Contains(screen, tt.lines[:strings.IndexByte(tt.lines, '\n')]) {
				t.Errorf("the typed lines were not echoed: %q", screen)
			}
			for _, p := range tt.prompt {
				if !strings.Contains(stderr.String(), p) {
					t.Errorf("stderr has no prompt %q:\n%s", p, stderr)
				}
			}
			if k, err := keys.Get(t.Context(), "admin"); err != nil || k.Reveal() != exmailtest.DefaultClientSecret {
				t.Errorf("stored key: %v", err)
			}
			noSecretAnywhere(t, e, exmailtest.DefaultClientSecret, stdout, stderr)
		})
	}
}
