package settings

import (
	"html"
	"net/http"
	"strconv"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// page writes one HTML page by hand: every value goes through esc, every
// untrusted one through clean first.
type page struct {
	b    strings.Builder
	lang app.Lang
	js   bool
	idp  string // the open form's prefix for element ids
}

// esc escapes s for HTML text and double-quoted attribute values.
func esc(s string) string { return html.EscapeString(s) }

// clean is the rule for untrusted text on the page: safetext.Line, at most
// n runes.
func clean(s string, n int) string { return safetext.Line(s, n) }

func newPage(lang app.Lang, title string) *page {
	p := &page{lang: lang}
	hl := "en"
	if lang == app.Chinese {
		hl = "zh-CN"
	}
	t := tr(lang)
	p.raw(`<!doctype html><html lang="` + hl + `"><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1">` +
		`<meta name="referrer" content="same-origin">` +
		`<title>` + esc(title) + ` — ` + esc(t(mAppName)) + `</title>` +
		`<link rel="stylesheet" href="/assets/style.css"></head><body><main class="window">`)
	p.raw(`<header><div class="app">` + esc(t(mAppName)) + `</div><h1>` + esc(title) + `</h1></header>`)
	return p
}

func (p *page) raw(s string) { p.b.WriteString(s) }

// section is a group: a small heading above a rounded box.
func (p *page) section(title string, body func()) {
	p.raw(`<section class="group">`)
	if title != "" {
		p.raw(`<h2>` + esc(title) + `</h2>`)
	}
	p.raw(`<div class="box">`)
	body()
	p.raw(`</div></section>`)
}

func (p *page) para(s string) { p.raw(`<p class="row note">` + esc(s) + `</p>`) }

// banner is a notice above the sections: kind "ok", "error" or "warn".
func (p *page) banner(kind, headline, detail string) {
	role := "status"
	if kind == "error" {
		role = "alert"
	}
	p.raw(`<div class="banner ` + kind + `" role="` + role + `"><strong>` + esc(headline) + `</strong>`)
	if detail != "" {
		p.raw(`<span class="detail">` + esc(detail) + `</span>`)
	}
	p.raw(`</div>`)
}

// form opens a POST form to action with the CSRF token; end closes it.
func (p *page) form(action, csrf, class string) {
	p.raw(`<form method="post" action="` + esc(action) + `"`)
	if class != "" {
		p.raw(` class="` + class + `"`)
	}
	p.raw(`><input type="hidden" name="csrf" value="` + esc(csrf) + `">`)
	p.idp = strings.ReplaceAll(strings.Trim(action, "/"), "/", "-") + "-"
}

func (p *page) end() { p.raw(`</form>`) }

func (p *page) hidden(name, value string) {
	p.raw(`<input type="hidden" name="` + name + `" value="` + esc(value) + `">`)
}

// field is one labelled input row. A password field never gets a value.
func (p *page) field(label, name, typ, value, help string, required bool, extra string) {
	id := p.idp + name
	p.raw(`<div class="row field"><label for="` + id + `">` + esc(label) + `</label><div class="control">`)
	p.raw(`<input id="` + id + `" name="` + name + `" type="` + typ + `"`)
	if typ == "password" {
		p.raw(` autocomplete="off"`)
	} else if value != "" {
		p.raw(` value="` + esc(value) + `"`)
	}
	if required {
		p.raw(` required`)
	}
	if extra != "" {
		p.raw(` ` + extra)
	}
	p.raw(`>`)
	if help != "" {
		p.raw(`<small>` + esc(help) + `</small>`)
	}
	p.raw(`</div></div>`)
}

func (p *page) checkbox(name, label string, on bool) {
	p.raw(`<label class="row check"><span>` + esc(label) + `</span><input type="checkbox" name="` + name + `" value="on"`)
	if on {
		p.raw(` checked`)
	}
	p.raw(`></label>`)
}

// info is a read-only row: a label and a value.
func (p *page) info(label, value string) {
	p.raw(`<div class="row info"><span class="label">` + esc(label) + `</span><span class="value">` + esc(value) + `</span></div>`)
}

// buttons is a row of buttons; each is "kind:label" with kind primary,
// plain or danger, or "link:label:href" for a link styled as a button.
func (p *page) buttons(bs ...[3]string) {
	p.raw(`<div class="row actions">`)
	for _, b := range bs {
		switch b[0] {
		case "link":
			p.raw(`<a class="button" href="` + esc(b[2]) + `">` + esc(b[1]) + `</a>`)
		default:
			p.raw(`<button type="submit" class="` + b[0] + `"`)
			if b[2] != "" {
				p.raw(` formaction="` + esc(b[2]) + `"`)
			}
			p.raw(`>` + esc(b[1]) + `</button>`)
		}
	}
	p.raw(`</div>`)
}

// send finishes the page and writes it with status code.
func (p *page) send(w http.ResponseWriter, code int) {
	p.raw(`</main>`)
	if p.js {
		p.raw(`<script src="/assets/copy.js"></script>`)
	}
	p.raw(`</body></html>`)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(p.b.Len()))
	w.WriteHeader(code)
	w.Write([]byte(p.b.String()))
}

// safetextLines is the rule for the support report: safetext.Cell for each
// line (hidden characters show as U+FFFD, runs of spaces stay so that columns
// line up), line breaks kept, at most 500 lines.
func safetextLines(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if len(lines) > 500 {
		lines = lines[:500]
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(safetext.Cell(l), " ")
	}
	return strings.Join(lines, "\n")
}
