package api

import (
	"context"
	"net/url"
	"strconv"
	"strings"
)

// Department paths are "/"-separated with the root omitted: a member of
// 腾讯/广州研发中心/企业邮箱 is in "广州研发中心/企业邮箱", and "" is the root
// (protocol.md §3.7, §3.11). At most 5 levels of at most 64 characters.

// Add creates the department path. Missing parent levels are created too,
// and adding an existing department succeeds. It is a write.
//
// OpenAPI: protocol.md §3.11 openapi/party/sync (action=2)
func (s *PartyService) Add(ctx context.Context, path string) error {
	return s.sync(ctx, ActionAdd, "", path)
}

// Move renames or moves the department src to dst; its members move with
// it. It is a write.
//
// OpenAPI: protocol.md §3.11 openapi/party/sync (action=3)
func (s *PartyService) Move(ctx context.Context, src, dst string) error {
	return s.sync(ctx, ActionModify, src, dst)
}

// Delete removes the last level of the department path. It fails if the
// department still has members. It is a write.
//
// OpenAPI: protocol.md §3.11 openapi/party/sync (action=1)
func (s *PartyService) Delete(ctx context.Context, path string) error {
	return s.sync(ctx, ActionDelete, "", path)
}

func (s *PartyService) sync(ctx context.Context, a Action, src, dst string) error {
	const op = "party/sync"
	if strings.Trim(dst, "/ ") == "" {
		return invalidf(op, "the department path is empty")
	}
	f := url.Values{"action": {strconv.Itoa(int(a))}, "dstpath": {dst}}
	if a == ActionModify {
		if strings.Trim(src, "/ ") == "" {
			return invalidf(op, "the source department path is empty")
		}
		f.Set("srcpath", src)
	}
	return s.c.call(ctx, write, op, f, nil)
}

// valueList is the {"Count":n,"List":[{"Value":"…"}]} reply of
// party/list and partyuser/list. Count is ignored: List is the truth.
type valueList struct {
	List []struct{ Value string }
}

func (v valueList) values() []string {
	out := make([]string, 0, len(v.List))
	for _, e := range v.List {
		out = append(out, e.Value)
	}
	return out
}

// List returns the names (not full paths) of the direct children of the
// department path; "" is the root. An unknown path is an error that
// matches ErrNotFound (errcode 1310).
//
// OpenAPI: protocol.md §3.12 openapi/party/list
func (s *PartyService) List(ctx context.Context, path string) ([]string, error) {
	var out valueList
	if err := s.c.call(ctx, read, "party/list", url.Values{"partypath": {path}}, &out); err != nil {
		return nil, err
	}
	return out.values(), nil
}

// Users returns the addresses of the members of the department path; ""
// is the root. An unknown path is an error that matches ErrNotFound
// (errcode 1310).
//
// OpenAPI: protocol.md §3.13 openapi/partyuser/list
func (s *PartyService) Users(ctx context.Context, path string) ([]string, error) {
	var out valueList
	if err := s.c.call(ctx, read, "partyuser/list", url.Values{"partypath": {path}}, &out); err != nil {
		return nil, err
	}
	return out.values(), nil
}
