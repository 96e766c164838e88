package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/exmail-notifier/exmail-notifier/relay/store"
)

// holderLock is the session advisory lock key of the upstream holder
// ("exrelup" in ASCII).
const holderLock = 0x65787265_6c7570

// Lease is this node's hold on the upstream listen connection: a session
// advisory lock on a connection of its own (not from the pool), and the
// fencing term it was granted. It is lost when that connection fails or
// when the term stops being current; Done is then closed.
type Lease struct {
	term   int64
	conn   *pgx.Conn
	done   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Term is the fencing term: writes made through Fenced(Term()) are
// refused once another node has taken over.
func (l *Lease) Term() int64 { return l.term }

// Done is closed when the lease is lost or released.
func (l *Lease) Done() <-chan struct{} { return l.done }

// Release gives the lease up (the lock is released with its connection)
// and waits for its monitor to stop. It may be called more than once.
func (l *Lease) Release() {
	l.once.Do(func() {
		l.cancel()
		l.wg.Wait()
	})
}

// AcquireLease blocks until this node holds the upstream lease (or ctx is
// done), then increments the fencing term and returns the lease. The lock
// is held by a dedicated connection to dsn's server, checked every
// checkEvery (default 1 s): the lease is lost when a check fails, fails to
// answer within the interval, or finds another term current.
//
// A node that dies (kill -9, a lost network) loses its connection and so
// the lock, and a waiting node's AcquireLease returns at once. Behind a
// transaction-mode pooler the lock does not follow the node: use a direct
// connection or session pooling.
func (d *DB) AcquireLease(ctx context.Context, checkEvery time.Duration) (*Lease, error) {
	if checkEvery <= 0 {
		checkEvery = time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, d.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, wrap("lease", err)
	}
	fail := func(err error) (*Lease, error) {
		conn.Close(context.Background())
		return nil, wrap("lease", err)
	}
	// Wait for the lock in slices bounded by lock_timeout, so that a
	// cancelled ctx is noticed without killing the connection.
	if _, err := conn.Exec(ctx, `SET lock_timeout = '500ms'`); err != nil {
		return fail(err)
	}
	// A holder that is partitioned away or frozen stops checking; the
	// server then ends its session (and so frees the lock) after five
	// check intervals of silence (PostgreSQL 14+), or when TCP keepalives
	// find the peer gone, instead of after the kernel's two hours.
	idle := max(5*checkEvery, 2*time.Second)
	for _, set := range []string{
		fmt.Sprintf(`SET idle_session_timeout = %d`, idle.Milliseconds()),
		`SET tcp_keepalives_idle = 5`, `SET tcp_keepalives_interval = 2`, `SET tcp_keepalives_count = 3`,
	} {
		conn.Exec(ctx, set) // best effort: older servers lack idle_session_timeout, sockets lack keepalives
	}
	for {
		_, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(holderLock))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "55P03" { // lock_not_available
			return fail(err)
		}
	}
	var term int64
	if err := conn.QueryRow(ctx, `UPDATE holder SET term=term+1, since=$1 WHERE id=1 RETURNING term`, time.Now().UnixNano()).Scan(&term); err != nil {
		return fail(err)
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lease{term: term, conn: conn, done: make(chan struct{}), cancel: cancel}
	l.wg.Go(func() {
		defer close(l.done)
		defer conn.Close(context.Background())
		t := time.NewTicker(checkEvery)
		defer t.Stop()
		for {
			select {
			case <-mctx.Done():
				return
			case <-t.C:
			}
			cctx, ccancel := context.WithTimeout(mctx, checkEvery)
			var cur int64
			err := conn.QueryRow(cctx, `SELECT term FROM holder WHERE id=1`).Scan(&cur)
			ccancel()
			if err != nil || cur != term {
				return
			}
		}
	})
	return l, nil
}

// Fenced is the part of the store an upstream holder writes through: its
// appends carry the lease's term and fail with store.ErrFenced once
// another node has taken over. It implements upstream.Store.
type Fenced struct {
	*DB
	term int64
}

// Fenced returns d with its appends fenced by term.
func (d *DB) Fenced(term int64) Fenced { return Fenced{DB: d, term: term} }

// AppendBatch is DB.AppendBatch under the fencing term.
func (f Fenced) AppendBatch(ctx context.Context, evs []store.Event) ([]store.Event, error) {
	return f.appendBatch(ctx, f.term, evs)
}

// Append is DB.Append under the fencing term.
func (f Fenced) Append(ctx context.Context, ev store.Event) (store.Event, error) {
	out, err := f.AppendBatch(ctx, []store.Event{ev})
	switch {
	case err != nil:
		return store.Event{}, err
	case len(out) == 0:
		return store.Event{}, store.ErrDuplicate
	}
	return out[0], nil
}

// LastSeqs returns the newest seq of each of aliases that has events
// (normalised aliases as keys), in one query.
func (d *DB) LastSeqs(ctx context.Context, aliases []string) (map[string]uint64, error) {
	norm := make([]string, len(aliases))
	for i, a := range aliases {
		norm[i] = store.NormAlias(a)
	}
	rows, err := d.pool.Query(ctx, `SELECT alias, last_seq FROM mailboxes WHERE alias = ANY($1)`, norm)
	if err != nil {
		return nil, wrap("last seqs", err)
	}
	defer rows.Close()
	out := make(map[string]uint64, len(aliases))
	for rows.Next() {
		var a string
		var s int64
		if err := rows.Scan(&a, &s); err != nil {
			return nil, wrap("last seqs", err)
		}
		out[a] = uint64(s)
	}
	return out, wrap("last seqs", rows.Err())
}

// LimitOp says what Limit does with key's bucket.
type LimitOp int

const (
	// LimitPeek reports whether a token is left, spending none.
	LimitPeek LimitOp = iota
	// LimitTry spends a token if one is left, and reports whether it did.
	LimitTry
	// LimitTake spends a token (down to zero) and reports true.
	LimitTake
)

// Limit is a token bucket per key shared by every node: burst tokens, one
// more every every. It costs one short transaction; keep it to rare calls
// (SSO links, live counts, failed enrollments).
func (d *DB) Limit(ctx context.Context, key string, burst int, every time.Duration, now time.Time, op LimitOp) (bool, error) {
	ok := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO limits(key, tokens, at) VALUES($1, $2, $3) ON CONFLICT(key) DO NOTHING`, key, float64(burst), now.UnixNano()); err != nil {
			return err
		}
		var tokens float64
		var at int64
		if err := tx.QueryRow(ctx, `SELECT tokens, at FROM limits WHERE key=$1 FOR UPDATE`, key).Scan(&tokens, &at); err != nil {
			return err
		}
		if el := now.UnixNano() - at; el > 0 {
			tokens = min(float64(burst), tokens+float64(el)/float64(every))
			at = now.UnixNano()
		}
		switch op {
		case LimitPeek:
			ok = tokens >= 1
			return nil
		case LimitTry:
			if ok = tokens >= 1; ok {
				tokens--
			}
		case LimitTake:
			ok, tokens = true, max(tokens-1, 0)
		}
		_, err := tx.Exec(ctx, `UPDATE limits SET tokens=$1, at=$2 WHERE key=$3`, tokens, at, key)
		return err
	})
	if err != nil {
		return false, wrap("limit", err)
	}
	return ok, nil
}

// SweepLimits forgets buckets untouched since before.
func (d *DB) SweepLimits(ctx context.Context, before time.Time) error {
	_, err := d.pool.Exec(ctx, `DELETE FROM limits WHERE at<$1`, before.UnixNano())
	return wrap("limit", err)
}
