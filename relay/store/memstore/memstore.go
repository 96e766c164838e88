// Package memstore is a store.Store held in memory, for the desktop's
// "exmail-notifier demo --relay" and for tests. It imports the standard
// library and relay/store only, so a binary that links it links no
// storage engine (no SQLite, no pgx, no NATS).
//
// Nothing is durable: the epoch is new for every DB, and everything is
// lost with the process. A client that resumes against a new DB sees an
// unknown epoch and gets a reset, as the protocol asks. Do not use it for
// a relay whose devices must survive a restart: that is relay/store/sqlite.
package memstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

// DB is a store.Store in memory. The zero value is not usable: call New.
// Every method is safe for concurrent use.
type DB struct {
	epoch string

	mu          sync.Mutex
	closed      bool
	codes       map[store.Hash]*code
	devices     map[string]*device // by id
	byToken     map[store.Hash]string
	revocations []string // revocation n is revocations[n-1]
	mailboxes   map[string]*mailbox
	audit       []auditLine
}

type code struct {
	alias   string
	expires time.Time
	used    bool
}

type device struct {
	store.Device
	seq int // creation order, to list devices enrolled at the same instant stably
}

type mailbox struct {
	lastSeq, pruned uint64
	unread          int
	events          []memEvent // seq order
	mailIDs         map[string]bool
}

type memEvent struct {
	store.Event
	stripped bool
}

type auditLine struct {
	store.Audit
	hash []byte
}

var _ store.Store = (*DB)(nil)

// New returns an empty store with a fresh random epoch.
func New() *DB {
	var b [8]byte
	rand.Read(b[:])
	return &DB{
		epoch:     "m" + hex.EncodeToString(b[:]),
		codes:     map[store.Hash]*code{},
		devices:   map[string]*device{},
		byToken:   map[store.Hash]string{},
		mailboxes: map[string]*mailbox{},
	}
}

// lock takes the mutex after checking ctx and that the store is open; on
// success the caller must unlock.
func (d *DB) lock(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("relay store: %s: %w", op, err)
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return fmt.Errorf("relay store: %s: %w", op, store.ErrClosed)
	}
	return nil
}

// Epoch names this DB; it differs for every New.
func (d *DB) Epoch() string { return d.epoch }

// Close forgets everything; later calls fail with store.ErrClosed.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	d.codes, d.devices, d.byToken, d.mailboxes, d.audit, d.revocations = nil, nil, nil, nil, nil, nil
	return nil
}

func (d *DB) AddCode(ctx context.Context, c store.Hash, alias string, expires time.Time) error {
	if err := d.lock(ctx, "add code"); err != nil {
		return err
	}
	defer d.mu.Unlock()
	d.codes[c] = &code{alias: store.NormAlias(alias), expires: expires}
	return nil
}

func (d *DB) Enroll(ctx context.Context, c, token store.Hash, name string, now time.Time) (store.Device, error) {
	if err := d.lock(ctx, "enroll"); err != nil {
		return store.Device{}, err
	}
	defer d.mu.Unlock()
	cd := d.codes[c]
	if cd == nil || cd.used || !now.Before(cd.expires) {
		return store.Device{}, store.ErrCodeInvalid
	}
	if _, dup := d.byToken[token]; dup {
		return store.Device{}, fmt.Errorf("relay store: enroll: token already in use")
	}
	cd.used = true
	dev := &device{Device: store.Device{ID: store.NewDeviceID(), Alias: cd.alias, Name: name, Created: now}, seq: len(d.devices)}
	d.devices[dev.ID] = dev
	d.byToken[token] = dev.ID
	return dev.Device, nil
}

func (d *DB) DeviceByToken(ctx context.Context, token store.Hash) (store.Device, error) {
	if err := d.lock(ctx, "device"); err != nil {
		return store.Device{}, err
	}
	defer d.mu.Unlock()
	id, ok := d.byToken[token]
	if !ok {
		return store.Device{}, store.ErrNotFound
	}
	return d.devices[id].Device, nil
}

func (d *DB) Seen(ctx context.Context, id string, now time.Time) error {
	if err := d.lock(ctx, "seen"); err != nil {
		return err
	}
	defer d.mu.Unlock()
	if dev := d.devices[id]; dev != nil {
		dev.LastSeen = now
	}
	return nil
}

