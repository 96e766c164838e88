package settings

import (
	"strings"
	"testing"
)

func TestCatalogComplete(t *testing.T) {
	for m := msg(0); m < numMsgs; m++ {
		en, zh := catalog[m][0], catalog[m][1]
		if en == "" || zh == "" {
			t.Errorf("message %d: en %q zh %q", m, en, zh)
		}
		if strings.Count(en, "%") != strings.Count(zh, "%") {
			t.Errorf("message %d: the two languages take different arguments: %q %q", m, en, zh)
		}
	}
}

func TestParseTimeOfDay(t *testing.T) {
	tests := []struct {
		in   string
		want TimeOfDay
		ok   bool
	}{
		{"20:00", 20 * 60, true},
		{"08:05", 8*60 + 5, true},
		{"8:05", 8*60 + 5, true},
		{"00:00", 0, true},
		{"23:59", 23*60 + 59, true},
		{"24:00", 0, false},
		{"12:60", 0, false},
		{"-1:00", 0, false},
		{"", 0, false},
		{"1200", 0, false},
		{"12:0", 0, false},
		{"12:00:00", 0, false},
		{"ab:cd", 0, false},
		{"1:5x", 0, false},
		{"+1:05", 0, false},
		{"-0:05", 0, false},
		{" 8:05", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimeOfDay(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("got %v, %v; want %v ok=%v", got, err, tt.want, tt.ok)
			}
			if tt.ok && ParseTimeOfDay2(got.String()) != got {
				t.Fatalf("%v does not round-trip", got)
			}
		})
	}
}

func ParseTimeOfDay2(s string) TimeOfDay { t, _ := ParseTimeOfDay(s); return t }

func TestEscape(t *testing.T) {
	if got := esc(`<a href="x">'&'</a>`); got != "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;" {
		t.Fatal(got)
	}
}
