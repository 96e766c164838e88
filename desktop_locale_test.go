package main

import (
	"testing"

	"github.com/exmail-notifier/exmail-notifier/app"
)

func TestUILang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		configured string
		env        map[string]string
		want       app.Lang
	}{
		{"config wins", "en", map[string]string{"LANG": "zh_CN.UTF-8"}, app.English},
		{"config zh", "zh", map[string]string{"LANG": "en_US.UTF-8"}, app.Chinese},
		{"auto follows LANG", "", map[string]string{"LANG": "zh_CN.UTF-8"}, app.Chinese},
		{"LC_ALL beats LANG", "auto", map[string]string{"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, app.English},
		{"nothing set", "", map[string]string{}, app.English},
	}
	for _, tt := range tests {
		e := &env{getenv: func(k string) string { return tt.env[k] }}
		if got := e.uiLang(t.Context(), tt.configured); got != tt.want {
			t.Errorf("%s: uiLang = %v, want %v", tt.name, got, tt.want)
		}
	}
}
