package exmailtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

type tokenReply struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

var urlSafe = regexp.MustCompile(`^[A-Za-z0-9_-]{86}$`)

func TestToken_BothForms(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{})
	basic := func(id, secret string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(id, secret) }
	}
	tests := []struct {
		name   string
		method string
		form   url.Values
		auth   func(*http.Request)
	}{
		{"form body", http.MethodPost, form("grant_type", "client_credentials",
			"client_id", exmailtest.DefaultClientID, "client_secret", exmailtest.DefaultClientSecret), nil},
		{"basic header", http.MethodPost, form("grant_type", "client_credentials"),
			basic(exmailtest.DefaultClientID, exmailtest.DefaultClientSecret)},
		{"GET query", http.MethodGet, form("grant_type", "client_credentials",
			"client_id", exmailtest.DefaultClientID, "client_secret", exmailtest.DefaultClientSecret), nil},
		{"secret in upper case", http.MethodPost, form("grant_type", "client_credentials",
			"client_id", exmailtest.DefaultClientID, "client_secret", strings.ToUpper(exmailtest.DefaultClientSecret)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, s, tt.method, s.TokenURL(), tt.form, tt.auth)
			if r.Status != http.StatusOK {
				t.Fatalf("HTTP %d %q", r.Status, r.Body)
			}
			var got tokenReply
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
				t.Fatal(err)
			}
			if !urlSafe.MatchString(got.AccessToken) {
				t.Errorf("access_token %q is not 86 URL-safe characters", got.AccessToken)
			}
			got.AccessToken = ""
			want := tokenReply{TokenType: "Bearer", ExpiresIn: 86400}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("token reply mismatch (-want +got):\n%s", diff)
			}
			if !strings.Contains(r.Body, `"refresh_token":""`) {
				t.Errorf("body %q lacks an empty refresh_token", r.Body)
			}
		})
	}
}

func TestToken_Rejected(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{ClientID: "swanzhong", ClientSecret: "0123456789abcdef0123456789abcdef"})
	tests := []struct {
		name       string
		form       url.Values
		auth       func(*http.Request)
		wantStatus int
		wantBody   string
	}{
		{"wrong secret", form("grant_type", "client_credentials", "client_id", "swanzhong", "client_secret", "00000000000000000000000000000000"),
			nil, 401, `{"error":"invalid_client"}`},
		{"wrong id", form("grant_type", "client_credentials", "client_id", "admin", "client_secret", "0123456789abcdef0123456789abcdef"),
			nil, 401, `{"error":"invalid_client"}`},
		{"wrong basic", form("grant_type", "client_credentials"),
			func(r *http.Request) { r.SetBasicAuth("swanzhong", "nope") }, 401, `{"error":"invalid_client"}`},
		{"no credentials", form("grant_type", "client_credentials"), nil, 401, `{"error":"invalid_client"}`},
		{"no grant_type", form("client_id", "swanzhong", "client_secret", "0123456789abcdef0123456789abcdef"),
			nil, 400, `{"error":"invalid_request"}`},
		{"password grant", form("grant_type", "password", "client_id", "swanzhong", "client_secret", "0123456789abcdef0123456789abcdef"),
			nil, 400, `{"error":"unsupported_grant_type"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, s, http.MethodPost, s.TokenURL(), tt.form, tt.auth)
			if r.Status != tt.wantStatus || r.Body != tt.wantBody {
				t.Errorf("got HTTP %d %s, want HTTP %d %s", r.Status, r.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if n := s.Tokens(); n != 0 {
		t.Errorf("Tokens() = %d after only failures, want 0", n)
	}
}

// The token is accepted as a Bearer header or as access_token in the body
// or query, and refused as Basic credentials or when unknown (§2.1).
func TestAPI_TokenPlacement(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Demo: true})
	tok := s.IssueToken()
	newcount := s.APIBase() + "mail/newcount"
	ok := `{"Alias":"lina@example.com","NewCount":"` + strconv.Itoa(s.Unread(lina)) + `"}`
	tests := []struct {
		name   string
		method string
		form   url.Values
		auth   func(*http.Request)
		ok     bool
	}{
		{"bearer + POST form", http.MethodPost, form("alias", lina), withBearer(tok), true},
		{"bearer + GET query", http.MethodGet, form("alias", lina), withBearer(tok), true},
		{"lower-case bearer scheme", http.MethodPost, form("alias", lina),
			func(r *http.Request) { r.Header.Set("Authorization", "bearer "+tok) }, true},
		{"access_token in body", http.MethodPost, form("alias", lina, "access_token", tok), nil, true},
		{"access_token in GET query", http.MethodGet, form("alias", lina, "access_token", tok), nil, true},
		{"both, bare header like C4", http.MethodPost, form("alias", lina, "access_token", tok),
			func(r *http.Request) { r.Header.Set("Authorization", tok) }, true},
		{"no token", http.MethodPost, form("alias", lina), nil, false},
		{"unknown token", http.MethodPost, form("alias", lina), withBearer("nope"), false},
		{"basic credentials", http.MethodPost, form("alias", lina),
			func(r *http.Request) { r.SetBasicAuth(exmailtest.DefaultClientID, exmailtest.DefaultClientSecret) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, s, tt.method, newcount, tt.form, tt.auth)
			if tt.ok {
				wantJSON(t, r, ok)
			} else {
				wantErr(t, r, 1200, "invalid_token")
			}
		})
	}
}

func TestToken_Expiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newPipe(t, exmailtest.Options{Demo: true, TokenLifetime: time.Hour})
		r := do(t, s, http.MethodPost, s.TokenURL(), form("grant_type", "client_credentials",
			"client_id", s.ClientID(), "client_secret", s.ClientSecret()), nil)
		var tok tokenReply
		if err := json.Unmarshal([]byte(r.Body), &tok); err != nil {
			t.Fatal(err)
		}
		if tok.ExpiresIn != 3600 {
			t.Errorf("expires_in = %d, want 3600", tok.ExpiresIn)
		}
		call := func() reply {
			return do(t, s, http.MethodPost, s.APIBase()+"mail/newcount", form("alias", lina), withBearer(tok.AccessToken))
		}
		time.Sleep(time.Hour - time.Second)
		if r := call(); strings.Contains(r.Body, "errcode") {
			t.Fatalf("1 s before expiry: %s", r.Body)
		}
		time.Sleep(time.Second)
		wantErr(t, call(), 1200, "invalid_token")
	})
}

func TestExpireTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Demo: true})
	tok := s.IssueToken()
	s.ExpireTokens()
	wantErr(t, do(t, s, http.MethodPost, s.APIBase()+"user/get", form("alias", lina), withBearer(tok)), 1200, "invalid_token")
	if n := s.Tokens(); n != 0 {
		t.Errorf("Tokens() = %d, want 0", n)
	}
}

func TestSingleToken(t *testing.T) {
	t.Parallel()
	for _, single := range []bool{false, true} {
		s := newServer(t, exmailtest.Options{Demo: true, SingleToken: single})
		first := s.IssueToken()
		s.IssueToken()
		r := do(t, s, http.MethodPost, s.APIBase()+"mail/newcount", form("alias", lina), withBearer(first))
		if revoked := strings.Contains(r.Body, `"1200"`); revoked != single {
			t.Errorf("SingleToken=%v: first token revoked = %v (%s)", single, revoked, r.Body)
		}
	}
}
