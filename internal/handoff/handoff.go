// Package handoff opens a single sign-on URL in the desktop's browser
// without putting it on the opener's command line: the browser gets a
// one-time loopback link that redirects to the real URL once.
//
// Who may use the link. The link itself is not secret from other users of
// the machine: it is on the opener's command line (/proc/PID/cmdline). So:
//
//   - On Linux, the one request must come from a socket owned by this
//     process's uid, looked up by the connection's exact addresses and ports
//     in the kernel's socket table. When the owner is another user, or
//     cannot be determined, the request is refused (403), logged at Warn,
//     and the link is cancelled for good (see [Link]): a refusal means
//     someone else has the link. [Link.Wait] then returns [ErrRefused].
//   - On other systems there is no such lookup: the link is served to any
//     local process, and relies on being random (128 bits), single-use and
//     short-lived ([Lifetime]).
//
// The opener's environment. On Linux, [Open] runs the opener (xdg-open,
// else x-www-browser, else www-browser) itself, with the environment
// stripped of EXMAIL_* variables and of anything named like a secret
// (*SECRET*, *TOKEN*, *PASSWORD*, *PASSWD*), so that the browser and its
// helpers do not inherit, say, EXMAIL_SECRET. Elsewhere (Windows, macOS,
// the BSDs) it uses github.com/pkg/browser, whose opener inherits the
// whole environment.
package handoff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// Lifetime bounds how long a handoff link works: long enough for a
// browser that has to start first, short enough to be useless later.
const Lifetime = 2 * time.Minute

// A Link keeps the single sign-on URL off the opener's command line.
//
// The SSO URL carries a login ticket for the mailbox; anything on a command
// line can be read by every user of the machine (ps, /proc/PID/cmdline).
// So the browser is sent to a one-time link on the loopback interface,
// http://127.0.0.1:PORT/<128 random bits>, which answers exactly one
// request with a redirect to the real URL, then closes.
//
// On Linux the one request must also come from a process of this same
// user (checked with the kernel's socket table), so another user who reads
// the link from ps cannot use it first. A request for the link that is
// refused, because it came from another user or its owner could not be
// determined, cancels the link for good: from then on every request for it
// gets 410 Gone with a page that says to open the mailbox again, until
// Lifetime ends (so that the user's browser, arriving later, explains
// itself instead of failing to connect), and Wait returns ErrRefused at
// once. Retrying is thus no use to an attacker (issue #8), at the price
// that anyone who can read the link can cancel it, which only makes the
// user click again. A request for another path (404) cancels nothing: it
// does not know the link.
type Link struct {
	ln   net.Listener
	srv  *http.Server
	path string
	log  *slog.Logger
	// peerOK reports whether the connection from remote (the client) to
	// local (this server) belongs to this user; an error means it cannot
	// tell, and refuses as surely as false. nil means no check (systems
	// without a lookup). Tests replace it.
	peerOK func(remote, local net.Addr) (bool, error)

	mu     sync.Mutex
	state  linkState
	target api.Secret // emptied once the link is used or cancelled

	served  chan struct{} // closed after the redirect was sent
	refused chan struct{} // closed when a refusal cancelled the link
	done    chan struct{} // closed when the listener is shut
}

// linkState is where a Link is in its single use.
type linkState int

const (
	waiting   linkState = iota // nobody has used the link
	used                       // the redirect was claimed by this user's request
	cancelled                  // a refusal cancelled the link
)

// ErrUnused: the browser never fetched the link.
var ErrUnused = errors.New("the browser did not open the sign-in link in time")

// ErrRefused: a request for the link came from a program that is not
// (or could not be confirmed to be) this user's, so the link was
// cancelled before the browser used it.
var ErrRefused = errors.New("the one-time sign-in link was cancelled because a program that could not be confirmed to be yours requested it; open the mailbox again for a new link")

