// Command settingsdriver drives the settings page in a real headless
// Chromium for the desktop end-to-end test (e2e/scenarios.sh, scenario
// "settings"), one command a line on stdin, one answer a line on stdout:
// "ok [value]" or "err message". The shell runs it as a coprocess, so that
// one browser (one cookie jar, one page) lives through the whole scenario
// while the shell checks the tray between the steps.
//
//	open FILE          load the URL on FILE's last line (the one-time link
//	                   the tray handed the browser opener; never on a
//	                   command line or in the log)
//	goto PATH          load PATH on the current page's origin
//	wait TEXT          wait until the loaded page shows TEXT (after a
//	                   click: a newly loaded page)
//	absent TEXT        the loaded page does not show TEXT
//	text               the page's language and text on one line
//	path               location.pathname
//	lang               document.documentElement.lang
//	fill CSS VALUE     set the value of the element CSS (VALUE: no spaces)
//	fillfile CSS FILE  the same with the value on FILE's last line (FILE:
//	                   no spaces)
//	check CSS on|off   set a checkbox
//	click CSS          click the element (a form submits)
//	shot NAME          a PNG of the whole page, as DIR/NAME.png
//	eval JS            run JS in the page, answer its value
//	save CSS FILE      write the value (or, without one, the text) of the
//	                   element CSS to FILE, unmasked (FILE: no spaces), for
//	                   the shell to check for secrets; the answer is only
//	                   its length
//
// Every answer is masked (package cdp's Mask): a one-time link, code or
// token never reaches the output.
//
//	usage: settingsdriver -shots DIR [-timeout 15s] [-browser-log FILE] [-lang zh-CN]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/settings/cdp"
)

func main() {
	shots := flag.String("shots", ".", "directory for the screenshots")
	timeout := flag.Duration("timeout", 15*time.Second, "how long wait and each browser call may take")
	blog := flag.String("browser-log", "", "file for the browser's own output (discarded if empty)")
	lang := flag.String("lang", "", "the browser's language, e.g. zh-CN (its default if empty)")
	flag.Parse()
	if err := run(*shots, *timeout, *blog, *lang); err != nil {
		fmt.Fprintln(os.Stderr, "settingsdriver:", err)
		os.Exit(1)
	}
}

func run(shots string, timeout time.Duration, blog, lang string) error {
	o := cdp.Options{Width: 900, Height: 760, Lang: lang}
	if blog != "" {
		f, err := os.Create(blog)
		if err != nil {
			return err
		}
		defer f.Close()
		o.Stderr = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	b, err := cdp.Start(ctx, o)
	cancel()
	if err != nil {
		return err
	}
	defer b.Close()
	// The harness ends its processes with SIGTERM: close the browser (and
	// remove its profile) first.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		b.Close()
		os.Exit(1)
	}()
	d := &driver{b: b, shots: shots, timeout: timeout}
	fmt.Println("ok ready")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		cmd, arg, _ := strings.Cut(line, " ")
		if cmd == "quit" {
			fmt.Println("ok")
			return nil
		}
		v, err := d.do(cmd, arg)
		if err != nil {
			fmt.Println("err " + oneLine(cdp.Mask(err.Error())))
			continue
		}
		fmt.Println(strings.TrimSpace("ok " + oneLine(cdp.Mask(v))))
	}
	return in.Err()
}

type driver struct {
	b       *cdp.Browser
	shots   string
	timeout time.Duration
	clicked bool // a click may have started a navigation: wait for a new page
}

// marker is set on a page before a click; a page without it is a new one.
const marker = "window.__settingsdriverOld"

func (d *driver) do(cmd, arg string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	switch cmd {
	case "open":
		u, err := lastLine(arg)
		if err != nil {
			return "", err
		}
		d.clicked = false
		return "", d.b.Navigate(ctx, u)
	case "goto":
		origin, err := d.b.Eval(ctx, "location.origin")
		if err != nil {
			return "", err
		}
		d.clicked = false
		return "", d.b.Navigate(ctx, origin+arg)
	case "wait":
		var ok func(string) bool
		if d.clicked {
			ok = func(string) bool {
				v, err := d.b.Eval(ctx, "String("+marker+" === true)")
				return err == nil && v == "false"
			}
		}
		_, err := d.b.WaitText(ctx, arg, ok)
		if err == nil {
			d.clicked = false
		}
		return "", err
	case "absent":
		t, err := d.b.WaitText(ctx, "", nil)
		if err != nil {
			return "", err
		}
		if strings.Contains(t, arg) {
			return "", fmt.Errorf("the page shows %q: %s", arg, oneLine(t))
		}
		return "", nil
	case "text":
		return d.b.WaitText(ctx, "", nil)
	case "path":
		return d.b.Eval(ctx, "location.pathname")
	case "lang":
		return d.b.Eval(ctx, "document.documentElement.lang")
	case "fill", "fillfile":
		i := strings.LastIndexByte(arg, ' ')
		sel, val, ok := arg[:max(i, 0)], arg[i+1:], i > 0
		if !ok {
			return "", errors.New(cmd + " needs CSS and a value")
		}
		if cmd == "fillfile" {
			v, err := lastLine(val)
			if err != nil {
				return "", err
			}
			val = v
		}
		_, err := d.b.Eval(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) throw new Error("no element " + %[1]s); e.value = %s; e.dispatchEvent(new Event("input", {bubbles: true})); return ""; })()`, js(sel), js(val)))
		return "", err
	case "check":
		i := strings.LastIndexByte(arg, ' ')
		sel, state := arg[:max(i, 0)], arg[i+1:]
		if state != "on" && state != "off" {
			return "", errors.New("check CSS on|off")
		}
		_, err := d.b.Eval(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) throw new Error("no element " + %[1]s); e.checked = %t; return ""; })()`, js(sel), state == "on"))
		return "", err
	case "click":
		_, err := d.b.Eval(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) throw new Error("no element " + %[1]s); %s = true; e.click(); return ""; })()`, js(arg), marker))
		if err == nil {
			d.clicked = true
		}
		return "", err
	case "shot":
		if arg == "" || strings.ContainsAny(arg, "/\\") {
			return "", errors.New("shot NAME (no slashes)")
		}
		png, err := d.b.Screenshot(ctx)
		if err != nil {
			return "", err
		}
		p := filepath.Join(d.shots, arg+".png")
		return p, os.WriteFile(p, png, 0o644)
	case "eval":
		return d.b.Eval(ctx, arg)
	case "save":
		i := strings.LastIndexByte(arg, ' ')
		if i <= 0 {
			return "", errors.New("save CSS FILE")
		}
		sel, file := arg[:i], arg[i+1:]
		v, err := d.b.Eval(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) throw new Error("no element " + %[1]s); return "value" in e ? e.value : e.textContent; })()`, js(sel)))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(file, []byte(v), 0o600); err != nil {
			return "", err
		}
		return fmt.Sprint(len(v)), nil
	}
	return "", fmt.Errorf("unknown command %q", cmd)
}

// lastLine is the last non-empty line of file.
func lastLine(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l, nil
	}
	return "", fmt.Errorf("%s is empty", file)
}

// js quotes s as a JavaScript string.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// oneLine puts text on one line: its lines joined with " | ".
func oneLine(text string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(text, "\n", " | ")), " ")
}
