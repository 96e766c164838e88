package creds_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/creds"
)

func TestMemoryRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var m creds.Memory

	if _, err := m.Get(ctx, "admin"); !errors.Is(err, creds.ErrNotFound) {
		t.Fatalf("Get on an empty store: err = %v, want ErrNotFound", err)
	}
	if err := m.Set(ctx, "admin", "k1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(ctx, "admin", "k2"); err != nil { // replaces
		t.Fatal(err)
	}
	got, err := m.Get(ctx, "admin")
	if err != nil || got != "k2" {
		t.Fatalf("Get = %q, %v; want k2", got.Reveal(), err)
	}
	if _, err := m.Get(ctx, "other"); !errors.Is(err, creds.ErrNotFound) {
		t.Errorf("Get of another account: err = %v, want ErrNotFound", err)
	}
	if err := m.Delete(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "admin"); !errors.Is(err, creds.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
	if n := m.Len(); n != 0 {
		t.Errorf("Len after Delete = %d, want 0", n)
	}
}

func TestMemoryErr(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	locked := &creds.Error{Op: "get", Account: "admin", Kind: creds.ErrLocked}
	m := creds.Memory{Err: locked}
	if _, err := m.Get(ctx, "admin"); !errors.Is(err, creds.ErrLocked) {
		t.Errorf("Get: err = %v, want ErrLocked", err)
	}
	if err := m.Set(ctx, "admin", "k"); !errors.Is(err, creds.ErrLocked) {
		t.Errorf("Set: err = %v, want ErrLocked", err)
	}
	if err := m.Delete(ctx, "admin"); !errors.Is(err, creds.ErrLocked) {
		t.Errorf("Delete: err = %v, want ErrLocked", err)
	}
	if m.Len() != 0 {
		t.Error("Set with Err stored something")
	}
}

func TestMemoryConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var m creds.Memory
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			acct := string(rune('a' + i))
			if err := m.Set(ctx, acct, api.Secret(acct)); err != nil {
				t.Error(err)
			}
			if _, err := m.Get(ctx, acct); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m.Len() != 8 {
		t.Errorf("Len = %d, want 8", m.Len())
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *creds.Error
		want string
	}{
		{&creds.Error{Op: "get", Account: "admin", Kind: creds.ErrNotFound, Err: errors.New("secret not found in keyring")},
			`creds: reading the interface key of "admin": no interface key stored in the OS keyring`},
		{&creds.Error{Op: "set", Account: "admin", Kind: creds.ErrLocked, Err: errors.New("failed to unlock correct collection '/x'")},
			`creds: storing the interface key of "admin": the keyring is locked: unlock it (e.g. log in to your desktop session, or ` + "`seahorse`" + `) and try again (failed to unlock correct collection '/x')`},
		{&creds.Error{Op: "delete", Account: "admin", Kind: creds.ErrTimeout},
			`creds: deleting the interface key of "admin": the OS keyring did not answer in time; it may be waiting for an unlock prompt, or hung`},
		{&creds.Error{Op: "get", Account: "admin", Err: errors.New("boom")},
			`creds: reading the interface key of "admin": OS keyring: boom`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
		}
	}
}
