package client

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// A relay (or a proxy in front of it) that redirects gets no second
// request: the device token and the enrollment code never follow a
// redirect, and a sign-in link that is not https is not opened.
func TestTheClientFollowsNoRedirectAndOpensOnlyHTTPSLinks(t *testing.T) {
	t.Parallel()
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/elsewhere/", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1) // a redirect was followed here, with whatever it carried
	})
	mux.HandleFunc("GET /v1/unread", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere/unread", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("POST /v1/enroll", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere/enroll", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("POST /v1/sso", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"url":"http://exmail-login.evil.example/phish?ticket=x"}`))
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()

	src, err := New(Config{URL: ts.URL, Token: "exr_dev_SECRET", Alias: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a redirected count", func(t *testing.T) {
		if _, err := src.NewCount(t.Context(), "bob@example.com"); err == nil {
			t.Error("a redirect was taken as an answer")
		}
	})
	t.Run("a redirected enrollment", func(t *testing.T) {
		if _, err := Enroll(t.Context(), ts.URL, api.Secret("exr_enr_CODE"), "test"); err == nil {
			t.Error("a redirect was taken as an enrollment")
		}
	})
	if n := followed.Load(); n != 0 {
		t.Errorf("%d redirects were followed, with the token or the code", n)
	}
	t.Run("a plain-http sign-in link", func(t *testing.T) {
		u, err := src.LoginURL(t.Context(), "bob@example.com", "")
		if err == nil || strings.Contains(err.Error(), "ticket") {
			t.Errorf("LoginURL = %q, %v; want a refusal that shows no ticket", u.Reveal(), err)
		}
	})
}
