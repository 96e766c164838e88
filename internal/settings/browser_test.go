package settings_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/settings"
	"github.com/exmail-notifier/exmail-notifier/internal/settings/settingstest"
)

// cdp drives a headless Chromium over --remote-debugging-pipe (the DevTools
// protocol as NUL-terminated JSON on fds 3 and 4): no websocket, no module.
type cdp struct {
	t       *testing.T
	in      *os.File // to the browser (its fd 3)
	mu      sync.Mutex
	next    int
	waiting map[int]chan cdpReply
	session string
	log     func() string
}

type cdpReply struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func startBrowser(t *testing.T) *cdp {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no chromium: the browser test needs one (Debian: apt-get install chromium)")
	}
	toBrowser, ourEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromBrowser, theirEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: chromium's helper processes can still write to the
	// profile for a moment after the browser itself has exited, and
	// TempDir's cleanup fails the test then. Removed, with retries, below.
	profile, err := os.MkdirTemp("", "settings-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--user-data-dir="+profile, "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, theirEnd} // fd 3: it reads; fd 4: it writes
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toBrowser.Close()
	theirEnd.Close()
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		ourEnd.Close()
		fromBrowser.Close()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the browser profile %s", profile)
	})

	c := &cdp{t: t, in: ourEnd, waiting: map[int]chan cdpReply{}}
	go func() {
		r := bufio.NewReader(fromBrowser)
		for {
			msg, err := r.ReadBytes(0)
			if err != nil {
				return
			}
			var rep cdpReply
			if json.Unmarshal(msg[:len(msg)-1], &rep) != nil || rep.ID == 0 {
				continue // an event
			}
			c.mu.Lock()
			ch := c.waiting[rep.ID]
			delete(c.waiting, rep.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- rep
			}
		}
	}()
	var target struct{ TargetID string }
	c.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct{ SessionID string }
	c.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	c.session = att.SessionID
	return c
}

func (c *cdp) call(session, method string, params any, out any) {
	c.t.Helper()
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan cdpReply, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, _ := json.Marshal(msg)
	if _, err := c.in.Write(append(b, 0)); err != nil {
		c.t.Fatal(err)
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			c.t.Fatalf("%s: %s", method, rep.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(rep.Result, out); err != nil {
				c.t.Fatalf("%s: %v", method, err)
			}
		}
	case <-time.After(20 * time.Second):
		c.t.Fatalf("%s: no answer from the browser", method)
	}
}

// eval runs JavaScript in the page (the DevTools protocol is not bound by
// the page's CSP) and returns its value as a string.
func (c *cdp) eval(js string) string {
	c.t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	c.call(c.session, "Runtime.evaluate", map[string]any{"expression": js, "returnByValue": true}, &res)
	return fmt.Sprint(res.Result.Value)
}

func (c *cdp) navigate(url string) {
	c.t.Helper()
	c.call(c.session, "Page.navigate", map[string]any{"url": url}, nil)
}

// waitFor polls until the page's text contains want.
func (c *cdp) waitFor(want string) string {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		text := c.eval(`document.readyState === "complete" && document.body ? document.documentElement.lang + "\n" + document.body.innerText : ""`)
		if strings.Contains(text, want) {
			return text
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the page never showed %q; it shows:\n%s\nlog:\n%s", want, text, c.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestInARealBrowser runs the page in headless Chromium: the one-time link
// and its cookie, form posts that pass the Origin and CSRF checks under the
// page's own Referrer-Policy and CSP, the enrollment confirm step, a
// preference change applied at once, and the copy button's script allowed by
// the CSP.
func TestInARealBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := startBrowser(t)
	fake := &settingstest.Fake{EnrollAlias: "bob@example.com", Report: settings.Report{Text: "report", Checks: []settings.Check{{Name: "OS keyring", Detail: "unlocked"}}}}
	fake.St.AutostartAvailable = true
	h := start(t, fake, app.English)
	c.log = h.logs.String
	link, err := h.srv.OneTimeURL()
	if err != nil {
		t.Fatal(err)
	}
	h.remember(link.Reveal())

	c.navigate(link.Reveal())
	c.waitFor("My company gave me a link or code")
	if got := c.eval(`location.pathname + "|" + document.cookie`); got != "/|" {
		t.Fatalf("after the link: %q (want the page, and no cookie visible to scripts)", got)
	}
	c.eval(`document.querySelector('input[name=input]').value = "exmail-notifier://enroll?relay=https://relay.example.com&code=browser-code-1";
		document.querySelector('form[action="/enroll/preview"] button').click(); ""`)
	text := c.waitFor("Enroll this computer?")
	if !strings.Contains(text, "https://relay.example.com") || strings.Contains(text, "browser-code-1") {
		t.Fatalf("the confirm step:\n%s", text)
	}
	if fake.CallsOf("Enroll") != 0 {
		t.Fatal("enrolled before the click")
	}
	c.eval(`document.querySelector('button.primary').click(); ""`)
	c.waitFor("Enrolled")
	if fake.CallsOf("Enroll") != 1 {
		t.Fatalf("Enroll calls: %d", fake.CallsOf("Enroll"))
	}

	c.navigate(h.origin + "/")
	c.waitFor("Quiet hours on weekdays")
	c.eval(`document.querySelector('select[name=lang]').value = "zh";
		document.querySelector('input[name=sound]').checked = true;
		document.querySelector('form.prefs button.primary').click(); ""`)
	text = c.waitFor("已保存")
	if !strings.HasPrefix(text, "zh-CN") {
		t.Fatalf("the language did not apply at once:\n%s", text)
	}
	fake.Mu.Lock()
	p := fake.St.Prefs
	fake.Mu.Unlock()
	if p.Lang != "zh" || !p.Sound {
		t.Fatalf("prefs: %+v", p)
	}

	c.navigate(h.origin + "/doctor")
	c.waitFor("OS keyring")
	if got := c.eval(`String(document.getElementById("copy").hidden)`); got != "false" {
		t.Fatalf("the copy button's script did not run under the CSP (hidden=%s)", got)
	}
	if strings.Contains(h.logs.String(), "refused") {
		t.Fatalf("the browser's own requests were refused:\n%s", h.logs.String())
	}
}
