package exmailtest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Mode is how a listen request is answered (protocol.md §8 question 1).
type Mode int

const (
	// Stream holds the response open: {"Ret":0} at once, then every
	// pushed object as it happens, until the client, DropListeners or
	// Close ends it.
	Stream Mode = iota
	// LongPoll answers each request with exactly one object and ends the
	// response: the first pending event, or else the next event, or
	// {"Ret":0} after Options.PollTimeout.
	LongPoll
)

func (m Mode) String() string {
	if m == LongPoll {
		return "long-poll"
	}
	return "stream"
}

// Framing shapes the bytes of listen replies. The zero value is a chunked
// Stream with compact objects written back to back, one per write.
//
// Mode and CloseDelimited are read when a listen request arrives; the
// other fields at every write, so SetFraming also reshapes open streams.
type Framing struct {
	Mode Mode
	// CloseDelimited sends the reply without Content-Length and without
	// chunking: the connection is hijacked, an HTTP/1.1 200 header with
	// "Connection: close" is written by hand, then raw bytes, and the end
	// of the reply is the end of the connection. Otherwise (the default)
	// a Stream is Transfer-Encoding: chunked, one chunk per flushed write.
	CloseDelimited bool
	// RepeatRet writes {"Ret":0} before every pushed object (Stream only;
	// §8 question 4). The greeting Ret counts as the prefix of an object
	// that follows it directly.
	RepeatRet bool
	// Coalesce puts every object that is waiting into one write (one
	// chunk), e.g. the greeting Ret together with the Ver push, or a
	// burst of deliveries. Without it each object is its own write.
	Coalesce bool
	// SplitEvery > 0 cuts every write into pieces of that many bytes,
	// flushed one by one (so a chunk can end inside a JSON string or a
	// multi-byte character).
	SplitEvery int
	// SplitAt cuts every write at these byte offsets instead (offsets
	// beyond the end are ignored). It wins over SplitEvery.
	SplitAt []int
	// Separator is written after every object, e.g. "\n" or " \r\n\t".
	// Default: nothing, objects back to back.
	Separator string
	// PDFQuirks reproduces the typesetting of the PDF samples (§3.4,
	// §3.5): {"Ret":0} and {"Ver":…} written with spaces and the Ver with
	// a trailing comma, and the unread-count object with the stray-space
	// keys " UserName" and " NewCount " and a trailing comma. Off by
	// default: the live keys are almost certainly clean.
	PDFQuirks bool
}

type itemKind int

const (
	kindRet itemKind = iota
	kindVer
	kindMail
	kindUnread
	kindRaw
)

// item is one object (or SendRaw blob) queued for listen connections. It
// is encoded when written, with the Framing of that moment.
type item struct {
	kind  itemKind
	ver   int64
	mail  newMailPush
	user  string
	count int
	raw   []byte
}

type unreadPush struct {
	UserName string `json:"UserName"`
	NewCount int    `json:"NewCount"`
}

func (it item) encode(quirks bool) []byte {
	switch it.kind {
	case kindRet:
		if quirks {
			return []byte(`{ "Ret": 0 }`)
		}
		return []byte(`{"Ret":0}`)
	case kindVer:
		v := strconv.FormatInt(it.ver, 10)
		if quirks {
			return []byte(`{ "Ver": "` + v + `", }`)
		}
		return []byte(`{"Ver":"` + v + `"}`)
	case kindMail:
		return marshal(it.mail)
	case kindUnread:
		if quirks {
			return []byte(`{ " UserName": ` + string(marshal(it.user)) + `, " NewCount ": ` + itoa(it.count) + `, }`)
		}
		return marshal(unreadPush{UserName: it.user, NewCount: it.count})
	}
	return it.raw
}

var (
	errDropped = errors.New("exmailtest: listen connection dropped")
	errClosed  = errors.New("exmailtest: server closed")
)

// subscriber is one open listen request.
type subscriber struct {
	longPoll bool
	conn     net.Conn // closed by DropListeners; nil when unknown
	queue    []item
	wake     chan struct{} // capacity 1
	gone     chan struct{} // closed by DropListeners or Close
	dropped  bool
	lastRet  bool // the last object written was {"Ret":0}
}