func (d *DB) Devices(ctx context.Context) ([]store.Device, error) {
	if err := d.lock(ctx, "devices"); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	all := make([]*device, 0, len(d.devices))
	for _, dev := range d.devices {
		all = append(all, dev)
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].Created.Equal(all[j].Created) {
			return all[i].Created.Before(all[j].Created)
		}
		return all[i].seq < all[j].seq
	})
	out := make([]store.Device, len(all))
	for i, dev := range all {
		out[i] = dev.Device
	}
	return out, nil
}

// revokeLocked revokes dev if it is active and records the revocation.
func (d *DB) revokeLocked(dev *device, now time.Time) bool {
	if !dev.Active() {
		return false
	}
	dev.Revoked = now
	d.revocations = append(d.revocations, dev.ID)
	return true
}

func (d *DB) Revoke(ctx context.Context, id string, now time.Time) (store.Device, error) {
	if err := d.lock(ctx, "revoke"); err != nil {
		return store.Device{}, err
	}
	defer d.mu.Unlock()
	dev := d.devices[id]
	if dev == nil {
		return store.Device{}, store.ErrNotFound
	}
	d.revokeLocked(dev, now)
	return dev.Device, nil
}

func (d *DB) RevokeAlias(ctx context.Context, alias string, now time.Time) ([]store.Device, error) {
	if err := d.lock(ctx, "revoke"); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	alias = store.NormAlias(alias)
	var out []store.Device
	for _, dev := range d.sortedDevicesLocked() {
		if dev.Alias == alias && d.revokeLocked(dev, now) {
			out = append(out, dev.Device)
		}
	}
	return out, nil
}

