//go:build windows

package assets

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTrayIsICOOnWindows(t *testing.T) {
	t.Parallel()
	var got []int
	for _, e := range parseICO(t, Tray(LookOnline, 12)) {
		got = append(got, e.W)
	}
	if diff := cmp.Diff(trayICOSizes[:], got); diff != "" {
		t.Errorf("tray ICO sizes (-want +got):\n%s", diff)
	}
}
