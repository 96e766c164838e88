package api_test

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

func TestUserService_Get(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if err := f.srv.UpdateUser(exmailtest.User{
		Alias: bob, Name: "鲍勃", Gender: 1, Position: "工程师", Tel: "62394", ExtID: "100",
		Slaves:  []string{"bb@example.com", "bo@example.com"},
		Parties: []string{"部门a", "部门B/部门b"},
	}); err != nil {
		t.Fatal(err)
	}
	f.srv.ResetRequests()

	got, err := f.c.Users.Get(t.Context(), bob)
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.only(t, "user/get"), url.Values{"alias": {bob}})
	want := &api.User{
		Alias: bob, Name: "鲍勃", Gender: api.GenderMale, Position: "工程师", Tel: "62394", ExtID: "100",
		Slaves:   []string{"bb@example.com", "bo@example.com"},
		Parties:  []string{"部门a", "部门B/部门b"},
		OpenType: api.OpenTypeEnabled,
		Status:   1, // the fake sends it as the live fixture of protocol.md §3.7 does
	}
	checkDiff(t, "Get mismatch", want, got)
}

// The reply samples of protocol.md §3.7 (PDF, with its typos fixed, and a
// live fixture with Status and numbers as strings), from testdata.
func TestUserService_GetReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want *api.User
	}{
		{"user_get/pdf.json", &api.User{
			Alias: "test2@gzservice.com", Name: "鲍勃", Gender: api.GenderMale,
			Slaves: []string{"bb@gzdev.com", "bo@gzdev.com"}, Position: "工程师", Tel: "62394", ExtID: "100",
			Parties: []string{"部门a", "部门B/部门b", "部门c"},
		}},
		{"user_get/live.json", &api.User{
			Alias: "zzr@vip2.msdi.cn", Name: "张", Gender: api.GenderFemale,
			Slaves: []string{}, Parties: []string{}, OpenType: api.OpenTypeDisabled, Status: 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := replay(t, "user/get", readTestdata(t, tt.file)).Users.Get(t.Context(), tt.want.Alias)
			if err != nil {
				t.Fatal(err)
			}
			checkDiff(t, "Get mismatch", tt.want, got)
		})
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUserService_Sync(t *testing.T) {
	t.Parallel()
	const carol = "carol@example.com"
	tests := []struct {
		name     string
		req      api.UserSync
		wantForm url.Values
		check    func(t *testing.T, s *exmailtest.Server)
	}{
		{
			name: "add with every field",
			req: api.UserSync{
				Action: api.ActionAdd, Alias: carol, Name: "Carol", Gender: api.GenderFemale,
				Position: "PM", Tel: "62394", Mobile: "13800000000", ExtID: "E42",
				Password: "Secret-123", Parties: []string{"研发中心/后端组", "研发中心"},
				Slaves: []string{"cc@example.com", "caro@example.com"}, OpenType: api.OpenTypeEnabled,
			},
			wantForm: url.Values{
				"action": {"2"}, "alias": {carol}, "name": {"Carol"}, "gender": {"2"},
				"position": {"PM"}, "tel": {"62394"}, "mobile": {"13800000000"}, "extid": {"E42"},
				"password": {"Secret-123"}, "md5": {"0"},
				"partypath": {"研发中心/后端组", "研发中心"},
				"slave":     {"cc@example.com", "caro@example.com"},
				"opentype":  {"1"},
			},
			check: func(t *testing.T, s *exmailtest.Server) {
				u, ok := s.User(carol)
				if !ok {
					t.Fatal("carol was not created")
				}
				if !s.CheckPassword(carol, "Secret-123") {
					t.Error("the fake does not accept carol's password")
				}
				checkDiff(t, "slaves", []string{"cc@example.com", "caro@example.com"}, u.Slaves)
			},
		},
		{
			name: "add with an MD5 password",
			req: api.UserSync{
				Action: api.ActionAdd, Alias: carol, Name: "Carol",
				// md5("Secret-123")
				Password: "35eddb1ed5b26db276b9445345bfae2b", PasswordMD5: true,
			},
			wantForm: url.Values{
				"action": {"2"}, "alias": {carol}, "name": {"Carol"},
				"password": {"35eddb1ed5b26db276b9445345bfae2b"}, "md5": {"1"},
			},
			check: func(t *testing.T, s *exmailtest.Server) {
				if !s.CheckPassword(carol, "Secret-123") {
					t.Error("the fake does not accept carol's password")
				}
			},
		},
		{
			name: "modify sends only what is set",
			req:  api.UserSync{Action: api.ActionModify, Alias: bob, Position: "CTO", OpenType: api.OpenTypeDisabled},
			wantForm: url.Values{
				"action": {"3"}, "alias": {bob}, "position": {"CTO"}, "opentype": {"2"},
			},
			check: func(t *testing.T, s *exmailtest.Server) {
				u, _ := s.User(bob)
				if u.Position != "CTO" || u.OpenType != 2 || u.Name != "Bob" {
					t.Errorf("bob after modify: %+v", u)
				}
			},
		},
		{
			name:     "delete sends action and alias only",
			req:      api.UserSync{Action: api.ActionDelete, Alias: bob, Name: "ignored"},
			wantForm: url.Values{"action": {"1"}, "alias": {bob}},
			check: func(t *testing.T, s *exmailtest.Server) {
				if _, ok := s.User(bob); ok {
					t.Error("bob still exists")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			if err := f.c.Users.Sync(t.Context(), tt.req); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			r := f.only(t, "user/sync")
			checkRequest(t, r, tt.wantForm)
			if tt.check != nil {
				tt.check(t, f.srv)
			}
		})
	}
}

func TestUserService_SyncErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()

	// Adding an existing address: errcode 1304 from the server.
	err := f.c.Users.Sync(ctx, api.UserSync{Action: api.ActionAdd, Alias: bob, Name: "Bob", Password: "Secret-123"})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeAddressExists {
		t.Errorf("adding bob again: err = %v, want errcode %d", err, api.CodeAddressExists)
	}
	// A short password: 1303. The password is not in the message.
	err = f.c.Users.Sync(ctx, api.UserSync{Action: api.ActionAdd, Alias: "dave@example.com", Name: "Dave", Password: "abc12"})
	if !errors.As(err, &ae) || ae.Code != api.CodeBadPassword {
		t.Errorf("short password: err = %v, want errcode %d", err, api.CodeBadPassword)
	}
	f.noSecrets(t, err.Error(), "abc12")
	f.srv.ResetRequests()

	// Requests the client refuses to send.
	six := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com", "f@example.com"}
	for name, req := range map[string]api.UserSync{
		"no action":    {Alias: bob},
		"bad action":   {Action: 4, Alias: bob},
		"no alias":     {Action: api.ActionModify},
		"six slaves":   {Action: api.ActionModify, Alias: bob, Slaves: six},
		"bad gender":   {Action: api.ActionModify, Alias: bob, Gender: 3},
		"bad opentype": {Action: api.ActionModify, Alias: bob, OpenType: -1},
	} {
		if err := f.c.Users.Sync(ctx, req); !errors.Is(err, api.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := f.count("user/sync"); n != 0 {
		t.Errorf("%d invalid requests were sent", n)
	}
}

func TestUserService_List(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()

	all, err := f.c.Users.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.only(t, "user/list"), url.Values{"ver": {"0"}})
	wantAll := []api.UserChange{{Alias: bob, Action: api.ActionAdd}, {Alias: alice, Action: api.ActionAdd}}
	checkDiff(t, "List(0) mismatch", wantAll, all.Changes)
	if all.Ver == "" || all.Ver.String() != fmt.Sprint(f.srv.Ver()) {
		t.Errorf("List(0).Ver = %q, want the server's %d", all.Ver, f.srv.Ver())
	}

	if err := f.srv.RemoveUser(alice); err != nil {
		t.Fatal(err)
	}
	f.srv.ResetRequests()
	since, err := f.c.Users.List(ctx, all.Ver)
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.only(t, "user/list"), url.Values{"ver": {all.Ver.String()}})
	checkDiff(t, "List(ver) mismatch", []api.UserChange{{Alias: alice, Action: api.ActionDelete}}, since.Changes)
	if since.Ver <= all.Ver && len(since.Ver) <= len(all.Ver) {
		t.Errorf("Ver did not advance: %s then %s", all.Ver, since.Ver)
	}
}

func TestUserService_ListReplies(t *testing.T) {
	t.Parallel()
	body := `{"Ver":1474444854395,"Count":2,"List":[{"Alias":"02166@vip2.msdi.cn","Action":2},{"Alias":"x@vip2.msdi.cn","Action":"1"}]}`
	got, err := replay(t, "user/list", body).Users.List(t.Context(), "1474444854300")
	if err != nil {
		t.Fatal(err)
	}
	want := &api.UserChanges{Ver: "1474444854395", Changes: []api.UserChange{
		{Alias: "02166@vip2.msdi.cn", Action: api.ActionAdd},
		{Alias: "x@vip2.msdi.cn", Action: api.ActionDelete},
	}}
	checkDiff(t, "List mismatch", want, got)
}

func TestUserService_Check(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if err := f.srv.UpdateUser(exmailtest.User{Alias: bob, Name: "Bob", Slaves: []string{"bb@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.AddGroup(exmailtest.Group{Alias: "all@example.com", Name: "All", Status: "all", Members: []string{bob}}); err != nil {
		t.Fatal(err)
	}
	f.srv.ResetRequests()

	got, err := f.c.Users.Check(t.Context(), bob, "bb@example.com", "all@example.com", "free@example.com")
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.only(t, "user/check"), url.Values{"email": {bob, "bb@example.com", "all@example.com", "free@example.com"}})
	want := []api.AddressCheck{
		{Email: bob, Type: api.AddressPrimary},
		{Email: "bb@example.com", Type: api.AddressAlias},
		{Email: "all@example.com", Type: api.AddressGroup},
		{Email: "free@example.com", Type: api.AddressAvailable},
	}
	checkDiff(t, "Check mismatch", want, got)
}

// More than 20 addresses go out in batches of at most 20 (protocol.md
// §3.10), in order.
func TestUserService_CheckBatches(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var addrs []string
	for i := range 45 {
		addrs = append(addrs, fmt.Sprintf("u%02d@example.com", i))
	}
	got, err := f.c.Users.Check(t.Context(), addrs...)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.srv.RequestsTo("user/check")
	var sizes []int
	var sent []string
	for _, r := range reqs {
		sizes = append(sizes, len(r.Form["email"]))
		sent = append(sent, r.Form["email"]...)
	}
	checkDiff(t, "batch sizes", []int{20, 20, 5}, sizes)
	checkDiff(t, "addresses sent", addrs, sent)
	if len(got) != 45 || got[44].Email != addrs[44] || got[44].Type != api.AddressAvailable {
		t.Errorf("Check returned %d results, last %+v", len(got), got[len(got)-1])
	}
	if _, err := f.c.Users.Check(t.Context()); !errors.Is(err, api.ErrInvalidArgument) {
		t.Errorf("Check() with no address: err = %v, want ErrInvalidArgument", err)
	}
}

func TestUserService_CheckReplies(t *testing.T) {
	t.Parallel()
	// The PDF pads addresses with spaces; C1 saw an empty list.
	for body, want := range map[string][]api.AddressCheck{
		`{"Count":2,"List":[{"Email":" test@gzdev.com ","Type":1},{"Email":"2013@gzdev.com","Type":"-1"}]}`: {
			{Email: "test@gzdev.com", Type: api.AddressPrimary}, {Email: "2013@gzdev.com", Type: api.AddressInvalid},
		},
		`{"Count":0,"List":[]}`: {},
	} {
		got, err := replay(t, "user/check", body).Users.Check(t.Context(), "test@gzdev.com")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Check(%s) mismatch (-want +got):\n%s", body, diff)
		}
	}
}

func TestUserService_WxToken(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	if err := f.c.Users.OpenWxToken(ctx, bob); err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.only(t, "user/openwxtoken"), url.Values{"alias": {bob}})
	if u, _ := f.srv.User(bob); !u.WXToken {
		t.Error("OpenWxToken did not switch the WeChat token on")
	}
	if err := f.c.Users.CloseWxToken(ctx, bob); err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.only(t, "user/closewxtoken"), url.Values{"alias": {bob}})
	if u, _ := f.srv.User(bob); u.WXToken {
		t.Error("CloseWxToken did not switch the WeChat token off")
	}
	if err := f.c.Users.OpenWxToken(ctx, "nobody@example.com"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("OpenWxToken(unknown) err = %v, want ErrNotFound", err)
	}
}

func TestEnumStrings(t *testing.T) {
	t.Parallel()
	got := strings.Join([]string{
		api.ActionDelete.String(), api.ActionAdd.String(), api.ActionModify.String(), api.Action(9).String(),
		api.GenderMale.String(), api.GenderFemale.String(), api.Gender(7).String(),
		api.OpenTypeEnabled.String(), api.OpenTypeDisabled.String(),
		api.AddressInvalid.String(), api.AddressAvailable.String(), api.AddressPrimary.String(),
		api.AddressAlias.String(), api.AddressGroup.String(),
	}, ",")
	want := "delete,add,modify,action(9),male,female,gender(7),enabled,disabled,invalid,available,member,alias,group"
	if got != want {
		t.Errorf("names = %s\nwant    %s", got, want)
	}
}