func (d *DB) sortedDevicesLocked() []*device {
	all := make([]*device, 0, len(d.devices))
	for _, dev := range d.devices {
		all = append(all, dev)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	return all
}

func (d *DB) Revocations(ctx context.Context, after int64) ([]string, int64, error) {
	if err := d.lock(ctx, "revocations"); err != nil {
		return nil, after, err
	}
	defer d.mu.Unlock()
	n := int64(len(d.revocations))
	if after < 0 {
		after = 0
	}
	if after >= n {
		return nil, after, nil
	}
	return slices.Clone(d.revocations[after:]), n, nil
}

func (d *DB) Enrolled(ctx context.Context, alias string) (bool, error) {
	if err := d.lock(ctx, "enrolled"); err != nil {
		return false, err
	}
	defer d.mu.Unlock()
	alias = store.NormAlias(alias)
	for _, dev := range d.devices {
		if dev.Alias == alias && dev.Active() {
			return true, nil
		}
	}
	return false, nil
}

func (d *DB) Aliases(ctx context.Context) ([]string, error) {
	if err := d.lock(ctx, "aliases"); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	set := map[string]bool{}
	for _, dev := range d.devices {
		if dev.Active() {
			set[dev.Alias] = true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	slices.Sort(out)
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
	if err := d.lock(ctx, "append"); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	out := make([]store.Event, 0, len(evs))
	for _, ev := range evs {
		ev.Alias = store.NormAlias(ev.Alias)
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		m := d.mailboxes[ev.Alias]
		if m == nil {
			m = &mailbox{unread: -1, mailIDs: map[string]bool{}}
			d.mailboxes[ev.Alias] = m
		}
		if ev.MailID != "" {
			if m.mailIDs[ev.MailID] {
				continue
			}
			m.mailIDs[ev.MailID] = true
		}
		m.lastSeq++
		m.unread = ev.Unread
		ev.Seq = m.lastSeq
		ev.Data = bytes.Clone(ev.Data)
		m.events = append(m.events, memEvent{Event: ev})
		out = append(out, ev)
	}
	return out, nil
}

func (d *DB) Mailbox(ctx context.Context, alias string) (store.Mailbox, error) {
	if err := d.lock(ctx, "mailbox"); err != nil {
		return store.Mailbox{}, err
	}
	defer d.mu.Unlock()
	mb := store.Mailbox{Alias: store.NormAlias(alias), Unread: -1}
	if m := d.mailboxes[mb.Alias]; m != nil {
		mb.LastSeq, mb.Pruned, mb.Unread = m.lastSeq, m.pruned, m.unread
	}
	return mb, nil
}

func (d *DB) EventsAfter(ctx context.Context, alias string, after uint64, limit int) ([]store.Event, error) {
	if err := d.lock(ctx, "events"); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	if limit <= 0 {
		limit = 1000
	}
	m := d.mailboxes[store.NormAlias(alias)]
	if m == nil {
		return nil, nil
	}
	i, _ := slices.BinarySearchFunc(m.events, after+1, func(e memEvent, seq uint64) int {
		switch {
		case e.Seq < seq:
			return -1
		case e.Seq > seq:
			return 1
		}
		return 0
	})
	var out []store.Event
	for ; i < len(m.events) && len(out) < limit; i++ {
		ev := m.events[i].Event
		ev.Data = bytes.Clone(ev.Data)
		out = append(out, ev)
	}
	return out, nil
}

func (d *DB) Prune(ctx context.Context, r store.Retention, now time.Time) (int, error) {
	if err := d.lock(ctx, "prune"); err != nil {
		return 0, err
	}
	defer d.mu.Unlock()
	r = r.WithDefaults()
	deleted := 0
	oldest, contentCut := now.Add(-r.MaxAge), now.Add(-r.ContentAge)
	for _, m := range d.mailboxes {
		var cut uint64
		if m.lastSeq > uint64(r.MaxEvents) {
			cut = m.lastSeq - uint64(r.MaxEvents)
		}
		for _, e := range m.events {
			if e.Time.Before(oldest) && e.Seq > cut {
				cut = e.Seq
			}
		}
		keep := m.events[:0]
		for _, e := range m.events {
			if e.Seq <= cut {
				deleted++
				// The mail id stays known: upstream may repeat an old mail,
				// and a dedupe that forgot it would toast it again. (The SQL
				// stores forget it with the row; the difference is benign.)
				continue
			}
			if e.Kind == wire.KindNewMail && !e.stripped && e.Time.Before(contentCut) {
				e.Data, e.stripped = wire.StripContent(e.Data), true
			}
			keep = append(keep, e)
		}
		clear(m.events[len(keep):])
		m.events = keep
		m.pruned = max(m.pruned, cut)
	}
	cut := now.Add(-r.DeviceIdle)
	for _, dev := range d.sortedDevicesLocked() {
		last := dev.Created
		if dev.LastSeen.After(last) {
			last = dev.LastSeen
		}
		if last.Before(cut) && d.revokeLocked(dev, now) {
			d.auditLocked(store.IdleAudit(dev.Device, now))
		}
	}
	for h, c := range d.codes {
		if c.expires.Before(now.Add(-24 * time.Hour)) {
			delete(d.codes, h)
		}
	}
	return deleted, nil
}

func (d *DB) AddAudit(ctx context.Context, a store.Audit) error {
	if err := d.lock(ctx, "audit"); err != nil {
		return err
	}
	defer d.mu.Unlock()
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	d.auditLocked(a)
	return nil
}

func (d *DB) auditLocked(a store.Audit) {
	a.Alias = store.NormAlias(a.Alias)
	var prev []byte
	if n := len(d.audit); n > 0 {
		prev = d.audit[n-1].hash
	}
	d.audit = append(d.audit, auditLine{Audit: a, hash: store.AuditHash(prev, a)})
}

func (d *DB) AuditSince(ctx context.Context, since time.Time) ([]store.Audit, error) {
	if err := d.lock(ctx, "audit"); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	var out []store.Audit
	for _, l := range d.audit {
		if !l.Time.Before(since) {
			out = append(out, l.Audit)
		}
	}
	return out, nil
}

func (d *DB) VerifyAudit(ctx context.Context) (int, error) {
	if err := d.lock(ctx, "audit"); err != nil {
		return 0, err
	}
	defer d.mu.Unlock()
	var prev []byte
	for i, l := range d.audit {
		if !bytes.Equal(store.AuditHash(prev, l.Audit), l.hash) {
			return i, fmt.Errorf("%w at line %d", store.ErrAuditTampered, i+1)
		}
		prev = l.hash
	}
	return len(d.audit), nil
}
