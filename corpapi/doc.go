// Package corpapi is a client for Tencent's current Enterprise Mail API
// (腾讯企业邮箱, api.exmail.qq.com), the corpid-based successor of the
// legacy BizMail OpenApi that package api speaks (protocol.md §5). It
// covers what the notifier and the relay use: the token, the address book
// reads, the unread count and single sign-on. Its sub-package callback
// receives the new-mail push; corptest is an in-process fake of both.
//
//	c, err := corpapi.New(corpapi.Config{
//		CorpID:        "wm1234567890",
//		SSOSecret:     ssoSecret,     // 单点登录
//		NewMailSecret: newMailSecret, // 新邮件提醒
//	})
//	n, err := c.Mail.NewCount(ctx, "bob@example.com")          // unread count
//	u, err := c.Mail.LoginURL(ctx, "bob@example.com", "")      // one-time SSO URL (a Secret)
//	p, err := c.Users.Get(ctx, "bob@example.com")              // needs ContactsSecret
//	ds, err := c.Departments.List(ctx, 0)
//	ms, err := c.Users.SimpleList(ctx, 1, true)
//
// c.Mail satisfies the tray's Counter and Linker interfaces, with the same
// signatures as the legacy client's.
//
// # Authentication
//
// The enterprise has one corpid and a separate secret per system
// application: 通讯录管理 (address book), 单点登录 (SSO), 新邮件提醒
// (new-mail reminder), and others this package does not use. Each secret
// yields its own access token with that application's permissions, so the
// client keeps one token cache per configured secret. A token comes from
// GET gettoken?corpid=&corpsecret=, is cached until TokenMargin before its
// expires_in (7200 s), and travels in the access_token query parameter of
// every call. When a call answers 40001, 40014, 41001 or 42001, the client
// drops the token, fetches a new one and retries once.
//
// Because tokens and secrets travel in URLs, no URL with a query ever
// reaches an error or a log line: errors name the endpoint, the HTTP
// status and the errcode, the server's errmsg is cleaned of anything the
// request carried, and transport errors keep only scheme, host and path.
//
// # Errors
//
// A failed call returns an *Error (errors.As) with the endpoint, the HTTP
// status, the errcode and errmsg. The sentinels are the legacy client's
// where the condition is the same, so a caller branches once for both
// backends: ErrAuth == api.ErrAuth (gettoken refused the corpid or secret;
// 60011, a secret of the wrong application), ErrInvalidToken ==
// api.ErrInvalidToken (a fresh token was refused too), ErrNotFound ==
// api.ErrNotFound (60111, 60003, 60123), ErrUnavailable ==
// api.ErrUnavailable (-1, HTTP 5xx, rate limits), ErrInvalidArgument ==
// api.ErrInvalidArgument. api.IsAuth works on this package's errors. Two
// are new: ErrRateLimited (45009, 45011, 45033; also ErrUnavailable) and
// ErrNoSecret (the call's application has no secret in the Config).
//
// Every call is a read and is retried after a transient failure (network
// error, HTTP 5xx, errcode -1) up to Config.ReadRetries times with
// jittered backoff. Rate limits are not retried: the caller backs off.
//
// # What is guessed
//
// protocol.md §5 documents the endpoints, the token and the errcodes
// 40001 and 40014. The other errcodes are WeChat Work's global codes
// (the API shares its style); user/simplelist's reply ({"userlist":
// [{"userid","name","department"}]}) follows WeChat Work and one exmail
// client; the role of mail/newcount's begin_date/end_date is unknown
// (§8 question 13), so NewCount sends none unless the server insists.
package corpapi
