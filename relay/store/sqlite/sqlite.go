// Package sqlite is the relay's default Store: one SQLite file through
// modernc.org/sqlite (pure Go, no cgo), in WAL mode with synchronous=FULL,
// so that an Append has reached the disk when it returns, and so that the
// admin commands can read and write the database while "serve" runs.
package sqlite

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

// Options tunes Open. Zero fields take the defaults noted.
type Options struct {
	// BusyTimeout is how long a statement waits for another connection's
	// (or process's) write lock. Default 10 s.
	BusyTimeout time.Duration
	// MaxConns bounds the pool. Default 8.
	MaxConns int
}

// DB is a store.Store on one SQLite file.
type DB struct {
	db    *sql.DB
	epoch string
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. Migrations run once, inside one write transaction,
// so concurrent Opens of the same file (serve and an admin command)
// serialise on SQLite's lock and each sees a finished schema.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("relay store: empty database path")
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 8
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_txlock", "immediate") // writers take the lock at BEGIN: no upgrade deadlocks
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("relay store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	d := &DB{db: db}
	// A fresh file's switch to WAL takes a lock that does not wait on the
	// busy timeout: concurrent first opens retry.
	deadline := time.Now().Add(opts.BusyTimeout)
	for err = d.migrate(ctx); busy(err) && time.Now().Before(deadline); err = d.migrate(ctx) {
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("relay store: %s: %w", path, err)
	}
	return d, nil
}

// busy reports SQLITE_BUSY and SQLITE_LOCKED, primary or extended.
func busy(err error) bool {
	var c interface{ Code() int }
	if !errors.As(err, &c) {
		return false
	}
	return c.Code()&0xff == 5 || c.Code()&0xff == 6
}

// migrations are applied in order; migrations[i] brings the schema to
// version i+1. Never edit one that has shipped: append a new one.
var migrations = []string{
	`CREATE TABLE devices(
		id         TEXT PRIMARY KEY,
		alias      TEXT NOT NULL,
		name       TEXT NOT NULL,
		token_hash BLOB NOT NULL UNIQUE,
		created    INTEGER NOT NULL,
		last_seen  INTEGER NOT NULL DEFAULT 0,
		revoked    INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX devices_alias ON devices(alias, revoked);
	CREATE TABLE enroll_codes(
		hash    BLOB PRIMARY KEY,
		alias   TEXT NOT NULL,
		expires INTEGER NOT NULL,
		used    INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE mailboxes(
		alias    TEXT PRIMARY KEY,
		last_seq INTEGER NOT NULL DEFAULT 0,
		pruned   INTEGER NOT NULL DEFAULT 0,
		unread   INTEGER NOT NULL DEFAULT -1
	);
	CREATE TABLE events(
		alias    TEXT NOT NULL,
		seq      INTEGER NOT NULL,
		kind     TEXT NOT NULL,
		mail_id  TEXT,
		unread   INTEGER NOT NULL,
		json     BLOB NOT NULL,
		time     INTEGER NOT NULL,
		stripped INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY(alias, seq)
	) WITHOUT ROWID;
	CREATE UNIQUE INDEX events_mail ON events(alias, mail_id) WHERE mail_id IS NOT NULL;
	CREATE INDEX events_time ON events(time);
	CREATE TABLE audit(
		n      INTEGER PRIMARY KEY AUTOINCREMENT,
		time   INTEGER NOT NULL,
		device TEXT NOT NULL,
		alias  TEXT NOT NULL,
		action TEXT NOT NULL,
		source TEXT NOT NULL,
		result TEXT NOT NULL
	);
	CREATE INDEX audit_time ON audit(time);
	CREATE TABLE revocations(
		n      INTEGER PRIMARY KEY AUTOINCREMENT,
		device TEXT NOT NULL
	);`,
	// 2: the audit trail becomes a hash chain (store.AuditHash). Lines
	// written before have no hash and are not part of the chain.
	`ALTER TABLE audit ADD COLUMN hash BLOB;`,
}

// SchemaVersion is the schema version this code writes.
var SchemaVersion = len(migrations)

func (d *DB) migrate(ctx context.Context) error {
	tx, err := d.db.BeginTx(ctx, nil) // immediate: the write lock is ours
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key='schema_version'`).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("migrate: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program (%d); upgrade exmail-relay", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('schema_version', ?)
		ON CONFLICT(key) DO UPDATE SET value=excluded.value`, len(migrations)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('epoch', ?) ON CONFLICT(key) DO NOTHING`, hex.EncodeToString(b[:])); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='epoch'`).Scan(&d.epoch); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return tx.Commit()
}

