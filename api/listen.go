package api

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/url"
	"time"

	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

const opListen = "listen"

// errTokenRotation ends a listen connection shortly before its token
// expires, so that the next one authenticates with a fresh token.
var errTokenRotation = errors.New("exmail listen: the access token is about to expire")

// Listen opens one openapi/listen connection (protocol.md §3.4) from
// address-book version ver and yields what the server sends: Ack,
// VersionChanged, NewMail, UnreadChanged and Unknown events (and Skipped,
// below). It is one round trip; reconnecting is the Watcher's job.
//
// The request is a POST of ver=<ver> and, when alias is not empty,
// alias=<alias> (not in the PDF, and harmless where the server ignores
// it). The connection carries every mailbox of the enterprise, so with an
// alias Listen also drops the objects of other mailboxes before decoding
// them (see Concerns for the rule), and yields an empty Skipped in their
// place: proof of life for a watchdog, nothing to show. An empty alias
// yields every mailbox.
//
// The reply may be a held-open stream of objects (chunked or ended by
// closing the connection) or a long poll that ends after one object; both
// are read the same way. The sequence ends without an error when the
// server ends the reply, and also, shortly before the access token
// expires, by itself, so that the next connection uses a fresh token.
//
// How tolerant it is of the PDF's typesetting (§3.5): objects may be
// separated by any whitespace (nothing else); a comma right before a
// closing brace or bracket is ignored; member names match after trimming
// spaces and ignoring case (" UserName", "NewCount ", "MailID"); numbers
// may come as strings ("NewCount":"2"). Values are otherwise strict JSON.
// An object of an unknown shape, or with a member of the wrong type,
// becomes Unknown.
//
// Errors end the sequence. They are:
//   - *Error: an HTTP error status or an errcode object in the reply. An
//     invalid token (errcode 1200) is dropped from the cache; if it was
//     refused before anything else arrived, Listen fetches a new token and
//     tries once more by itself.
//   - ErrBadStream (wrapped): bytes that are not JSON, an object larger
//     than MaxFrame, or a reply cut off inside an object.
//   - a transport error, or ctx.Err() once ctx is done.
//
// Breaking out of the loop aborts the request.
func (c *Client) Listen(ctx context.Context, ver Version, alias string) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for first := true; ; first = false {
			retry := c.listenOnce(ctx, ver, alias, first, yield)
			if !retry {
				return
			}
			c.log.Debug("exmail listen: token rejected; reconnecting with a new one")
		}
	}
}

// listenOnce performs one request. It reports whether Listen should try
// again with a new token.
func (c *Client) listenOnce(ctx context.Context, ver Version, alias string, first bool, yield func(Event, error) bool) (retry bool) {
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	form := url.Values{"ver": {ver.String()}}
	if alias != "" {
		form.Set("alias", alias)
	}
	req, tok, err := c.newRequest(lctx, opListen, form)
	if err != nil {
		yield(nil, err)
		return false
	}
	if exp := c.tokens.expires(); !exp.IsZero() {
		t := time.AfterFunc(time.Until(exp), func() { cancel(errTokenRotation) })
		defer t.Stop()
	}
	rotated := func() bool { return ctx.Err() == nil && context.Cause(lctx) == errTokenRotation }

	resp, err := c.long.Do(req) // no Client.Timeout: it would cut the reply

	if err != nil {
		if !rotated() {
			yield(nil, transportError(ctx, opListen, err))
		}
		return false
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		e := &Error{Op: opListen, HTTPStatus: resp.StatusCode, Message: safetext.Line(string(body), 200)}
		if env, ok := parseEnvelope(body); ok {
			e.Code, e.Name = int(env.Code), env.Name
		}
		if e.Is(ErrInvalidToken) {
			c.tokens.invalidate(tok)
			if first {
				return true
			}
		}
		yield(nil, e)
		return false
	}

	dec := newDecoder(resp.Body, alias, MaxFrame)
	for n := 0; ; n++ {
		ev, err := dec.next()
		switch {
		case err == nil:
			if !yield(ev, nil) {
				return false
			}
			continue
		case rotated(), err == io.EOF && ctx.Err() == nil:
			return false
		case errors.Is(err, ErrInvalidToken):
			c.tokens.invalidate(tok)
			if first && n == 0 {
				return true
			}
		case errors.Is(err, ErrBadStream), errors.As(err, new(*Error)):
		default:
			err = transportError(ctx, opListen, err)
		}
		yield(nil, err)
		return false
	}
}
