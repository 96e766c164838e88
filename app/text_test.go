package app

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/exmail-notifier/exmail-notifier/api"
)

func TestSanitize(t *testing.T) {
	t.Parallel()
	megabyte := strings.Repeat("长", 1<<20/3) // about 1 MB of CJK
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "Quarterly report", 40, "Quarterly report"},
		{"empty", "", 10, ""},
		{"only space and controls", " \t\r\n\x00\x1b ", 10, ""},
		{"crlf becomes one space", "line one\r\nline two", 40, "line one line two"},
		{"runs of white space collapse", "  a \t\t b\u00a0\u3000c  ", 40, "a b c"},
		{"terminal escape loses its ESC", "\x1b[31mred\x1b[0m", 40, "[31mred[0m"},
		{"NEL and line separators are breaks", "a\u0085b\u2028c\u2029d", 40, "a b c d"},
		{"NUL dropped", "a\x00b", 40, "ab"},
		{"RLO is dropped", "invoice\u202Egpj.exe", 40, "invoicegpj.exe"},
		{"all bidi controls dropped", "\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200F\u061Cx", 40, "x"},
		{"zero width space and BOM dropped", "a\u200Bb\uFEFFc\u2060d", 40, "abcd"},
		{"ZWJ emoji sequence kept", "👩\u200D💻 done", 40, "👩\u200D💻 done"},
		{"CJK", "关于下周的会议安排", 40, "关于下周的会议安排"},
		{"CJK truncated on a rune", "关于下周的会议安排", 5, "关于下周…"},
		{"emoji truncated on a rune", "🎉🎉🎉🎉🎉🎉", 3, "🎉🎉…"},
		{"exactly max is not cut", "abcde", 5, "abcde"},
		{"one over max is cut", "abcdef", 5, "abcd…"},
		{"no space before the ellipsis", "abc defgh", 5, "abc…"},
		{"trailing white space does not count", "abcde   \n", 5, "abcde"},
		{"invalid UTF-8 dropped", "a\xffb\xc3", 10, "ab"},
		{"max 1", "hello", 1, "…"},
		{"max below 1 acts as 1", "hello", 0, "…"},
		{"1 MB input", megabyte, 10, strings.Repeat("长", 9) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := sanitize(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("sanitize(%.40q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > max(tt.max, 1) {
				t.Errorf("sanitize(%.40q, %d) has %d runes", tt.in, tt.max, n)
			}
		})
	}
}

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

func TestRecentTitle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mail api.NewMail
		lang Lang
		want string
	}{
		{"display name preferred", api.NewMail{Sender: `"Alice" <alice@example.com>`, Subject: "Lunch?"}, English, "Alice — Lunch?"},
		{"address when no name", api.NewMail{Sender: `alice@example.com`, Subject: "Lunch?"}, English, "alice@example.com — Lunch?"},
		{"no subject en", api.NewMail{Sender: `"Alice" <a@x>`}, English, "Alice — (no subject)"},
		{"no subject zh", api.NewMail{Sender: `"Alice" <a@x>`}, Chinese, "Alice — （无主题）"},
		{"no sender zh", api.NewMail{Subject: "你好"}, Chinese, "（未知发件人） — 你好"},
		{"hostile text", api.NewMail{Sender: "\"Ev\u202Eil\r\n\" <e@x>", Subject: "a\r\nb\u202Ec"}, English, "Evil — a bc"},
		{"long parts shortened", api.NewMail{Sender: strings.Repeat("n", 100), Subject: strings.Repeat("s", 100)}, English,
			strings.Repeat("n", maxRecentS-1) + "… — " + strings.Repeat("s", maxRecentT-1) + "…"},
	}
	for _, tt := range tests {
		if got := recentTitle(tt.mail, tt.lang); got != tt.want {
			t.Errorf("%s: recentTitle = %q, want %q", tt.name, got, tt.want)
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
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", "\u202Eevil", "长长长长", "👩\u200D💻", "\xff\xfe", " a  b "} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max%200 + 1
		if max < 1 {
			max += 200
		}
		got := sanitize(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("sanitize(%q, %d) = %q: invalid UTF-8", s, max, got)
		}
		if n := utf8.RuneCountInString(got); n > max {
			t.Fatalf("sanitize(%q, %d) = %q: %d runes", s, max, got, n)
		}
		if strings.TrimSpace(got) != got || strings.Contains(got, "  ") {
			t.Fatalf("sanitize(%q, %d) = %q: stray spaces", s, max, got)
		}
		for _, r := range got {
			if r != ' ' && (unicode.IsSpace(r) || unicode.IsControl(r) || invisible(r)) {
				t.Fatalf("sanitize(%q, %d) = %q: keeps %U", s, max, got, r)
			}
		}
	})
}