// hub fans pushed objects out to the listen connections.
type hub struct {
	mu      sync.Mutex
	framing Framing
	buffer  bool
	subs    map[*subscriber]struct{}
	backlog []item // published with no listener, when buffering
	pending []item // long-poll leftovers
	stalled bool
	unstall chan struct{} // closed by Stall(false)
	changed chan struct{} // closed and replaced when subs changes
	closed  bool
}

const maxBacklog = 1000

func (h *hub) init(f Framing, buffer bool) {
	h.framing = cloneFraming(f)
	h.buffer = buffer
	h.subs = map[*subscriber]struct{}{}
	h.changed = make(chan struct{})
}

func cloneFraming(f Framing) Framing {
	f.SplitAt = slices.Clone(f.SplitAt)
	return f
}

func (h *hub) currentFraming() Framing {
	h.mu.Lock()
	defer h.mu.Unlock()
	return cloneFraming(h.framing)
}

func (h *hub) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// subscribe registers a listen request and queues its greeting: for a
// Stream {"Ret":0}, then {"Ver":serverVer} if the client's is older, then
// the buffered events; for a LongPoll the Ver push, then the leftovers of
// earlier polls and the buffered events.
func (h *hub) subscribe(mode Mode, clientVer, serverVer int64, conn net.Conn) *subscriber {
	sub := &subscriber{
		longPoll: mode == LongPoll,
		conn:     conn,
		wake:     make(chan struct{}, 1),
		gone:     make(chan struct{}),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !sub.longPoll {
		sub.queue = append(sub.queue, item{kind: kindRet})
	}
	if clientVer < serverVer {
		sub.queue = append(sub.queue, item{kind: kindVer, ver: serverVer})
	}
	sub.queue = append(sub.queue, h.pending...)
	sub.queue = append(sub.queue, h.backlog...)
	h.pending, h.backlog = nil, nil
	if h.closed {
		sub.dropped = true
		close(sub.gone)
	}
	h.subs[sub] = struct{}{}
	h.notifyLocked()
	return sub
}

// unsubscribe removes sub. What a long poll could not return stays
// pending for the next poll.
func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, sub)
	if sub.longPoll && len(sub.queue) > 0 && !h.closed {
		h.pending = append(slices.Clone(sub.queue), h.pending...)
	}
	sub.queue = nil
	h.notifyLocked()
}

// publish queues it for every listen connection. While stalled it is
// dropped; with no connection it is dropped or, when buffering, kept for
// the next one.
func (h *hub) publish(it item) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed || h.stalled:
		return
	case len(h.subs) == 0:
		if h.buffer {
			h.backlog = append(h.backlog, it)
			if n := len(h.backlog) - maxBacklog; n > 0 {
				h.backlog = slices.Delete(h.backlog, 0, n)
			}
		}
		return
	}
	for sub := range h.subs {
		sub.queue = append(sub.queue, it)
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

// next waits until sub has something to write and the hub is not stalled,
// and takes it: the whole queue, or only the first object when !all. A
// fired timeout yields {"Ret":0} (LongPoll).
func (h *hub) next(ctx context.Context, sub *subscriber, all bool, timeout <-chan time.Time) ([]item, error) {
	timedOut := false
	for {
		h.mu.Lock()
		switch {
		case sub.dropped:
			h.mu.Unlock()
			return nil, errDropped
		case h.closed:
			h.mu.Unlock()
			return nil, errClosed
		case !h.stalled && len(sub.queue) > 0:
			var items []item
			if all {
				items, sub.queue = sub.queue, nil
			} else {
				items = []item{sub.queue[0]}
				sub.queue = slices.Delete(sub.queue, 0, 1)
			}
			h.mu.Unlock()
			return items, nil
		case !h.stalled && timedOut:
			h.mu.Unlock()
			return []item{{kind: kindRet}}, nil
		}
		var unstall chan struct{}
		if h.stalled {
			unstall = h.unstall
		}
		h.mu.Unlock()
		select {
		case <-sub.wake:
		case <-unstall:
		case <-sub.gone:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timeout:
			timedOut, timeout = true, nil
		}
	}
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for sub := range h.subs {
		if !sub.dropped {
			sub.dropped = true
			close(sub.gone)
		}
		if sub.conn != nil {
			sub.conn.Close()
		}
	}
	h.backlog, h.pending = nil, nil
}

// --- knobs --------------------------------------------------------------

// SetFraming changes the shape of listen replies (see Framing for when
// each field takes effect).
func (s *Server) SetFraming(f Framing) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.framing = cloneFraming(f)
}

