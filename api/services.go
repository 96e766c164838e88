package api

// MailService covers openapi/mail/*: the SSO auth key and the unread count
// (protocol.md §3.2, §3.3, §3.6).
type MailService service

// UserService covers openapi/user/*: profiles, sync, changes, address
// checks and the WeChat one-time password (protocol.md §3.7–3.10, §3.19).
type UserService service

// PartyService covers openapi/party/* and openapi/partyuser/list: the
// department tree (protocol.md §3.11–3.13).
type PartyService service

// GroupService covers openapi/group/*: mail groups and their allow lists
// (protocol.md §3.14–3.18).
type GroupService service
