// Package store defines what the relay keeps on disk: enrolled devices,
// one-time enrollment codes, the per-mailbox event log that streams resume
// from, and the audit trail. Store is the interface; relay/store/sqlite is
// the default implementation, and relay/store/storetest is the conformance
// suite every implementation (SQLite now, Postgres later) must pass.
//
// Secrets never reach a Store: device tokens and enrollment codes are
// passed in and kept only as their SHA-256 (Hash).
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

// Errors a Store returns; branch with errors.Is.
var (
	// ErrNotFound: no such device (or token).
	ErrNotFound = errors.New("relay store: not found")
	// ErrCodeInvalid: the enrollment code is unknown, used or expired. The
	// three are one error on purpose: a caller must not tell them apart.
	ErrCodeInvalid = errors.New("relay store: enrollment code unknown, used or expired")
	// ErrDuplicate: a new_mail event with this mail id is already stored
	// for the mailbox (Append); nothing was written.
	ErrDuplicate = errors.New("relay store: duplicate event")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("relay store: closed")
	// ErrAuditTampered: an audit line was changed, removed or inserted.
	ErrAuditTampered = errors.New("relay store: the audit trail was altered")
	// ErrFenced: a write made under an upstream holder's lease was refused
	// because another node has taken the lease over since (scale-out).
	ErrFenced = errors.New("relay store: fenced: another node holds the upstream lease")
)

// Hash is the SHA-256 of a token or code: the only form in which a Store
// sees one.
type Hash [sha256.Size]byte

// HashSecret hashes a token or an enrollment code.
func HashSecret(s api.Secret) Hash { return sha256.Sum256([]byte(s.Reveal())) }

// NewToken returns a fresh device token: wire.TokenPrefix and 256 bits from
// crypto/rand, base64url-encoded.
func NewToken() api.Secret { return newSecret(wire.TokenPrefix) }

// NewCode returns a fresh one-time enrollment code: wire.CodePrefix and 256
// bits from crypto/rand.
func NewCode() api.Secret { return newSecret(wire.CodePrefix) }

func newSecret(prefix string) api.Secret {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return api.Secret(prefix + base64.RawURLEncoding.EncodeToString(b[:]))
}

// NewDeviceID returns a random, non-secret device id ("d_" and 16 hex
// digits), shown in "exmail-relay devices" and used by "revoke".
func NewDeviceID() string {
	var b [8]byte
	rand.Read(b[:])
	return "d_" + hex.EncodeToString(b[:])
}

// UnixNanos is how the SQL stores keep a time: nanoseconds since the
// epoch, 0 for the zero time. FromUnixNanos is its inverse.
func UnixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromUnixNanos returns the time UnixNanos stored as n.
func FromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// NormAlias is the form in which mailbox addresses are stored and compared:
// trimmed and lower-case.
func NormAlias(alias string) string { return strings.ToLower(strings.TrimSpace(alias)) }

// Device is an enrolled desktop.
type Device struct {
	ID       string
	Alias    string // the one mailbox this device may see
	Name     string // what the user called it at enrollment
	Created  time.Time
	LastSeen time.Time // zero if never seen after enrollment
	Revoked  time.Time // zero while active
}

// Active reports whether the device is not revoked.
func (d Device) Active() bool { return d.Revoked.IsZero() }

// Event is one entry of a mailbox's log.
type Event struct {
	Alias  string
	Seq    uint64 // assigned by Append: per mailbox, starting at 1, never reused
	Kind   string // wire.KindNewMail or wire.KindUnread
	MailID string // new_mail only; the dedupe key
	Unread int    // the count after this event
	Data   []byte // the JSON line (wire.NewMailLine or wire.UnreadLine)
	Time   time.Time
}

// Mailbox is where a mailbox's log stands.
type Mailbox struct {
	Alias   string
	LastSeq uint64 // the newest event's seq; 0 if none was ever stored
	// Pruned is the highest seq deleted by retention: a resume from a
	// cursor below it would miss events, so it must be a reset.
	Pruned uint64
	Unread int // from the newest event; -1 if never known
}

// Resumable reports whether a client that has seen every event up to seq
// can be brought up to date from the log: seq is not in the future and no
// event after it was pruned.
func (m Mailbox) Resumable(seq uint64) bool { return seq <= m.LastSeq && seq >= m.Pruned }

// Audit is one line of the audit trail.
type Audit struct {
	Time   time.Time
	Device string // device id, "" for admin commands
	Alias  string
	Action string // "enroll", "sso", "revoke", "code", …
	Source string // remote address, or "cli"
	Result string // "ok", or a short reason without secrets
}

// AuditHash chains an audit line to the previous line's hash (nil for the
// first): SHA-256 over prev and each field, length-prefixed.
func AuditHash(prev []byte, a Audit) []byte {
	h := sha256.New()
	put := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put(prev)
	put([]byte(strconv.FormatInt(a.Time.UnixNano(), 10)))
	for _, f := range []string{a.Device, a.Alias, a.Action, a.Source, a.Result} {
		put([]byte(f))
	}
	return h.Sum(nil)
}

// IdleAudit is the audit line of a device that retention revoked for
// being idle longer than Retention.DeviceIdle.
func IdleAudit(d Device, now time.Time) Audit {
	return Audit{Time: now, Device: d.ID, Alias: d.Alias, Action: "revoke", Source: "retention", Result: "idle"}
}

