package api_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

const team = "team@example.com"

// withGroup adds the mail group team (status list, bob a member and on
// the allow list) to the fake.
func withGroup(t *testing.T, f *fixture) {
	t.Helper()
	if err := f.srv.AddGroup(exmailtest.Group{
		Alias: team, Name: "Team", Status: "list", Members: []string{bob}, AllowList: []string{bob},
	}); err != nil {
		t.Fatal(err)
	}
	f.srv.ResetRequests()
}

func TestGroupService(t *testing.T) {
	t.Parallel()
	// teamWith is the group team afterwards, with these members and allow list.
	teamWith := func(members, allow []string) *exmailtest.Group {
		return &exmailtest.Group{Alias: team, Name: "Team", Status: "list", Members: members, AllowList: allow}
	}
	tests := []struct {
		name     string
		path     string
		onTeam   bool // the call is made on the group team (withGroup)
		call     func(f *fixture) error
		wantForm url.Values
		// want is the group afterwards; nil: it must not exist.
		want *exmailtest.Group
	}{
		{
			name: "add",
			path: "group/add",
			call: func(f *fixture) error {
				return f.c.Groups.Add(t.Context(), api.NewGroup{
					Address: "new@example.com", Name: "新组", Status: api.GroupInner, Members: []string{bob, alice},
				})
			},
			wantForm: url.Values{
				"group_name": {"新组"}, "group_admin": {"new@example.com"}, "status": {"inner"},
				"members": {bob, alice},
			},
			want: &exmailtest.Group{Alias: "new@example.com", Name: "新组", Status: "inner", Members: []string{bob, alice}},
		},
		{
			name: "delete", path: "group/delete", onTeam: true,
			call:     func(f *fixture) error { return f.c.Groups.Delete(t.Context(), team) },
			wantForm: url.Values{"group_alias": {team}},
		},
		{
			name: "add members", path: "group/addmember", onTeam: true,
			call:     func(f *fixture) error { return f.c.Groups.AddMembers(t.Context(), team, alice) },
			wantForm: url.Values{"group_alias": {team}, "members": {alice}},
			want:     teamWith([]string{bob, alice}, []string{bob}),
		},
		{
			name: "remove members", path: "group/deletemember", onTeam: true,
			call:     func(f *fixture) error { return f.c.Groups.RemoveMembers(t.Context(), team, bob) },
			wantForm: url.Values{"group_alias": {team}, "members": {bob}},
			want:     teamWith([]string{}, []string{bob}),
		},
		{
			name: "allow is comma-separated", path: "group/addallowlist", onTeam: true,
			call:     func(f *fixture) error { return f.c.Groups.Allow(t.Context(), team, alice, "boss@partner.example") },
			wantForm: url.Values{"group_alias": {team}, "allow_list": {alice + ",boss@partner.example"}},
			want:     teamWith([]string{bob}, []string{bob, alice, "boss@partner.example"}),
		},
		{
			name: "disallow", path: "group/delallowlist", onTeam: true,
			call: func(f *fixture) error {
				if err := f.c.Groups.Allow(t.Context(), team, alice); err != nil {
					return err
				}
				f.srv.ResetRequests()
				return f.c.Groups.Disallow(t.Context(), team, bob)
			},
			wantForm: url.Values{"group_alias": {team}, "allow_list": {bob}},
			want:     teamWith([]string{bob}, []string{alice}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setupAfter(t, func(f *fixture) error {
				if tt.onTeam {
					withGroup(t, f)
				}
				return tt.call(f)
			})
			checkRequest(t, f.only(t, tt.path), tt.wantForm)
			alias := team
			if tt.want != nil {
				alias = tt.want.Alias
			}
			got, ok := f.srv.Group(alias)
			switch {
			case tt.want == nil && ok:
				t.Errorf("group %s still exists: %+v", alias, got)
			case tt.want != nil && !ok:
				t.Errorf("group %s does not exist", alias)
			case tt.want != nil:
				checkDiff(t, "group afterwards", *tt.want, got, cmpEmptyNil)
			}
		})
	}
}

func TestGroupServiceErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	if err := f.c.Groups.Delete(ctx, "nogroup@example.com"); err == nil {
		t.Error("deleting an unknown group succeeded")
	}
	f.srv.ResetRequests()
	for name, err := range map[string]error{
		"add without address": f.c.Groups.Add(ctx, api.NewGroup{Name: "x", Status: api.GroupAll}),
		"add without name":    f.c.Groups.Add(ctx, api.NewGroup{Address: "x@example.com", Status: api.GroupAll}),
		"add bad status":      f.c.Groups.Add(ctx, api.NewGroup{Address: "x@example.com", Name: "x", Status: "everyone"}),
		"delete no group":     f.c.Groups.Delete(ctx, ""),
		"add no members":      f.c.Groups.AddMembers(ctx, team),
		"remove empty member": f.c.Groups.RemoveMembers(ctx, team, ""),
		"allow with a comma":  f.c.Groups.Allow(ctx, team, "a@example.com,b@example.com"),
		"disallow nobody":     f.c.Groups.Disallow(ctx, team),
	} {
		if !errors.Is(err, api.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d invalid requests were sent", n)
	}
}
