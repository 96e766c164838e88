package api

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"strings"
)

// Action is what a sync call does, or what happened to an account in a
// user/list change (protocol.md §3.8, §3.9, §3.11): 1 delete, 2 add,
// 3 modify.
type Action int

// The actions of user/sync and party/sync, and of user/list entries.
const (
	ActionDelete Action = 1 // DEL: delete (irreversible for a member)
	ActionAdd    Action = 2 // ADD: create
	ActionModify Action = 3 // MOD: change (rename/move for a department)
)

// String returns "delete", "add" or "modify" (or "action(N)").
func (a Action) String() string {
	switch a {
	case ActionDelete:
		return "delete"
	case ActionAdd:
		return "add"
	case ActionModify:
		return "modify"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText writes the action's name, for JSON output.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a Action) valid() bool { return a >= ActionDelete && a <= ActionModify }

// Gender of a member (protocol.md §3.7): 0 unset, 1 male, 2 female.
type Gender int

// Genders.
const (
	GenderUnset  Gender = 0
	GenderMale   Gender = 1
	GenderFemale Gender = 2
)

// String returns "", "male", "female" (or "gender(N)").
func (g Gender) String() string {
	switch g {
	case GenderUnset:
		return ""
	case GenderMale:
		return "male"
	case GenderFemale:
		return "female"
	}
	return "gender(" + strconv.Itoa(int(g)) + ")"
}

// MarshalText writes the gender's name, for JSON output.
func (g Gender) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// OpenType is whether a member account is enabled (protocol.md §3.7,
// §3.8). In user/sync, OpenTypeUnchanged (0) leaves the status as it is.
type OpenType int

// Account states.
const (
	OpenTypeUnchanged OpenType = 0 // user/sync only: keep the current state
	OpenTypeEnabled   OpenType = 1
	OpenTypeDisabled  OpenType = 2
)

// String returns "", "enabled", "disabled" (or "opentype(N)").
func (o OpenType) String() string {
	switch o {
	case OpenTypeUnchanged:
		return ""
	case OpenTypeEnabled:
		return "enabled"
	case OpenTypeDisabled:
		return "disabled"
	}
	return "opentype(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText writes the state's name, for JSON output.
func (o OpenType) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// User is a member profile as returned by user/get.
type User struct {
	Alias    string   `json:"alias"`
	Name     string   `json:"name"`
	Gender   Gender   `json:"gender"`
	Position string   `json:"position"`
	Tel      string   `json:"tel"`
	Mobile   string   `json:"mobile"`
	ExtID    string   `json:"extid"`             // employee number
	Slaves   []string `json:"slaves"`            // alias addresses (SlaveList)
	Parties  []string `json:"parties"`           // department paths, "/"-separated, root omitted
	OpenType OpenType `json:"opentype,omitzero"` // enabled or disabled; 0 if the reply did not say
	Status   int      `json:"status,omitempty"`  // undocumented; seen as 1 in a live fixture
}

// userWire is the user/get reply (protocol.md §3.7). Numbers may come as
// strings.
type userWire struct {
	Alias     string
	Name      string
	Gender    Int
	SlaveList string
	Position  string
	Tel       string
	Mobile    string
	ExtID     string `json:"ExtId"`
	PartyList struct {
		List []struct{ Value string }
	}
	OpenType Int
	Status   Int
}

// Get returns the profile of the member alias. An unknown address is an
// error that matches ErrNotFound (errcode 1301).
//
// OpenAPI: protocol.md §3.7 openapi/user/get
func (s *UserService) Get(ctx context.Context, alias string) (*User, error) {
	const op = "user/get"
	if err := needAlias(op, alias); err != nil {
		return nil, err
	}
	var w userWire
	if err := s.c.call(ctx, read, op, url.Values{"alias": {alias}}, &w); err != nil {
		return nil, err
	}
	u := &User{
		Alias:    w.Alias,
		Name:     w.Name,
		Gender:   Gender(w.Gender),
		Position: w.Position,
		Tel:      w.Tel,
		Mobile:   w.Mobile,
		ExtID:    w.ExtID,
		Slaves:   splitList(w.SlaveList),
		Parties:  []string{},
		OpenType: OpenType(w.OpenType),
		Status:   int(w.Status),
	}
	for _, p := range w.PartyList.List {
		u.Parties = append(u.Parties, p.Value)
	}
	return u, nil
}

// splitList splits a comma-separated list, dropping blanks; never nil.
func splitList(s string) []string {
	out := []string{}
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// MaxSlaves is the most alias addresses a member may have (protocol.md §3.8).
const MaxSlaves = 5

// UserSync is a user/sync request: create, modify or delete a member.
//
// Only what is set is sent: an empty string, GenderUnset, a nil slice and
// OpenTypeUnchanged leave the server's value alone on ActionModify. (The
// protocol has no way to clear a field.) For ActionDelete only Alias
// matters.
type UserSync struct {
	Action Action // required
	Alias  string // required: the member's address

	Name     string
	Gender   Gender
	Position string
	Tel      string
	Mobile   string
	ExtID    string // employee number

	// Password, 6–32 characters (errcode 1303 otherwise). With PasswordMD5
	// it is instead the hex MD5 of the password (md5=1).
	Password    Secret
	PasswordMD5 bool

	// Parties are the member's departments, "/"-separated paths with the
	// root omitted ("" is the root). They must exist. Sent as repeated
	// partypath keys.
	Parties []string
	// Slaves are alias addresses, at most MaxSlaves. Sent as repeated
	// slave keys.
	Slaves []string

	OpenType OpenType // enable or disable; OpenTypeUnchanged sends nothing
}

// form encodes the request with the lower-case names of the PDF's
// examples (protocol.md §2.2).
func (r UserSync) form(op string) (url.Values, error) {
	switch {
	case !r.Action.valid():
		return nil, invalidf(op, "unknown action %d (want 1 delete, 2 add or 3 modify)", int(r.Action))
	case strings.TrimSpace(r.Alias) == "":
		return nil, invalidf(op, "the mailbox address is empty")
	case len(r.Slaves) > MaxSlaves:
		return nil, invalidf(op, "%d slave addresses; at most %d are allowed", len(r.Slaves), MaxSlaves)
	case r.Gender < GenderUnset || r.Gender > GenderFemale:
		return nil, invalidf(op, "unknown gender %d", int(r.Gender))
	case r.OpenType < OpenTypeUnchanged || r.OpenType > OpenTypeDisabled:
		return nil, invalidf(op, "unknown open type %d", int(r.OpenType))
	}
	f := url.Values{
		"action": {strconv.Itoa(int(r.Action))},
		"alias":  {r.Alias},
	}
	if r.Action == ActionDelete {
		return f, nil
	}
	set := func(k, v string) {
		if v != "" {
			f.Set(k, v)
		}
	}
	set("name", r.Name)
	if r.Gender != GenderUnset {
		f.Set("gender", strconv.Itoa(int(r.Gender)))
	}
	set("position", r.Position)
	set("tel", r.Tel)
	set("mobile", r.Mobile)
	set("extid", r.ExtID)
	if r.Password != "" {
		f.Set("password", r.Password.Reveal())
		f.Set("md5", "0")
		if r.PasswordMD5 {
			f.Set("md5", "1")
		}
	}
	for _, p := range r.Parties {
		f.Add("partypath", p)
	}
	for _, s := range r.Slaves {
		f.Add("slave", s)
	}
	if r.OpenType != OpenTypeUnchanged {
		f.Set("opentype", strconv.Itoa(int(r.OpenType)))
	}
	return f, nil
}

// Sync creates (ActionAdd), modifies (ActionModify) or deletes
// (ActionDelete) a member. It is a write: it is not retried after a
// failure, except once after a token refresh. Deleting is irreversible.
// Errors: CodeAddressExists (1304) on adding an existing address,
// CodeBadPassword (1303) for a bad password.
//
// OpenAPI: protocol.md §3.8 openapi/user/sync
func (s *UserService) Sync(ctx context.Context, req UserSync) error {
	const op = "user/sync"
	f, err := req.form(op)
	if err != nil {
		return err
	}
	return s.c.call(ctx, write, op, f, nil)
}

// UserChange is one entry of a user/list reply: Alias was added, modified
// or deleted.
type UserChange struct {
	Alias  string `json:"alias"`
	Action Action `json:"action"`
}

// UserChanges is the address book's changes since a version.
type UserChanges struct {
	// Ver is the address book's version now: pass it to the next List
	// call (and to Listen).
	Ver     Version      `json:"ver"`
	Changes []UserChange `json:"changes"`
}

// List returns the members added, modified or deleted after version since.
// The zero Version asks for every member (all reported as ActionAdd).
//
// OpenAPI: protocol.md §3.9 openapi/user/list
func (s *UserService) List(ctx context.Context, since Version) (*UserChanges, error) {
	const op = "user/list"
	var w struct {
		Ver  Version
		List []struct {
			Alias  string
			Action Int
		}
	}
	if err := s.c.call(ctx, read, op, url.Values{"ver": {since.String()}}, &w); err != nil {
		return nil, err
	}
	out := &UserChanges{Ver: w.Ver, Changes: make([]UserChange, 0, len(w.List))}
	for _, e := range w.List {
		out.Changes = append(out.Changes, UserChange{Alias: e.Alias, Action: Action(e.Action)})
	}
	return out, nil
}

// AddressType is what an address is, according to user/check (protocol.md
// §3.10).
type AddressType int

// Address types.
const (
	AddressInvalid   AddressType = -1 // not a valid address name
	AddressAvailable AddressType = 0  // not in use
	AddressPrimary   AddressType = 1  // a member's primary account
	AddressAlias     AddressType = 2  // a member's alias (slave) address
	AddressGroup     AddressType = 3  // a mail group
)

// String returns "invalid", "available", "member", "alias", "group" (or
// "type(N)").
func (t AddressType) String() string {
	switch t {
	case AddressInvalid:
		return "invalid"
	case AddressAvailable:
		return "available"
	case AddressPrimary:
		return "member"
	case AddressAlias:
		return "alias"
	case AddressGroup:
		return "group"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText writes the type's name, for JSON output.
func (t AddressType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// AddressCheck is the result of user/check for one address.
type AddressCheck struct {
	Email string      `json:"email"`
	Type  AddressType `json:"type"`
}

// MaxCheck is how many addresses one user/check request may carry
// (protocol.md §3.10).
const MaxCheck = 20

// Check reports, for each address, whether it is free, a member, an alias
// or a group. The server takes at most MaxCheck addresses per request;
// Check sends longer lists in several requests (it is a read, so a partial
// failure simply fails the whole call) and returns the results in the
// server's order, batch after batch.
//
// OpenAPI: protocol.md §3.10 openapi/user/check
func (s *UserService) Check(ctx context.Context, emails ...string) ([]AddressCheck, error) {
	const op = "user/check"
	if len(emails) == 0 {
		return nil, invalidf(op, "no address to check")
	}
	out := make([]AddressCheck, 0, len(emails))
	for batch := range chunks(emails, MaxCheck) {
		var w struct {
			List []struct {
				Email string
				Type  Int
			}
		}
		if err := s.c.call(ctx, read, op, url.Values{"email": batch}, &w); err != nil {
			return nil, err
		}
		for _, e := range w.List {
			out = append(out, AddressCheck{Email: strings.TrimSpace(e.Email), Type: AddressType(e.Type)})
		}
	}
	return out, nil
}

// chunks yields s in pieces of at most n.
func chunks(s []string, n int) iter.Seq[[]string] {
	return func(yield func([]string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// OpenWxToken forces the member alias to log in with a WeChat one-time
// password (v1.4). It is a write.
//
// OpenAPI: protocol.md §3.19 openapi/user/openwxtoken
func (s *UserService) OpenWxToken(ctx context.Context, alias string) error {
	return s.wxtoken(ctx, "user/openwxtoken", alias)
}

// CloseWxToken lifts the WeChat one-time password requirement of the
// member alias (v1.4). It is a write.
//
// OpenAPI: protocol.md §3.19 openapi/user/closewxtoken
func (s *UserService) CloseWxToken(ctx context.Context, alias string) error {
	return s.wxtoken(ctx, "user/closewxtoken", alias)
}

func (s *UserService) wxtoken(ctx context.Context, op, alias string) error {
	if err := needAlias(op, alias); err != nil {
		return err
	}
	return s.c.call(ctx, write, op, url.Values{"alias": {alias}}, nil)
}
