package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/relay/store"
)

func TestAVersion1DatabaseIsMigratedOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		migrations[0],
		`INSERT INTO meta VALUES('schema_version', '1'), ('epoch', 'old0epoch')`,
		`INSERT INTO audit(time, device, alias, action, source, result) VALUES(1, '', 'bob@example.com', 'code', 'cli', 'ok')`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	db.db.QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE key='schema_version'`).Scan(&v)
	if v != SchemaVersion || db.Epoch() != "old0epoch" {
		t.Fatalf("schema %d, epoch %q; want %d and the old epoch", v, db.Epoch(), SchemaVersion)
	}
	if err := db.AddAudit(t.Context(), store.Audit{Action: "sso", Source: "cli", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.VerifyAudit(t.Context()); n != 1 || err != nil {
		t.Fatalf("VerifyAudit = %d, %v; want the one chained line (the older one predates the chain)", n, err)
	}
	if lines, _ := db.AuditSince(t.Context(), store.FromUnixNanos(1)); len(lines) != 2 {
		t.Fatalf("%d audit lines, want 2", len(lines))
	}
}
