package corptest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi/callback"
)

// Fault spoils one callback, to test a receiver's checks.
type Fault int

const (
	// FaultNone sends a correct callback.
	FaultNone Fault = iota
	// FaultBadSignature sends a msg_signature that does not match.
	FaultBadSignature
	// FaultStaleTimestamp signs a timestamp 10 minutes in the past.
	FaultStaleTimestamp
	// FaultRepeatNonce reuses the previous callback's timestamp and nonce
	// for a new, correctly signed message (a replay of the pair).
	FaultRepeatNonce
	// FaultWrongCorpID encrypts the message for another CorpID (receive
	// id and CorpID field).
	FaultWrongCorpID
	// FaultGarbage sends correctly signed random bytes as ciphertext.
	FaultGarbage
)

func (f Fault) String() string {
	names := [...]string{"none", "bad signature", "stale timestamp", "repeated nonce", "wrong CorpID", "garbage ciphertext"}
	if f < 0 || int(f) >= len(names) {
		return fmt.Sprintf("Fault(%d)", int(f))
	}
	return names[f]
}

type callbackState struct {
	crypto    *callback.Crypto
	url       string
	format    Format
	faults    []Fault
	lastTS    string
	lastNonce string
}

func (s *Server) initCallback() error {
	c, err := callback.NewCrypto(api.Secret(s.opts.CallbackToken), api.Secret(s.opts.CallbackAESKey), s.opts.CorpID)
	if err != nil {
		return err
	}
	s.cb = callbackState{crypto: c, url: s.opts.CallbackURL, format: s.opts.CallbackFormat}
	return nil
}

// CallbackToken and CallbackAESKey return the callback settings a
// receiver needs (the admin console shows them).
func (s *Server) CallbackToken() string  { return s.opts.CallbackToken }
func (s *Server) CallbackAESKey() string { return s.opts.CallbackAESKey }

// SetCallbackURL switches callback mode on (a URL) or off ("").
func (s *Server) SetCallbackURL(u string) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.cb.url = u
}

// SetCallbackFormat changes how later callbacks are written.
func (s *Server) SetCallbackFormat(f Format) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.cb.format = f
}

// NextCallback queues faults for the next callbacks, one each, in order.
func (s *Server) NextCallback(faults ...Fault) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.cb.faults = append(s.cb.faults, faults...)
}

// CallbackError is a callback the receiver did not acknowledge.
type CallbackError struct {
	Status int    // HTTP status
	Body   string // the reply body, cut to 200 bytes
}

func (e *CallbackError) Error() string {
	return fmt.Sprintf("corptest: callback answered HTTP %d: %q", e.Status, e.Body)
}

func (s *Server) sendMail(ctx context.Context, userid string, m Mail, count int) error {
	msg := &callback.Mail{CorpID: s.opts.CorpID, MailID: m.ID, To: userid, From: m.From, Title: m.Subject, Time: m.Time, Unread: count}
	return s.send(ctx, msg)
}

func (s *Server) sendUnread(ctx context.Context, userid string, count int) error {
	return s.send(ctx, &callback.Unread{CorpID: s.opts.CorpID, User: userid, Time: time.Now(), Unread: count})
}

// send encrypts, signs and POSTs one message to the callback URL
// (nothing when callback mode is off), applying the next queued fault.
func (s *Server) send(ctx context.Context, m callback.Message) error {
	s.cmu.Lock()
	target, format, c := s.cb.url, s.cb.format, s.cb.crypto
	fault := FaultNone
	if len(s.cb.faults) > 0 {
		fault, s.cb.faults = s.cb.faults[0], s.cb.faults[1:]
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := strconv.FormatUint(uint64(binary.BigEndian.Uint32(randomBytes(4))), 10) // digits, as WeChat Work sends
	switch fault {
	case FaultStaleTimestamp:
		ts = strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	case FaultRepeatNonce:
		if s.cb.lastTS != "" {
			ts, nonce = s.cb.lastTS, s.cb.lastNonce
		}
	}
	s.cb.lastTS, s.cb.lastNonce = ts, nonce
	s.cmu.Unlock()
	if target == "" {
		return nil
	}

	msgType := ""
	if _, ok := m.(*callback.Unread); ok && format.UnreadAsMail {
		msgType = callback.TypeMail
	}
	if fault == FaultWrongCorpID {
		switch m := m.(type) {
		case *callback.Mail:
			m.CorpID = "wmintruder"
		case *callback.Unread:
			m.CorpID = "wmintruder"
		}
	}
	plain, err := callback.Encode(m, format.JSONMessage, msgType)
	if err != nil {
		return err
	}
	var enc string
	switch fault {
	case FaultWrongCorpID:
		enc, err = c.EncryptForCorpID(plain, "wmintruder")
	case FaultGarbage:
		enc = randomBase64Blocks(4)
	default:
		enc, err = c.Encrypt(plain)
	}
	if err != nil {
		return err
	}
	sig := c.Sign(ts, nonce, enc)
	if fault == FaultBadSignature {
		sig = c.Sign(ts, nonce+"0", enc)
	}
	body := callback.Envelope(s.opts.CorpID, enc, "1000001", format.JSONEnvelope)
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}
	ct := "text/xml; charset=utf-8"
	if format.JSONEnvelope {
		ct = "application/json"
	}
	s.log.Debug("corptest: callback", "fault", fault.String())
	return s.post(ctx, http.MethodPost, target, q, ct, body, "")
}

// randomBase64Blocks returns n random 32-byte blocks, base64-encoded.
func randomBase64Blocks(n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(randomString(24)) // 24 bytes → 32 characters → 24 bytes decoded
	}
	// Standard base64 of a multiple of 3 bytes has no padding; swap the
	// URL alphabet for the standard one.
	return strings.NewReplacer("-", "+", "_", "/").Replace(b.String())
}

// VerifyCallbackURL does what the admin console does when callback mode
// is saved: a signed GET with an encrypted echostr, expecting the
// plaintext back. It applies the next queued fault too.
func (s *Server) VerifyCallbackURL(ctx context.Context) error {
	s.cmu.Lock()
	target, c := s.cb.url, s.cb.crypto
	fault := FaultNone
	if len(s.cb.faults) > 0 {
		fault, s.cb.faults = s.cb.faults[0], s.cb.faults[1:]
	}
	s.cmu.Unlock()
	if target == "" {
		return fmt.Errorf("corptest: no callback URL set")
	}
	echo := randomString(15)
	enc, err := c.Encrypt([]byte(echo))
	if fault == FaultWrongCorpID {
		enc, err = c.EncryptForCorpID([]byte(echo), "wmintruder")
	}
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	if fault == FaultStaleTimestamp {
		ts = strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	}
	nonce := randomString(6)
	sig := c.Sign(ts, nonce, enc)
	if fault == FaultBadSignature {
		sig = c.Sign(ts, nonce+"0", enc)
	}
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {enc}}
	return s.post(ctx, http.MethodGet, target, q, "", nil, echo)
}

// post sends one callback request and checks the answer: HTTP 200, and
// for a verification the echoed plaintext.
func (s *Server) post(ctx context.Context, method, target string, q url.Values, ct string, body []byte, wantBody string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("corptest: callback URL: %w", err)
	}
	uq := u.Query()
	for k, v := range q {
		uq[k] = v
	}
	u.RawQuery = uq.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("corptest: callback: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode != http.StatusOK || (wantBody != "" && string(b) != wantBody) {
		return &CallbackError{Status: resp.StatusCode, Body: string(b)}
	}
	return nil
}
