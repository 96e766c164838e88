package trayapp

import (
	"context"
	"log/slog"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/app"
)

func TestUILang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		configured string
		env        map[string]string
		platform   string // the platform's UI language (Windows, macOS)
		want       app.Lang
	}{
		{"config wins", "en", map[string]string{"LANG": "zh_CN.UTF-8"}, "zh-CN", app.English},
		{"config zh", "zh", map[string]string{"LANG": "en_US.UTF-8"}, "", app.Chinese},
		{"auto follows LANG", "", map[string]string{"LANG": "zh_CN.UTF-8"}, "", app.Chinese},
		{"LC_ALL beats LANG", "auto", map[string]string{"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "", app.English},
		{"LANG beats the platform", "", map[string]string{"LANG": "en_US.UTF-8"}, "zh-CN", app.English},
		{"the platform without locale variables", "", map[string]string{}, "zh-CN", app.Chinese},
		{"nothing set", "", map[string]string{}, "", app.English},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tt.env[k] }
			platform := func(context.Context) string { return tt.platform }
			if got := UILang(t.Context(), tt.configured, getenv, platform, slog.New(slog.DiscardHandler)); got != tt.want {
				t.Errorf("UILang = %v, want %v", got, tt.want)
			}
		})
	}
}
