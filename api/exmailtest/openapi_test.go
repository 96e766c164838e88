package exmailtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

func TestMailAuthKey(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Demo: true})
	hex112 := regexp.MustCompile(`^[0-9A-F]{112}$`)
	seen := map[string]bool{}
	for _, name := range []string{"alias", "Alias"} {
		r := api(t, s, "mail/authkey", form(name, lina))
		key, _ := decodeMap(t, r.Body)["auth_key"].(string)
		if !hex112.MatchString(key) {
			t.Errorf("%s: auth_key %q is not 112 upper-case hex characters (body %s)", name, key, r.Body)
		}
		if seen[key] {
			t.Errorf("auth_key repeated")
		}
		seen[key] = true
	}
	wantErr(t, api(t, s, "mail/authkey", form("alias", "nobody@example.com")), 1301, "user_not_found")
	wantErr(t, api(t, s, "mail/authkey", nil), 1001, "invalid_request")
}

func TestMailNewCount(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{})
	if err := s.AddUser(exmailtest.User{Alias: "zzr@example.com", Name: "zzr"}); err != nil {
		t.Fatal(err)
	}
	s.Deliver("zzr@example.com", exmailtest.Mail{Subject: "one"})
	s.Deliver("zzr@example.com", exmailtest.Mail{Subject: "two"})
	// NewCount is a string, exactly as in the live reply of §3.6.
	want := `{"Alias":"zzr@example.com","NewCount":"2"}`
	tok := s.IssueToken()
	for _, tt := range []struct {
		method, name, value string
	}{
		{http.MethodPost, "alias", "zzr@example.com"},
		{http.MethodPost, "Alias", "zzr@example.com"},
		{http.MethodGet, "ALIAS", "zzr@example.com"},
		{http.MethodGet, "alias", "ZZR@Example.com"},
	} {
		r := do(t, s, tt.method, s.APIBase()+"mail/newcount", form(tt.name, tt.value), withBearer(tok))
		wantJSON(t, r, want)
	}
	wantErr(t, api(t, s, "mail/newcount", form("alias", "ghost@example.com")), 1400, "user_not_found")
}

// A body sent with a wrong Content-Type is still read as a form (§1).
func TestParams_ContentTypeIgnored(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Demo: true})
	r := do(t, s, http.MethodPost, s.APIBase()+"mail/newcount", form("alias", lina), func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+s.IssueToken())
	})
	wantJSON(t, r, fmt.Sprintf(`{"Alias":%q,"NewCount":"%d"}`, lina, s.Unread(lina)))
}

func TestUserGet(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Domain: "gzdev.com"})
	for _, p := range []string{"部门a", "部门B/部门b", "部门c"} {
		if err := s.AddParty(p); err != nil {
			t.Fatal(err)
		}
	}
	err := s.AddUser(exmailtest.User{
		Alias: "test2@gzdev.com", Name: "鲍勃", Gender: 1, Position: "工程师", Tel: "62394", ExtID: "100",
		Slaves: []string{"bb@gzdev.com", "bo@gzdev.com"}, Parties: []string{"部门a", "部门B/部门b", "部门c"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, api(t, s, "user/get", form("Alias", "test2@gzdev.com")), `{"Alias":"test2@gzdev.com","Name":"鲍勃","Gender":1,
		"SlaveList":"bb@gzdev.com,bo@gzdev.com","Position":"工程师","Tel":"62394","Mobile":"","ExtId":"100",
		"PartyList":{"Count":3,"List":[{"Value":"部门a"},{"Value":"部门B/部门b"},{"Value":"部门c"}]},
		"OpenType":1,"Status":1}`)
	wantErr(t, api(t, s, "user/get", form("alias", "nobody@gzdev.com")), 1301, "user_not_found")
	// Lookups by a slave address are refused (the stricter reading of §3.7).
	wantErr(t, api(t, s, "user/get", form("alias", "bb@gzdev.com")), 1301, "user_not_found")
}

func TestUserGet_RootMemberHasEmptyPartyList(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{})
	if err := s.AddUser(exmailtest.User{Alias: "root@example.com", Name: "Root", OpenType: 2}); err != nil {
		t.Fatal(err)
	}
	wantJSON(t, api(t, s, "user/get", form("alias", "root@example.com")), `{"Alias":"root@example.com","Name":"Root",
		"Gender":0,"SlaveList":"","Position":"","Tel":"","Mobile":"","ExtId":"","PartyList":{"Count":0,"List":[]},
		"OpenType":2,"Status":1}`)
}

