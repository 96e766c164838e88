package exmailtest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenReply is the token endpoint's success body (protocol.md §3.1).
type tokenReply struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// oauthError is the token endpoint's failure body. The protocol does not
// document it; this is the OAuth 2 (RFC 6749 §5.2) shape.
type oauthError struct {
	Error string `json:"error"`
}

// handleToken serves /cgi-bin/token. It accepts client_id/client_secret
// in the form (body or query) or an "Authorization: Basic" header, with
// grant_type=client_credentials.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, p params) {
	grant := p.get("grant_type")
	switch {
	case grant == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request")
		return
	case grant != "client_credentials":
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	ok := false
	if id, secret, basic := r.BasicAuth(); basic {
		// RFC 6749 §2.3.1 form-encodes both before Basic; x/oauth2 does.
		uid, err1 := url.QueryUnescape(id)
		usec, err2 := url.QueryUnescape(secret)
		ok = s.credentialsOK(id, secret) || err1 == nil && err2 == nil && s.credentialsOK(uid, usec)
	} else {
		ok = s.credentialsOK(p.get("client_id"), p.get("client_secret"))
	}
	if !ok {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	tok := s.issueToken()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, tokenReply{
		AccessToken: tok,
		TokenType:   "Bearer",
		ExpiresIn:   int(s.opts.TokenLifetime / time.Second),
	})
}

func writeOAuthError(w http.ResponseWriter, status int, code string) {
	b := marshal(oauthError{Error: code})
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="exmail"`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) credentialsOK(id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) == 1
	// The interface key is hex; accept either letter case.
	secOK := subtle.ConstantTimeCompare([]byte(strings.ToLower(secret)), []byte(strings.ToLower(s.opts.ClientSecret))) == 1
	return idOK && secOK
}

// issueToken makes a random 86-character URL-safe token (the length of
// the PDF's example), valid for TokenLifetime on the server's clock.
func (s *Server) issueToken() string {
	tok := base64.RawURLEncoding.EncodeToString(randomBytes(64))
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, exp := range s.ent.tokens {
		if s.opts.SingleToken || !now.Before(exp) {
			delete(s.ent.tokens, t)
		}
	}
	s.ent.tokens[tok] = now.Add(s.opts.TokenLifetime)
	return tok
}

func (s *Server) validToken(tok string) bool {
	if tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.ent.tokens[tok]
	return ok && time.Now().Before(exp)
}

// IssueToken returns a fresh valid access token without going through the
// token endpoint, for tests that exercise only the openapi/ endpoints.
func (s *Server) IssueToken() string { return s.issueToken() }

// ExpireTokens invalidates every access token issued so far; the next
// API call with one of them gets errcode 1200 invalid_token. Listen
// connections that are already open stay open.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.ent.tokens)
}

// Tokens returns how many unexpired access tokens exist.
func (s *Server) Tokens() int {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, exp := range s.ent.tokens {
		if now.Before(exp) {
			n++
		}
	}
	return n
}

// authKey is an SSO ticket issued by mail/authkey.
type authKey struct {
	alias   string
	expires time.Time
}

// newAuthKey returns 112 upper-case hex characters (56 random bytes), the
// shape of both samples in protocol.md §3.2. Call with s.mu held.
func (s *Server) newAuthKeyLocked(alias string) string {
	now := time.Now()
	for k, a := range s.ent.authKeys {
		if !now.Before(a.expires) {
			delete(s.ent.authKeys, k)
		}
	}
	key := strings.ToUpper(hex.EncodeToString(randomBytes(56)))
	s.ent.authKeys[key] = authKey{alias: alias, expires: now.Add(s.opts.AuthKeyLifetime)}
	return key
}

// useAuthKey consumes key (whether or not it fits) and reports whether it
// was an unexpired ticket for alias. Call with s.mu held.
func (s *Server) useAuthKeyLocked(key, alias string) bool {
	a, ok := s.ent.authKeys[key]
	if !ok {
		return false
	}
	delete(s.ent.authKeys, key)
	return time.Now().Before(a.expires) && a.alias == alias
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return b
}
