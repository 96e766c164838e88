package callback

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// Message types of the 新邮件提醒 callback (protocol.md §5, "Decrypted
// messages"), as they appear in MsgType.
const (
	TypeMail   = "Mail"
	TypeUnread = "UnRead"
)

// ErrUnsupported is returned by Decode for a well-formed message of a
// MsgType this package does not know. The Handler acknowledges such a
// message (so that Tencent does not resend it) and delivers nothing.
var ErrUnsupported = errors.New("exmail callback: unsupported message type")

// Message is a decoded callback message: *Mail or *Unread.
type Message interface {
	// Event maps the message onto the legacy API's event types, so that
	// consumers cannot tell which upstream produced it: *Mail becomes
	// api.NewMail, *Unread api.UnreadChanged.
	Event() api.Event
	isMessage()
}

// Mail is MsgType "Mail": a new mail arrived in a mailbox.
type Mail struct {
	CorpID string    // the enterprise
	MailID string    // MailID
	To     string    // ToUserID: the recipient's account (e-mail address)
	From   string    // FromUser: the sender, as Tencent formats it
	Title  string    // the subject
	Time   time.Time // Time (Unix seconds); zero if absent
	Unread int       // NewCount: the recipient's unread count
}

// Unread is MsgType "UnRead": a mailbox's unread count changed.
type Unread struct {
	CorpID string
	User   string // UserID
	Time   time.Time
	Unread int // UnReadCount
}

func (*Mail) isMessage()   {}
func (*Unread) isMessage() {}

// Event returns the api.NewMail the legacy listen connection would have
// pushed. The callback carries no summary, so Summary is empty.
func (m *Mail) Event() api.Event {
	return api.NewMail{User: m.To, MailID: m.MailID, Sender: m.From, Receiver: m.To, Subject: m.Title, Unread: m.Unread}
}

// Event returns the matching api.UnreadChanged.
func (u *Unread) Event() api.Event { return api.UnreadChanged{User: u.User, Unread: u.Unread} }

// maxField bounds every text field of a message; longer values are cut
// at a rune boundary. The fields are untrusted text.
const maxField = 2048

// fields is the union of both message types. XML fields are text; JSON
// fields may be numbers or strings (api.Int accepts both).
type fields struct {
	CorpID      string
	MsgType     string
	MailID      string
	ToUserID    string
	FromUser    string
	Title       string
	UserID      string
	Time        *api.Int
	NewCount    *api.Int
	UnReadCount *api.Int
}

type xmlFields struct {
	CorpID      string `xml:"CorpID"`
	MsgType     string `xml:"MsgType"`
	MailID      string `xml:"MailID"`
	ToUserID    string `xml:"ToUserID"`
	FromUser    string `xml:"FromUser"`
	Title       string `xml:"Title"`
	UserID      string `xml:"UserID"`
	Time        string `xml:"Time"`
	NewCount    string `xml:"NewCount"`
	UnReadCount string `xml:"UnReadCount"`
}

