package callback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// Path is where the relay mounts the Handler. Tencent requires the
// callback URL to use port 80, 443 or 8080 (protocol.md §5).
const Path = "/callback/exmail"

// Defaults of Options.
const (
	DefaultMaxSkew    = 5 * time.Minute
	DefaultNonceCache = 10000
	DefaultMaxBody    = 64 << 10
)

// DeliverFunc receives each accepted message. A nil error acknowledges
// it: the Handler answers "success" and the (timestamp, nonce) pair is
// kept as seen. An error makes the Handler answer 503 without keeping
// the pair, so that Tencent's retry of the same request is accepted.
// ctx is the request's context.
type DeliverFunc func(ctx context.Context, m Message) error

// ToChannel returns a DeliverFunc that sends m.Event() (api.NewMail or
// api.UnreadChanged) on ch, waiting at most until ctx ends.
func ToChannel(ch chan<- api.Event) DeliverFunc {
	return func(ctx context.Context, m Message) error {
		select {
		case ch <- m.Event():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Options configures a Handler. Token, EncodingAESKey and CorpID are
// required; every other zero field takes the default named on it.
type Options struct {
	// Token and EncodingAESKey are the callback settings of the 新邮件提醒
	// application in the admin console; CorpID is the enterprise's corpid
	// (the receive id inside every message).
	Token          api.Secret
	EncodingAESKey api.Secret
	CorpID         string

	// Deliver receives each accepted message. Default: discard (and
	// acknowledge) them.
	Deliver DeliverFunc

	// MaxSkew is how far a request's timestamp may be from the local
	// clock, either way. Default DefaultMaxSkew (5 minutes).
	MaxSkew time.Duration
	// NonceCache bounds how many (timestamp, nonce) pairs are remembered
	// against replays. Default DefaultNonceCache.
	NonceCache int
	// MaxBody bounds a POST body in bytes; larger bodies get 413. Default
	// DefaultMaxBody (64 KiB).
	MaxBody int64
	// Now is the clock for the timestamp window. Default time.Now.
	Now func() time.Time
	// Logger receives one line per rejected request (Warn, with a
	// reason) and per accepted one (Debug, with the message type). It
	// never receives a key, token, signature, ciphertext, mailbox or
	// subject. Default: discard.
	Logger *slog.Logger
}

// Handler serves the callback URL of the 新邮件提醒 application:
//
//   - GET with msg_signature, timestamp, nonce and echostr is Tencent's
//     URL verification. The Handler checks the signature, the timestamp
//     window and the nonce, decrypts echostr and answers the plaintext.
//   - POST with msg_signature, timestamp and nonce in the query and the
//     encrypted envelope in the body is a message. The Handler checks
//     the same things plus the CorpID, decrypts and decodes it, delivers
//     it and answers the plain body "success".
//
// Any failed check answers 4xx, delivers nothing and logs the reason
// (ErrSignature, ErrTimestamp, ErrReplay, ErrCorpID, ErrDecrypt,
// ErrMalformed). Checks run in that order: nothing is decrypted before
// the signature has been verified. A Handler is safe for concurrent use.
type Handler struct {
	crypto  *Crypto
	deliver DeliverFunc
	maxSkew time.Duration
	maxBody int64
	now     func() time.Time
	nonces  *nonceCache
	log     *slog.Logger
}

// NewHandler returns a Handler for opts.
func NewHandler(opts Options) (*Handler, error) {
	c, err := NewCrypto(opts.Token, opts.EncodingAESKey, opts.CorpID)
	if err != nil {
		return nil, err
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = DefaultMaxSkew
	}
	if opts.NonceCache <= 0 {
		opts.NonceCache = DefaultNonceCache
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Deliver == nil {
		opts.Deliver = func(context.Context, Message) error { return nil }
	}
	return &Handler{
		crypto:  c,
		deliver: opts.Deliver,
		maxSkew: opts.MaxSkew,
		maxBody: opts.MaxBody,
		now:     opts.Now,
		// A pair must be remembered for as long as its timestamp passes
		// the window: up to 2×MaxSkew after it was first seen.
		nonces: newNonceCache(opts.NonceCache, 2*opts.MaxSkew+time.Second),
		log:    opts.Logger,
	}, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet:
		h.verifyURL(w, r)
	case http.MethodPost:
		h.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// query holds the signed parameters of a request.
type query struct {
	signature, timestamp, nonce string
}

func readQuery(r *http.Request) query {
	q := r.URL.Query()
	return query{
		signature: strings.TrimSpace(q.Get("msg_signature")),
		timestamp: strings.TrimSpace(q.Get("timestamp")),
		nonce:     strings.TrimSpace(q.Get("nonce")),
	}
}

// check verifies the signature and the timestamp window, then reserves
// the (timestamp, nonce) pair. On success the caller must keep or
// release the returned key.
func (h *Handler) check(q query, ciphertext string) (string, error) {
	if q.signature == "" || q.timestamp == "" || q.nonce == "" {
		return "", fmt.Errorf("%w: msg_signature, timestamp or nonce missing", ErrMalformed)
	}
	if len(q.nonce) > 128 || len(q.timestamp) > 20 {
		return "", fmt.Errorf("%w: nonce or timestamp too long", ErrMalformed)
	}
	if !h.crypto.Verify(q.signature, q.timestamp, q.nonce, ciphertext) {
		return "", ErrSignature
	}
	ts, err := strconv.ParseInt(q.timestamp, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: not a number", ErrTimestamp)
	}
	now := h.now()
	if d := now.Sub(time.Unix(ts, 0)); d > h.maxSkew || d < -h.maxSkew {
		return "", fmt.Errorf("%w (off by %s)", ErrTimestamp, d.Round(time.Second))
	}
	key := q.timestamp + "\x00" + q.nonce
	if !h.nonces.reserve(key, now) {
		return "", ErrReplay
	}
	return key, nil
}

func (h *Handler) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := readQuery(r)
	// echostr is base64: a "+" sent without percent-encoding arrives as a
	// space after query decoding; put it back.
	echo := strings.ReplaceAll(strings.TrimSpace(r.URL.Query().Get("echostr")), " ", "+")
	if echo == "" {
		h.reject(w, r, fmt.Errorf("%w: echostr missing", ErrMalformed))
		return
	}
	key, err := h.check(q, echo)
	if err != nil {
		h.reject(w, r, err)
		return
	}
	plain, err := h.crypto.Decrypt(echo)
	if err != nil {
		h.nonces.release(key)
		h.reject(w, r, err)
		return
	}
	h.log.Info("exmail callback: URL verified")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(plain)
}

func (h *Handler) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.log.Warn("exmail callback rejected", "reason", "body larger than the limit", "limit", h.maxBody, "remote", r.RemoteAddr)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		h.reject(w, r, fmt.Errorf("%w: reading the body failed", ErrMalformed))
		return
	}
	env, err := parseEnvelope(body)
	if err != nil {
		h.reject(w, r, err)
		return
	}
	key, err := h.check(readQuery(r), env.Encrypt)
	if err != nil {
		h.reject(w, r, err)
		return
	}
	m, err := h.open(env)
	if errors.Is(err, ErrUnsupported) {
		// Authentic, but nothing we understand: acknowledge so that
		// Tencent does not resend it.
		h.log.Info("exmail callback: ignored a message of an unsupported type")
		writeSuccess(w)
		return
	}
	if err != nil {
		h.nonces.release(key)
		h.reject(w, r, err)
		return
	}
	if err := h.deliver(r.Context(), m); err != nil {
		h.nonces.release(key)
		h.log.Warn("exmail callback: delivery failed; asking Tencent to resend", "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	h.log.Debug("exmail callback: accepted", "type", messageType(m))
	writeSuccess(w)
}

// open decrypts and decodes the envelope. The envelope's ToUserName,
// when present, must be the CorpID too.
func (h *Handler) open(env envelope) (Message, error) {
	if env.ToUserName != "" && env.ToUserName != h.crypto.CorpID() {
		return nil, ErrCorpID
	}
	plain, err := h.crypto.Decrypt(env.Encrypt)
	if err != nil {
		return nil, err
	}
	return Decode(plain, h.crypto.CorpID())
}

func messageType(m Message) string {
	switch m.(type) {
	case *Mail:
		return TypeMail
	case *Unread:
		return TypeUnread
	}
	return "unknown"
}

func writeSuccess(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
}

// reject logs why a request was refused and answers a 4xx. Errors of this
// package carry only a reason, never key material or message content.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrSignature) || errors.Is(err, ErrTimestamp) || errors.Is(err, ErrReplay) || errors.Is(err, ErrCorpID) {
		status = http.StatusForbidden
	}
	h.log.Warn("exmail callback rejected", "reason", err.Error(), "method", r.Method, "remote", r.RemoteAddr)
	http.Error(w, http.StatusText(status), status)
}
