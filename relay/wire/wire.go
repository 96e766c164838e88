// Package wire is the relay's protocol vocabulary, shared by the server
// (package relay/server) and the desktop client (package relay/client): the
// SSE event names, the JSON payloads, the secret formats and the event ids.
//
// It imports only the standard library, so the desktop binary can use it
// without linking the relay's storage.
//
// The new_mail and unread payloads are exactly the JSON lines that
// "exmail-notifier watch" prints (same field names, same order), so one
// schema serves the CLI, the relay and the tray: watch prints these types.
package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SSE event names on GET /v1/events.
const (
	KindState    = "state"    // StateData; the first event of every connection
	KindNewMail  = "new_mail" // NewMailLine
	KindUnread   = "unread"   // UnreadLine
	KindReset    = "reset"    // ResetData; the resume point is unknown, a fresh state follows
	KindShutdown = "shutdown" // {} ; the relay is stopping, reconnect later
)

// Upstream health values in StateData.Upstream.
const (
	UpstreamOnline  = "online"
	UpstreamOffline = "offline"
)

// NewMailLine is the data of a new_mail event: the line "exmail-notifier
// watch" prints for a new mail. Field order is the order on the wire.
type NewMailLine struct {
	Time    string `json:"time"`
	Event   string `json:"event"` // always "new_mail"
	Alias   string `json:"alias"`
	MailID  string `json:"mail_id"`
	From    string `json:"from"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Summary string `json:"summary"`
	Unread  int    `json:"unread"`
}

// UnreadLine is the data of an unread event, as watch prints it.
type UnreadLine struct {
	Time   string `json:"time"`
	Event  string `json:"event"` // always "unread"
	Alias  string `json:"alias"`
	Unread int    `json:"unread"`
}

// StateData is the data of a state event: the mailbox the token belongs
// to, its unread count as the relay knows it, and whether the relay's own
// upstream connection to exmail is up.
type StateData struct {
	Alias    string `json:"alias"`
	Unread   int    `json:"unread"`
	Upstream string `json:"upstream"` // UpstreamOnline or UpstreamOffline
}

// ResetData is the data of a reset event.
type ResetData struct {
	Reason string `json:"reason"`
}

// TimeFormat is the format of the time field, as watch prints it.
const TimeFormat = time.RFC3339Nano

// Marshal encodes v as compact JSON without HTML escaping (a sender keeps
// its literal "<addr>"), without the trailing newline json.Encoder adds.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// StripContent returns a new_mail line with the message content (subject
// and summary) emptied, for retention: counts and ids are kept longer than
// what the mail says. Anything that is not a new_mail line comes back
// unchanged.
func StripContent(data []byte) []byte {
	var l NewMailLine
	if json.Unmarshal(data, &l) != nil || l.Event != KindNewMail {
		return data
	}
	if l.Subject == "" && l.Summary == "" {
		return data
	}
	l.Subject, l.Summary = "", ""
	out, err := Marshal(l)
	if err != nil {
		return data
	}
	return out
}

// ID is an SSE event id, "<epoch>.<seq>". Clients treat it as opaque and
// only hand it back in Last-Event-ID.
type ID struct {
	Epoch string // names the store; a different epoch means "unknown"
	Seq   uint64 // per mailbox, only grows
}

func (id ID) String() string { return id.Epoch + "." + strconv.FormatUint(id.Seq, 10) }

// ParseID parses an event id. The epoch must be non-empty and made of
// letters, digits, '-' and '_'.
func ParseID(s string) (ID, error) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || i > 64 {
		return ID{}, fmt.Errorf("relay: malformed event id")
	}
	for _, r := range s[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return ID{}, fmt.Errorf("relay: malformed event id")
		}
	}
	seq, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil {
		return ID{}, fmt.Errorf("relay: malformed event id")
	}
	return ID{Epoch: s[:i], Seq: seq}, nil
}

// Request and reply bodies of the JSON endpoints.
type (
	EnrollRequest struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	EnrollReply struct {
		Token    string `json:"token"`
		Alias    string `json:"alias"`
		DeviceID string `json:"device_id"`
	}
	UnreadReply struct {
		Alias  string `json:"alias"`
		Unread int    `json:"unread"`
	}
	SSORequest struct {
		MailID string `json:"mail_id,omitempty"`
	}
	SSOReply struct {
		URL string `json:"url"`
	}
	ErrorReply struct {
		Error string `json:"error"`
	}
)

// Secret prefixes: a device token is TokenPrefix followed by 43 base64url
// characters (256 bits); an enrollment code is CodePrefix and the same.
const (
	TokenPrefix = "exr_dev_"
	CodePrefix  = "exr_enr_"
)

// EnrollLink is the link an administrator hands out with a code; the
// desktop app registers the exmail-notifier:// scheme.
func EnrollLink(relayURL, code string) string {
	return "exmail-notifier://enroll?relay=" + url.QueryEscape(relayURL) + "&code=" + url.QueryEscape(code)
}
