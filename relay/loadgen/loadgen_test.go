//go:build linux

package loadgen_test

import (
	"os"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/relay/loadgen"
)

func TestMain(m *testing.M) {
	loadgen.ChildMain()
	os.Exit(m.Run())
}

func TestASmallRunMeasuresEverySubscriber(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a relay process")
	}
	rep, err := loadgen.Run(t.Context(), loadgen.Options{Subscribers: 40, Mailboxes: 4, Pushes: 8, Burst: 40})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.PerSubscriber) != 8*10 || len(rep.LastPerPush) != 8 || rep.RSSLoaded == 0 || rep.BurstTime == 0 {
		t.Fatalf("report:\n%s", rep)
	}
	t.Logf("\n%s", rep)
}
