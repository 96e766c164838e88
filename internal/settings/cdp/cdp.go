// Package cdp drives a headless Chromium over the Chrome DevTools Protocol,
// just enough to test the settings page as a person would use it: open a
// link, read the page's text, fill in and click, take a screenshot.
//
// The browser is started with --remote-debugging-pipe: the protocol travels
// as NUL-terminated JSON on the browser's fds 3 and 4, so there is no
// websocket, no debugging port other users could reach, and no module
// beyond the standard library.
//
// Errors never contain a one-time link's secret: whatever looks like one
// (the path after /s/ or /h/, a code= or token= parameter) is masked.
package cdp

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ErrNoBrowser: no Chromium on PATH.
var ErrNoBrowser = errors.New("no chromium on PATH (Debian: apt-get install chromium)")

// Find returns the path of the first Chromium on PATH.
func Find() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Options configure Start.
type Options struct {
	// Bin is the browser; Find's answer when "".
	Bin string
	// Width and Height are the window's size in CSS pixels (1000×800
	// when zero).
	Width, Height int
	// Lang is the browser's UI language (--lang, e.g. "zh-CN"): its
	// Accept-Language and how it shows times and dates in forms. The
	// browser's default when "".
	Lang string
	// Stderr gets the browser's own output; discarded when nil.
	Stderr *os.File
}

// Browser is one headless Chromium with one page (tab) attached. Its
// methods are safe for concurrent use.
type Browser struct {
	cmd     *exec.Cmd
	in      *os.File // to the browser (its fd 3)
	out     *os.File // from the browser (its fd 4)
	profile string
	session string
	done    chan struct{} // closed when the reader stops

	mu      sync.Mutex
	next    int
	waiting map[int]chan reply
}

