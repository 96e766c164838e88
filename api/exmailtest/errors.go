package exmailtest

import "strconv"

// Error codes the fake answers with. The first group is documented by
// protocol.md §2.3; the second is this package's choice for failures the
// protocol does not document (see the package documentation).
const (
	CodeInvalidRequest  = 1001 // invalid_request: a parameter is missing or malformed
	CodeUnavailable     = 1002 // temporarily_unavailable (only through FailNext)
	CodeInvalidToken    = 1200 // invalid_token: missing, unknown or expired token
	CodeUserNotFound    = 1301 // user_not_found
	CodeBadPassword     = 1303 // invalid_password: not 6–32 characters (or not an MD5 hex with md5=1)
	CodeAddressExists   = 1304 // alias_exists: the address is a member, an alias or a group already
	CodePartyNotFound   = 1310 // party_not_found
	CodeAccountNotFound = 1400 // mail/newcount: no such account
	CodeIPNotAllowed    = 10001

	CodeInvalidAlias     = 1302 // invalid_alias: not an address of the enterprise's domain
	CodePartyNotEmpty    = 1311 // party_not_empty: party/sync DEL of a party with members or children
	CodePartyExists      = 1312 // party_exists: party/sync MOD onto an existing path
	CodeInvalidPartyPath = 1313 // invalid_party_path: empty level, > 5 levels, > 64 characters, moved into itself
	CodeGroupNotFound    = 1320 // group_not_found
	CodeGroupNotList     = 1321 // group_status_not_list: allow lists need status=list
	CodeAllowListLast    = 1322 // allow_list_last_entry: the last allow-list entry cannot be removed
)

// Error is a failure the server reports as HTTP 200 with
// {"errcode":"<Code>","error":"<Name>"}. The Go API (AddUser, AddGroup…)
// returns the same values.
type Error struct {
	Code int
	Name string
}

func (e *Error) Error() string {
	return "exmailtest: errcode " + strconv.Itoa(e.Code) + " " + e.Name
}

var (
	errInvalidRequest  = &Error{CodeInvalidRequest, "invalid_request"}
	errInvalidToken    = &Error{CodeInvalidToken, "invalid_token"}
	errUserNotFound    = &Error{CodeUserNotFound, "user_not_found"}
	errBadPassword     = &Error{CodeBadPassword, "invalid_password"}
	errAddressExists   = &Error{CodeAddressExists, "alias_exists"}
	errPartyNotFound   = &Error{CodePartyNotFound, "party_not_found"}
	errAccountNotFound = &Error{CodeAccountNotFound, "user_not_found"}
	errInvalidAlias    = &Error{CodeInvalidAlias, "invalid_alias"}
	errPartyNotEmpty   = &Error{CodePartyNotEmpty, "party_not_empty"}
	errPartyExists     = &Error{CodePartyExists, "party_exists"}
	errInvalidParty    = &Error{CodeInvalidPartyPath, "invalid_party_path"}
	errGroupNotFound   = &Error{CodeGroupNotFound, "group_not_found"}
	errGroupNotList    = &Error{CodeGroupNotList, "group_status_not_list"}
	errAllowListLast   = &Error{CodeAllowListLast, "allow_list_last_entry"}
)

func itoa(n int) string { return strconv.Itoa(n) }