func TestUserSync(t *testing.T) {
	t.Parallel()
	// base is a valid ADD; kv replaces or adds parameters.
	base := func(kv ...string) url.Values {
		v := form("action", "2", "alias", "new@example.com", "name", "New", "password", "secret123")
		extra := form(kv...)
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	tests := []struct {
		name     string
		form     url.Values
		wantCode int // 0: success
		wantName string
	}{
		{"add", base(), 0, ""},
		{"add with every field, capitalised names", form("Action", "2", "Alias", "new@example.com", "Name", "BOB",
			"Gender", "1", "Position", "engineer", "Tel", "1", "Mobile", "2", "ExtId", "3", "Password", "secret123",
			"Md5", "0", "PartyPath", "研发中心/后端组", "PartyPath", "产品部", "Slave", "n1@example.com", "OpenType", "1"), 0, ""},
		{"add with md5 password", form("action", "2", "alias", "new@example.com", "name", "N", "md5", "1",
			"password", "5ebe2294ecd0e0f08eab7690d2a6ee69"), 0, ""},
		{"add existing account", base("alias", lina), exmailtest.CodeAddressExists, "alias_exists"},
		{"add over an alias address", form("action", "2", "alias", "ceo@example.com", "name", "x", "password", "secret123"),
			exmailtest.CodeAddressExists, "alias_exists"},
		{"add over a group address", form("action", "2", "alias", "all@example.com", "name", "x", "password", "secret123"),
			exmailtest.CodeAddressExists, "alias_exists"},
		{"password too short", form("action", "2", "alias", "new@example.com", "name", "N", "password", "12345"),
			exmailtest.CodeBadPassword, "invalid_password"},
		{"password too long", form("action", "2", "alias", "new@example.com", "name", "N", "password", strings.Repeat("x", 33)),
			exmailtest.CodeBadPassword, "invalid_password"},
		{"no password", form("action", "2", "alias", "new@example.com", "name", "N"), exmailtest.CodeBadPassword, "invalid_password"},
		{"md5 that is not a hash", form("action", "2", "alias", "new@example.com", "name", "N", "md5", "1", "password", "secret123"),
			exmailtest.CodeBadPassword, "invalid_password"},
		{"no name", form("action", "2", "alias", "new@example.com", "password", "secret123"), exmailtest.CodeInvalidRequest, "invalid_request"},
		{"outside the domain", base("alias", "new@other.com"), exmailtest.CodeInvalidAlias, "invalid_alias"},
		{"not an address", base("alias", "new"), exmailtest.CodeInvalidAlias, "invalid_alias"},
		{"unknown department", base("partypath", "没有这个部门"), exmailtest.CodePartyNotFound, "party_not_found"},
		{"six slaves", base("slave", "s1@example.com", "slave", "s2@example.com", "slave", "s3@example.com",
			"slave", "s4@example.com", "slave", "s5@example.com", "slave", "s6@example.com"), exmailtest.CodeInvalidRequest, "invalid_request"},
		{"slave taken", base("slave", "ceo@example.com"), exmailtest.CodeAddressExists, "alias_exists"},
		{"bad gender", base("gender", "3"), exmailtest.CodeInvalidRequest, "invalid_request"},
		{"bad opentype", base("opentype", "3"), exmailtest.CodeInvalidRequest, "invalid_request"},
		{"bad action", base("action", "4"), exmailtest.CodeInvalidRequest, "invalid_request"},
		{"mod", form("action", "3", "alias", lina, "position", "总监"), 0, ""},
		{"mod unknown", form("action", "3", "alias", "ghost@example.com", "name", "x"), exmailtest.CodeUserNotFound, "user_not_found"},
		{"mod password too short", form("action", "3", "alias", lina, "password", "1"), exmailtest.CodeBadPassword, "invalid_password"},
		{"del", form("action", "1", "alias", lina), 0, ""},
		{"del unknown", form("action", "1", "alias", "ghost@example.com"), exmailtest.CodeUserNotFound, "user_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, exmailtest.Options{Demo: true})
			ver := s.Ver()
			r := api(t, s, "user/sync", tt.form)
			if tt.wantCode == 0 {
				wantEmpty(t, r)
				if s.Ver() <= ver {
					t.Errorf("Ver did not advance: %d → %d", ver, s.Ver())
				}
				return
			}
			wantErr(t, r, tt.wantCode, tt.wantName)
			if s.Ver() != ver {
				t.Errorf("a failed sync changed Ver")
			}
		})
	}
}

