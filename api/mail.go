package api

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// AuthKey returns a fresh one-shot single sign-on key for the mailbox
// alias. It is the ticket of the login URL (see LoginURL); it is short-lived
// and should be used at once.
//
// The reply field is auth_key in every working client; the PDF's authkey
// and AuthKey spellings are accepted too.
//
// OpenAPI: protocol.md §3.2 openapi/mail/authkey
func (s *MailService) AuthKey(ctx context.Context, alias string) (Secret, error) {
	const op = "mail/authkey"
	if err := needAlias(op, alias); err != nil {
		return "", err
	}
	var out struct {
		Underscore string `json:"auth_key"`
		// encoding/json matches names case-insensitively: this field
		// catches both "authkey" and "AuthKey".
		Plain string `json:"authkey"`
	}
	if err := s.c.call(ctx, read, op, url.Values{"alias": {alias}}, &out); err != nil {
		return "", err
	}
	key := out.Underscore
	if key == "" {
		key = out.Plain
	}
	if key == "" {
		return "", &Error{Op: op, HTTPStatus: 200, Message: "the reply carried no auth_key"}
	}
	return Secret(key), nil
}

// LoginURL fetches a fresh auth key for alias and returns the single
// sign-on URL that opens the mailbox in a browser without a password. A
// non-empty mailID (NewMail.MailID) asks the webmail to open that message.
// The URL carries the key, so it is a Secret: open it at once, do not log
// it.
//
// OpenAPI: protocol.md §3.2 openapi/mail/authkey and §3.3 cgi-bin/login
func (s *MailService) LoginURL(ctx context.Context, alias, mailID string) (Secret, error) {
	key, err := s.AuthKey(ctx, alias)
	if err != nil {
		return "", err
	}
	return BuildLoginURL(s.c.loginURL.String(), s.c.clientID, alias, key, mailID)
}

// BuildLoginURL builds the single sign-on URL of protocol.md §3.3 from its
// parts, without any network call:
//
//	<loginURL>?fun=bizopenssologin&method=bizauth&agent=<agent>&user=<alias>&ticket=<key>[&mailid=<mailID>]
//
// loginURL is usually DefaultLoginURL, agent the admin account (the
// token's client_id), key an auth key from MailService.AuthKey. mailid is
// added only when mailID is not empty; whether the server honours it is
// unverified (protocol.md §8 question 8).
//
// OpenAPI: protocol.md §3.3 cgi-bin/login
func BuildLoginURL(loginURL, agent, alias string, key Secret, mailID string) (Secret, error) {
	const op = "login URL"
	u, err := url.Parse(loginURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", invalidf(op, "%q is not an http(s) URL", redactURLString(loginURL))
	}
	if u.RawQuery != "" || u.User != nil {
		return "", invalidf(op, "%q must not carry credentials or a query", redactURLString(loginURL))
	}
	switch {
	case agent == "":
		return "", invalidf(op, "the admin account (agent) is empty")
	case alias == "":
		return "", invalidf(op, "the mailbox (user) is empty")
	case key == "":
		return "", invalidf(op, "the auth key (ticket) is empty")
	}
	// Built by hand: url.Values.Encode sorts the keys, and the documented
	// order is easier to compare with the protocol notes.
	var q strings.Builder
	q.WriteString("fun=bizopenssologin&method=bizauth")
	q.WriteString("&agent=" + url.QueryEscape(agent))
	q.WriteString("&user=" + url.QueryEscape(alias))
	q.WriteString("&ticket=" + url.QueryEscape(key.Reveal()))
	if mailID != "" {
		q.WriteString("&mailid=" + url.QueryEscape(mailID))
	}
	u.RawQuery = q.String()
	u.Fragment, u.RawFragment = "", ""
	return Secret(u.String()), nil
}

// NewCount returns the number of new (unread) mails in the mailbox alias.
// The server sends the count as a string or a number; both are accepted.
// An unknown mailbox is an error that matches ErrNotFound (errcode 1400).
//
// OpenAPI: protocol.md §3.6 openapi/mail/newcount
func (s *MailService) NewCount(ctx context.Context, alias string) (int, error) {
	const op = "mail/newcount"
	if err := needAlias(op, alias); err != nil {
		return 0, err
	}
	var out struct {
		Alias    string
		NewCount *Int
	}
	if err := s.c.call(ctx, read, op, url.Values{"alias": {alias}}, &out); err != nil {
		return 0, err
	}
	if out.NewCount == nil {
		return 0, &Error{Op: op, HTTPStatus: 200, Message: "the reply carried no NewCount"}
	}
	return int(*out.NewCount), nil
}

// ErrInvalidArgument reports a request the client refuses to send because
// an argument is missing or out of the documented range (an empty
// address, more than 5 slave addresses, an unknown action, ...). Such
// errors come from this package, not from the server.
var ErrInvalidArgument = errors.New("exmail: invalid argument")

// invalidf returns an error for op that matches ErrInvalidArgument.
func invalidf(op, format string, args ...any) error {
	return &argError{op: op, msg: fmt.Sprintf(format, args...)}
}

// argError reads "exmail <op>: <what is wrong>" and matches
// ErrInvalidArgument.
type argError struct{ op, msg string }

func (e *argError) Error() string        { return "exmail " + e.op + ": " + e.msg }
func (e *argError) Is(target error) bool { return target == ErrInvalidArgument }

func needAlias(op, alias string) error {
	if strings.TrimSpace(alias) == "" {
		return invalidf(op, "the mailbox address is empty")
	}
	return nil
}
