package desktop

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFile is this process's file-backed resident memory, in kB.
func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// TrimResident gives the binary's touched code pages back, and the program
// goes on working (the pages fault back in from the page cache).
func TestTrimResident(t *testing.T) {
	before := rssFile(t)
	n, err := TrimResident()
	if err != nil {
		t.Skipf("this kernel does not take MADV_PAGEOUT: %v", err)
	}
	after := rssFile(t)
	if n == 0 || after >= before {
		t.Errorf("advised %d bytes; file-backed RSS %d kB → %d kB, want less", n, before, after)
	}
	if _, err := os.ReadFile("/proc/self/status"); err != nil { // still runs
		t.Fatal(err)
	}
	t.Logf("advised %d bytes of mappings; file-backed RSS %d kB → %d kB", n, before, after)
}