func TestUserSync_Effects(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Demo: true})
	wantEmpty(t, api(t, s, "user/sync", form("action", "2", "alias", "bob2@example.com", "name", "BOB", "gender", "1",
		"position", "engineer", "password", "secret123", "partypath", "研发中心/后端组", "partypath", "产品部",
		"slave", "b1@example.com", "slave", "b2@example.com")))
	wantJSON(t, api(t, s, "user/get", form("alias", "bob2@example.com")), `{"Alias":"bob2@example.com","Name":"BOB",
		"Gender":1,"SlaveList":"b1@example.com,b2@example.com","Position":"engineer","Tel":"","Mobile":"","ExtId":"",
		"PartyList":{"Count":2,"List":[{"Value":"研发中心/后端组"},{"Value":"产品部"}]},"OpenType":1,"Status":1}`)
	if !s.CheckPassword("bob2@example.com", "secret123") {
		t.Error("CheckPassword(secret123) = false")
	}

	// MOD changes only what is sent; an empty slave clears the aliases.
	wantEmpty(t, api(t, s, "user/sync", form("action", "3", "alias", "bob2@example.com", "name", "Bob Two",
		"slave", "", "opentype", "2")))
	u, _ := s.User("bob2@example.com")
	want := exmailtest.User{Alias: "bob2@example.com", Name: "Bob Two", Gender: 1, Position: "engineer",
		Parties: []string{"研发中心/后端组", "产品部"}, OpenType: 2, Password: "secret123"}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("after MOD (-want +got):\n%s", diff)
	}
	// The freed alias can be used again.
	wantEmpty(t, api(t, s, "user/sync", form("action", "3", "alias", lina, "slave", "b1@example.com")))

	wantEmpty(t, api(t, s, "user/sync", form("action", "1", "alias", "bob2@example.com")))
	wantErr(t, api(t, s, "user/get", form("alias", "bob2@example.com")), 1301, "user_not_found")
}

func TestUserList(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{})
	for _, a := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if err := s.AddUser(exmailtest.User{Alias: a, Name: a}); err != nil {
			t.Fatal(err)
		}
	}
	v1 := s.Ver()
	wantJSON(t, api(t, s, "user/list", form("ver", "0")), fmt.Sprintf(`{"Ver":%d,"Count":3,"List":[
		{"Alias":"a@example.com","Action":2},{"Alias":"b@example.com","Action":2},{"Alias":"c@example.com","Action":2}]}`, v1))

	wantEmpty(t, api(t, s, "user/sync", form("action", "1", "alias", "a@example.com")))
	wantEmpty(t, api(t, s, "user/sync", form("action", "3", "alias", "b@example.com", "name", "B")))
	wantEmpty(t, api(t, s, "user/sync", form("action", "2", "alias", "d@example.com", "name", "D", "password", "secret123")))
	wantEmpty(t, api(t, s, "user/sync", form("action", "3", "alias", "d@example.com", "tel", "1")))
	v2 := s.Ver()
	wantJSON(t, api(t, s, "user/list", form("Ver", strconv.FormatInt(v1, 10))), fmt.Sprintf(`{"Ver":%d,"Count":3,"List":[
		{"Alias":"a@example.com","Action":1},{"Alias":"b@example.com","Action":3},{"Alias":"d@example.com","Action":2}]}`, v2))
	wantJSON(t, api(t, s, "user/list", form("ver", strconv.FormatInt(v2, 10))), fmt.Sprintf(`{"Ver":%d,"Count":0,"List":[]}`, v2))
	wantErr(t, api(t, s, "user/list", form("ver", "yesterday")), 1001, "invalid_request")
}

func TestUserCheck(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Demo: true})
	wantJSON(t, api(t, s, "user/check", form("email", lina, "email", "ceo@example.com", "email", "all@example.com",
		"email", "free@example.com", "email", "x@other.com", "email", "not an address")), `{"Count":6,"List":[
		{"Email":"lina@example.com","Type":1},{"Email":"ceo@example.com","Type":2},{"Email":"all@example.com","Type":3},
		{"Email":"free@example.com","Type":0},{"Email":"x@other.com","Type":-1},{"Email":"not an address","Type":-1}]}`)
	wantJSON(t, api(t, s, "user/check", nil), `{"Count":0,"List":[]}`)
	var many []string
	for i := range 21 {
		many = append(many, "email", fmt.Sprintf("u%d@example.com", i))
	}
	wantErr(t, api(t, s, "user/check", form(many...)), 1001, "invalid_request")
	if r := api(t, s, "user/check", form(many[:40]...)); !strings.Contains(r.Body, `"Count":20`) {
		t.Errorf("20 addresses: %s", r.Body)
	}
}

