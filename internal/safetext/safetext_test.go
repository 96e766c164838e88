package safetext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// hostile is every kind of input the rule exists for. Each use is tested
// against all of it (TestEveryUseCleansHostileInput).
var hostile = []struct{ name, in string }{
	{"C0: NUL, BEL, backspace", "a\x00b\x07c\x08d"},
	{"ESC: an OSC that retitles the terminal, then a clear", "user_not_found\x1b]0;PWNED\x07\x1b[2J"},
	{"DEL", "a\x7fb"},
	{"C1: U+009B is a one-character CSI", "a\u009b2Jb\u0085c\u009dd"},
	{"bidi override hides an extension", "invoice\u202Egpj.exe\u202C"},
	{"every bidi control", "\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200F\u061Cx"},
	{"zero-width and BOM", "a\u200Bb\uFEFFc\u2060d\uFFF9e"},
	{"soft hyphen, Mongolian vowel separator, Hangul filler", "a\u00adb\u180ec\u3164d\uffa0e"},
	{"tag characters smuggle hidden ASCII", "ok\U000E0049\U000E0047\U000E004E\U000E004F\U000E0052\U000E0045 done"},
	{"invalid UTF-8", "ok\xff\xfe!\xc3"},
	{"line breaks of every kind", "one\r\ntwo\rthree\nfour\u2028five\u2029six\u0085seven"},
	{"tabs and wide spaces", "a\tb\u00a0c\u3000d"},
	{"very long", strings.Repeat("长x\x1b", 1<<18)},
	{"only hidden characters", "\x00\x1b\u202E\u200B\x7f\u009b"},
}

// TestEveryUseCleansHostileInput holds each use to the rule: valid UTF-8,
// nothing Hidden reports (Lines keeps '\n'), and the length it promises.
func TestEveryUseCleansHostileInput(t *testing.T) {
	t.Parallel()
	const max = 200
	uses := []struct {
		name    string
		clean   func(string) string
		allowed func(rune) bool // a Hidden rune this use may keep
		maxRune int             // 0: no limit
	}{
		{"Line (menu item, toast title, terminal line)", func(s string) string { return Line(s, max) }, nil, max},
		{"Lines (notification body)", func(s string) string { return Lines(s, max) }, func(r rune) bool { return r == '\n' }, max},
		{"Cell (admin table)", Cell, nil, 0},
	}
	for _, u := range uses {
		for _, h := range hostile {
			t.Run(u.name+"/"+h.name, func(t *testing.T) {
				t.Parallel()
				got := u.clean(h.in)
				if !utf8.ValidString(got) {
					t.Fatalf("%.60q is not valid UTF-8", got)
				}
				for _, r := range got {
					if Hidden(r) && (u.allowed == nil || !u.allowed(r)) {
						t.Fatalf("%.60q keeps %U", got, r)
					}
				}
				if n := utf8.RuneCountInString(got); u.maxRune > 0 && n > u.maxRune {
					t.Errorf("%d runes, want at most %d", n, u.maxRune)
				}
			})
		}
	}
	for _, h := range hostile {
		t.Run("JSON (watch, --json)/"+h.name, func(t *testing.T) {
			t.Parallel()
			doc, err := json.Marshal(map[string]string{"subject": h.in})
			if err != nil {
				t.Fatal(err)
			}
			got := JSON(doc)
			for _, r := range string(got) {
				if Hidden(r) && r != utf8.RuneError {
					t.Fatalf("%.60q keeps %U raw", got, r)
				}
			}
			var back, want map[string]string
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("not JSON any more: %v", err)
			}
			json.Unmarshal(doc, &want)
			if back["subject"] != want["subject"] {
				t.Errorf("the value changed: %.60q, want %.60q", back["subject"], want["subject"])
			}
		})
	}
}

