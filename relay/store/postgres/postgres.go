// Package postgres is a store.Store on PostgreSQL (pgx), for running
// several relay nodes on one database. It passes the same conformance
// suite (relay/store/storetest) as the SQLite store.
//
// For scale-out (relay/cluster) it also provides the upstream lease
// (AcquireLease: a session advisory lock on a pinned connection, with a
// fencing term incremented on every takeover), fenced appends (Fenced),
// LastSeqs for the nodes' gap sweeps, and a cluster-wide rate limiter
// (Limit). The lease needs a direct connection, or a session-mode pooler:
// behind a transaction-mode pooler (PgBouncer pool_mode=transaction) a
// session advisory lock is not tied to the node's connection, and two
// nodes may both believe they hold it (fencing still refuses the stale
// one's writes, but both would hold an upstream listen).
//
// Not yet here: events partitioned by day.
package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

// DB is a store.Store on one PostgreSQL database.
type DB struct {
	pool  *pgxpool.Pool
	epoch string
}

var _ store.Store = (*DB)(nil)

// migrationLock is the advisory lock key that serialises migrations
// across nodes ("exrelay" in ASCII).
const migrationLock = 0x65787265_6c6179

// migrations[i] brings the schema to version i+1. Never edit a shipped one.
var migrations = []string{
	`CREATE TABLE devices(
		id         text PRIMARY KEY,
		alias      text NOT NULL,
		name       text NOT NULL,
		token_hash bytea NOT NULL UNIQUE,
		created    bigint NOT NULL,
		last_seen  bigint NOT NULL DEFAULT 0,
		revoked    bigint NOT NULL DEFAULT 0
	);
	CREATE INDEX devices_alias ON devices(alias, revoked);
	CREATE TABLE enroll_codes(
		hash    bytea PRIMARY KEY,
		alias   text NOT NULL,
		expires bigint NOT NULL,
		used    bigint NOT NULL DEFAULT 0
	);
	CREATE TABLE mailboxes(
		alias    text PRIMARY KEY,
		last_seq bigint NOT NULL DEFAULT 0,
		pruned   bigint NOT NULL DEFAULT 0,
		unread   bigint NOT NULL DEFAULT -1
	);
	CREATE TABLE events(
		alias    text NOT NULL,
		seq      bigint NOT NULL,
		kind     text NOT NULL,
		mail_id  text,
		unread   bigint NOT NULL,
		json     bytea NOT NULL,
		time     bigint NOT NULL,
		stripped boolean NOT NULL DEFAULT false,
		PRIMARY KEY(alias, seq)
	);
	CREATE UNIQUE INDEX events_mail ON events(alias, mail_id) WHERE mail_id IS NOT NULL;
	CREATE INDEX events_time ON events(time);
	CREATE TABLE audit(
		n      bigserial PRIMARY KEY,
		time   bigint NOT NULL,
		device text NOT NULL,
		alias  text NOT NULL,
		action text NOT NULL,
		source text NOT NULL,
		result text NOT NULL
	);
	CREATE INDEX audit_time ON audit(time);
	CREATE TABLE revocations(
		n      bigserial PRIMARY KEY,
		device text NOT NULL
	);`,
	// 2: the audit trail becomes a hash chain (store.AuditHash).
	`ALTER TABLE audit ADD COLUMN hash bytea;`,
	// 3: scale-out. The upstream holder's fencing term (one row; every
	// takeover increments it), the term each event was written under
	// (0: unfenced), and the cluster-wide rate limiter's buckets.
	`CREATE TABLE holder(id int PRIMARY KEY CHECK (id = 1), term bigint NOT NULL, since bigint NOT NULL DEFAULT 0);
	INSERT INTO holder(id, term) VALUES(1, 0);
	ALTER TABLE events ADD COLUMN term bigint NOT NULL DEFAULT 0;
	CREATE TABLE limits(key text PRIMARY KEY, tokens double precision NOT NULL, at bigint NOT NULL);`,
}

