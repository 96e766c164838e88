package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// MaxFrame is the largest JSON object accepted on the listen stream
// (1 MiB). A larger object ends the connection with ErrBadStream.
const MaxFrame = 1 << 20

// ErrBadStream reports a listen reply that broke the framing: bytes that
// are not a JSON object, an object larger than MaxFrame, or a reply cut off
// inside an object. The connection is abandoned; a Watcher reconnects. The
// error names the byte offset, never the content.
var ErrBadStream = errors.New("exmail listen: malformed stream")

// splitter cuts a byte stream into top-level JSON objects without decoding
// them (protocol.md §3.4, "client algorithm" step 2). It serves both
// framings of openapi/listen: a held-open reply that yields one object
// after another, and a long poll that ends after one object. Objects may be
// split across reads at any byte, several may share one read, and
// whitespace may sit between them. Anything else between objects is an
// error: the stream cannot be trusted past it.
//
// It counts braces and brackets outside strings, honouring escapes, and
// never holds more than max bytes of one object, so a hostile or broken
// server cannot grow memory without bound (an unbounded json.Decoder
// would). A comma directly before a closing brace or bracket, as in the
// PDF's samples (§3.5), is blanked to a space, so `{"Ver":"1",}` is
// emitted as the valid `{"Ver":"1" }`. Every emitted frame has passed
// json.Valid.
//
// The frame next returns aliases the splitter's buffer: it is valid until
// the following call.
type splitter struct {
	r    io.Reader
	max  int
	buf  []byte
	r0   int   // start of the unconsumed bytes buf[r0:w]
	w    int   // end of the bytes read so far
	off  int64 // stream offset of buf[0]
	rerr error // sticky error from r
}

const (
	firstRead = 4 << 10 // initial buffer size
	empties   = 100     // consecutive (0, nil) reads tolerated
)

func newSplitter(r io.Reader, max int) *splitter {
	if max <= 0 {
		max = MaxFrame
	}
	return &splitter{r: r, max: max}
}

// next returns the next object. It returns io.EOF when the stream ends
// cleanly between objects, an error wrapping ErrBadStream when the framing
// is broken, and the reader's error otherwise. After an error the
// splitter is finished.
func (s *splitter) next() ([]byte, error) {
	// Skip whitespace up to the next object.
	for {
		for s.r0 < s.w {
			c := s.buf[s.r0]
			if c == '{' {
				return s.object()
			}
			if !isSpace(c) {
				return nil, s.bad(s.r0, "not a JSON object")
			}
			s.r0++
		}
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

// object scans the object that starts at buf[r0].
func (s *splitter) object() ([]byte, error) {
	var (
		depth   int
		inStr   bool
		esc     bool
		lastSig = -1 // offset from r0 of the last significant byte outside strings
		p       int  // offset from r0 of the next byte to scan
	)
	for {
		for ; s.r0+p < s.w; p++ {
			c := s.buf[s.r0+p]
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
				}
				continue
			}
			switch c {
			case ' ', '\t', '\r', '\n':
				continue
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				if lastSig >= 0 && s.buf[s.r0+lastSig] == ',' {
					s.buf[s.r0+lastSig] = ' ' // the PDF's trailing comma
				}
				depth--
				if depth <= 0 {
					n := p + 1
					if n > s.max {
						return nil, s.bad(s.r0, fmt.Sprintf("object larger than %s", sizeString(s.max)))
					}
					frame := s.buf[s.r0 : s.r0+n]
					if !json.Valid(frame) {
						return nil, s.bad(s.r0, "object is not valid JSON")
					}
					s.r0 += n
					return frame, nil
				}
			}
			lastSig = p
		}
		if p > s.max {
			return nil, s.bad(s.r0, fmt.Sprintf("object larger than %s", sizeString(s.max)))
		}
		if err := s.fill(); err != nil {
			if err == io.EOF {
				return nil, s.bad(s.r0, "the reply ended inside an object")
			}
			return nil, err
		}
	}
}

