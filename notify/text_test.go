package notify

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestCapText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{name: "short text unchanged", in: "New mail from 张三", max: 50, want: "New mail from 张三"},
		{name: "cut with an ellipsis", in: "New mail from 张三", max: 10, want: "New mail…"},
		{name: "fits exactly", in: "0123456789", max: 10, want: "0123456789"},
		{name: "one rune too many", in: "0123456789A", max: 10, want: "012345678…"},
		{name: "cut on runes, not bytes", in: strings.Repeat("邮", 12), max: 10, want: strings.Repeat("邮", 9) + "…"},
		{name: "emoji are one rune each", in: strings.Repeat("📧", 11), max: 10, want: strings.Repeat("📧", 9) + "…"},
		{name: "no trailing space before the ellipsis", in: "abcdefgh  xyz", max: 10, want: "abcdefgh…"},
		{name: "newlines kept, CR dropped", in: "line 1\r\nline 2", max: 50, want: "line 1\nline 2"},
		{name: "controls become spaces", in: "a\tb\x00c\x1bd\u0085e", max: 50, want: "a b c d e"},
		{name: "bidi overrides removed", in: "invoice\u202Egpj.exe\u202C", max: 50, want: "invoicegpj.exe"},
		{name: "invalid UTF-8 replaced", in: "ok\xff\xfe!", max: 50, want: "ok\uFFFD!"},
		{name: "trimmed", in: "  \n hello \n ", max: 50, want: "hello"},
		{name: "empty", in: "", max: 50, want: ""},
		{name: "megabytes", in: strings.Repeat("x", 1<<20), max: 200, want: strings.Repeat("x", 199) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := capText(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("capText(%.40q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > tt.max || !utf8.ValidString(got) {
				t.Errorf("capText(%.40q, %d) has %d runes (valid UTF-8: %v)", tt.in, tt.max, n, utf8.ValidString(got))
			}
		})
	}
}

func TestEscapeMarkup(t *testing.T) {
	t.Parallel()
	got := escapeMarkup(`Q3 <draft> & "notes" 'x'`)
	want := `Q3 &lt;draft&gt; &amp; "notes" 'x'`
	if got != want {
		t.Errorf("escapeMarkup() = %q, want %q", got, want)
	}
}

func TestWindowsSafe(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{name: "plain text unchanged", in: "报价单 (v2) — 请查收", want: "报价单 (v2) — 请查收"},
		{name: "PowerShell subexpression", in: "Total: $(Start-Process calc)", want: "Total: ＄(Start-Process calc)"},
		{name: "PowerShell variable", in: "cost $env:USERNAME", want: "cost ＄env:USERNAME"},
		{name: "backtick escape", in: "a`nb", want: "a｀nb"},
		{name: "here-string terminator on its own line", in: "hi\n\"@\nStart-Process calc\n@\"", want: "hi \"@ Start-Process calc @\""},
		{name: "CRLF", in: "a\r\nb\rc", want: "a b c"},
		{name: "CDATA end", in: "x]]><action content='y'/>", want: "x]]＞<action content='y'/>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := windowsSafe(tt.in); got != tt.want {
				t.Errorf("windowsSafe(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPrinter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := NewPrinter(&buf)
	p.Toast("New mail from 李四", "Subject: Q3\nreport", "mail-1")
	p.Toast("3 new mails", "", "")
	p.Toast(strings.Repeat("t", 250), "b", "")
	want := "[toast] New mail from 李四 — Subject: Q3 report\n" +
		"[toast] 3 new mails\n" +
		"[toast] " + strings.Repeat("t", maxTitle-1) + "… — b\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("Printer output mismatch (-want +got):\n%s", diff)
	}
}