func TestLine(t *testing.T) {
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
		{"OSC title and clear lose their ESC and BEL", "user_not_found\x1b]0;PWNED\x07\x1b[2J", 80, "user_not_found]0;PWNED[2J"},
		{"C1 CSI dropped", "a\u009b2Jb", 40, "a2Jb"},
		{"DEL dropped", "a\x7fb", 40, "ab"},
		{"NEL and line separators are breaks", "a\u0085b\u2028c\u2029d", 40, "a b c d"},
		{"NUL dropped", "a\x00b", 40, "ab"},
		{"RLO is dropped", "invoice\u202Egpj.exe", 40, "invoicegpj.exe"},
		{"all bidi controls dropped", "\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200F\u061Cx", 40, "x"},
		{"zero width space and BOM dropped", "a\u200Bb\uFEFFc\u2060d", 40, "abcd"},
		{"ZWJ emoji sequence kept", "👩\u200D💻 done", 40, "👩\u200D💻 done"},
		{"tag characters dropped", "ok\U000E0049\U000E0047\U000E004E done", 40, "ok done"},
		{"soft hyphen and Hangul filler dropped", "in\u00advoice\u3164", 40, "invoice"},
		{"CJK", "关于下周的会议安排", 40, "关于下周的会议安排"},
		{"CJK truncated on a rune", "关于下周的会议安排", 5, "关于下周…"},
		{"emoji truncated on a rune", "🎉🎉🎉🎉🎉🎉", 3, "🎉🎉…"},
		{"exactly max is not cut", "abcde", 5, "abcde"},
		{"one over max is cut", "abcdef", 5, "abcd…"},
		{"no space before the ellipsis", "abc defgh", 5, "abc…"},
		{"trailing white space does not count", "abcde   \n", 5, "abcde"},
		{"invalid UTF-8 dropped", "a\xffb\xc3", 10, "ab"},
		{"max 1", "hello", 1, "…"},
		{"max 0: no limit", strings.Repeat("a", 300), 0, strings.Repeat("a", 300)},
		{"1 MB input", megabyte, 10, strings.Repeat("长", 9) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Line(tt.in, tt.max); got != tt.want {
				t.Errorf("Line(%.40q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short text unchanged", "New mail from 张三", 50, "New mail from 张三"},
		{"cut with an ellipsis", "New mail from 张三", 10, "New mail…"},
		{"one rune too many", "0123456789A", 10, "012345678…"},
		{"cut on runes, not bytes", strings.Repeat("邮", 12), 10, strings.Repeat("邮", 9) + "…"},
		{"newlines kept, CR LF is one", "line 1\r\nline 2", 50, "line 1\nline 2"},
		{"a lone CR and U+2028 break lines too", "a\rb\u2028c", 50, "a\nb\nc"},
		{"blank lines collapse", "a\n\n\n b \n\n", 50, "a\nb"},
		{"white space within a line folds", "a\tb\u0085c", 50, "a b c"},
		{"controls dropped", "a\x00b\x1bc", 50, "abc"},
		{"the break counts toward max", "abcd\nefgh", 6, "abcd…"},
		{"trimmed", "  \n hello \n ", 50, "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Lines(tt.in, tt.max); got != tt.want {
				t.Errorf("Lines(%.40q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestCell(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "研发中心/后端组", "研发中心/后端组"},
		{"tabs and newlines are spaces, not columns", "a\tb\nc", "a b c"},
		{"an escape shows as a mark", "a\x1b[2Jb", "a\uFFFD[2Jb"},
		{"bidi override shows as a mark", "x\u202Ey", "x\uFFFDy"},
		{"invalid UTF-8 shows as a mark", "a\xffb", "a\uFFFDb"},
		{"spaces kept as they are", " a  b ", " a  b "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Cell(tt.in); got != tt.want {
				t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWidth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"bob", 3}, {"张三", 4}, {"研发中心/运维组", 15}, {"ｆｕｌｌ", 8}, {"（无主题）", 10}, {"한국", 4}, {"Emma Wilson", 11},
		{"e\u0301", 1}, {"👩\u200d💻", 4}, {"", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := Width(tt.in); got != tt.want {
				t.Errorf("Width(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestFit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		w    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 5, "abcd…"},
		{"关于下周的会议安排", 9, "关于下周…"},
		{"关于下周的会议安排", 10, "关于下周…"},
		{"ab cd", 4, "ab…"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got := Fit(tt.in, tt.w)
			if got != tt.want || Width(got) > tt.w {
				t.Errorf("Fit(%q, %d) = %q (width %d), want %q", tt.in, tt.w, got, Width(got), tt.want)
			}
		})
	}
}

func TestJSONEscapes(t *testing.T) {
	t.Parallel()
	got := string(JSON([]byte(`{"s":"a` + "\u202e\u009b\x7f" + `b"}`)))
	if want := `{"s":"a\u202e\u009b\u007fb"}`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", "\u202Eevil", "长长长长", "👩\u200D💻", "\xff\xfe", " a  b ", "\x1b]0;x\x07"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max%200 + 1
		if max < 1 {
			max += 200
		}
		for name, got := range map[string]string{"Line": Line(s, max), "Lines": Lines(s, max)} {
			if !utf8.ValidString(got) {
				t.Fatalf("%s(%q, %d) = %q: invalid UTF-8", name, s, max, got)
			}
			if n := utf8.RuneCountInString(got); n > max {
				t.Fatalf("%s(%q, %d) = %q: %d runes", name, s, max, got, n)
			}
			if strings.TrimSpace(got) != got || strings.Contains(got, "  ") {
				t.Fatalf("%s(%q, %d) = %q: stray spaces", name, s, max, got)
			}
			for _, r := range got {
				if r != ' ' && !(name == "Lines" && r == '\n') && (unicode.IsSpace(r) || Hidden(r)) {
					t.Fatalf("%s(%q, %d) = %q: keeps %U", name, s, max, got, r)
				}
			}
		}
	})
}
