package wire_test

import (
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"keeps plain text", "季度报告 Q3", "季度报告 Q3"},
		{"line breaks become single spaces", "a\r\nb\tc", "a b c"},
		{"drops escapes and NUL", "a\x1b[31mred\x00", "a[31mred"},
		{"drops bidi overrides", "invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"drops invalid UTF-8", "a\xffb", "ab"},
		{"trims", "  x  ", "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wire.Clean(tc.in, 0); got != tc.want {
				t.Fatalf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	t.Run("cuts to max runes", func(t *testing.T) {
		if got := wire.Clean("一二三四五", 3); got != "一二…" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestNewMailLineIsTheWatchLine(t *testing.T) {
	b, err := wire.Marshal(wire.NewMailLine{Time: "T", Event: "new_mail", Alias: "a", MailID: "m", From: `"N" <n@x>`, To: "t", Subject: "s", Summary: "u", Unread: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"T","event":"new_mail","alias":"a","mail_id":"m","from":"\"N\" <n@x>","to":"t","subject":"s","summary":"u","unread":3}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"abc123.42", true}, {"a.b.0", false}, {".1", false}, {"abc.", false}, {"abc.-1", false}, {"ab c.1", false}, {"", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			id, err := wire.ParseID(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseID(%q) = %v, %v", tc.in, id, err)
			}
			if tc.ok && id.String() != tc.in {
				t.Fatalf("round trip: %q → %q", tc.in, id.String())
			}
		})
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"abc.1", "e.18446744073709551615", "..", "a.b.c", "ep.-1", "\x00.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := wire.ParseID(s)
		if err != nil {
			return
		}
		if id.Epoch == "" || id.String() != s && !strings.HasPrefix(s, id.Epoch+".") {
			t.Fatalf("ParseID(%q) = %+v", s, id)
		}
		again, err := wire.ParseID(id.String())
		if err != nil || again != id {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}
