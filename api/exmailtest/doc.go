// Package exmailtest is an in-process fake of the Tencent Enterprise Mail
// "BizMail OpenApi" v1.4, as described in docs/protocol.md: the token
// endpoint, every openapi/ endpoint, the listen long connection and the
// SSO login page, over one in-memory enterprise (accounts, departments,
// mail groups, mailboxes).
//
// It is an independent implementation of the wire protocol (it does not
// import the client package), so the client's tests can catch the
// client's own mistakes against it, and the notifier's demo mode runs on
// it with no account.
//
//	s := exmailtest.New(exmailtest.Options{})      // or NewPipe inside a synctest bubble
//	defer s.Close()
//	s.SeedDemo()
//	id := s.Deliver("lina@example.com", exmailtest.SampleMail(r, "lina@example.com"))
//
// # Endpoints
//
//   - POST or GET /cgi-bin/token (TokenURL): grant_type=client_credentials
//     and client_id/client_secret in the form or in an
//     "Authorization: Basic" header (raw, or form-encoded as RFC 6749
//     §2.3.1 and x/oauth2 do). The secret's hex letters may be in either
//     case. Success: {"access_token":…,
//     "token_type":"Bearer","expires_in":<TokenLifetime in s>,
//     "refresh_token":""}. The token is 86 random URL-safe characters.
//     Failures use the OAuth 2 shape, since the protocol documents none:
//     wrong credentials → HTTP 401 {"error":"invalid_client"}; grant_type
//     missing → HTTP 400 {"error":"invalid_request"}; another grant_type
//     → HTTP 400 {"error":"unsupported_grant_type"}.
//   - GET or POST /openapi/<path> (APIBase): the token as
//     "Authorization: Bearer <token>" or as an access_token parameter in
//     the query or the body (§2.1). Basic credentials are not accepted on
//     API calls. A missing, unknown or expired token gets HTTP 200
//     {"errcode":"1200","error":"invalid_token"}.
//   - GET /cgi-bin/login (LoginURL): the SSO page (see "SSO").
//   - Anything else: HTTP 404. Methods other than GET/POST: HTTP 405.
//
// Parameters come from the query string and from the body, which is
// parsed as a form whatever its Content-Type says (§1). Names are
// matched case-insensitively (alias/Alias, ver/Ver …, §2.2); repeated
// keys make lists. Replies are compact JSON (no HTML escaping, so a
// Sender keeps its literal "<addr>"), Content-Type text/plain; the
// protocol does not document the header and clients must not rely on it.
// Errors are HTTP 200 with {"errcode":"<digits>","error":"<name>"} and
// errcode a string (§2.3). Write endpoints answer HTTP 200 with an empty
// body on success.
//
// # Endpoint behaviour and error codes
//
// Codes documented by protocol.md: 1001 invalid_request, 1200
// invalid_token, 1301 user_not_found, 1303, 1304, 1310 party_not_found,
// 1400, 10001. The "error" names of 1303 (invalid_password), 1304
// (alias_exists) and 1400 (user_not_found) are this package's choice.
// Codes the protocol does not document, chosen here: 1302 invalid_alias,
// 1311 party_not_empty, 1312 party_exists, 1313 invalid_party_path, 1320
// group_not_found, 1321 group_status_not_list, 1322 allow_list_last_entry.
// A missing required parameter or an out-of-range value is always 1001.
//
//   - mail/authkey alias → {"auth_key":"<112 upper-hex>"}; single use,
//     valid for AuthKeyLifetime; unknown account 1301.
//   - mail/newcount alias → {"Alias":"a@x","NewCount":"2"} (NewCount a
//     string, as in the live reply of §3.6); unknown account 1400.
//   - user/get alias → Alias, Name, Gender (number), SlaveList (comma
//     string), Position, Tel, Mobile, ExtId, PartyList {"Count","List":
//     [{"Value":path}]}, OpenType (number), and "Status":1 (seen in a
//     live fixture, meaning unknown). Unknown account 1301. Lookups take
//     primary addresses only; a slave address is 1301 (§8 question 10).
//   - user/sync action=1 DEL / 2 ADD / 3 MOD with alias, name, gender
//     (0–2), position, tel, mobile, extid, password, md5 (0/1), repeated
//     partypath (departments must exist: 1310), repeated slave (at most 5,
//     else 1001; in the domain, else 1302; free, else 1304), opentype
//     (0 keep / 1 enable / 2 disable). ADD needs name (1001) and a
//     password of 6–32 characters, or 32 hex digits with md5=1 (1303); an
//     address already used by an account, an alias or a group is 1304; an
//     address outside Options.Domain is 1302. MOD changes only the fields
//     present (present and empty clears). DEL and MOD of an unknown
//     account: 1301. Every success bumps the address-book version.
//   - user/list ver → {"Ver":<number>,"Count":n,"List":[{"Alias","Action"}]}.
//     ver 0 (or older than the server's history) lists every account with
//     Action 2. Otherwise one entry per account changed after ver, with
//     its latest action (an ADD followed by MODs stays 2), in the order
//     of the latest change.
//   - user/check repeated email (at most 20, else 1001) →
//     {"Count","List":[{"Email","Type"}]}, Type -1 invalid or outside the
//     domain, 0 free, 1 account, 2 alias, 3 group.
//   - party/sync action, srcpath, dstpath: ADD creates missing parents
//     and accepts an existing path; DEL removes one leaf department
//     (1311 if it has sub-departments or members, 1310 if unknown); MOD
//     renames or moves a department with its sub-departments and members
//     (1310 unknown source, 1312 existing destination, 1313 into itself);
//     paths have at most 5 levels of at most 64 characters (1313). Only a
//     MOD that moves members bumps the version (Action 3 for each).
//   - party/list partypath ("" = root) → {"Count","List":[{"Value":name}]}
//     of the direct children; partyuser/list → the direct members'
//     addresses; unknown path 1310.
//   - group/add group_name, group_admin (the group's own, free address),
//     status all|inner|group|list, repeated members (accounts or groups,
//     else 1301). group/delete, group/addmember, group/deletemember take
//     group_alias (unknown 1320) and members. group/addallowlist and
//     group/delallowlist take allow_list, comma-separated; they need
//     status=list (1321), and removing the last entry is 1322.
//   - user/openwxtoken, user/closewxtoken alias: set User.WXToken.
//
// # The listen connection
//
// /openapi/listen takes Ver ("" or absent = 0; not a number = 1001) and
// an access token. An alias parameter (sent by two old clients) is
// accepted and ignored: the stream is enterprise-wide and carries the
// events of every mailbox. Objects pushed:
//
//	{"Ret":0}                                         greeting
//	{"Ver":"1364460338051"}                           address book changed (Ver a string)
//	{"UserName":…,"MailId":…,"Sender":…,"Receiver":…,"Subject":…,"Summary":…,"NewCount":3}   Deliver
//	{"UserName":…,"NewCount":2}                       unread count changed
//
// If the client's Ver is older than the server's, the Ver push follows
// the greeting at once. Versions are millisecond timestamps on the
// server's clock, strictly increasing.
//
// How replies are framed is open in the protocol (§8 questions 1–4), so
// it is a knob: see Mode and Framing. By default a listen reply is a
// chunked Stream that stays open, objects back to back, one per flushed
// write. Events published while no listen request is open are lost
// unless Options.BufferEvents (or SetBuffering) is on. Every open
// request gets every event. In LongPoll mode, the objects a poll could
// not return (it returns one) are kept for the next poll; this is meant
// for a single polling client.
//
// # SSO
//
// GET /cgi-bin/login?fun=bizopenssologin&method=bizauth&agent=<ClientID>
// &user=<alias>&ticket=<auth_key>[&mailid=<MailId>] with an unused,
// unexpired ticket issued for that user answers 200 text/html: a small
// webmail page titled "企业邮箱 - <alias>" listing the mailbox (newest
// first; mail unread before opening in bold) and, with mailid, that mail
// opened and highlighted. Opening marks every mail read, or with mailid
// only that one; the new count is pushed on listen when it changed. A
// ticket is consumed by the first request that presents it. A bad,
// used, expired or foreign ticket (or wrong fun/method/agent) answers 403
// with a page saying the link has expired. Tickets are never logged and
// are redacted in Requests.
//
// # Test knobs
//
// FailNext, FailNextHTTP, ClearFaults, Latency, Stall, DropListeners,
// SendRaw, PushVer, PushUnread, SetFraming, SetBuffering, ExpireTokens,
// IssueToken, Listeners, WaitListeners, Requests, RequestsTo and
// ResetRequests are safe to call at any time from any goroutine, as is
// the Go API of the enterprise (AddUser, Deliver, MarkRead …). Dial opens
// a raw connection for tests that write HTTP by hand and inspect the
// exact bytes (chunk boundaries, close-delimited bodies).
//
// Every token is valid until it expires (several may coexist) unless
// Options.SingleToken is set. Tokens, tickets and the client secret never
// reach a log line; Requests records them as Redacted. All timing uses the time
// package (time.Now, timers), so inside a testing/synctest bubble the
// clock is virtual; use NewPipe there, since a bubble cannot wait on
// real sockets.
package exmailtest