// Open connects to dsn (postgres://…) and brings the schema up to date,
// under an advisory lock so that nodes starting together migrate once.
func Open(ctx context.Context, dsn string) (*DB, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("relay store: postgres: %w", err)
	}
	d := &DB{pool: pool}
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("relay store: postgres: %w", err)
	}
	return d, nil
}

func (d *DB) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS meta(key text PRIMARY KEY, value text NOT NULL)`); err != nil {
			return err
		}
		var v int
		err := tx.QueryRow(ctx, `SELECT value::int FROM meta WHERE key='schema_version'`).Scan(&v)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this program (%d); upgrade exmail-relay", v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO meta(key, value) VALUES('schema_version', $1)
			ON CONFLICT(key) DO UPDATE SET value=excluded.value`, fmt.Sprint(len(migrations))); err != nil {
			return err
		}
		var b [6]byte
		rand.Read(b[:])
		if _, err := tx.Exec(ctx, `INSERT INTO meta(key, value) VALUES('epoch', $1) ON CONFLICT(key) DO NOTHING`, hex.EncodeToString(b[:])); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM meta WHERE key='epoch'`).Scan(&d.epoch)
	})
}

func (d *DB) Epoch() string { return d.epoch }

func (d *DB) Close() error { d.pool.Close(); return nil }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("relay store: %s: %w", op, err)
}

func (d *DB) AddCode(ctx context.Context, code store.Hash, alias string, expires time.Time) error {
	_, err := d.pool.Exec(ctx, `INSERT INTO enroll_codes(hash, alias, expires) VALUES($1, $2, $3)`, code[:], store.NormAlias(alias), store.UnixNanos(expires))
	return wrap("add code", err)
}

func (d *DB) Enroll(ctx context.Context, code, token store.Hash, name string, now time.Time) (store.Device, error) {
	var dev store.Device
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var (
			alias         string
			expires, used int64
		)
		err := tx.QueryRow(ctx, `SELECT alias, expires, used FROM enroll_codes WHERE hash=$1 FOR UPDATE`, code[:]).Scan(&alias, &expires, &used)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrCodeInvalid
		case err != nil:
			return err
		case used != 0, now.UnixNano() >= expires:
			return store.ErrCodeInvalid
		}
		dev = store.Device{ID: store.NewDeviceID(), Alias: alias, Name: name, Created: now}
		if _, err := tx.Exec(ctx, `UPDATE enroll_codes SET used=$1 WHERE hash=$2`, store.UnixNanos(now), code[:]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO devices(id, alias, name, token_hash, created) VALUES($1, $2, $3, $4, $5)`,
			dev.ID, dev.Alias, dev.Name, token[:], store.UnixNanos(now))
		return err
	})
	if errors.Is(err, store.ErrCodeInvalid) {
		return store.Device{}, err
	}
	return dev, wrap("enroll", err)
}

const deviceCols = `id, alias, name, created, last_seen, revoked`

func scanDevice(row pgx.Row) (store.Device, error) {
	var (
		d                      store.Device
		created, seen, revoked int64
	)
	if err := row.Scan(&d.ID, &d.Alias, &d.Name, &created, &seen, &revoked); err != nil {
		return store.Device{}, err
	}
	d.Created, d.LastSeen, d.Revoked = store.FromUnixNanos(created), store.FromUnixNanos(seen), store.FromUnixNanos(revoked)
	return d, nil
}

