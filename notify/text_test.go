package notify

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

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
