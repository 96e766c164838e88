package app

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/exmail-notifier/exmail-notifier/api"
)

func TestParseSender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, name, addr string
	}{
		{`"Test" <test@gzdev.com>`, "Test", "test@gzdev.com"},
		{`Test User <test@gzdev.com>`, "Test User", "test@gzdev.com"},
		{`"张三" <zhang@example.com>`, "张三", "zhang@example.com"},
		{`张三 <zhang@example.com>`, "张三", "zhang@example.com"},
		{`<alone@example.com>`, "", "alone@example.com"},
		{`alone@example.com`, "", "alone@example.com"},
		{`=?UTF-8?B?5byg5LiJ?= <zhang@example.com>`, "张三", "zhang@example.com"},
		{`"Quote \"Q\" Person" <q@example.com>`, `Quote "Q" Person`, "q@example.com"},
		{`"broken <x@y>`, `"broken`, "x@y"},                    // not RFC 5322; the fallback still finds the address
		{`not an address at all`, "", "not an address at all"}, // shown as is (after sanitizing)
		{``, "", ""},
	}
	for _, tt := range tests {
		name, addr := parseSender(tt.in)
		if name != tt.name || addr != tt.addr {
			t.Errorf("parseSender(%q) = %q, %q; want %q, %q", tt.in, name, addr, tt.name, tt.addr)
		}
	}
}

func TestToastText(t *testing.T) {
	t.Parallel()
	mail := api.NewMail{
		User: "bob@example.com", MailID: "m1",
		Sender:  `"Alice" <alice@example.com>`,
		Subject: "Quarterly\r\nreport \u202Efdp.exe",
		Summary: "Numbers 📈 attached\n\n" + strings.Repeat("x", 1<<20),
	}
	tests := []struct {
		name        string
		show        bool
		lang        Lang
		title, body string
	}{
		{"content shown", true, English, "Alice",
			"Quarterly report fdp.exe\nNumbers 📈 attached " + strings.Repeat("x", maxSummary-utf8.RuneCountInString("Numbers 📈 attached ")-1) + "…"},
		{"content hidden en", false, English, "New mail", "bob@example.com"},
		{"content hidden zh", false, Chinese, "新邮件", "bob@example.com"},
	}
	for _, tt := range tests {
		title, body := toastText(mail, tt.show, "bob@example.com", tt.lang)
		if title != tt.title || body != tt.body {
			t.Errorf("%s: toastText = %q, %.80q…; want %q, %.80q…", tt.name, title, body, tt.title, tt.body)
		}
		if strings.Contains(body, "\u202E") || strings.Contains(body, "\r") {
			t.Errorf("%s: body keeps hostile runes", tt.name)
		}
	}
}

// FuzzSanitize checks the promises of sanitize on any input: valid UTF-8,
// at most max runes, no control, bidi or invisible runes, single spaces,
// nothing to trim.
