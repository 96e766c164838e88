package desktop

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// PlatformLocale returns the user's locale from `defaults read -g
// AppleLocale` (e.g. "zh_CN"), bounded by a short timeout.
func PlatformLocale(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "defaults", "read", "-g", "AppleLocale").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
