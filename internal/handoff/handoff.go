// Package handoff opens a single sign-on URL in the desktop's browser
// without putting it on the opener's command line: the browser gets a
// one-time loopback link that redirects to the real URL once.
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
// request with a redirect to the real URL, then closes. On Linux the one
// request must also come from a process of this same user (checked with
// the kernel's socket table), so another user who reads the link from ps
// cannot use it first.
type Link struct {
	ln     net.Listener
	srv    *http.Server
	path   string
	target api.Secret
	log    *slog.Logger
	// peerOK reports whether the connection from remote to local belongs
	// to this user. Tests replace it.
	peerOK func(remote, local net.Addr) (bool, error)

	once   sync.Once
	served chan struct{} // closed after the redirect was sent
	done   chan struct{} // closed when the listener is shut
}

// ErrUnused: the browser never fetched the link.
var ErrUnused = errors.New("the browser did not open the sign-in link in time")

// New listens on 127.0.0.1 for one request that is redirected to
// target. It serves until the redirect was sent, ctx ends or
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
		ln:     ln,
		path:   "/" + hex.EncodeToString(nonce[:]),
		target: target,
		log:    log,
		peerOK: samePeerUser,
		served: make(chan struct{}),
		done:   make(chan struct{}),
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

// Wait returns nil once the browser fetched the link, or ErrUnused
// when the handoff closed without that.
func (h *Link) Wait(ctx context.Context) error {
	select {
	case <-h.served:
		return nil
	case <-h.done:
		select {
		case <-h.served:
			return nil
		default:
		}
		return ErrUnused
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Link) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
}

func (h *Link) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.URL.Path != h.path || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	remote, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err == nil && local != nil {
		ok, perr := h.peerOK(remote, local)
		switch {
		case perr != nil:
			h.log.Debug("sign-in handoff: cannot tell who connected; allowing the one-time link", "err", perr)
		case !ok:
			h.log.Warn("sign-in handoff: a process of another user tried the one-time link; refused")
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
	}
	if r.Method == http.MethodHead {
		// A link preview or prefetch must not use the link up.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	used := true
	h.once.Do(func() { used = false })
	if used {
		http.Error(w, "this sign-in link was already used; open the mailbox again from exmail-notifier", http.StatusGone)
		return
	}
	target := h.target.Reveal()
	w.Header().Set("Location", target)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusFound)
	_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>exmail-notifier</title><a href="` +
		html.EscapeString(target) + `">Open the mailbox / 打开邮箱</a>`))
	close(h.served)
}
