package desktop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRotatingFileKeepsThreeOldFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	r, err := openRotating(path, 20, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Each line is 10 bytes: two fit in a file, the third rotates.
	for i := range 9 {
		if _, err := fmt.Fprintf(r, "line %04d\n", i); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	got := map[string]string{}
	for _, n := range []string{"x.log", "x.log.1", "x.log.2", "x.log.3", "x.log.4"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err == nil {
			got[n] = strings.ReplaceAll(string(b), "\n", "|")
		}
	}
	want := map[string]string{
		"x.log":   "line 0008|",
		"x.log.1": "line 0006|line 0007|",
		"x.log.2": "line 0004|line 0005|",
		"x.log.3": "line 0002|line 0003|",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode = %v (%v), want 0600", st.Mode().Perm(), err)
	}
}

func TestRotatingFileAppendsAcrossRestarts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.log")
	for _, s := range []string{"first\n", "second\n"} {
		r, err := openRotating(path, 1<<20, 3)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(r, s)
		r.Close()
	}
	b, _ := os.ReadFile(path)
	if string(b) != "first\nsecond\n" {
		t.Errorf("log = %q, want both runs' lines", b)
	}
	r, _ := openRotating(path, 1<<20, 3)
	r.Close()
	if _, err := fmt.Fprint(r, "late"); err == nil {
		t.Error("write after Close succeeded")
	}
}
