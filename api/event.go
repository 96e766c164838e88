package api

import (
	"encoding/json"
	"time"
)

// Event is a message from the openapi/listen connection, or a state change
// of the Watcher that holds it. The concrete types are Ack, VersionChanged,
// NewMail, UnreadChanged, Unknown, StateChanged, and Skipped (another
// mailbox's object, dropped undecoded by Listen; the Watcher never passes
// it on).
type Event interface{ isEvent() }

// Ack is {"Ret":0}: the server says the long connection is online
// (protocol.md §3.4). Ret values other than 0 are undocumented.
type Ack struct{ Ret int }

// VersionChanged is {"Ver":"…"}: the address book changed (§3.5 (1)).
type VersionChanged struct{ Ver Version }

// NewMail announces a mail that reached User's mailbox (§3.5 (2)).
type NewMail struct {
	User     string // UserName: the mailbox that received it
	MailID   string // MailId: usable as mailid on the SSO URL
	Sender   string // "\"Name\" <addr>"
	Receiver string
	Subject  string
	Summary  string
	Unread   int // NewCount after this mail
}

// UnreadChanged reports User's unread count, e.g. after mail was read
// elsewhere (§3.5 (3)).
type UnreadChanged struct {
	User   string
	Unread int
}

// Unknown is an object the decoder could not classify. It is kept (and
// logged at debug level by the Watcher) so that new message kinds are not
// dropped silently. Raw is at most MaxFrame bytes.
type Unknown struct{ Raw json.RawMessage }

// State is the Watcher's connection state.
type State int

const (
	StateConnecting State = iota // a listen request is being made
	StateOnline                  // the server acknowledged, or sent an event
	StateRetrying                // the connection failed; waiting to retry
	StateAuthFailed              // credentials rejected; waiting longer, or for Kick
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateOnline:
		return "online"
	case StateRetrying:
		return "retrying"
	case StateAuthFailed:
		return "auth-failed"
	}
	return "unknown"
}

// StateChanged is sent by the Watcher whenever its State changes. Err is
// the failure behind StateRetrying or StateAuthFailed; RetryIn is how long
// the Watcher waits before the next attempt.
type StateChanged struct {
	State   State
	Err     error
	RetryIn time.Duration
}

func (Ack) isEvent()            {}
func (VersionChanged) isEvent() {}
func (NewMail) isEvent()        {}
func (UnreadChanged) isEvent()  {}
func (Unknown) isEvent()        {}
func (StateChanged) isEvent()   {}
