// Package api is a client for the legacy Tencent Enterprise Mail (腾讯企业邮箱,
// exmail.qq.com) "BizMail OpenApi", protocol v1.4: an OAuth2
// client-credentials token, form-encoded POST requests, JSON replies, and
// the openapi/listen long connection. protocol.md in the project's shared
// docs is the reference every doc comment points to ("OpenAPI: protocol.md
// §3.6 openapi/mail/newcount").
//
// A Client groups the calls by protocol area:
//
//	c, err := api.New(api.Config{ClientID: "admin@example.com", ClientSecret: key})
//	n, err := c.Mail.NewCount(ctx, "bob@example.com")      // unread count
//	u, err := c.Mail.LoginURL(ctx, "bob@example.com", "")  // SSO URL (a Secret)
//	p, err := c.Users.Get(ctx, "bob@example.com")          // member profile
//	err = c.Users.Sync(ctx, api.UserSync{Action: api.ActionModify, ...})
//	kids, err := c.Party.List(ctx, "")                     // top-level departments
//	err = c.Groups.AddMembers(ctx, "all@example.com", "bob@example.com")
//
// Every method takes a context first. Replies are decoded leniently: the
// server sends numbers sometimes as strings (Int, Version), spells a few
// fields differently from its documentation, and answers most writes with
// an empty body, which means success. Requests are strict: form-encoded,
// lower-case parameter names, repeated keys for lists.
//
// # Authentication
//
// The credentials are the enterprise administrator account (Config.ClientID,
// the token's client_id, also the SSO "agent") and the 32-hex-digit
// interface key (接口key, Config.ClientSecret) shown in the admin console
// under 工具箱 → 开放协议. The client fetches an access token from
// cgi-bin/token on first use, caches it until shortly before its
// expires_in runs out, and sends it as "Authorization: Bearer" on every
// call, never in a URL. When the server answers errcode 1200
// (invalid_token) the client drops the token, fetches a new one and
// retries the call exactly once.
//
// # Errors
//
// A failed call returns an [*Error] (by errors.As), carrying the endpoint, the
// HTTP status, the server's errcode and error name. Callers branch with
// errors.Is on the sentinels:
//
//   - ErrAuth: the token endpoint rejected the admin account or the key;
//   - ErrInvalidToken: a freshly fetched token was still refused;
//   - ErrIPNotAllowed: errcode 10001, this computer's public IP is not on
//     the enterprise's allow list (the message says where to add it);
//   - ErrNotFound: errcodes 1301, 1310 and 1400 (unknown member,
//     department or account);
//   - ErrUnavailable: errcode 1002 or an HTTP 5xx;
//   - ErrInvalidArgument: the client refused to send a request it knows
//     to be wrong (an empty address, too many slave addresses, ...).
//
// [IsAuth] groups the two credential failures. Reads are retried after a
// transient failure (network error, HTTP 5xx, errcode 1002) up to
// Config.ReadRetries times with jittered backoff; writes (user/sync,
// party/sync, group/*, user/openwxtoken, user/closewxtoken) are never
// retried, except once after a token refresh, because the first attempt
// may have taken effect.
//
// # Listening for mail
//
// The legacy API pushes new-mail notices, unread counts and address-book
// versions for every mailbox of the domain over one long-lived POST to
// openapi/listen (protocol.md §3.4, §3.5). [Client.Listen] makes one such
// connection; a [Watcher] keeps it alive with backoff and publishes
// [Event] values. [MailService.NewCount] is the pull alternative.
//
// # Security
//
// The API host, openapi.exmail.qq.com:12211, speaks plain HTTP: the access
// token and mail metadata (senders, subjects, summaries) cross the network
// unencrypted. New logs a warning when the base URL is plain HTTP and not
// a loopback address. Only the token endpoint and the SSO entry use HTTPS.
//
// The credential is enterprise-wide: the admin account and interface key
// read and change every mailbox, department and group of the domain, and
// open any mailbox through single sign-on. Keep the key in the OS keychain
// and out of argv, config files and logs.
//
// Every secret this package handles — the interface key, access tokens,
// auth keys and SSO URLs — is a [Secret], which prints as "[redacted]"
// through fmt, slog and encoding/json; [Secret.Reveal] is the one way out.
// Error strings never contain a secret: URLs in errors are reduced to
// scheme, host and path.
package api
