package settings

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/app"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
)

//go:embed assets/style.css assets/copy.js
var assets embed.FS

// csp is the page's Content-Security-Policy: nothing but its own style sheet
// and script, forms posting only to itself, never in a frame.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxPending bounds the enrollments waiting for a confirm click.
const maxPending = 16

// maxForm bounds a form body.
const maxForm = 64 << 10

// ServeHTTP serves the page. In order: the security headers on every answer;
// a Host other than 127.0.0.1:PORT or localhost:PORT is 421; the one-time
// link (/s/…) starts a session; the embedded assets; everything else needs
// the session cookie (else 403), and a POST also an Origin naming the page
// and the session's CSRF token (else 403).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")

	s.mu.Lock()
	port, lang := s.port, s.lastLang
	s.mu.Unlock()
	if r.Host != "127.0.0.1:"+port && r.Host != "localhost:"+port {
		s.refuse(w, r, http.StatusMisdirectedRequest, "wrong Host header", lang)
		return
	}
	if !s.peerAllowed(r) {
		s.refuse(w, r, http.StatusForbidden, "the connection is not from a process of this user", lang)
		return
	}
	if tok, ok := strings.CutPrefix(r.URL.Path, "/s/"); ok {
		s.serveLink(w, r, tok, lang)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/assets/"); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.serveAsset(w, r, name)
		return
	}
	ss := s.session(r)
	if ss == nil {
		s.refuse(w, r, http.StatusForbidden, "no valid session cookie", lang)
		return
	}
	if r.Method == http.MethodPost {
		if o := r.Header.Get("Origin"); o != "http://"+r.Host {
			s.refuse(w, r, http.StatusForbidden, "cross-origin or missing Origin on POST", lang)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			s.refuse(w, r, http.StatusBadRequest, "unreadable form", lang)
			return
		}
		got := r.PostForm.Get("csrf")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) != 1 {
			s.refuse(w, r, http.StatusForbidden, "missing or wrong CSRF token", lang)
			return
		}
	}
	s.route(w, r, ss)
}

// peerAllowed runs Options.PeerCheck on the request's connection.
func (s *Server) peerAllowed(r *http.Request) bool {
	if s.o.PeerCheck == nil {
		return true
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	remote, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if local == nil || err != nil {
		return false
	}
	ok, err := s.o.PeerCheck(remote, local)
	if err != nil {
		s.log.Warn("settings page: the connection's owner could not be determined", "err", err)
	}
	return ok && err == nil
}

func (s *Server) cookieName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "exmail-settings-" + s.port // cookies are not kept apart by port
}

// session returns the request's session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return nil
	}
	k := sha256.Sum256([]byte(c.Value))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[k]
	if ss == nil || !s.o.Now().Before(ss.expires) {
		delete(s.sessions, k)
		return nil
	}
	return ss
}

// serveLink claims a one-time link: a session cookie and a redirect to the
// page. A wrong, used or expired link is 403 with a page saying to open
// Settings from the tray again.
func (s *Server) serveLink(w http.ResponseWriter, r *http.Request, tok string, lang app.Lang) {
	if r.Method != http.MethodGet {
		s.refuse(w, r, http.StatusMethodNotAllowed, "one-time link with a method other than GET", lang)
		return
	}
	k := sha256.Sum256([]byte(tok))
	value, csrf := randomToken(), randomToken()
	s.mu.Lock()
	now := s.o.Now()
	exp, ok := s.links[k]
	delete(s.links, k)
	if ok && now.Before(exp) {
		s.sessions[sha256.Sum256([]byte(value))] = &session{csrf: csrf, expires: now.Add(s.o.SessionLifetime)}
	}
	name := "exmail-settings-" + s.port
	offered := s.offered != ""
	s.mu.Unlock()
	if !ok || !now.Before(exp) {
		s.refuse(w, r, http.StatusForbidden, "unknown, used or expired one-time link", lang)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(s.o.SessionLifetime / time.Second),
	})
	s.log.Info("settings page: a browser session started")
	to := "/"
	if offered {
		to = "/enroll"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Write(b)
}

// refuse answers a refused request with a short page in lang and logs the
// reason (never the path, which may hold a one-time secret).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, reason string, lang app.Lang) {
	s.log.Warn("settings page refused a request", "reason", reason, "method", r.Method, "status", code, "remote", r.RemoteAddr)
	t := tr(lang)
	p := newPage(lang, t(mRefusedTitle))
	p.section("", func() {
		p.para(t(mRefusedBody))
	})
	p.send(w, code)
}

// call runs a Backend call under the call timeout.
func (s *Server) call(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.o.CallTimeout)
}

// state reads the Backend's state and remembers its language.
func (s *Server) state(r *http.Request) (State, error) {
	ctx, cancel := s.call(r)
	defer cancel()
	st, err := s.o.Backend.State(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && st.Lang != "" {
		s.lastLang = st.Lang
	}
	if st.Lang == "" {
		st.Lang = s.lastLang
	}
	return st, err
}

// route dispatches a request that passed every check.
func (s *Server) route(w http.ResponseWriter, r *http.Request, ss *session) {
	switch r.Method + " " + r.URL.Path {
	case "GET /":
		s.getHome(w, r, ss, notice(r.URL.Query().Get("done")))
	case "GET /enroll":
		s.getEnroll(w, r, ss)
	case "POST /enroll/preview":
		s.postEnrollPreview(w, r, ss)
	case "POST /enroll/confirm":
		s.postEnrollConfirm(w, r, ss)
	case "POST /enroll/cancel":
		s.postEnrollCancel(w, r)
	case "POST /login":
		s.postLogin(w, r, ss)
	case "POST /login-corp":
		s.postLoginCorp(w, r, ss)
	case "POST /prefs":
		s.postPrefs(w, r, ss)
	case "GET /signout":
		s.getSignOut(w, r, ss)
	case "POST /signout":
		s.postSignOut(w, r, ss)
	case "GET /doctor":
		s.getDoctor(w, r, ss)
	default:
		http.NotFound(w, r)
	}
}

// getPending returns a copy of the enrollment waiting under id (nil when
// there is none): handlers read it without the lock, so they never share
// the stored one, which setPendingRelay changes.
func (s *Server) getPending(id string) *pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gcLocked(s.o.Now())
	pd, ok := s.pending[id]
	if !ok {
		return nil
	}
	c := *pd
	return &c
}

// setPendingRelay records the relay the waiting enrollment id would go to.
func (s *Server) setPendingRelay(id, relay string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pd, ok := s.pending[id]; ok {
		pd.relayURL = relay
	}
}

func (s *Server) dropPending(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, id)
	if s.offered == id {
		s.offered = ""
	}
}

// offeredID is the id of the waiting OfferEnrollment, or "".
func (s *Server) offeredID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gcLocked(s.o.Now())
	return s.offered
}

func (s *Server) addPending(p *pending) string {
	id := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	p.expires = s.o.Now().Add(s.o.OfferLifetime)
	for k := range s.pending { // a few at a time is plenty
		if len(s.pending) < maxPending {
			break
		}
		if k != s.offered {
			delete(s.pending, k)
		}
	}
	s.pending[id] = p
	return id
}

// isRefusedCode reports whether err says the enrollment code was used,
// expired or unknown: typing it again cannot help.
func isRefusedCode(err error) bool { return errors.Is(err, client.ErrEnrollRefused) }

// isUnreachable reports whether err is a network failure.
func isUnreachable(err error) bool {
	var ne net.Error
	return errors.Is(err, ErrUnreachable) || errors.As(err, &ne) && !errors.Is(err, context.Canceled)
}