func (d *DB) Epoch() string { return d.epoch }

func (d *DB) Close() error { return d.db.Close() }

func (d *DB) AddCode(ctx context.Context, code store.Hash, alias string, expires time.Time) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO enroll_codes(hash, alias, expires) VALUES(?, ?, ?)`,
		code[:], store.NormAlias(alias), store.UnixNanos(expires))
	if err != nil {
		return fmt.Errorf("relay store: add code: %w", err)
	}
	return nil
}

func (d *DB) Enroll(ctx context.Context, code, token store.Hash, name string, now time.Time) (store.Device, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return store.Device{}, fmt.Errorf("relay store: enroll: %w", err)
	}
	defer tx.Rollback()
	var (
		alias         string
		expires, used int64
	)
	err = tx.QueryRowContext(ctx, `SELECT alias, expires, used FROM enroll_codes WHERE hash=?`, code[:]).Scan(&alias, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Device{}, store.ErrCodeInvalid
	case err != nil:
		return store.Device{}, fmt.Errorf("relay store: enroll: %w", err)
	case used != 0, now.UnixNano() >= expires:
		return store.Device{}, store.ErrCodeInvalid
	}
	dev := store.Device{ID: store.NewDeviceID(), Alias: alias, Name: name, Created: now}
	if _, err := tx.ExecContext(ctx, `UPDATE enroll_codes SET used=? WHERE hash=?`, store.UnixNanos(now), code[:]); err != nil {
		return store.Device{}, fmt.Errorf("relay store: enroll: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO devices(id, alias, name, token_hash, created) VALUES(?, ?, ?, ?, ?)`,
		dev.ID, dev.Alias, dev.Name, token[:], store.UnixNanos(now)); err != nil {
		return store.Device{}, fmt.Errorf("relay store: enroll: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return store.Device{}, fmt.Errorf("relay store: enroll: %w", err)
	}
	return dev, nil
}

const deviceCols = `id, alias, name, created, last_seen, revoked`

func scanDevice(sc interface{ Scan(...any) error }) (store.Device, error) {
	var (
		d                      store.Device
		created, seen, revoked int64
	)
	if err := sc.Scan(&d.ID, &d.Alias, &d.Name, &created, &seen, &revoked); err != nil {
		return store.Device{}, err
	}
	d.Created, d.LastSeen, d.Revoked = store.FromUnixNanos(created), store.FromUnixNanos(seen), store.FromUnixNanos(revoked)
	return d, nil
}

func (d *DB) DeviceByToken(ctx context.Context, token store.Hash) (store.Device, error) {
	dev, err := scanDevice(d.db.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE token_hash=?`, token[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Device{}, store.ErrNotFound
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("relay store: device: %w", err)
	}
	return dev, nil
}

func (d *DB) Seen(ctx context.Context, id string, now time.Time) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE devices SET last_seen=? WHERE id=?`, store.UnixNanos(now), id); err != nil {
		return fmt.Errorf("relay store: seen: %w", err)
	}
	return nil
}

func (d *DB) Devices(ctx context.Context) ([]store.Device, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("relay store: devices: %w", err)
	}
	defer rows.Close()
	var out []store.Device
	for rows.Next() {
		dev, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("relay store: devices: %w", err)
		}
		out = append(out, dev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("relay store: devices: %w", err)
	}
	return out, nil
}

