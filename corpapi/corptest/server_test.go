package corptest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
)

func getJSON(t *testing.T, ctx context.Context, u string, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET = HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

type reply struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	Count       any    `json:"count"`
}

// TestWire checks the fake's wire behaviour by hand, independently of
// the client.
func TestWire(t *testing.T) {
	logs := &logBuffer{}
	s := corptest.New(corptest.Options{Demo: true, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	defer s.Close()
	ctx := t.Context()
	nm, sso := s.IssueToken(corptest.AppNewMail), s.IssueToken(corptest.AppSSO)
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	tests := []struct {
		name     string
		path     string
		wantCode int
	}{
		{"gettoken ok", "gettoken?" + q("corpid", s.CorpID(), "corpsecret", s.Secret(corptest.AppNewMail)), 0},
		{"gettoken bad secret", "gettoken?" + q("corpid", s.CorpID(), "corpsecret", "nope"), corptest.CodeInvalidCredential},
		{"gettoken bad corpid", "gettoken?" + q("corpid", "wmx", "corpsecret", "nope"), corptest.CodeInvalidCorpID},
		{"gettoken no corpid", "gettoken?" + q("corpsecret", "nope"), corptest.CodeMissingCorpID},
		{"no token", "mail/newcount?" + q("userid", "bob@example.com"), corptest.CodeMissingToken},
		{"unknown token", "mail/newcount?" + q("userid", "bob@example.com", "access_token", "x"), corptest.CodeInvalidToken},
		{"other app's token", "mail/newcount?" + q("userid", "bob@example.com", "access_token", sso), corptest.CodeNoPrivilege},
		{"newcount", "mail/newcount?" + q("userid", "bob@example.com", "access_token", nm), 0},
		{"newcount with dates", "mail/newcount?" + q("userid", "bob@example.com", "access_token", nm, "begin_date", "2026-01-01", "end_date", "2026-12-31"), 0},
		{"newcount bad dates", "mail/newcount?" + q("userid", "bob@example.com", "access_token", nm, "begin_date", "2026-13-01", "end_date", "x"), corptest.CodeInvalidParameter},
		{"newcount unknown user", "mail/newcount?" + q("userid", "nobody@example.com", "access_token", nm), corptest.CodeUserNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r reply
			getJSON(t, ctx, s.BaseURL()+tt.path, &r)
			if r.ErrCode != tt.wantCode {
				t.Errorf("errcode = %d %q, want %d", r.ErrCode, r.ErrMsg, tt.wantCode)
			}
		})
	}
	t.Run("newcount POST JSON body", func(t *testing.T) {
		body := `{"userid":"bob@example.com","type":0,"begin_date":"2026-01-01","end_date":"2099-12-31"}`
		resp, err := http.Post(s.BaseURL()+"mail/newcount?access_token="+nm, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r reply
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.ErrCode != 0 || r.Count != float64(0) {
			t.Errorf("reply %+v, %v", r, err)
		}
	})
	t.Run("requests and logs redact secrets", func(t *testing.T) {
		var all bytes.Buffer
		for _, r := range s.Requests() {
			all.WriteString(r.Query.Encode() + "\n")
		}
		all.WriteString(logs.String())
		for _, secret := range []string{nm, sso, s.Secret(corptest.AppNewMail)} {
			if strings.Contains(all.String(), secret) {
				t.Errorf("a secret leaked into Requests or the log")
			}
		}
		if !strings.Contains(all.String(), "access_token="+corptest.Redacted) {
			t.Error("Requests did not record the redacted token")
		}
	})
	t.Run("unknown path and method", func(t *testing.T) {
		resp, err := http.Get(s.URL() + "/cgi-bin/nope")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("unknown path = %d", resp.StatusCode)
		}
		resp, err = http.Post(s.BaseURL()+"user/get", "application/json", bytes.NewReader(nil))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("POST user/get = %d", resp.StatusCode)
		}
	})
}

func TestListChildrenOnly(t *testing.T) {
	s := corptest.New(corptest.Options{Demo: true, ListChildrenOnly: true})
	defer s.Close()
	var out struct {
		Department []struct{ ID int } `json:"department"`
	}
	getJSON(t, t.Context(), s.BaseURL()+"department/list?id=1&access_token="+s.IssueToken(corptest.AppContacts), &out)
	var ids []int
	for _, d := range out.Department {
		ids = append(ids, d.ID)
	}
	if len(ids) != 2 || ids[0] != 2 || ids[1] != 4 {
		t.Errorf("children of 1 = %v, want [2 4]", ids)
	}
}
