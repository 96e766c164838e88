package sqlite_test

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/sqlite"
	"github.com/exmail-notifier/exmail-notifier/relay/store/storetest"
)

func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "relay.db"))
	})
}

func TestReopenKeepsEpochAndEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	a := open(t, path)
	if _, err := a.Append(t.Context(), store.Event{Alias: "bob@example.com", Kind: "unread", Unread: 1, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	epoch := a.Epoch()
	a.Close()
	b := open(t, path)
	if b.Epoch() != epoch {
		t.Fatalf("epoch changed across reopen: %q → %q", epoch, b.Epoch())
	}
	if m, _ := b.Mailbox(t.Context(), "bob@example.com"); m.LastSeq != 1 {
		t.Fatalf("LastSeq after reopen = %d, want 1", m.LastSeq)
	}
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	var wg sync.WaitGroup
	epochs := make([]string, 6)
	for i := range epochs {
		wg.Go(func() {
			db, err := sqlite.Open(t.Context(), path, sqlite.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			epochs[i] = db.Epoch()
			db.Close()
		})
	}
	wg.Wait()
	for _, e := range epochs {
		if e != epochs[0] {
			t.Fatalf("concurrent opens saw different epochs: %v", epochs)
		}
	}
}

func TestTokensAndCodesAreStoredOnlyAsHashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	db := open(t, path)
	code, tok := store.NewCode(), store.NewToken()
	if err := db.AddCode(t.Context(), store.HashSecret(code), "bob@example.com", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Enroll(t.Context(), store.HashSecret(code), store.HashSecret(tok), "laptop", time.Now()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for name, s := range map[string]string{"token": tok.Reveal(), "code": code.Reveal(), "token body": tok.Reveal()[8:], "code body": code.Reveal()[8:]} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains the raw %s", filepath.Base(f), name)
			}
		}
	}
}

func TestAnEditedAuditLineIsDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	db := open(t, path)
	for _, action := range []string{"enroll", "sso", "revoke"} {
		if err := db.AddAudit(t.Context(), store.Audit{Device: "d_1", Alias: "bob@example.com", Action: action, Source: "cli", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, tc := range []struct{ name, stmt string }{
		{"a changed result", `UPDATE audit SET result='denied' WHERE action='sso'`},
		{"a deleted line", `DELETE FROM audit WHERE action='enroll'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := raw.Exec(tc.stmt); err != nil {
				t.Fatal(err)
			}
			if _, err := db.VerifyAudit(t.Context()); !errors.Is(err, store.ErrAuditTampered) {
				t.Fatalf("VerifyAudit: %v, want ErrAuditTampered", err)
			}
		})
	}
}