func (d *DB) Revoke(ctx context.Context, id string, now time.Time) (store.Device, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return store.Device{}, fmt.Errorf("relay store: revoke: %w", err)
	}
	defer tx.Rollback()
	if _, err := d.revoke(ctx, tx, `id=?`, id, now); err != nil {
		return store.Device{}, err
	}
	dev, err := scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Device{}, store.ErrNotFound
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("relay store: revoke: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return store.Device{}, fmt.Errorf("relay store: revoke: %w", err)
	}
	return dev, nil
}

func (d *DB) RevokeAlias(ctx context.Context, alias string, now time.Time) ([]store.Device, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("relay store: revoke: %w", err)
	}
	defer tx.Rollback()
	devs, err := d.revoke(ctx, tx, `alias=?`, store.NormAlias(alias), now)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("relay store: revoke: %w", err)
	}
	return devs, nil
}

// revoke revokes the active devices matching where (one placeholder) and
// records a revocation for each.
func (d *DB) revoke(ctx context.Context, tx *sql.Tx, where string, arg any, now time.Time) ([]store.Device, error) {
	rows, err := tx.QueryContext(ctx, `UPDATE devices SET revoked=? WHERE revoked=0 AND `+where+` RETURNING `+deviceCols, store.UnixNanos(now), arg)
	if err != nil {
		return nil, fmt.Errorf("relay store: revoke: %w", err)
	}
	var devs []store.Device
	for rows.Next() {
		dev, err := scanDevice(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("relay store: revoke: %w", err)
		}
		devs = append(devs, dev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("relay store: revoke: %w", err)
	}
	for _, dev := range devs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO revocations(device) VALUES(?)`, dev.ID); err != nil {
			return nil, fmt.Errorf("relay store: revoke: %w", err)
		}
	}
	return devs, nil
}

func (d *DB) Revocations(ctx context.Context, after int64) ([]string, int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT n, device FROM revocations WHERE n>? ORDER BY n`, after)
	if err != nil {
		return nil, after, fmt.Errorf("relay store: revocations: %w", err)
	}
	defer rows.Close()
	var ids []string
	last := after
	for rows.Next() {
		var id string
		if err := rows.Scan(&last, &id); err != nil {
			return nil, after, fmt.Errorf("relay store: revocations: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, after, fmt.Errorf("relay store: revocations: %w", err)
	}
	return ids, last, nil
}

func (d *DB) Enrolled(ctx context.Context, alias string) (bool, error) {
	var one int
	err := d.db.QueryRowContext(ctx, `SELECT 1 FROM devices WHERE alias=? AND revoked=0 LIMIT 1`, store.NormAlias(alias)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("relay store: enrolled: %w", err)
	}
	return true, nil
}

func (d *DB) Aliases(ctx context.Context) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT DISTINCT alias FROM devices WHERE revoked=0 ORDER BY alias`)
	if err != nil {
		return nil, fmt.Errorf("relay store: aliases: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("relay store: aliases: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("relay store: aliases: %w", err)
	}
	return out, nil
}

func (d *DB) Append(ctx context.Context, ev store.Event) (store.Event, error) {
	out, err := d.AppendBatch(ctx, []store.Event{ev})
	switch {
	case err != nil:
		return store.Event{}, err
	case len(out) == 0:
		return store.Event{}, store.ErrDuplicate
	}
	return out[0], nil
}

func (d *DB) AppendBatch(ctx context.Context, evs []store.Event) ([]store.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("relay store: append: %w", err)
	}
	defer tx.Rollback()
	out := make([]store.Event, 0, len(evs))
	for _, ev := range evs {
		ev.Alias = store.NormAlias(ev.Alias)
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		var mailID any // NULL for events without one: the unique index ignores them
		if ev.MailID != "" {
			mailID = ev.MailID
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM events WHERE alias=? AND mail_id=?`, ev.Alias, ev.MailID).Scan(&one)
			if err == nil {
				continue // a duplicate
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("relay store: append: %w", err)
			}
		}
		var seq int64
		err = tx.QueryRowContext(ctx, `INSERT INTO mailboxes(alias, last_seq, unread) VALUES(?, 1, ?)
			ON CONFLICT(alias) DO UPDATE SET last_seq=last_seq+1, unread=excluded.unread
			RETURNING last_seq`, ev.Alias, ev.Unread).Scan(&seq)
		if err != nil {
			return nil, fmt.Errorf("relay store: append: %w", err)
		}
		ev.Seq = uint64(seq)
		if _, err := tx.ExecContext(ctx, `INSERT INTO events(alias, seq, kind, mail_id, unread, json, time) VALUES(?, ?, ?, ?, ?, ?, ?)`,
			ev.Alias, seq, ev.Kind, mailID, ev.Unread, ev.Data, store.UnixNanos(ev.Time)); err != nil {
			return nil, fmt.Errorf("relay store: append: %w", err)
		}
		out = append(out, ev)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("relay store: append: %w", err)
	}
	return out, nil
}

