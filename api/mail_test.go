package api_test

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

func TestMailService_AuthKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	key, err := f.c.Mail.AuthKey(t.Context(), bob)
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.only(t, "mail/authkey"), url.Values{"alias": {bob}})
	// protocol.md §3.2: 112 upper-case hex characters in both samples.
	if !regexp.MustCompile(`^[0-9A-F]{112}$`).MatchString(key.Reveal()) {
		t.Errorf("AuthKey = %d characters, want the fake's 112-hex key", len(key.Reveal()))
	}
	if key.String() != "[redacted]" {
		t.Errorf("AuthKey is not a redacting Secret")
	}
}

// The reply field is auth_key in working clients; the PDF says authkey
// (and kuthkey), a Java comment AuthKey (protocol.md §3.2).
func TestMailService_AuthKeySpellings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body    string
		want    string
		wantErr bool
	}{
		{body: `{"auth_key":"077FFF01"}`, want: "077FFF01"},
		{body: `{"authkey":"077FFF02"}`, want: "077FFF02"},
		{body: `{"AuthKey":"077FFF03"}`, want: "077FFF03"},
		{body: `{"auth_key":"077FFF04","Unknown":[1,2]}`, want: "077FFF04"},
		{body: `{"kuthkey":"077FFF05"}`, wantErr: true},
		{body: `{"auth_key":""}`, wantErr: true},
		{body: `{}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			key, err := replay(t, "mail/authkey", tt.body).Mail.AuthKey(t.Context(), bob)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("AuthKey succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if key.Reveal() != tt.want {
				t.Errorf("AuthKey = %q, want %q", key.Reveal(), tt.want)
			}
		})
	}
}

func TestMailService_LoginURL(t *testing.T) {
	t.Parallel()
	for _, mailID := range []string{"", "ZC4028-FPiX_oOG5HUh4XorwyhAY33"} {
		t.Run("mailid="+mailID, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			sso, err := f.c.Mail.LoginURL(t.Context(), bob, mailID)
			if err != nil {
				t.Fatal(err)
			}
			checkRequest(t, f.only(t, "mail/authkey"), url.Values{"alias": {bob}})
			u, err := url.Parse(sso.Reveal())
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			ticket := q.Get("ticket")
			want := url.Values{
				"fun":    {"bizopenssologin"},
				"method": {"bizauth"},
				"agent":  {f.srv.ClientID()},
				"user":   {bob},
				"ticket": {ticket},
			}
			if mailID != "" {
				want.Set("mailid", mailID)
			}
			checkDiff(t, "SSO query mismatch", want, q)
			if ticket == "" {
				t.Fatal("no ticket in the SSO URL")
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != f.srv.LoginURL() {
				t.Errorf("SSO URL starts %q, want %q", got, f.srv.LoginURL())
			}

			// The fake's login page accepts the ticket once, as a browser
			// would use it, and refuses it the second time.
			for i, want := range []int{http.StatusOK, http.StatusForbidden} {
				resp, err := f.srv.Client().Get(sso.Reveal())
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("visit %d of the SSO URL: %s, want %d", i+1, resp.Status, want)
				}
			}
		})
	}
}

func TestBuildLoginURL(t *testing.T) {
	t.Parallel()
	const key = api.Secret("077FFF01B4D6")
	tests := []struct {
		name                        string
		login, agent, alias, mailID string
		want                        string
		wantErr                     bool
	}{
		{
			name:  "documented order",
			login: api.DefaultLoginURL, agent: "admin", alias: bob,
			want: "https://exmail.qq.com/cgi-bin/login?fun=bizopenssologin&method=bizauth&agent=admin&user=bob%40example.com&ticket=077FFF01B4D6",
		},
		{
			name:  "mailid last",
			login: api.DefaultLoginURL, agent: "admin", alias: bob, mailID: "ZC4028-FPiX_oOG5HUh4XorwyhAY33",
			want: "https://exmail.qq.com/cgi-bin/login?fun=bizopenssologin&method=bizauth&agent=admin&user=bob%40example.com&ticket=077FFF01B4D6&mailid=ZC4028-FPiX_oOG5HUh4XorwyhAY33",
		},
		{
			name:  "escaping",
			login: "http://mail.example.com/cgi-bin/login", agent: "vip2.msdi.cn", alias: "a+b&c@example.com", mailID: "x y&z",
			want: "http://mail.example.com/cgi-bin/login?fun=bizopenssologin&method=bizauth&agent=vip2.msdi.cn&user=a%2Bb%26c%40example.com&ticket=077FFF01B4D6&mailid=x+y%26z",
		},
		{name: "no agent", login: api.DefaultLoginURL, alias: bob, wantErr: true},
		{name: "no alias", login: api.DefaultLoginURL, agent: "admin", wantErr: true},
		{name: "not http", login: "javascript:alert(1)", agent: "admin", alias: bob, wantErr: true},
		{name: "query already", login: api.DefaultLoginURL + "?fun=x", agent: "admin", alias: bob, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := api.BuildLoginURL(tt.login, tt.agent, tt.alias, key, tt.mailID)
			if tt.wantErr {
				if !errors.Is(err, api.ErrInvalidArgument) {
					t.Fatalf("BuildLoginURL = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Reveal() != tt.want {
				t.Errorf("BuildLoginURL =\n %s\nwant\n %s", got.Reveal(), tt.want)
			}
		})
	}
	if _, err := api.BuildLoginURL(api.DefaultLoginURL, "admin", bob, "", ""); !errors.Is(err, api.ErrInvalidArgument) {
		t.Errorf("BuildLoginURL without a key: err = %v, want ErrInvalidArgument", err)
	}
}

func TestMailService_NewCount(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, s := range []string{"one", "two", "three"} {
		f.srv.Deliver(bob, exmailtest.Mail{Subject: s})
	}
	f.srv.MarkRead(bob, 1)

	n, err := f.c.Mail.NewCount(t.Context(), bob)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("NewCount = %d, want 2", n)
	}
	checkRequest(t, f.only(t, "mail/newcount"), url.Values{"alias": {bob}})
}

// NewCount is a string in live replies and a number in the PDF
// (protocol.md §3.6).
func TestMailService_NewCountReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body    string
		want    int
		wantErr error
	}{
		{body: `{"Alias":"zzr@vip2.msdi.cn","NewCount":"2"}`, want: 2},
		{body: `{"Alias":"bob@example.com","NewCount":15}`, want: 15},
		{body: `{"alias":"bob@example.com","newcount":"7","Extra":true}`, want: 7},
		{body: `{"Alias":"bob@example.com","NewCount":""}`, want: 0},
		{body: `{"Alias":"bob@example.com"}`, wantErr: errAny},
		{body: `{"Alias":"bob@example.com","NewCount":"many"}`, wantErr: errAny},
		{body: `{"errcode":"1400"}`, wantErr: api.ErrNotFound},
		{body: `{"errcode":10001,"error":"ip_freq_block"}`, wantErr: api.ErrIPNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			n, err := replay(t, "mail/newcount", tt.body).Mail.NewCount(t.Context(), bob)
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("NewCount = %d, %v; want error %v", n, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Errorf("NewCount = %d, want %d", n, tt.want)
			}
		})
	}
}

// errAny in a table means "some error".
var errAny = errors.New("any error")

// Arguments the server would reject are refused before any request.
func TestMailService_EmptyAlias(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if _, err := f.c.Mail.NewCount(t.Context(), " "); !errors.Is(err, api.ErrInvalidArgument) {
		t.Errorf("NewCount(\" \") err = %v, want ErrInvalidArgument", err)
	}
	if _, err := f.c.Mail.LoginURL(t.Context(), "", ""); !errors.Is(err, api.ErrInvalidArgument) {
		t.Errorf("LoginURL(\"\") err = %v, want ErrInvalidArgument", err)
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid arguments", n)
	}
}