// AuditIdle writes IdleAudit lines for devs through st, after the
// revocations were committed.
func AuditIdle(ctx context.Context, st interface {
	AddAudit(context.Context, Audit) error
}, devs []Device, now time.Time) error {
	for _, d := range devs {
		if err := st.AddAudit(ctx, IdleAudit(d, now)); err != nil {
			return err
		}
	}
	return nil
}

// Retention bounds each mailbox's log. Zero fields take the defaults noted.
type Retention struct {
	// MaxEvents per mailbox. Default 1000.
	MaxEvents int
	// MaxAge of an event. Default 30 days.
	MaxAge time.Duration
	// ContentAge: after this, a new_mail keeps its ids and count but loses
	// its subject and summary (wire.StripContent). Default 7 days.
	ContentAge time.Duration
	// DeviceIdle: a device neither seen nor enrolled within this long is
	// revoked (it has to enroll again). Default 180 days.
	DeviceIdle time.Duration
}

// WithDefaults fills the zero fields.
func (r Retention) WithDefaults() Retention {
	if r.MaxEvents <= 0 {
		r.MaxEvents = 1000
	}
	if r.MaxAge <= 0 {
		r.MaxAge = 30 * 24 * time.Hour
	}
	if r.ContentAge <= 0 {
		r.ContentAge = 7 * 24 * time.Hour
	}
	if r.DeviceIdle <= 0 {
		r.DeviceIdle = 180 * 24 * time.Hour
	}
	return r
}

// Store is the relay's persistent state. Every method is safe for
// concurrent use, also by several processes on the same database (the
// serve process and the admin commands).
type Store interface {
	// Epoch names this database. It is created once, at the first open,
	// and never changes; an event id from another epoch is unknown.
	Epoch() string

	// AddCode stores an enrollment code for alias, valid until expires.
	AddCode(ctx context.Context, code Hash, alias string, expires time.Time) error
	// Enroll consumes code (once, atomically) and creates a device for its
	// alias with token as its credential. An unknown, used or expired code
	// is ErrCodeInvalid, whichever it is.
	Enroll(ctx context.Context, code, token Hash, name string, now time.Time) (Device, error)
	// DeviceByToken returns the device whose token hashes to token,
	// revoked or not (the caller checks Active). Unknown: ErrNotFound.
	DeviceByToken(ctx context.Context, token Hash) (Device, error)
	// Seen records that the device was seen at now.
	Seen(ctx context.Context, id string, now time.Time) error
	// Devices lists every device, oldest first.
	Devices(ctx context.Context) ([]Device, error)
	// Revoke revokes the device id (ErrNotFound if unknown); revoking a
	// revoked device changes nothing and is not an error.
	Revoke(ctx context.Context, id string, now time.Time) (Device, error)
	// RevokeAlias revokes every active device of alias and returns them.
	RevokeAlias(ctx context.Context, alias string, now time.Time) ([]Device, error)
	// Revocations returns the ids of devices revoked after the revocation
	// numbered after (0: all), and the number of the latest, for polling
	// by a process that holds open streams.
	Revocations(ctx context.Context, after int64) (ids []string, last int64, err error)
	// Enrolled reports whether alias has an active device.
	Enrolled(ctx context.Context, alias string) (bool, error)
	// Aliases lists the mailboxes with an active device.
	Aliases(ctx context.Context) ([]string, error)

	// Append stores an event durably (fsync) and assigns its seq, the
	// mailbox's previous LastSeq + 1. A new_mail whose MailID is already
	// stored for the mailbox is ErrDuplicate and changes nothing. Only
	// once Append has returned may the event be published.
	Append(ctx context.Context, ev Event) (Event, error)
	// AppendBatch is Append for several events in one transaction (one
	// fsync): it returns the stored ones, in order, each with its seq. A
	// new_mail already stored, or earlier in evs, is left out (no error).
	AppendBatch(ctx context.Context, evs []Event) ([]Event, error)
	// Mailbox returns where alias's log stands; a mailbox with no events
	// has LastSeq 0, Pruned 0 and Unread -1.
	Mailbox(ctx context.Context, alias string) (Mailbox, error)
	// EventsAfter returns up to limit events of alias with seq > after, in
	// seq order.
	EventsAfter(ctx context.Context, alias string, after uint64, limit int) ([]Event, error)
	// Prune applies r at now: it deletes old events, strips old content,
	// forgets long-expired codes and revokes idle devices (recording the
	// revocations, and an audit line for each: IdleAudit). It reports how
	// many events it deleted.
	Prune(ctx context.Context, r Retention, now time.Time) (int, error)

	// AddAudit appends to the audit trail. Each line is chained to the one
	// before it (AuditHash), so that editing or deleting a line in the
	// database shows in VerifyAudit.
	AddAudit(ctx context.Context, a Audit) error
	// AuditSince lists the audit lines at or after since, oldest first.
	AuditSince(ctx context.Context, since time.Time) ([]Audit, error)
	// VerifyAudit recomputes the whole chain. It returns how many lines it
	// checked, and an error matching ErrAuditTampered at the first line
	// that does not follow from the one before.
	VerifyAudit(ctx context.Context) (int, error)

	Close() error
}