func (d *DB) DeviceByToken(ctx context.Context, token store.Hash) (store.Device, error) {
	dev, err := scanDevice(d.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE token_hash=$1`, token[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Device{}, store.ErrNotFound
	}
	return dev, wrap("device", err)
}

func (d *DB) Seen(ctx context.Context, id string, now time.Time) error {
	_, err := d.pool.Exec(ctx, `UPDATE devices SET last_seen=$1 WHERE id=$2`, store.UnixNanos(now), id)
	return wrap("seen", err)
}

func (d *DB) Devices(ctx context.Context) ([]store.Device, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+deviceCols+` FROM devices ORDER BY created, id`)
	if err != nil {
		return nil, wrap("devices", err)
	}
	devs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Device, error) { return scanDevice(r) })
	return devs, wrap("devices", err)
}

// revoke revokes the active devices matching where ($2) and records a
// revocation for each, in tx.
func revoke(ctx context.Context, tx pgx.Tx, where string, arg any, now time.Time) ([]store.Device, error) {
	rows, err := tx.Query(ctx, `UPDATE devices SET revoked=$1 WHERE revoked=0 AND `+where+` RETURNING `+deviceCols, store.UnixNanos(now), arg)
	if err != nil {
		return nil, err
	}
	devs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Device, error) { return scanDevice(r) })
	if err != nil {
		return nil, err
	}
	for _, dev := range devs {
		if _, err := tx.Exec(ctx, `INSERT INTO revocations(device) VALUES($1)`, dev.ID); err != nil {
			return nil, err
		}
	}
	return devs, nil
}

func (d *DB) Revoke(ctx context.Context, id string, now time.Time) (store.Device, error) {
	var dev store.Device
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := revoke(ctx, tx, `id=$2`, id, now); err != nil {
			return err
		}
		var err error
		dev, err = scanDevice(tx.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id=$1`, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Device{}, store.ErrNotFound
	}
	return dev, wrap("revoke", err)
}

func (d *DB) RevokeAlias(ctx context.Context, alias string, now time.Time) ([]store.Device, error) {
	var devs []store.Device
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var err error
		devs, err = revoke(ctx, tx, `alias=$2`, store.NormAlias(alias), now)
		return err
	})
	return devs, wrap("revoke", err)
}

func (d *DB) Revocations(ctx context.Context, after int64) ([]string, int64, error) {
	rows, err := d.pool.Query(ctx, `SELECT n, device FROM revocations WHERE n>$1 ORDER BY n`, after)
	if err != nil {
		return nil, after, wrap("revocations", err)
	}
	defer rows.Close()
	var ids []string
	last := after
	for rows.Next() {
		var id string
		if err := rows.Scan(&last, &id); err != nil {
			return nil, after, wrap("revocations", err)
		}
		ids = append(ids, id)
	}
	return ids, last, wrap("revocations", rows.Err())
}

func (d *DB) Enrolled(ctx context.Context, alias string) (bool, error) {
	var on bool
	err := d.pool.QueryRow(ctx, `SELECT EXISTS(SELECT 1 FROM devices WHERE alias=$1 AND revoked=0)`, store.NormAlias(alias)).Scan(&on)
	return on, wrap("enrolled", err)
}

