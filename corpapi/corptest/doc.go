// Package corptest is an in-process fake of Tencent's current exmail API
// (api.exmail.qq.com, protocol.md §5) over real loopback HTTP: gettoken
// with one secret per application, the address-book reads, the unread
// count, single sign-on with a small webmail page, and the 新邮件提醒
// application's encrypted callbacks, over one in-memory enterprise.
//
//	s := corptest.New(corptest.Options{Demo: true, CallbackURL: relay + "/callback/exmail"})
//	defer s.Close()
//	c, _ := corpapi.New(corpapi.Config{CorpID: s.CorpID(), BaseURL: s.BaseURL(),
//		NewMailSecret: api.Secret(s.Secret(corptest.AppNewMail)), …})
//	id, err := s.Deliver(ctx, "bob@example.com", corptest.Mail{From: "lina@example.com", Subject: "Hi"})
//
// The fake does not import the client package, so the client's tests can
// catch the client's mistakes. It encrypts callbacks with package
// callback's Crypto, which is tested against Tencent's published sample
// vectors.
//
// # Endpoints
//
// Under BaseURL (URL()+"/cgi-bin/"). Every reply is HTTP 200 JSON with
// errcode (an integer, 0 = OK) and errmsg, errors included; the access
// token is read from the query string only (protocol.md §5).
//
//   - GET gettoken?corpid=&corpsecret= → {"access_token":<64 chars>,
//     "expires_in":<TokenLifetime in s>}. Missing corpid 41002, missing
//     secret 41004, wrong corpid 40013, wrong secret 40001 "invalid
//     credential" (the doc's example). The secret decides the application
//     the token is good for.
//   - Token checks on every other endpoint: missing 41001; unknown 40014
//     (Options.InvalidTokenCode or InvalidateTokens can make it 40001);
//     expired 42001; a token of another application 60011.
//   - GET user/get?userid= → userid, name, department [ids], position,
//     mobile, tel, extid, gender ("1"/"2", a string as in the doc), enable
//     (1/0), slaves [], cpwd_login 0. Unknown 60111.
//   - GET department/list[?id=] → {"department":[{id,name,parentid,order}]}.
//     Without id: every department, root (1, parent 0) included. With id:
//     that department and all its descendants (WeChat Work's rule), or
//     only its direct children with Options.ListChildrenOnly (the doc's
//     "1 = root's children"). Unknown 60123.
//   - GET user/simplelist?department_id=&fetch_child=0|1 →
//     {"userlist":[{userid,name,department}]}; unknown department 60123.
//   - GET service/get_login_url?userid= → {"login_url":
//     URL()+"/cgi-bin/login?fun=bizopenssologin&method=openapi&userid=…&authkey=…",
//     "expires_in":300}. Unknown 60111.
//   - mail/newcount: GET ?userid=[&begin_date=&end_date=] or POST with a
//     JSON body {"userid","type","begin_date","end_date"} (the official
//     page shows both) → {"count":n} (a string with
//     Options.CountAsString). Dates are YYYY-MM-DD in China time,
//     inclusive, and restrict the count to mails that arrived on those
//     days; with Options.NewCountRequiresDates a request without them is
//     40058. Unknown 60111.
//   - GET /cgi-bin/login (the SSO page): with an unused, unexpired authkey
//     for that userid, a small webmail page listing the mailbox; opening
//     it marks every mail read and sends the UnRead callback (count 0).
//     Anything else: 403 "link expired". A key is consumed by the first
//     request presenting it, valid or not.
//   - A missing or malformed parameter is 40058 "invalid parameter".
//     Anything else: HTTP 404; other methods 405.
//
// # Callbacks
//
// With a callback URL (Options.CallbackURL or SetCallbackURL), Deliver,
// MarkRead, PushUnread and the SSO page POST the 新邮件提醒 messages to
// it: ?msg_signature=&timestamp=&nonce= and the WeChat-Work-style
// envelope, encrypted with Options.CallbackToken and CallbackAESKey for
// the CorpID. Messages are Mail (CorpID, MsgType, MailID, ToUserID,
// FromUser, Title, Time, NewCount) and UnRead (CorpID, MsgType, UserID,
// Time, UnReadCount), as XML by default; Format switches to JSON message,
// JSON envelope, or UnRead labelled "Mail" (the mirrored doc page's
// sample). Deliver waits for the answer and returns a *CallbackError
// unless it was HTTP 200. VerifyCallbackURL sends the GET verification.
//
// NextCallback queues faults for the next callbacks: FaultBadSignature,
// FaultStaleTimestamp (10 minutes old), FaultRepeatNonce (the previous
// callback's timestamp and nonce on a new message), FaultWrongCorpID,
// FaultGarbage (signed random ciphertext).
//
// # Where protocol.md is silent, and what the fake chose
//
//   - Error codes other than 40001 and 40014: WeChat Work's global codes
//     (-1, 40013, 40058, 41001, 41002, 41004, 42001, 45009, 60011, 60111,
//     60123). Rate limits are not enforced; inject them with FailNext
//     (CodeRateLimited).
//   - Whether tokens of the same secret coexist: they do (every unexpired
//     token works); InvalidateTokens revokes them all.
//   - user/simplelist's reply shape; department/list's scope (a knob).
//   - The callback message format (XML or JSON; a knob), the envelope's
//     AgentID (always "1000001"), the nonce (decimal digits) and whether
//     Tencent retries an unacknowledged callback (the fake does not).
//   - FromUser is the sender's bare address as given to Deliver.
//   - The one-time password authorisation a member must give before SSO
//     works is not modelled.
//
// # Test knobs
//
// FailNext, FailNextHTTP, ClearFaults, ExpireTokens, InvalidateTokens,
// IssueToken, Tokens, NextCallback, SetCallbackURL, SetCallbackFormat,
// Requests and RequestsTo are safe to call at any time from any goroutine,
// as is the Go API of the enterprise (AddUser, AddDepartment, Deliver,
// MarkRead, Unread, PushUnread, SeedDemo). Tokens, secrets and authkeys
// never reach a log line; Requests records them as Redacted.
package corptest