// New listens on 127.0.0.1 for one request that is redirected to
// target. It serves until the redirect was sent, ctx ends or
// Lifetime passes; a cancelled link answers 410 until ctx ends or
// Lifetime passes.
func New(ctx context.Context, target api.Secret, log *slog.Logger) (*Link, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		ln.Close()
		return nil, err
	}
	h := &Link{
		ln:      ln,
		path:    "/" + hex.EncodeToString(nonce[:]),
		target:  target,
		log:     log,
		peerOK:  peerCheck(),
		served:  make(chan struct{}),
		refused: make(chan struct{}),
		done:    make(chan struct{}),
	}
	h.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(h.done)
		_ = h.srv.Serve(ln)
	}()
	go func() {
		t := time.NewTimer(Lifetime)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-h.served:
			// Let the redirect's response finish writing.
			time.Sleep(100 * time.Millisecond)
		}
		h.Close()
	}()
	return h, nil
}

// URL is the one-time link. It is not the secret, but it leads to it once.
func (h *Link) URL() string { return "http://" + h.ln.Addr().String() + h.path }

// Wait returns nil once the browser fetched the link, ErrRefused as soon
// as a refused request cancelled it, or ErrUnused when the handoff closed
// without either.
func (h *Link) Wait(ctx context.Context) error {
	select {
	case <-h.served:
		return nil
	case <-h.refused:
		return ErrRefused
	case <-h.done:
		select {
		case <-h.served:
			return nil
		case <-h.refused:
			return ErrRefused
		default:
		}
		return ErrUnused
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close shuts the link; later requests find no listener.
func (h *Link) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
}

// The answers to a request for the link once it cannot be used.
const (
	goneUsed      = "this sign-in link was already used; open the mailbox again from exmail-notifier"
	goneCancelled = "this sign-in link was cancelled because a program that could not be confirmed to be yours requested it; open the mailbox again from exmail-notifier for a new link"
)

// ServeHTTP answers the one request. In order: another path or method is
// 404; a used or cancelled link is 410; a request that fails the peer
// check is 403 and cancels the link; HEAD (a link preview) is 204 and
// leaves the link unused; the first GET claims the link and gets the
// redirect. Nothing it logs contains the link's path or the target.
func (h *Link) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.URL.Path != h.path || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	if h.gone(w) {
		return
	}
	if h.peerOK != nil && !h.peerAllowed(r) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodHead {
		// A link preview or prefetch must not use the link up.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mu.Lock()
	if h.state != waiting {
		h.mu.Unlock()
		h.gone(w) // another request claimed or cancelled it meanwhile
		return
	}
	h.state = used
	target := h.target.Reveal()
	h.target = ""
	h.mu.Unlock()

	w.Header().Set("Location", target)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusFound)
	_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>exmail-notifier</title><a href="` +
		html.EscapeString(target) + `">Open the mailbox / 打开邮箱</a>`))
	close(h.served)
}

// gone answers 410 and reports true when the link was used or cancelled.
func (h *Link) gone(w http.ResponseWriter) bool {
	h.mu.Lock()
	st := h.state
	h.mu.Unlock()
	switch st {
	case used:
		http.Error(w, goneUsed, http.StatusGone)
	case cancelled:
		http.Error(w, goneCancelled, http.StatusGone)
	default:
		return false
	}
	return true
}

// peerAllowed reports whether r comes from a process of this user. When
// it does not, or that cannot be determined, it cancels the link (if it
// was still unused) and logs a warning with the client's address; never
// the link's path or the target.
func (h *Link) peerAllowed(r *http.Request) bool {
	var ok bool
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	remote, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err == nil && local == nil {
		err = errors.New("no local address on the request")
	}
	if err == nil {
		ok, err = h.peerOK(remote, local)
	}
	if err == nil && ok {
		return true
	}
	h.mu.Lock()
	cancel := h.state == waiting
	if cancel {
		h.state = cancelled
		h.target = ""
		close(h.refused)
	}
	h.mu.Unlock()
	if err != nil {
		h.log.Warn("sign-in handoff: cannot tell which user requested the one-time link; refused",
			"from", r.RemoteAddr, "err", err, "link_cancelled", cancel)
	} else {
		h.log.Warn("sign-in handoff: a process of another user requested the one-time link; refused",
			"from", r.RemoteAddr, "link_cancelled", cancel)
	}
	return false
}

// PeerCheck is this package's check that a loopback connection comes from
// a process of this user, for other loopback servers (the settings page):
// the kernel's socket tables on Linux (see samePeerUser), nil (no check)
// elsewhere.
func PeerCheck() func(remote, local net.Addr) (bool, error) { return peerCheck() }