func (d *DB) Aliases(ctx context.Context) ([]string, error) {
	rows, err := d.pool.Query(ctx, `SELECT DISTINCT alias FROM devices WHERE revoked=0 ORDER BY alias`)
	if err != nil {
		return nil, wrap("aliases", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, wrap("aliases", err)
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
	return d.appendBatch(ctx, 0, evs)
}

// appendBatch is AppendBatch; a term other than 0 fences it: the
// transaction first takes a share lock on the holder row and refuses
// (store.ErrFenced) unless term is still the current one. A takeover's
// increment waits for the appends in flight, and every append after it
// sees the new term.
func (d *DB) appendBatch(ctx context.Context, term int64, evs []store.Event) ([]store.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	var out []store.Event
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if term != 0 {
			var cur int64
			if err := tx.QueryRow(ctx, `SELECT term FROM holder WHERE id=1 FOR SHARE`).Scan(&cur); err != nil {
				return err
			}
			if cur != term {
				return fmt.Errorf("%w (write under term %d, current %d)", store.ErrFenced, term, cur)
			}
		}
		out = make([]store.Event, 0, len(evs))
		for _, ev := range evs {
			ev.Alias = store.NormAlias(ev.Alias)
			if ev.Time.IsZero() {
				ev.Time = time.Now()
			}
			// A savepoint per event: a duplicate rolls back only its own
			// seq. The upsert locks the mailbox's row, so appends to one
			// mailbox are serial and the dedupe check cannot race.
			sp, err := tx.Begin(ctx)
			if err != nil {
				return err
			}
			var seq int64
			if err := sp.QueryRow(ctx, `INSERT INTO mailboxes(alias, last_seq, unread) VALUES($1, 1, $2)
				ON CONFLICT(alias) DO UPDATE SET last_seq=mailboxes.last_seq+1, unread=excluded.unread
				RETURNING last_seq`, ev.Alias, ev.Unread).Scan(&seq); err != nil {
				return err
			}
			var mailID any
			if ev.MailID != "" {
				mailID = ev.MailID
				var dup bool
				if err := sp.QueryRow(ctx, `SELECT EXISTS(SELECT 1 FROM events WHERE alias=$1 AND mail_id=$2)`, ev.Alias, ev.MailID).Scan(&dup); err != nil {
					return err
				}
				if dup {
					if err := sp.Rollback(ctx); err != nil {
						return err
					}
					continue
				}
			}
			ev.Seq = uint64(seq)
			if _, err := sp.Exec(ctx, `INSERT INTO events(alias, seq, kind, mail_id, unread, json, time, term) VALUES($1, $2, $3, $4, $5, $6, $7, $8)`,
				ev.Alias, seq, ev.Kind, mailID, ev.Unread, ev.Data, store.UnixNanos(ev.Time), term); err != nil {
				return err
			}
			if err := sp.Commit(ctx); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && len(evs) > 1 {
		// Another node stored one of these meanwhile: one at a time.
		out = out[:0]
		for _, ev := range evs {
			got, err := d.appendBatch(ctx, term, []store.Event{ev})
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		return out, nil
	}
	if errors.As(err, &pe) && pe.Code == "23505" {
		return nil, nil // the single event is a duplicate
	}
	if errors.Is(err, store.ErrFenced) {
		return nil, err
	}
	if err != nil {
		return nil, wrap("append", err)
	}
	return out, nil
}

func (d *DB) Mailbox(ctx context.Context, alias string) (store.Mailbox, error) {
	m := store.Mailbox{Alias: store.NormAlias(alias), Unread: -1}
	var last, pruned, unread int64
	err := d.pool.QueryRow(ctx, `SELECT last_seq, pruned, unread FROM mailboxes WHERE alias=$1`, m.Alias).Scan(&last, &pruned, &unread)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, nil
	}
	if err != nil {
		return store.Mailbox{}, wrap("mailbox", err)
	}
	m.LastSeq, m.Pruned, m.Unread = uint64(last), uint64(pruned), int(unread)
	return m, nil
}

func (d *DB) EventsAfter(ctx context.Context, alias string, after uint64, limit int) ([]store.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	a := store.NormAlias(alias)
	rows, err := d.pool.Query(ctx, `SELECT seq, kind, COALESCE(mail_id, ''), unread, json, time FROM events
		WHERE alias=$1 AND seq>$2 ORDER BY seq LIMIT $3`, a, int64(after), limit)
	if err != nil {
		return nil, wrap("events", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Event, error) {
		ev := store.Event{Alias: a}
		var seq, unread, t int64
		err := r.Scan(&seq, &ev.Kind, &ev.MailID, &unread, &ev.Data, &t)
		ev.Seq, ev.Unread, ev.Time = uint64(seq), int(unread), store.FromUnixNanos(t)
		return ev, err
	})
	return out, wrap("events", err)
}

func (d *DB) Prune(ctx context.Context, r store.Retention, now time.Time) (int, error) {
	r = r.WithDefaults()
	deleted := 0
	var idle []store.Device
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT m.alias, GREATEST(m.last_seq - $1, COALESCE((SELECT MAX(seq) FROM events e WHERE e.alias=m.alias AND e.time<$2), 0))
			FROM mailboxes m`, r.MaxEvents, now.Add(-r.MaxAge).UnixNano())
		if err != nil {
			return err
		}
		type cut struct {
			alias string
			seq   int64
		}
		cuts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cut, error) {
			var c cut
			return c, r.Scan(&c.alias, &c.seq)
		})
		if err != nil {
			return err
		}
		for _, c := range cuts {
			if c.seq <= 0 {
				continue
			}
			tag, err := tx.Exec(ctx, `DELETE FROM events WHERE alias=$1 AND seq<=$2`, c.alias, c.seq)
			if err != nil {
				return err
			}
			deleted += int(tag.RowsAffected())
			if _, err := tx.Exec(ctx, `UPDATE mailboxes SET pruned=GREATEST(pruned, $1) WHERE alias=$2`, c.seq, c.alias); err != nil {
				return err
			}
		}
		type row struct {
			alias string
			seq   int64
			data  []byte
		}
		rows, err = tx.Query(ctx, `SELECT alias, seq, json FROM events WHERE kind=$1 AND NOT stripped AND time<$2`,
			wire.KindNewMail, now.Add(-r.ContentAge).UnixNano())
		if err != nil {
			return err
		}
		strip, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.alias, &x.seq, &x.data)
		})
		if err != nil {
			return err
		}
		for _, x := range strip {
			if _, err := tx.Exec(ctx, `UPDATE events SET json=$1, stripped=true WHERE alias=$2 AND seq=$3`, wire.StripContent(x.data), x.alias, x.seq); err != nil {
				return err
			}
		}
		var err2 error
		if idle, err2 = revoke(ctx, tx, `GREATEST(created, last_seen)<$2`, now.Add(-r.DeviceIdle).UnixNano(), now); err2 != nil {
			return err2
		}
		_, err = tx.Exec(ctx, `DELETE FROM enroll_codes WHERE expires<$1`, now.Add(-24*time.Hour).UnixNano())
		return err
	})
	if err != nil {
		return 0, wrap("prune", err)
	}
	if err := store.AuditIdle(ctx, d, idle, now); err != nil {
		return deleted, err
	}
	return deleted, nil
}

// auditLock serialises appends to the audit chain across nodes.
const auditLock = 0x65787265_61756474

func (d *DB) AddAudit(ctx context.Context, a store.Audit) error {
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	a.Alias = store.NormAlias(a.Alias)
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLock)); err != nil {
			return err
		}
		var prev []byte
		err := tx.QueryRow(ctx, `SELECT hash FROM audit WHERE hash IS NOT NULL ORDER BY n DESC LIMIT 1`).Scan(&prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit(time, device, alias, action, source, result, hash) VALUES($1, $2, $3, $4, $5, $6, $7)`,
			store.UnixNanos(a.Time), a.Device, a.Alias, a.Action, a.Source, a.Result, store.AuditHash(prev, a))
		return err
	})
	return wrap("audit", err)
}

func (d *DB) VerifyAudit(ctx context.Context) (int, error) {
	rows, err := d.pool.Query(ctx, `SELECT n, time, device, alias, action, source, result, hash FROM audit WHERE hash IS NOT NULL ORDER BY n`)
	if err != nil {
		return 0, wrap("audit", err)
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
			return checked, wrap("audit", err)
		}
		a.Time = time.Unix(0, t)
		if !bytes.Equal(store.AuditHash(prev, a), hash) {
			return checked, fmt.Errorf("%w at line %d", store.ErrAuditTampered, n)
		}
		prev = hash
		checked++
	}
	return checked, wrap("audit", rows.Err())
}

func (d *DB) AuditSince(ctx context.Context, since time.Time) ([]store.Audit, error) {
	rows, err := d.pool.Query(ctx, `SELECT time, device, alias, action, source, result FROM audit WHERE time>=$1 ORDER BY n`, store.UnixNanos(since))
	if err != nil {
		return nil, wrap("audit", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Audit, error) {
		var a store.Audit
		var t int64
		err := r.Scan(&t, &a.Device, &a.Alias, &a.Action, &a.Source, &a.Result)
		a.Time = store.FromUnixNanos(t)
		return a, err
	})
	return out, wrap("audit", err)
}