// Framing returns the current listen framing.
func (s *Server) Framing() Framing { return s.hub.currentFraming() }

// SetBuffering switches Options.BufferEvents at run time. Turning it off
// discards what was buffered.
func (s *Server) SetBuffering(on bool) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.buffer = on
	if !on {
		s.hub.backlog = nil
	}
}

// Stall(true) freezes the listen channel, as a server that hangs without
// closing its sockets:
//   - open listen connections stay open but are sent nothing;
//   - new listen requests are accepted (and count in Listeners) but get
//     no bytes at all, not even the response header;
//   - every object published meanwhile (Deliver, MarkRead, directory
//     changes, SendRaw) is dropped for everyone, never delivered later,
//     and is not buffered;
//   - LongPoll requests do not time out.
//
// Stall(false) resumes: what was queued before the stall, and the
// greetings ({"Ret":0}, Ver push) of requests made during it, are written
// then. DropListeners and Close work while stalled. Other endpoints are
// not affected.
func (s *Server) Stall(on bool) {
	h := &s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case on && !h.stalled:
		h.stalled = true
		h.unstall = make(chan struct{})
	case !on && h.stalled:
		h.stalled = false
		close(h.unstall)
		h.unstall = nil
	}
}

// DropListeners abruptly closes every open listen connection mid-stream:
// the client sees the connection end without the chunked terminator (or,
// close-delimited, just EOF). Queued objects are discarded.
func (s *Server) DropListeners() {
	h := &s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		if !sub.dropped {
			sub.dropped = true
			sub.queue = nil
			close(sub.gone)
		}
		if sub.conn != nil {
			sub.conn.Close()
		}
	}
}

// SendRaw writes b, unchanged, to every open listen connection, in order
// with the pushed objects (garbage, a half object, an oversized frame…).
// Splitting and Separator apply; like events it is lost when nobody
// listens (unless buffering) or while stalled. A LongPoll reply
// consisting of b ends the response.
func (s *Server) SendRaw(b []byte) {
	s.hub.publish(item{kind: kindRaw, raw: slices.Clone(b)})
}

// PushVer pushes {"Ver":"<ver>"} without changing the directory (to test
// how a client handles a version it did not expect).
func (s *Server) PushVer(ver int64) { s.hub.publish(item{kind: kindVer, ver: ver}) }

// PushUnread pushes {"UserName":user,"NewCount":n} without changing any
// mailbox.
func (s *Server) PushUnread(user string, n int) {
	s.hub.publish(item{kind: kindUnread, user: user, count: n})
}

// Listeners returns how many listen requests are open (counted once the
// token is accepted, before anything is written).
func (s *Server) Listeners() int {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return len(s.hub.subs)
}

// WaitListeners blocks until at least n listen requests are open, so that
// what the test publishes next reaches them, or until ctx is done.
func (s *Server) WaitListeners(ctx context.Context, n int) error {
	for {
		s.hub.mu.Lock()
		have, ch := len(s.hub.subs), s.hub.changed
		s.hub.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errClosed
		}
	}
}

// --- handler -----------------------------------------------------------

// frameWriter writes bytes to the client and flushes them.
type frameWriter interface{ write(b []byte) error }

type flushWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (f flushWriter) write(b []byte) error {
	if _, err := f.w.Write(b); err != nil {
		return err
	}
	return f.rc.Flush()
}

// bufferedWriter writes without flushing, so that a single unsplit
// LongPoll object gets a Content-Length.
type bufferedWriter struct{ w http.ResponseWriter }

func (b bufferedWriter) write(p []byte) error { _, err := b.w.Write(p); return err }

// rawWriter writes to a hijacked connection; the first write carries the
// hand-made header.
type rawWriter struct {
	c      net.Conn
	header []byte
}

func (r *rawWriter) write(b []byte) error {
	if r.header != nil {
		b = append(r.header, b...)
		r.header = nil
	}
	_, err := r.c.Write(b)
	return err
}

const closeDelimitedHeader = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: " + contentTypeJSON + "\r\n" +
	"Cache-Control: no-cache\r\n" +
	"Connection: close\r\n\r\n"

