package api_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exmail-notifier/exmail-notifier/api"
)

func TestPartyService_Sync(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		call     func(f *fixture) error
		wantForm url.Values
		want     []string // the fake's departments afterwards
	}{
		{
			name:     "add creates the missing parents",
			call:     func(f *fixture) error { return f.c.Party.Add(t.Context(), "市场部/华南/广州") },
			wantForm: url.Values{"action": {"2"}, "dstpath": {"市场部/华南/广州"}},
			want:     []string{"研发中心", "研发中心/后端组", "市场部", "市场部/华南", "市场部/华南/广州"},
		},
		{
			name: "move renames",
			call: func(f *fixture) error {
				return f.c.Party.Move(t.Context(), "研发中心/后端组", "研发中心/服务端组")
			},
			wantForm: url.Values{"action": {"3"}, "srcpath": {"研发中心/后端组"}, "dstpath": {"研发中心/服务端组"}},
			want:     []string{"研发中心", "研发中心/服务端组"},
		},
		{
			name: "delete removes an empty department",
			call: func(f *fixture) error {
				if err := f.srv.AddParty("空部门"); err != nil {
					return err
				}
				f.srv.ResetRequests()
				return f.c.Party.Delete(t.Context(), "空部门")
			},
			wantForm: url.Values{"action": {"1"}, "dstpath": {"空部门"}},
			want:     []string{"研发中心", "研发中心/后端组"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setupAfter(t, tt.call)
			checkRequest(t, f.only(t, "party/sync"), tt.wantForm)
			checkDiff(t, "departments afterwards", tt.want, f.srv.Parties())
		})
	}
}

func TestPartyService_SyncErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	// bob is in 研发中心/后端组: the server refuses to delete it.
	var ae *api.Error
	if err := f.c.Party.Delete(ctx, "研发中心/后端组"); !errors.As(err, &ae) {
		t.Errorf("deleting a department with members: err = %v, want an *api.Error", err)
	}
	f.srv.ResetRequests()
	for name, err := range map[string]error{
		"add root":        f.c.Party.Add(ctx, ""),
		"delete root":     f.c.Party.Delete(ctx, "/"),
		"move from root":  f.c.Party.Move(ctx, "", "x"),
		"move to nowhere": f.c.Party.Move(ctx, "研发中心", " "),
	} {
		if !errors.Is(err, api.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d invalid requests were sent", n)
	}
}

func TestPartyService_List(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, p := range []string{"研发中心/前端组", "市场部"} {
		if err := f.srv.AddParty(p); err != nil {
			t.Fatal(err)
		}
	}
	f.srv.ResetRequests()
	tests := []struct {
		path string
		want []string
	}{
		{"", []string{"研发中心", "市场部"}},
		{"研发中心", []string{"后端组", "前端组"}},
		{"市场部", []string{}},
	}
	for _, tt := range tests {
		got, err := f.c.Party.List(t.Context(), tt.path)
		if err != nil {
			t.Fatalf("List(%q): %v", tt.path, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("List(%q) mismatch (-want +got):\n%s", tt.path, diff)
		}
		reqs := f.srv.RequestsTo("party/list")
		checkRequest(t, reqs[len(reqs)-1], url.Values{"partypath": {tt.path}})
	}
}

func TestPartyService_Users(t *testing.T) {
	t.Parallel()
	f := setup(t)
	got, err := f.c.Party.Users(t.Context(), "研发中心/后端组")
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.only(t, "partyuser/list"), url.Values{"partypath": {"研发中心/后端组"}})
	checkDiff(t, "Users mismatch", []string{bob}, got)
}

// Count is ignored; List is the truth (the PDF mislabels Count).
func TestPartyService_ListReplies(t *testing.T) {
	t.Parallel()
	c := replay(t, "party/list", `{"Count":"9","List":[{"Value":"部门a"},{"Value":"部门b","Extra":1}]}`)
	got, err := c.Party.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	checkDiff(t, "List mismatch", []string{"部门a", "部门b"}, got)
}