func TestWXToken(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Demo: true})
	wantEmpty(t, api(t, s, "user/openwxtoken", form("alias", lina)))
	if u, _ := s.User(lina); !u.WXToken {
		t.Error("after openwxtoken WXToken = false")
	}
	wantEmpty(t, api(t, s, "user/closewxtoken", form("Alias", lina)))
	if u, _ := s.User(lina); u.WXToken {
		t.Error("after closewxtoken WXToken = true")
	}
	wantErr(t, api(t, s, "user/openwxtoken", form("alias", "ghost@example.com")), 1301, "user_not_found")
}

func TestParty(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{})
	list := func(path string) reply { return api(t, s, "party/list", form("partypath", path)) }
	members := func(path string) reply { return api(t, s, "partyuser/list", form("PartyPath", path)) }

	// ADD creates the missing parents; adding an existing path succeeds.
	wantEmpty(t, api(t, s, "party/sync", form("action", "2", "dstpath", "腾讯/广州研发中心/企业邮箱")))
	wantEmpty(t, api(t, s, "party/sync", form("Action", "2", "DstPath", "腾讯/广州研发中心")))
	wantJSON(t, list(""), `{"Count":1,"List":[{"Value":"腾讯"}]}`)
	wantJSON(t, list("腾讯/广州研发中心"), `{"Count":1,"List":[{"Value":"企业邮箱"}]}`)
	wantJSON(t, list("腾讯/广州研发中心/企业邮箱"), `{"Count":0,"List":[]}`)
	wantErr(t, list("腾讯/上海"), 1310, "party_not_found")
	wantErr(t, members("腾讯/上海"), 1310, "party_not_found")

	if err := s.AddUser(exmailtest.User{Alias: "m@example.com", Name: "M", Parties: []string{"腾讯/广州研发中心/企业邮箱"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(exmailtest.User{Alias: "top@example.com", Name: "Top"}); err != nil {
		t.Fatal(err)
	}
	wantJSON(t, members("腾讯/广州研发中心/企业邮箱"), `{"Count":1,"List":[{"Value":"m@example.com"}]}`)
	wantJSON(t, members(""), `{"Count":1,"List":[{"Value":"top@example.com"}]}`)

	// DEL refuses departments with sub-departments or members.
	wantErr(t, api(t, s, "party/sync", form("action", "1", "dstpath", "腾讯/广州研发中心")), exmailtest.CodePartyNotEmpty, "party_not_empty")
	wantErr(t, api(t, s, "party/sync", form("action", "1", "dstpath", "腾讯/广州研发中心/企业邮箱")), exmailtest.CodePartyNotEmpty, "party_not_empty")
	wantErr(t, api(t, s, "party/sync", form("action", "1", "dstpath", "腾讯/北京")), 1310, "party_not_found")

	// MOD moves a department with its members, which bumps Ver.
	ver := s.Ver()
	wantEmpty(t, api(t, s, "party/sync", form("action", "3", "srcpath", "腾讯/广州研发中心", "dstpath", "腾讯/深圳研发中心")))
	wantJSON(t, list("腾讯"), `{"Count":1,"List":[{"Value":"深圳研发中心"}]}`)
	wantJSON(t, members("腾讯/深圳研发中心/企业邮箱"), `{"Count":1,"List":[{"Value":"m@example.com"}]}`)
	if u, _ := s.User("m@example.com"); !cmp.Equal(u.Parties, []string{"腾讯/深圳研发中心/企业邮箱"}) {
		t.Errorf("member's parties after MOD: %q", u.Parties)
	}
	if s.Ver() <= ver {
		t.Error("moving members did not bump Ver")
	}
	wantErr(t, api(t, s, "party/sync", form("action", "3", "srcpath", "腾讯/深圳研发中心", "dstpath", "腾讯/深圳研发中心/x")),
		exmailtest.CodeInvalidPartyPath, "invalid_party_path")
	wantErr(t, api(t, s, "party/sync", form("action", "3", "srcpath", "腾讯/深圳研发中心/企业邮箱", "dstpath", "腾讯")),
		exmailtest.CodePartyExists, "party_exists")
	wantErr(t, api(t, s, "party/sync", form("action", "3", "srcpath", "nope", "dstpath", "x")), 1310, "party_not_found")

	// A leaf without members can go.
	wantEmpty(t, api(t, s, "party/sync", form("action", "2", "dstpath", "腾讯/空部门")))
	wantEmpty(t, api(t, s, "party/sync", form("action", "1", "dstpath", "腾讯/空部门")))
	wantJSON(t, list("腾讯"), `{"Count":1,"List":[{"Value":"深圳研发中心"}]}`)

	// Path limits: 5 levels of at most 64 characters.
	wantErr(t, api(t, s, "party/sync", form("action", "2", "dstpath", "a/b/c/d/e/f")), exmailtest.CodeInvalidPartyPath, "invalid_party_path")
	wantErr(t, api(t, s, "party/sync", form("action", "2", "dstpath", strings.Repeat("长", 65))), exmailtest.CodeInvalidPartyPath, "invalid_party_path")
	wantErr(t, api(t, s, "party/sync", form("action", "2", "dstpath", "a//b")), exmailtest.CodeInvalidPartyPath, "invalid_party_path")
	wantEmpty(t, api(t, s, "party/sync", form("action", "2", "dstpath", "a/b/c/d/"+strings.Repeat("长", 64))))
}

func TestGroups(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Demo: true})
	wantEmpty(t, api(t, s, "group/add", form("group_name", "项目组", "group_admin", "proj@example.com", "status", "list",
		"members", lina, "members", bob)))
	wantEmpty(t, api(t, s, "group/addmember", form("group_alias", "proj@example.com", "members", chen)))
	wantEmpty(t, api(t, s, "group/deletemember", form("group_alias", "proj@example.com", "members", bob)))
	wantEmpty(t, api(t, s, "group/addallowlist", form("group_alias", "proj@example.com", "allow_list", zhang+", "+lina)))
	wantEmpty(t, api(t, s, "group/delallowlist", form("group_alias", "proj@example.com", "allow_list", zhang)))
	wantErr(t, api(t, s, "group/delallowlist", form("group_alias", "proj@example.com", "allow_list", lina)),
		exmailtest.CodeAllowListLast, "allow_list_last_entry")
	g, _ := s.Group("proj@example.com")
	want := exmailtest.Group{Alias: "proj@example.com", Name: "项目组", Status: "list",
		Members: []string{lina, chen}, AllowList: []string{lina}}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("group (-want +got):\n%s", diff)
	}
	wantJSON(t, api(t, s, "user/check", form("email", "proj@example.com")), `{"Count":1,"List":[{"Email":"proj@example.com","Type":3}]}`)

	tests := []struct {
		name     string
		path     string
		form     url.Values
		code     int
		codeName string
	}{
		{"add taken address", "group/add", form("group_name", "x", "group_admin", lina, "status", "all"), 1304, "alias_exists"},
		{"add outside domain", "group/add", form("group_name", "x", "group_admin", "g@other.com", "status", "all"), 1302, "invalid_alias"},
		{"add bad status", "group/add", form("group_name", "x", "group_admin", "g@example.com", "status", "everyone"), 1001, "invalid_request"},
		{"add without name", "group/add", form("group_admin", "g@example.com", "status", "all"), 1001, "invalid_request"},
		{"add unknown member", "group/add", form("group_name", "x", "group_admin", "g@example.com", "status", "all",
			"members", "ghost@example.com"), 1301, "user_not_found"},
		{"delete unknown", "group/delete", form("group_alias", "ghost@example.com"), 1320, "group_not_found"},
		{"addmember unknown group", "group/addmember", form("group_alias", "ghost@example.com", "members", lina), 1320, "group_not_found"},
		{"addmember unknown member", "group/addmember", form("group_alias", "all@example.com", "members", "ghost@example.com"), 1301, "user_not_found"},
		{"allow list on status inner", "group/addallowlist", form("group_alias", "all@example.com", "allow_list", lina), 1321, "group_status_not_list"},
		{"empty allow list", "group/addallowlist", form("group_alias", "dev@example.com", "allow_list", " , "), 1001, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantErr(t, api(t, s, tt.path, tt.form), tt.code, tt.codeName)
		})
	}

	t.Run("delete", func(t *testing.T) {
		s := newServer(t, exmailtest.Options{Demo: true})
		wantEmpty(t, api(t, s, "group/delete", form("group_alias", "dev@example.com")))
		if _, ok := s.Group("dev@example.com"); ok {
			t.Error("group still there")
		}
	})
}

func TestUnknownPathAndMethod(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{})
	for _, p := range []string{"/openapi/user/swapalias", "/openapi/", "/", "/openapi/mail/newcount/"} {
		if r := do(t, s, http.MethodPost, s.URL()+p, nil, withBearer(s.IssueToken())); r.Status != http.StatusNotFound {
			t.Errorf("POST %s: HTTP %d, want 404", p, r.Status)
		}
	}
	if r := do(t, s, http.MethodPut, s.APIBase()+"mail/newcount", nil, nil); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: HTTP %d, want 405", r.Status)
	}
}