// parseVer reads the listen/user/list Ver: "" is 0.
func parseVer(v string) (int64, bool) {
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= 0
}

// handleListen serves openapi/listen (protocol.md §3.4). The alias
// parameter is accepted and ignored: the stream is enterprise-wide.
func (s *Server) handleListen(w http.ResponseWriter, r *http.Request, p params) {
	clientVer, ok := parseVer(p.get("ver"))
	if !ok {
		writeError(w, errInvalidRequest)
		return
	}
	f := s.hub.currentFraming()
	ctx := r.Context()
	var fw frameWriter
	conn, _ := ctx.Value(connKey{}).(net.Conn)
	hijacked := false
	if f.CloseDelimited {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err == nil {
			hijacked, conn = true, c
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			readerDone := make(chan struct{})
			go func() {
				// The client sends nothing more; EOF means it went away.
				_, _ = io.Copy(io.Discard, brw)
				cancel()
				close(readerDone)
			}()
			defer func() {
				c.Close()
				<-readerDone
			}()
			fw = &rawWriter{c: c, header: []byte(closeDelimitedHeader)}
		}
	}
	if !hijacked {
		w.Header().Set("Content-Type", contentTypeJSON)
		w.Header().Set("Cache-Control", "no-cache")
		fw = flushWriter{w: w, rc: http.NewResponseController(w)}
		if f.Mode == LongPoll && f.SplitEvery <= 0 && len(f.SplitAt) == 0 {
			fw = bufferedWriter{w: w}
		}
	}

	s.mu.Lock()
	sub := s.hub.subscribe(f.Mode, clientVer, s.ent.ver, conn)
	s.mu.Unlock()
	defer s.hub.unsubscribe(sub)

	var err error
	if f.Mode == LongPoll {
		err = s.longPoll(ctx, fw, sub)
	} else {
		err = s.stream(ctx, fw, sub)
	}
	if errors.Is(err, errDropped) && !hijacked {
		// End the chunked body without its terminator.
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) stream(ctx context.Context, fw frameWriter, sub *subscriber) error {
	for {
		items, err := s.hub.next(ctx, sub, true, nil)
		if err != nil {
			return err
		}
		if err := s.writeItems(fw, sub, items, true); err != nil {
			return err
		}
	}
}

func (s *Server) longPoll(ctx context.Context, fw frameWriter, sub *subscriber) error {
	t := time.NewTimer(s.opts.PollTimeout)
	defer t.Stop()
	items, err := s.hub.next(ctx, sub, false, t.C)
	if err != nil {
		return err
	}
	return s.writeItems(fw, sub, items, false)
}

// writeItems encodes items with the current Framing and writes them.
func (s *Server) writeItems(fw frameWriter, sub *subscriber, items []item, stream bool) error {
	f := s.hub.currentFraming()
	var objs [][]byte
	for _, it := range items {
		if stream && f.RepeatRet && it.kind != kindRet && it.kind != kindRaw && !sub.lastRet {
			objs = append(objs, item{kind: kindRet}.encode(f.PDFQuirks))
		}
		enc := it.encode(f.PDFQuirks)
		obj := make([]byte, 0, len(enc)+len(f.Separator))
		objs = append(objs, append(append(obj, enc...), f.Separator...))
		sub.lastRet = it.kind == kindRet
	}
	if f.Coalesce {
		var all []byte
		for _, o := range objs {
			all = append(all, o...)
		}
		objs = [][]byte{all}
	}
	for _, o := range objs {
		for _, piece := range split(o, f) {
			if err := fw.write(piece); err != nil {
				return err
			}
		}
	}
	return nil
}

// split cuts one write into the pieces Framing asks for.
func split(b []byte, f Framing) [][]byte {
	var out [][]byte
	switch {
	case len(f.SplitAt) > 0:
		at := slices.Clone(f.SplitAt)
		slices.Sort(at)
		prev := 0
		for _, off := range at {
			if off <= prev || off >= len(b) {
				continue
			}
			out = append(out, b[prev:off])
			prev = off
		}
		out = append(out, b[prev:])
	case f.SplitEvery > 0:
		for len(b) > f.SplitEvery {
			out = append(out, b[:f.SplitEvery])
			b = b[f.SplitEvery:]
		}
		out = append(out, b)
	default:
		out = [][]byte{b}
	}
	return out
}
