package app

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
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

// Every text the menu can show, in both languages and every state, is
// one short line: at most menuColumns display columns (CJK counting two),
// and the tooltip a line or two. Long explanations go behind Details….
func TestMenuTextsAreShort(t *testing.T) {
	t.Parallel()
	longCN := strings.Repeat("关于第四季度预算审批流程的补充说明", 4)
	longEN := strings.Repeat("Re: build_failed on ci_main — please look ", 4)
	mails := []api.NewMail{
		{MailID: "cn", Sender: `"` + strings.Repeat("欧阳", 20) + `" <a@example.com>`, Subject: longCN},
		{MailID: "en", Sender: `"` + strings.Repeat("Maximilian ", 10) + `" <a@example.com>`, Subject: longEN},
		{MailID: "addr", Sender: strings.Repeat("very.long.address", 5) + "@example.com", Subject: longEN},
		{MailID: "empty"},
	}
	var problems []Problem
	for p := NoProblem; p.String() != "unknown"; p++ {
		problems = append(problems, p)
	}
	check := func(t *testing.T, what, s string, max int) {
		t.Helper()
		if w := safetext.Width(s); w > max {
			t.Errorf("%s is %d columns, more than %d: %q", what, w, max, s)
		}
	}
	for _, lang := range []Lang{English, Chinese} {
		for _, alias := range []string{"", me, strings.Repeat("x", 70) + "@example.com"} {
			for _, p := range problems {
				for _, paused := range []time.Duration{0, time.Hour, 30 * 24 * time.Hour} {
					name := fmt.Sprintf("%s/alias=%d/%v/paused=%v", lang, len(alias), p, paused)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						cfg := Config{Alias: alias, Lang: lang, Version: "v1.2.3-45-g1a2b3c4d-dirty", Problem: p,
							Prefs: Prefs{ShowContent: true}}
						s := newState(cfg, true, t0)
						s.apply(api.StateChanged{State: api.StateOnline}, t0)
						s.apply(api.UnreadChanged{User: alias, Unread: 123456}, t0)
						if paused > 0 {
							s.handle(Pause{For: paused}, t0)
						}
						for i, m := range mails {
							m.User = alias
							m.Unread = 123456 + i
							s.apply(m, t0)
						}
						for _, now := range []time.Time{t0, t0.Add(time.Minute)} {
							m := s.model(now)
							check(t, "Status", m.Status, menuColumns)
							l := reflect.ValueOf(m.Labels)
							for i := range l.NumField() {
								check(t, "Labels."+l.Type().Field(i).Name, l.Field(i).String(), menuColumns)
							}
							for _, r := range m.Recent {
								check(t, "recent mail "+r.MailID, r.Title, menuColumns)
							}
							check(t, "Tooltip", m.Tooltip, tooltipColumns)
						}
					})
				}
			}
		}
	}
}

// The problems an offline or stopped connection shows are short too.
func TestStatusLinesAreShort(t *testing.T) {
	t.Parallel()
	for _, lang := range []Lang{English, Chinese} {
		c := lang.t()
		for name, s := range map[string]string{
			"connecting": c.connecting, "online": c.online, "offline": c.offline,
			"setupHint": c.setupHint, "details": c.details,
		} {
			if w := safetext.Width(s); w > menuColumns {
				t.Errorf("%s %s is %d columns: %q", lang, name, w, s)
			}
		}
		for p := NoProblem; p.String() != "unknown"; p++ {
			if w := safetext.Width(lang.problemStatus(p)); w > menuColumns {
				t.Errorf("%s status of %v is %d columns: %q", lang, p, w, lang.problemStatus(p))
			}
		}
	}
}

func TestMenuLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    api.NewMail
		lang Lang
		want string
	}{
		{"name and subject", api.NewMail{Sender: `"build_bot" <ci@example.com>`, Subject: "build_failed on ci_main"},
			English, "build_bot — build_failed on ci_main"},
		{"no name: the address", api.NewMail{Sender: "ci_bot@example.com", Subject: "hi"},
			English, "ci_bot@example.com — hi"},
		{"nothing", api.NewMail{}, Chinese, "（未知发件人） — （无主题）"},
		{"a long Chinese sender gives up its tail, by columns", api.NewMail{
			Sender: `"` + strings.Repeat("欧阳", 10) + `" <a@example.com>`, Subject: "周报"},
			Chinese, strings.Repeat("欧阳", 5) + "欧… — 周报"},
		{"a long subject fills the line and no more", api.NewMail{
			Sender: `"张伟" <z@example.com>`, Subject: strings.Repeat("预算", 40)},
			Chinese, "张伟 — " + strings.Repeat("预算", 13) + "…"},
		{"hostile text is cleaned first", api.NewMail{Sender: "\"Mallory\u202E\r\n\" <m@example.com>", Subject: "Pay\r\nnow"},
			English, "Mallory — Pay now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := menuLine(tt.m, tt.lang)
			if got != tt.want {
				t.Errorf("menuLine = %q, want %q", got, tt.want)
			}
			if w := safetext.Width(got); w > menuColumns {
				t.Errorf("menuLine is %d columns: %q", w, got)
			}
		})
	}
}