// fill reads more bytes, moving the unconsumed ones to the front and
// growing the buffer (up to max plus one read) when they fill it.
func (s *splitter) fill() error {
	if s.rerr != nil {
		return s.rerr
	}
	if s.r0 > 0 {
		n := copy(s.buf, s.buf[s.r0:s.w])
		s.off += int64(s.r0)
		s.r0, s.w = 0, n
	}
	if s.w == len(s.buf) {
		size := max(2*len(s.buf), firstRead)
		size = min(size, s.max+firstRead)
		if size <= len(s.buf) {
			// Unreachable: object() reports an oversized frame first.
			return s.bad(0, "object larger than the buffer")
		}
		buf := make([]byte, size)
		copy(buf, s.buf[:s.w])
		s.buf = buf
	}
	for range empties {
		n, err := s.r.Read(s.buf[s.w:])
		s.w += n
		if err != nil {
			s.rerr = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	s.rerr = io.ErrNoProgress
	return s.rerr
}

func (s *splitter) bad(at int, why string) error {
	s.rerr = ErrBadStream
	s.r0, s.w = 0, 0
	return fmt.Errorf("%w: %s (at byte %d)", ErrBadStream, why, s.off+int64(at))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func sizeString(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// fields holds the raw values of the members of one listen object that
// the decoder knows (nil: absent). They alias the frame.
type fields struct {
	user, mailID, sender, receiver, subject, summary []byte
	newCount, ver, ret, errcode, errname             []byte
}

// knownKeys are the member names of the listen objects (protocol.md
// §3.5, §2.3), each with the field of fields its value goes to.
var knownKeys = [...]struct {
	name string
	slot func(*fields) *[]byte
}{
	{"UserName", func(f *fields) *[]byte { return &f.user }},
	{"MailId", func(f *fields) *[]byte { return &f.mailID }},
	{"Sender", func(f *fields) *[]byte { return &f.sender }},
	{"Receiver", func(f *fields) *[]byte { return &f.receiver }},
	{"Subject", func(f *fields) *[]byte { return &f.subject }},
	{"Summary", func(f *fields) *[]byte { return &f.summary }},
	{"NewCount", func(f *fields) *[]byte { return &f.newCount }},
	{"Ver", func(f *fields) *[]byte { return &f.ver }},
	{"Ret", func(f *fields) *[]byte { return &f.ret }},
	{"errcode", func(f *fields) *[]byte { return &f.errcode }},
	{"error", func(f *fields) *[]byte { return &f.errname }},
}

// scan fills f from frame, a valid JSON object. Keys are matched after
// trimming surrounding spaces and ignoring case, which covers the PDF's
// " UserName" and "NewCount " (§3.5) and "MailID" for "MailId". When a key
// repeats, the last one wins, as with encoding/json. It does not allocate
// unless a key contains a JSON escape.
func (f *fields) scan(frame []byte) {
	*f = fields{}
	m := members{b: frame}
	for {
		k, v, ok := m.next()
		if !ok {
			return
		}
		if i := knownKey(k); i >= 0 {
			*knownKeys[i].slot(f) = v
		}
	}
}

// knownKey maps a raw JSON key (with its quotes) onto its index in
// knownKeys, or -1 when it is none of them.
func knownKey(raw []byte) int {
	k := raw
	if len(k) >= 2 {
		k = k[1 : len(k)-1]
	}
	if bytes.IndexByte(k, '\\') >= 0 {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return -1
		}
		k = []byte(s)
	}
	k = bytes.TrimSpace(k)
	for i, key := range knownKeys { // exact spellings first
		if string(k) == key.name {
			return i
		}
	}
	for i, key := range knownKeys {
		if equalFoldASCII(k, key.name) {
			return i
		}
	}
	return -1
}

// equalFoldASCII reports whether k equals name ignoring ASCII case; name
// is ASCII.
func equalFoldASCII(k []byte, name string) bool {
	if len(k) != len(name) {
		return false
	}
	for i := range len(k) {
		a, b := k[i], name[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// members iterates over the top-level members of a valid JSON object
// without decoding them.
type members struct {
	b []byte
	i int
}

func (m *members) next() (key, val []byte, ok bool) {
	b, i := m.b, m.i
	if i == 0 { // step into the object
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i < len(b) && b[i] == '{' {
			i++
		}
	}
	for i < len(b) && (isSpace(b[i]) || b[i] == ',') {
		i++
	}
	if i >= len(b) || b[i] != '"' {
		m.i = len(b)
		return nil, nil, false
	}
	kEnd := skipString(b, i)
	key = b[i:kEnd]
	i = kEnd
	for i < len(b) && (isSpace(b[i]) || b[i] == ':') {
		i++
	}
	vEnd := skipValue(b, i)
	val = b[i:vEnd]
	m.i = vEnd
	return key, val, true
}

// skipString returns the index after the string that starts at b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !isSpace(b[j]) {
		j++
	}
	return j
}

// rawText returns the bytes of a JSON string value without its quotes
// when it needs no unescaping, and ok=false otherwise (escapes, or not a
// string).
func rawText(v []byte) (text []byte, ok bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	text = v[1 : len(v)-1]
	if bytes.IndexByte(text, '\\') >= 0 {
		return nil, false
	}
	return text, true
}

// text decodes a value the decoder wants as a string: a JSON string is
// unescaped, null is "", and any other value is kept as its JSON text.
func text(v []byte) string {
	if t, ok := rawText(v); ok {
		return string(t)
	}
	if len(v) > 0 && v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	if string(v) == "null" {
		return ""
	}
	return string(v)
}

// mailboxBytes returns the address an object concerns: UserName, or, when
// that is missing or empty, Receiver. A "Name <addr>" form is reduced to
// addr. It allocates only when the value contains escapes.
func (f *fields) mailboxBytes() []byte {
	for _, v := range [...][]byte{f.user, f.receiver} {
		if v == nil {
			continue
		}
		t, ok := rawText(v)
		if !ok {
			t = []byte(text(v))
		}
		if t = addrOnly(t); len(t) > 0 {
			return t
		}
	}
	return nil
}

// addrOnly trims spaces and reduces `"Name" <addr>` to addr.
func addrOnly(t []byte) []byte {
	t = bytes.TrimSpace(t)
	if n := len(t); n > 0 && t[n-1] == '>' {
		if i := bytes.LastIndexByte(t, '<'); i >= 0 {
			t = bytes.TrimSpace(t[i+1 : n-1])
		}
	}
	return t
}

// mailboxSpecific reports whether the object is about one mailbox (a new
// mail or an unread count), whether or not it names it.
func (f *fields) mailboxSpecific() bool {
	return f.mailID != nil || f.newCount != nil || f.user != nil || f.receiver != nil
}

// decoder turns listen frames into events, dropping those of other
// mailboxes before decoding them when it has an alias.
type decoder struct {
	sp    *splitter
	alias []byte // "" keeps every mailbox
	f     fields
}

func newDecoder(r io.Reader, alias string, max int) *decoder {
	return &decoder{sp: newSplitter(r, max), alias: []byte(normalizeAlias(alias))}
}

func normalizeAlias(alias string) string { return string(addrOnly([]byte(alias))) }

// Skipped stands for an object of another mailbox that Listen dropped
// without decoding it. It carries nothing, not even which mailbox, and
// costs no allocation. It tells a supervisor that the connection is alive
// and that a long-poll reply was not empty; the Watcher does not pass it
// on. Consumers of Listen can ignore it.
type Skipped struct{}

func (Skipped) isEvent() {}

// next returns the next event for the decoder's mailbox, or Skipped for an
// object of another one. Errors are those of the splitter, or an *Error
// for an errcode object. io.EOF: the stream ended cleanly.
func (d *decoder) next() (Event, error) {
	frame, err := d.sp.next()
	if err != nil {
		return nil, err
	}
	d.f.scan(frame)
	if !d.keep() {
		return Skipped{}, nil
	}
	return parseFields(frame, &d.f)
}

// keep is the cheap filter: it compares the object's mailbox with the
// alias on the raw bytes, so an event of another mailbox costs a scan and
// no allocation.
func (d *decoder) keep() bool { return d.f.concerns(d.alias) }

// concerns is the filter rule, on the raw members: an error object
// concerns everyone; an object that names a mailbox (UserName, else
// Receiver) concerns that mailbox; an object that is about a mailbox
// (MailId, NewCount) but names none concerns nobody, as it cannot be shown
// as ours; anything else concerns everyone. An empty alias keeps all.
func (f *fields) concerns(alias []byte) bool {
	if len(alias) == 0 || f.errcode != nil || f.errname != nil {
		return true
	}
	box := f.mailboxBytes()
	if box == nil {
		return !f.mailboxSpecific()
	}
	return bytes.EqualFold(box, alias)
}

// parseEvent decodes one listen object (protocol.md §3.5). It classifies
// by the members present, since the objects carry no type tag:
//
//   - errcode (non-zero) or error: an *Error for op "listen";
//   - MailId: NewMail;
//   - UserName (or Receiver) and NewCount: UnreadChanged;
//   - Ver: VersionChanged;
//   - Ret: Ack;
//   - anything else, or a member of the wrong type: Unknown, with a copy of
//     the object.
//
// frame must be a valid JSON object; trailing commas are not accepted
// here (the splitter blanks them).
func parseEvent(frame []byte) (Event, error) {
	var f fields
	f.scan(frame)
	return parseFields(frame, &f)
}

func parseFields(frame []byte, f *fields) (Event, error) {
	unknown := func() (Event, error) { return Unknown{Raw: bytes.Clone(frame)}, nil }
	if f.errcode != nil || f.errname != nil {
		var code Int
		if f.errcode != nil && code.UnmarshalJSON(f.errcode) != nil {
			code = 0
		}
		name := ""
		if f.errname != nil {
			name = text(f.errname)
		}
		if code != 0 || name != "" {
			return nil, &Error{Op: "listen", HTTPStatus: 200, Code: int(code), Name: safetext.Line(name, 80)}
		}
	}
	var count Int
	if f.newCount != nil && count.UnmarshalJSON(f.newCount) != nil {
		return unknown()
	}
	switch {
	case f.mailID != nil:
		return NewMail{
			User:     string(f.mailboxBytes()),
			MailID:   text(f.mailID),
			Sender:   text(f.sender),
			Receiver: text(f.receiver),
			Subject:  text(f.subject),
			Summary:  text(f.summary),
			Unread:   int(count),
		}, nil
	case f.newCount != nil && f.mailboxBytes() != nil:
		return UnreadChanged{User: string(f.mailboxBytes()), Unread: int(count)}, nil
	case f.ver != nil:
		var v Version
		if v.UnmarshalJSON(f.ver) != nil {
			return unknown()
		}
		return VersionChanged{Ver: v}, nil
	case f.ret != nil:
		var r Int
		if r.UnmarshalJSON(f.ret) != nil {
			return unknown()
		}
		return Ack{Ret: int(r)}, nil
	}
	return unknown()
}

// Mailbox returns the mailbox an event concerns: the receiving account of
// a NewMail or UnreadChanged, the UserName (or Receiver) inside an
// Unknown, and "" for events about the connection or the whole enterprise
// (Ack, VersionChanged, StateChanged, Skipped).
func Mailbox(ev Event) string {
	switch ev := ev.(type) {
	case NewMail:
		return ev.User
	case UnreadChanged:
		return ev.User
	case Unknown:
		if !json.Valid(ev.Raw) {
			return ""
		}
		var f fields
		f.scan(ev.Raw)
		return string(f.mailboxBytes())
	}
	return ""
}

// Concerns reports whether ev is for the owner of mailbox alias: events
// that name a mailbox must name alias (compared ignoring case, and
// `"Name" <addr>` as addr); a NewMail or UnreadChanged that names none
// concerns nobody; events about the connection or the enterprise concern
// everyone. An empty alias matches every event.
//
// Client.Listen with an alias applies the same rule before it decodes an
// object, which is the cheap place to do it; Concerns is for consumers
// that listen to every mailbox.
func Concerns(ev Event, alias string) bool {
	a := []byte(normalizeAlias(alias))
	if len(a) == 0 {
		return true
	}
	switch ev := ev.(type) {
	case NewMail:
		return bytes.EqualFold(addrOnly([]byte(ev.User)), a)
	case UnreadChanged:
		return bytes.EqualFold(addrOnly([]byte(ev.User)), a)
	case Unknown:
		if !json.Valid(ev.Raw) {
			return true
		}
		var f fields
		f.scan(ev.Raw)
		return f.concerns(a)
	}
	return true
}