type reply struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Start launches a headless Chromium with a fresh profile (removed again by
// Close) and attaches to a blank page.
func Start(ctx context.Context, o Options) (*Browser, error) {
	if o.Bin == "" {
		bin, err := Find()
		if err != nil {
			return nil, err
		}
		o.Bin = bin
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1000, 800
	}
	toBrowser, ourEnd, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	fromBrowser, theirEnd, err := os.Pipe()
	if err != nil {
		toBrowser.Close()
		ourEnd.Close()
		return nil, err
	}
	profile, err := os.MkdirTemp("", "cdp-chromium-")
	if err != nil {
		return nil, err
	}
	// --no-sandbox: CI runs as root, where Chromium's sandbox refuses to
	// start.
	args := []string{"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-sync", "--password-store=basic", "--hide-scrollbars",
		fmt.Sprintf("--window-size=%d,%d", o.Width, o.Height),
		"--user-data-dir=" + profile, "--remote-debugging-pipe"}
	if o.Lang != "" {
		args = append(args, "--lang="+o.Lang)
	}
	cmd := exec.Command(o.Bin, append(args, "about:blank")...)
	if o.Lang != "" {
		cmd.Env = append(os.Environ(), "LANGUAGE="+strings.ReplaceAll(o.Lang, "-", "_"))
	}
	cmd.ExtraFiles = []*os.File{toBrowser, theirEnd} // fd 3: it reads; fd 4: it writes
	if o.Stderr != nil {
		cmd.Stdout, cmd.Stderr = o.Stderr, o.Stderr
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("start %s: %w", o.Bin, err)
	}
	toBrowser.Close()
	theirEnd.Close()
	b := &Browser{cmd: cmd, in: ourEnd, out: fromBrowser, profile: profile, done: make(chan struct{}), waiting: map[int]chan reply{}}
	go b.read()

	var target struct{ TargetID string }
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		b.Close()
		return nil, err
	}
	var att struct{ SessionID string }
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		b.Close()
		return nil, err
	}
	b.session = att.SessionID
	if err := b.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": o.Width, "height": o.Height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		b.Close()
		return nil, err
	}
	if o.Lang != "" {
		// --lang sets Accept-Language; the page's own locale (how a time
		// input shows its value) needs the override.
		if err := b.Call(ctx, "Emulation.setLocaleOverride", map[string]any{"locale": o.Lang}, nil); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// read hands each reply to its caller; events are dropped.
func (b *Browser) read() {
	defer close(b.done)
	r := bufio.NewReader(b.out)
	for {
		msg, err := r.ReadBytes(0)
		if err != nil {
			return
		}
		var rep reply
		if json.Unmarshal(msg[:len(msg)-1], &rep) != nil || rep.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.waiting[rep.ID]
		delete(b.waiting, rep.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// Close stops the browser and removes its profile. Chromium's helpers can
// still write to the profile for a moment after it exits, so the removal is
// retried for up to 5 s.
func (b *Browser) Close() error {
	if b.cmd.Process != nil {
		b.cmd.Process.Kill()
	}
	b.cmd.Wait()
	b.in.Close()
	b.out.Close()
	var err error
	for range 50 {
		if err = os.RemoveAll(b.profile); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("could not remove the browser profile %s: %w", b.profile, err)
}

// Call sends method to the page and decodes its result into out (unless
// nil). Without a deadline on ctx it waits at most 20 s.
func (b *Browser) Call(ctx context.Context, method string, params, out any) error {
	return b.call(ctx, b.session, method, params, out)
}

func (b *Browser) call(ctx context.Context, session, method string, params, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
	}
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan reply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
	}()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := b.in.Write(append(data, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			return fmt.Errorf("%s: %s", method, Mask(rep.Error.Message))
		}
		if out != nil {
			if err := json.Unmarshal(rep.Result, out); err != nil {
				return fmt.Errorf("%s: %w", method, err)
			}
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: the browser exited", method)
	case <-ctx.Done():
		return fmt.Errorf("%s: no answer from the browser: %w", method, ctx.Err())
	}
}

// Eval runs JavaScript in the page (the DevTools protocol is not bound by
// the page's Content-Security-Policy) and returns its value as a string.
// A thrown exception is an error.
func (b *Browser) Eval(ctx context.Context, js string) (string, error) {
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception *struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := b.Call(ctx, "Runtime.evaluate", map[string]any{"expression": js, "returnByValue": true}, &res); err != nil {
		return "", err
	}
	if e := res.ExceptionDetails; e != nil {
		msg := e.Text
		if e.Exception != nil {
			msg = e.Exception.Description
		}
		return "", errors.New("script: " + Mask(msg))
	}
	if res.Result.Value == nil {
		return "", nil
	}
	return fmt.Sprint(res.Result.Value), nil
}

// Navigate loads url in the page; it does not wait for the load (see
// WaitText).
func (b *Browser) Navigate(ctx context.Context, url string) error {
	var res struct{ ErrorText string }
	if err := b.Call(ctx, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", Mask(url), res.ErrorText)
	}
	return nil
}

// Text is the loaded page's language and text: documentElement.lang, a
// newline, and document.body.innerText; "" while the page loads.
func (b *Browser) Text(ctx context.Context) (string, error) {
	return b.Eval(ctx, `document.readyState === "complete" && document.body ? document.documentElement.lang + "\n" + document.body.innerText : ""`)
}

// WaitText polls, until ctx ends, for a loaded page whose Text contains
// want and on which ok (when not nil) holds; it returns that text. On
// timeout the error quotes what the page showed last.
func (b *Browser) WaitText(ctx context.Context, want string, ok func(text string) bool) (string, error) {
	var text string
	for {
		t, err := b.Text(ctx)
		if err == nil {
			text = t
			if strings.Contains(t, want) && (ok == nil || ok(t)) {
				return t, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the page never showed %q; it shows: %s", want, Mask(oneLine(text, 600)))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Screenshot returns a PNG of the whole page (beyond the window when the
// page is longer).
func (b *Browser) Screenshot(ctx context.Context) ([]byte, error) {
	var m struct {
		CSSContentSize struct{ Width, Height float64 } `json:"cssContentSize"`
	}
	if err := b.Call(ctx, "Page.getLayoutMetrics", map[string]any{}, &m); err != nil {
		return nil, err
	}
	params := map[string]any{"format": "png", "captureBeyondViewport": true}
	if w, h := m.CSSContentSize.Width, m.CSSContentSize.Height; w > 0 && h > 0 {
		params["clip"] = map[string]any{"x": 0, "y": 0, "width": w, "height": h, "scale": 1}
	}
	var shot struct{ Data string }
	if err := b.Call(ctx, "Page.captureScreenshot", params, &shot); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(shot.Data)
}

// Mask hides what looks like a secret in s: the path after /s/ or /h/
// (one-time links), the values of code=, token= and ticket=, and every
// run of 24 or more letters, digits, '-' and '_' that holds a digit (a
// handoff link's nonce, an exr_ code or token).
func Mask(s string) string {
	return maskRuns(maskParams(s))
}

func tokenChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

func maskRuns(s string) string {
	var out strings.Builder
	for len(s) > 0 {
		i := strings.IndexFunc(s, tokenChar)
		if i < 0 {
			out.WriteString(s)
			break
		}
		out.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexFunc(s, func(r rune) bool { return !tokenChar(r) })
		if end < 0 {
			end = len(s)
		}
		if run := s[:end]; len(run) >= 24 && strings.ContainsAny(run, "0123456789") {
			out.WriteString("…")
		} else {
			out.WriteString(run)
		}
		s = s[end:]
	}
	return out.String()
}

func maskParams(s string) string {
	var out strings.Builder
	for len(s) > 0 {
		i, n := -1, 0
		for _, p := range []string{"/s/", "/h/", "code=", "token=", "ticket="} {
			if j := strings.Index(s, p); j >= 0 && (i < 0 || j < i) {
				i, n = j, len(p)
			}
		}
		if i < 0 {
			out.WriteString(s)
			break
		}
		out.WriteString(s[:i+n])
		s = s[i+n:]
		end := strings.IndexFunc(s, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '%')
		})
		if end < 0 {
			end = len(s)
		}
		if end > 0 {
			out.WriteString("…")
		}
		s = s[end:]
	}
	return out.String()
}

// oneLine joins text's lines with " | " and cuts it to max bytes.
func oneLine(text string, max int) string {
	s := strings.Join(strings.Fields(strings.ReplaceAll(text, "\n", " | ")), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