func (d *DB) Mailbox(ctx context.Context, alias string) (store.Mailbox, error) {
	m := store.Mailbox{Alias: store.NormAlias(alias), Unread: -1}
	var last, pruned int64
	err := d.db.QueryRowContext(ctx, `SELECT last_seq, pruned, unread FROM mailboxes WHERE alias=?`, m.Alias).Scan(&last, &pruned, &m.Unread)
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil
	}
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("relay store: mailbox: %w", err)
	}
	m.LastSeq, m.Pruned = uint64(last), uint64(pruned)
	return m, nil
}

func (d *DB) EventsAfter(ctx context.Context, alias string, after uint64, limit int) ([]store.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := d.db.QueryContext(ctx, `SELECT seq, kind, COALESCE(mail_id, ''), unread, json, time FROM events
		WHERE alias=? AND seq>? ORDER BY seq LIMIT ?`, store.NormAlias(alias), int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("relay store: events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		ev := store.Event{Alias: store.NormAlias(alias)}
		var seq, t int64
		if err := rows.Scan(&seq, &ev.Kind, &ev.MailID, &ev.Unread, &ev.Data, &t); err != nil {
			return nil, fmt.Errorf("relay store: events: %w", err)
		}
		ev.Seq, ev.Time = uint64(seq), store.FromUnixNanos(t)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("relay store: events: %w", err)
	}
	return out, nil
}

func (d *DB) Prune(ctx context.Context, r store.Retention, now time.Time) (int, error) {
	r = r.WithDefaults()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("relay store: prune: %w", err)
	}
	defer tx.Rollback()
	// The cut of each mailbox: everything at or below it goes. It is the
	// larger of "beyond MaxEvents" and "the newest event older than MaxAge".
	rows, err := tx.QueryContext(ctx, `SELECT m.alias, MAX(m.last_seq - ?, COALESCE((SELECT MAX(seq) FROM events e WHERE e.alias=m.alias AND e.time<?), 0))
		FROM mailboxes m`, r.MaxEvents, now.Add(-r.MaxAge).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("relay store: prune: %w", err)
	}
	cuts := map[string]int64{}
	for rows.Next() {
		var a string
		var cut int64
		if err := rows.Scan(&a, &cut); err != nil {
			rows.Close()
			return 0, fmt.Errorf("relay store: prune: %w", err)
		}
		if cut > 0 {
			cuts[a] = cut
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("relay store: prune: %w", err)
	}
	deleted := 0
	for a, cut := range cuts {
		res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE alias=? AND seq<=?`, a, cut)
		if err != nil {
			return 0, fmt.Errorf("relay store: prune: %w", err)
		}
		n, _ := res.RowsAffected()
		deleted += int(n)
		if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET pruned=MAX(pruned, ?) WHERE alias=?`, cut, a); err != nil {
			return 0, fmt.Errorf("relay store: prune: %w", err)
		}
	}
	// Content goes sooner than the counts.
	type row struct {
		alias string
		seq   int64
		data  []byte
	}
	var strip []row
	rows, err = tx.QueryContext(ctx, `SELECT alias, seq, json FROM events WHERE kind=? AND stripped=0 AND time<?`,
		wire.KindNewMail, now.Add(-r.ContentAge).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("relay store: prune: %w", err)
	}
	for rows.Next() {
		var x row
		if err := rows.Scan(&x.alias, &x.seq, &x.data); err != nil {
			rows.Close()
			return 0, fmt.Errorf("relay store: prune: %w", err)
		}
		strip = append(strip, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("relay store: prune: %w", err)
	}
	for _, x := range strip {
		if _, err := tx.ExecContext(ctx, `UPDATE events SET json=?, stripped=1 WHERE alias=? AND seq=?`,
			wire.StripContent(x.data), x.alias, x.seq); err != nil {
			return 0, fmt.Errorf("relay store: prune: %w", err)
		}
	}
	// Devices idle for too long are revoked, like any revocation.
	idle, err := d.revoke(ctx, tx, `MAX(created, last_seen)<?`, now.Add(-r.DeviceIdle).UnixNano(), now)
	if err != nil {
		return 0, err
	}
	// Codes that can no longer be used are kept a day for the audit's sake.
	if _, err := tx.ExecContext(ctx, `DELETE FROM enroll_codes WHERE expires<?`, now.Add(-24*time.Hour).UnixNano()); err != nil {
		return 0, fmt.Errorf("relay store: prune: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("relay store: prune: %w", err)
	}
	if err := store.AuditIdle(ctx, d, idle, now); err != nil {
		return deleted, err
	}
	return deleted, nil
}

func (d *DB) AddAudit(ctx context.Context, a store.Audit) error {
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	a.Alias = store.NormAlias(a.Alias)
	tx, err := d.db.BeginTx(ctx, nil) // immediate: the chain's tail cannot move under us
	if err != nil {
		return fmt.Errorf("relay store: audit: %w", err)
	}
	defer tx.Rollback()
	var prev []byte
	err = tx.QueryRowContext(ctx, `SELECT hash FROM audit WHERE hash IS NOT NULL ORDER BY n DESC LIMIT 1`).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("relay store: audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit(time, device, alias, action, source, result, hash) VALUES(?, ?, ?, ?, ?, ?, ?)`,
		store.UnixNanos(a.Time), a.Device, a.Alias, a.Action, a.Source, a.Result, store.AuditHash(prev, a)); err != nil {
		return fmt.Errorf("relay store: audit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("relay store: audit: %w", err)
	}
	return nil
}

func (d *DB) VerifyAudit(ctx context.Context) (int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT n, time, device, alias, action, source, result, hash FROM audit WHERE hash IS NOT NULL ORDER BY n`)
	if err != nil {
		return 0, fmt.Errorf("relay store: audit: %w", err)
	}
	defer rows.Close()
	var prev []byte
	checked := 0
	for rows.Next() {
		var (
			a    store.Audit
			n, t int64
			hash []byte
		)
		if err := rows.Scan(&n, &t, &a.Device, &a.Alias, &a.Action, &a.Source, &a.Result, &hash); err != nil {
			return checked, fmt.Errorf("relay store: audit: %w", err)
		}
		a.Time = time.Unix(0, t)
		if !bytes.Equal(store.AuditHash(prev, a), hash) {
			return checked, fmt.Errorf("%w at line %d", store.ErrAuditTampered, n)
		}
		prev = hash
		checked++
	}
	return checked, rows.Err()
}

func (d *DB) AuditSince(ctx context.Context, since time.Time) ([]store.Audit, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT time, device, alias, action, source, result FROM audit WHERE time>=? ORDER BY n`, store.UnixNanos(since))
	if err != nil {
		return nil, fmt.Errorf("relay store: audit: %w", err)
	}
	defer rows.Close()
	var out []store.Audit
	for rows.Next() {
		var a store.Audit
		var t int64
		if err := rows.Scan(&t, &a.Device, &a.Alias, &a.Action, &a.Source, &a.Result); err != nil {
			return nil, fmt.Errorf("relay store: audit: %w", err)
		}
		a.Time = store.FromUnixNanos(t)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("relay store: audit: %w", err)
	}
	return out, nil
}