// Decode parses a decrypted message, XML (<xml><MsgType>…) as in the
// official page, or JSON ({"MsgType":…}) since Tencent's newer callbacks
// use it (protocol.md is silent on which; both are accepted, by the first
// non-space byte). corpID, if not empty, must match the message's CorpID
// field when it has one (ErrCorpID).
//
// MsgType "Mail" with a MailID is a *Mail. "UnRead" (any letter case) is
// an *Unread, and so is "Mail" without a MailID but with an UnReadCount:
// the mirrored doc page's UnRead sample wrongly says MsgType "Mail"
// (protocol.md §5). Missing recipients, negative counts and unparsable
// numbers are ErrMalformed; an unknown MsgType is ErrUnsupported.
func Decode(plain []byte, corpID string) (Message, error) {
	f, err := parseFields(plain)
	if err != nil {
		return nil, err
	}
	if corpID != "" && f.CorpID != "" && f.CorpID != corpID {
		return nil, ErrCorpID
	}
	var t time.Time
	if f.Time != nil && *f.Time > 0 {
		t = time.Unix(int64(*f.Time), 0)
	}
	switch {
	case strings.EqualFold(f.MsgType, TypeMail) && f.MailID != "":
		if f.ToUserID == "" {
			return nil, fmt.Errorf("%w: Mail without ToUserID", ErrMalformed)
		}
		n, err := count(f.NewCount)
		if err != nil {
			return nil, err
		}
		return &Mail{CorpID: f.CorpID, MailID: f.MailID, To: f.ToUserID, From: f.FromUser, Title: f.Title, Time: t, Unread: n}, nil
	case strings.EqualFold(f.MsgType, TypeUnread) || (strings.EqualFold(f.MsgType, TypeMail) && f.UnReadCount != nil):
		user := f.UserID
		if user == "" {
			user = f.ToUserID
		}
		if user == "" {
			return nil, fmt.Errorf("%w: UnRead without UserID", ErrMalformed)
		}
		c := f.UnReadCount
		if c == nil {
			c = f.NewCount
		}
		n, err := count(c)
		if err != nil {
			return nil, err
		}
		return &Unread{CorpID: f.CorpID, User: user, Time: t, Unread: n}, nil
	case strings.EqualFold(f.MsgType, TypeMail):
		return nil, fmt.Errorf("%w: Mail without MailID", ErrMalformed)
	case f.MsgType == "":
		return nil, fmt.Errorf("%w: no MsgType", ErrMalformed)
	}
	return nil, ErrUnsupported
}

func count(n *api.Int) (int, error) {
	if n == nil {
		return 0, fmt.Errorf("%w: no count", ErrMalformed)
	}
	if *n < 0 || *n > 1<<31-1 {
		return 0, fmt.Errorf("%w: count out of range", ErrMalformed)
	}
	return int(*n), nil
}

func parseFields(plain []byte) (fields, error) {
	var f fields
	trimmed := bytes.TrimSpace(plain)
	if len(trimmed) == 0 {
		return f, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	if trimmed[0] == '{' {
		if err := json.Unmarshal(trimmed, &f); err != nil {
			return f, fmt.Errorf("%w: message is not valid JSON", ErrMalformed)
		}
	} else {
		var x xmlFields
		if err := xml.Unmarshal(trimmed, &x); err != nil {
			return f, fmt.Errorf("%w: message is not valid XML", ErrMalformed)
		}
		f = fields{CorpID: x.CorpID, MsgType: x.MsgType, MailID: x.MailID, ToUserID: x.ToUserID,
			FromUser: x.FromUser, Title: x.Title, UserID: x.UserID}
		var err error
		for _, p := range []struct {
			dst **api.Int
			s   string
		}{{&f.Time, x.Time}, {&f.NewCount, x.NewCount}, {&f.UnReadCount, x.UnReadCount}} {
			if *p.dst, err = xmlInt(p.s); err != nil {
				return f, err
			}
		}
	}
	for _, s := range []*string{&f.CorpID, &f.MsgType, &f.MailID, &f.ToUserID, &f.FromUser, &f.Title, &f.UserID} {
		*s = clean(*s)
	}
	return f, nil
}

// xmlInt parses an XML number field; "" means absent.
func xmlInt(s string) (*api.Int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: a number field is not an integer", ErrMalformed)
	}
	n := api.Int(v)
	return &n, nil
}

