package api

import (
	"context"
	"net/url"
	"strings"
)

// GroupStatus says who may send to a mail group (protocol.md §3.14). The
// PDF lists only the values; the meanings are inferred.
type GroupStatus string

// Group send permissions.
const (
	GroupAll     GroupStatus = "all"   // anyone
	GroupInner   GroupStatus = "inner" // members of the enterprise
	GroupMembers GroupStatus = "group" // members of the group
	GroupList    GroupStatus = "list"  // the group's allow list (see Allow)
)

func (g GroupStatus) valid() bool {
	switch g {
	case GroupAll, GroupInner, GroupMembers, GroupList:
		return true
	}
	return false
}

// NewGroup is a group/add request.
type NewGroup struct {
	Address string      // group_admin: the group's address, not yet in use
	Name    string      // group_name: display name
	Status  GroupStatus // who may send; required
	Members []string    // member addresses, sent as repeated members keys
}

// Add creates a mail group. It is a write.
//
// OpenAPI: protocol.md §3.14 openapi/group/add
func (s *GroupService) Add(ctx context.Context, g NewGroup) error {
	const op = "group/add"
	switch {
	case strings.TrimSpace(g.Address) == "":
		return invalidf(op, "the group address is empty")
	case strings.TrimSpace(g.Name) == "":
		return invalidf(op, "the group name is empty")
	case !g.Status.valid():
		return invalidf(op, "unknown send permission %q (want all, inner, group or list)", string(g.Status))
	}
	f := url.Values{
		"group_name":  {g.Name},
		"group_admin": {g.Address},
		"status":      {string(g.Status)},
	}
	if len(g.Members) > 0 {
		f["members"] = g.Members
	}
	return s.c.call(ctx, write, op, f, nil)
}

// Delete deletes the mail group at address group. It is a write.
//
// OpenAPI: protocol.md §3.15 openapi/group/delete
func (s *GroupService) Delete(ctx context.Context, group string) error {
	const op = "group/delete"
	if err := needGroup(op, group); err != nil {
		return err
	}
	return s.c.call(ctx, write, op, url.Values{"group_alias": {group}}, nil)
}

// AddMembers adds members to the mail group. It is a write.
//
// OpenAPI: protocol.md §3.16 openapi/group/addmember
func (s *GroupService) AddMembers(ctx context.Context, group string, members ...string) error {
	return s.members(ctx, "group/addmember", group, members)
}

// RemoveMembers removes members from the mail group. It is a write.
//
// OpenAPI: protocol.md §3.17 openapi/group/deletemember
func (s *GroupService) RemoveMembers(ctx context.Context, group string, members ...string) error {
	return s.members(ctx, "group/deletemember", group, members)
}

func (s *GroupService) members(ctx context.Context, op, group string, members []string) error {
	if err := needGroup(op, group); err != nil {
		return err
	}
	if err := needAddresses(op, "member", members); err != nil {
		return err
	}
	return s.c.call(ctx, write, op, url.Values{"group_alias": {group}, "members": members}, nil)
}

// Allow adds senders to the group's allow list (v1.4). It only works for
// a group whose Status is GroupList. It is a write.
//
// OpenAPI: protocol.md §3.18 openapi/group/addallowlist
func (s *GroupService) Allow(ctx context.Context, group string, senders ...string) error {
	return s.allow(ctx, "group/addallowlist", group, senders)
}

// Disallow removes senders from the group's allow list (v1.4). The last
// entry cannot be removed. It is a write.
//
// OpenAPI: protocol.md §3.18 openapi/group/delallowlist
func (s *GroupService) Disallow(ctx context.Context, group string, senders ...string) error {
	return s.allow(ctx, "group/delallowlist", group, senders)
}

// allow sends allow_list comma-separated, as the protocol documents for
// these two v1.4 calls (unlike the repeated keys elsewhere).
func (s *GroupService) allow(ctx context.Context, op, group string, senders []string) error {
	if err := needGroup(op, group); err != nil {
		return err
	}
	if err := needAddresses(op, "sender", senders); err != nil {
		return err
	}
	for _, a := range senders {
		if strings.Contains(a, ",") {
			return invalidf(op, "address %q contains a comma", a)
		}
	}
	f := url.Values{"group_alias": {group}, "allow_list": {strings.Join(senders, ",")}}
	return s.c.call(ctx, write, op, f, nil)
}

func needGroup(op, group string) error {
	if strings.TrimSpace(group) == "" {
		return invalidf(op, "the group address is empty")
	}
	return nil
}

func needAddresses(op, what string, addrs []string) error {
	if len(addrs) == 0 {
		return invalidf(op, "no %s address given", what)
	}
	for _, a := range addrs {
		if strings.TrimSpace(a) == "" {
			return invalidf(op, "an empty %s address", what)
		}
	}
	return nil
}
