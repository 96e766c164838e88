package trayapp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/config"
)

func TestConfigPrefsKeepTheAccount(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.json")
	c := config.New()
	c.Agent, c.Alias = "admin", "bob@example.com"
	if err := config.Save(path, c); err != nil {
		t.Fatal(err)
	}
	until := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	if err := (&ConfigPrefs{Path: path}).SavePrefs(app.Prefs{ShowContent: false, PausedUntil: until}); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Agent != "admin" || got.Alias != "bob@example.com" || got.ShowsContent() || !got.PausedUntil.Equal(until) {
		t.Errorf("after SavePrefs: agent=%q alias=%q showContent=%v paused=%v", got.Agent, got.Alias, got.ShowsContent(), got.PausedUntil)
	}
}

func TestConfigPrefsWithoutAFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := (&ConfigPrefs{Path: path}).SavePrefs(app.Prefs{ShowContent: true}); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(path)
	if err != nil || !got.ShowsContent() || got.HasAccount() {
		t.Errorf("Load = %+v, %v", got, err)
	}
}

func TestTermViewPrintsChangesOnly(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	v := newTermView(&b)
	for _, tip := range []string{"bob — Connecting…", "bob — 3 unread", "bob — 3 unread", "bob — 4 unread"} {
		v.Render(app.Model{Tooltip: tip})
	}
	want := "[tray] bob — Connecting…\n[tray] bob — 3 unread\n[tray] bob — 4 unread\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// A bus check that cannot complete (here its context has already ended)
// means no desktop, and the reason names the bus. The time bound itself is
// tested in tray (TestBusChecksAreBoundedByCtx) against a bus that never
// answers.
func TestHasDesktopUnfinishedBusCheckMeansNoDesktop(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("Windows and macOS always have a desktop")
	}
	getenv := func(k string) string { return map[string]string{"DISPLAY": ":0"}[k] }
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if ok, why := HasDesktop(ctx, getenv); ok || !strings.Contains(why, "no D-Bus session bus") {
		t.Errorf("hasDesktop with the check's context ended = %v, %q; want false and the missing bus", ok, why)
	}
}

func TestHasDesktopNeedsADisplay(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("Windows and macOS always have a desktop")
	}
	if ok, why := HasDesktop(t.Context(), func(string) string { return "" }); ok || why == "" {
		t.Errorf("hasDesktop with no DISPLAY = %v, %q; want false and a reason", ok, why)
	}
}

// TestAppIconIsWrittenOncePerVersion: the notification icon is encoded and
// written at the first start of a version only; an upgrade replaces it.
func TestAppIconIsWrittenOncePerVersion(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	first, err := writeAppIcon("1.0")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(first)
	if err != nil || st.Size() == 0 {
		t.Fatalf("icon %s: %v", first, err)
	}
	past := time.Now().Add(-time.Hour)
	os.Chtimes(first, past, past)
	if again, err := writeAppIcon("1.0"); err != nil || again != first {
		t.Fatalf("second start: %q, %v; want %q", again, err, first)
	}
	if st, _ := os.Stat(first); !st.ModTime().Equal(past) {
		t.Error("the icon was written again at the second start of the same version")
	}
	upgraded, err := writeAppIcon("1.1")
	if err != nil || upgraded == first {
		t.Fatalf("after an upgrade: %q, %v", upgraded, err)
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Errorf("the old version's icon is still there (%v)", err)
	}
}