// clean trims s, drops invalid UTF-8 and cuts it to maxField bytes.
func clean(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "")
	if len(s) <= maxField {
		return s
	}
	n := maxField
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Encode renders a message as the fake server sends it: XML (the
// official page's format) or, with asJSON, the same fields as a JSON
// object. msgType overrides the type written (the fake uses it to
// reproduce the doc's UnRead-labelled-Mail sample); "" writes the
// message's own type.
func Encode(m Message, asJSON bool, msgType string) ([]byte, error) {
	var x xmlFields
	switch m := m.(type) {
	case *Mail:
		x = xmlFields{CorpID: m.CorpID, MsgType: TypeMail, MailID: m.MailID, ToUserID: m.To, FromUser: m.From,
			Title: m.Title, NewCount: strconv.Itoa(m.Unread)}
		if !m.Time.IsZero() {
			x.Time = strconv.FormatInt(m.Time.Unix(), 10)
		}
	case *Unread:
		x = xmlFields{CorpID: m.CorpID, MsgType: TypeUnread, UserID: m.User, UnReadCount: strconv.Itoa(m.Unread)}
		if !m.Time.IsZero() {
			x.Time = strconv.FormatInt(m.Time.Unix(), 10)
		}
	default:
		return nil, fmt.Errorf("exmail callback: cannot encode %T", m)
	}
	if msgType != "" {
		x.MsgType = msgType
	}
	// The fields in the order Tencent's samples list them; empty ones are
	// left out (JSON always carries CorpID and MsgType).
	fields := []struct {
		name, v string
		num     bool
	}{
		{"CorpID", x.CorpID, false}, {"MsgType", x.MsgType, false},
		{"MailID", x.MailID, false}, {"ToUserID", x.ToUserID, false},
		{"FromUser", x.FromUser, false}, {"Title", x.Title, false},
		{"UserID", x.UserID, false}, {"Time", x.Time, true},
		{"NewCount", x.NewCount, true}, {"UnReadCount", x.UnReadCount, true},
	}
	if asJSON {
		obj := map[string]any{"CorpID": x.CorpID, "MsgType": x.MsgType}
		for _, f := range fields {
			switch {
			case f.v == "":
			case f.num:
				n, _ := strconv.ParseInt(f.v, 10, 64)
				obj[f.name] = n
			default:
				obj[f.name] = f.v
			}
		}
		return json.Marshal(obj)
	}
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, f := range fields {
		if f.v == "" {
			continue
		}
		b.WriteString("<" + f.name + ">")
		if f.num {
			b.WriteString(f.v)
		} else {
			writeCDATA(&b, f.v)
		}
		b.WriteString("</" + f.name + ">")
	}
	b.WriteString("</xml>")
	return b.Bytes(), nil
}

// writeCDATA writes s as CDATA sections, splitting any "]]>" inside it.
func writeCDATA(b *bytes.Buffer, s string) {
	b.WriteString("<![CDATA[")
	b.WriteString(strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]>")
}

// envelope is the POST body: XML <xml><ToUserName/><Encrypt/><AgentID/></xml>
// as in WeChat Work, or JSON {"encrypt":…} (both accepted).
type envelope struct {
	ToUserName string `xml:"ToUserName" json:"tousername"`
	Encrypt    string `xml:"Encrypt" json:"encrypt"`
	AgentID    string `xml:"AgentID" json:"agentid"`
}

// parseEnvelope extracts the ciphertext and the ToUserName of a POST body.
func parseEnvelope(body []byte) (envelope, error) {
	var e envelope
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return e, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	var err error
	if trimmed[0] == '{' {
		var j struct {
			ToUserName string          `json:"tousername"`
			Encrypt    string          `json:"encrypt"`
			AgentID    json.RawMessage `json:"agentid"`
		}
		err = json.Unmarshal(trimmed, &j)
		e.ToUserName, e.Encrypt = j.ToUserName, j.Encrypt
	} else {
		err = xml.Unmarshal(trimmed, &e)
	}
	if err != nil {
		return e, fmt.Errorf("%w: body is neither the XML nor the JSON envelope", ErrMalformed)
	}
	e.Encrypt = strings.TrimSpace(e.Encrypt)
	e.ToUserName = strings.TrimSpace(e.ToUserName)
	if e.Encrypt == "" {
		return e, fmt.Errorf("%w: no Encrypt field", ErrMalformed)
	}
	return e, nil
}

// Envelope renders the POST body Tencent sends: the XML envelope
// (<xml><ToUserName>corpID</ToUserName><Encrypt>…</Encrypt><AgentID/></xml>),
// or with asJSON {"tousername":…,"encrypt":…,"agentid":…}.
func Envelope(corpID, ciphertext, agentID string, asJSON bool) []byte {
	if asJSON {
		b, _ := json.Marshal(map[string]string{"tousername": corpID, "encrypt": ciphertext, "agentid": agentID})
		return b
	}
	var b bytes.Buffer
	b.WriteString("<xml><ToUserName>")
	writeCDATA(&b, corpID)
	b.WriteString("</ToUserName><Encrypt>")
	writeCDATA(&b, ciphertext)
	b.WriteString("</Encrypt><AgentID>")
	writeCDATA(&b, agentID)
	b.WriteString("</AgentID></xml>")
	return b.Bytes()
}
