package app

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDetectLang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		fallback Lang
		want     Lang
	}{
		{"nothing set gives the fallback", nil, Chinese, Chinese},
		{"nothing set, English fallback", nil, English, English},
		{"LANG zh_CN", map[string]string{"LANG": "zh_CN.UTF-8"}, English, Chinese},
		{"LANG zh_TW is still Chinese", map[string]string{"LANG": "zh_TW.UTF-8"}, English, Chinese},
		{"LANG en_US", map[string]string{"LANG": "en_US.UTF-8"}, Chinese, English},
		{"LANG de_DE means English", map[string]string{"LANG": "de_DE.UTF-8"}, Chinese, English},
		{"LANG C gives the fallback", map[string]string{"LANG": "C.UTF-8"}, Chinese, Chinese},
		{"LANG POSIX gives the fallback", map[string]string{"LANG": "POSIX"}, Chinese, Chinese},
		{"LC_MESSAGES beats LANG", map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, English, Chinese},
		{"LC_ALL beats LC_MESSAGES", map[string]string{"LC_MESSAGES": "zh_CN.UTF-8", "LC_ALL": "en_GB.UTF-8"}, Chinese, English},
		{"LANGUAGE beats the locale", map[string]string{"LANG": "en_US.UTF-8", "LANGUAGE": "zh_CN:en"}, English, Chinese},
		{"LANGUAGE skips unsupported entries", map[string]string{"LANG": "en_US.UTF-8", "LANGUAGE": "fr:de:zh_CN"}, English, Chinese},
		{"LANGUAGE without a supported entry", map[string]string{"LANG": "zh_CN.UTF-8", "LANGUAGE": "fr:de"}, English, Chinese},
		{"LANGUAGE ignored under the C locale", map[string]string{"LANG": "C", "LANGUAGE": "zh_CN"}, English, English},
		{"LANGUAGE ignored without a locale", map[string]string{"LANGUAGE": "zh_CN"}, English, English},
		{"white space is trimmed", map[string]string{"LANG": "  zh_CN.UTF-8 "}, English, Chinese},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tt.env[k] }
			if got := DetectLang(getenv, tt.fallback); got != tt.want {
				t.Errorf("DetectLang(%v, %q) = %q, want %q", tt.env, tt.fallback, got, tt.want)
			}
		})
	}
}

func TestParseLang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Lang
		ok   bool
	}{
		{"zh", Chinese, true},
		{"ZH", Chinese, true},
		{"zh-CN", Chinese, true},
		{"zh_CN.UTF-8", Chinese, true},
		{"zh-Hans", Chinese, true},
		{"en", English, true},
		{"en_US", English, true},
		{" en-GB ", English, true},
		{"", "", false},
		{"auto", "", false},
		{"zhx", "", false},
		{"fr", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseLang(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseLang(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// Every message exists in both languages, and the Chinese one differs
// wherever the text is more than a program name or a layout.
func TestCatalogComplete(t *testing.T) {
	t.Parallel()
	same := map[string]bool{"aboutTitle": true} // "exmail-notifier %s" in both
	en := reflect.ValueOf(*catalog[English])
	zh := reflect.ValueOf(*catalog[Chinese])
	for i := range en.NumField() {
		name := en.Type().Field(i).Name
		e, z := en.Field(i).String(), zh.Field(i).String()
		if e == "" || z == "" {
			t.Errorf("%s: en %q, zh %q; both must be set", name, e, z)
		}
		if e == z && !same[name] {
			t.Errorf("%s: zh is the English text %q", name, e)
		}
		if strings.Count(e, "%") != strings.Count(z, "%") {
			t.Errorf("%s: en %q and zh %q take different arguments", name, e, z)
		}
	}
	if len(catalog) != 2 {
		t.Errorf("catalog has %d languages, want 2", len(catalog))
	}
}

func TestNewMailsTitle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang Lang
		n    int
		want string
	}{
		{English, 1, "1 new mail"},
		{English, 12, "12 new mails"},
		{Chinese, 1, "1 封新邮件"},
		{Chinese, 12, "12 封新邮件"},
		{Lang("fr"), 2, "2 new mails"}, // unknown languages fall back to English
	}
	for _, tt := range tests {
		if got := tt.lang.newMailsTitle(tt.n); got != tt.want {
			t.Errorf("%q.newMailsTitle(%d) = %q, want %q", tt.lang, tt.n, got, tt.want)
		}
	}
}

func TestWhen(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 26, 22, 30, 0, 0, loc)
	tests := []struct {
		lang Lang
		t    time.Time
		want string
	}{
		{English, now.Add(time.Hour), "23:30"},
		{English, time.Date(2026, 11, 27, 8, 0, 0, 0, loc), "tomorrow 08:00"},
		{Chinese, time.Date(2026, 11, 27, 8, 0, 0, 0, loc), "明天 08:00"},
		{English, time.Date(2026, 12, 1, 8, 0, 0, 0, loc), "Dec 1 08:00"},
		{Chinese, time.Date(2026, 12, 1, 8, 0, 0, 0, loc), "12月1日 08:00"},
		{English, time.Date(2026, 12, 31, 9, 5, 0, 0, loc), "Dec 31 09:05"},
	}
	for _, tt := range tests {
		if got := tt.lang.when(tt.t, now); got != tt.want {
			t.Errorf("%q.when(%v) = %q, want %q", tt.lang, tt.t, got, tt.want)
		}
	}
}
