package memstore_test

import (
	"errors"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/memstore"
	"github.com/exmail-notifier/exmail-notifier/relay/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db := memstore.New()
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestEachNewIsANewEpoch(t *testing.T) {
	if memstore.New().Epoch() == memstore.New().Epoch() {
		t.Fatal("two stores share an epoch: a client could resume across a restart that lost its events")
	}
}

func TestClosedStoreRefuses(t *testing.T) {
	db := memstore.New()
	db.Close()
	if _, err := db.Mailbox(t.Context(), "bob@example.com"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Mailbox after Close: err = %v, want ErrClosed", err)
	}
}
