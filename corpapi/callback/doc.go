// Package callback receives the encrypted push messages of Tencent's
// current exmail API (api.exmail.qq.com): the 新邮件提醒 (new-mail
// reminder) application in callback mode POSTs every new mail and every
// unread-count change of the enterprise to a public URL (protocol.md §5).
//
// The scheme is WeChat Work's (企业微信 "加解密方案说明"): a SHA-1
// msg_signature over the sorted Token, timestamp, nonce and ciphertext,
// and AES-256-CBC with the key from the EncodingAESKey, IV = key[:16],
// PKCS#7 padding to 32 bytes, and a plaintext of 16 random bytes, a 4-byte
// big-endian length, the message and the CorpID. protocol.md calls the
// scheme "likely" for exmail (same appendix titles and query parameters
// as WeChat Work); Crypto implements it and is tested against Tencent's
// published WXBizMsgCrypt sample vectors.
//
// A relay mounts a Handler at Path and plugs its store into
// Options.Deliver:
//
//	h, err := callback.NewHandler(callback.Options{
//		Token: token, EncodingAESKey: aesKey, CorpID: corpID,
//		Deliver: func(ctx context.Context, m callback.Message) error {
//			return store.Append(ctx, m.Event()) // api.NewMail or api.UnreadChanged
//		},
//		Logger: log,
//	})
//	mux.Handle(callback.Path, h)
//
// Message.Event maps both message types onto the legacy API's events
// (api.NewMail, api.UnreadChanged), so consumers cannot tell which
// upstream produced them. The callback carries no summary: NewMail.Summary
// is empty.
//
// # What is refused
//
// Each check fails closed with a 4xx, delivers nothing and logs one Warn
// line with the reason: a bad or missing msg_signature (403), a timestamp
// outside ±Options.MaxSkew (403), a (timestamp, nonce) pair already
// accepted (403, replay), a message for another CorpID (403), ciphertext
// that does not decrypt (400), a malformed envelope or message (400), a
// body over Options.MaxBody (413). Only after a successful delivery is the
// answer the plain body "success".
//
// # Where protocol.md is silent
//
//   - The envelope and message formats: XML as in the official page's
//     samples, or JSON; both are accepted, by their first byte.
//   - The UnRead sample on the mirrored page says MsgType "Mail"; a "Mail"
//     message with an UnReadCount and no MailID is read as UnRead.
//   - Whether Tencent resends after a failed delivery, and with the same
//     nonce: a failed delivery answers 503 and forgets the nonce, so a
//     resend of the same request is accepted once.
//   - FromUser's format (an address, or "Name <address>") is passed on as
//     is in NewMail.Sender.
package callback
