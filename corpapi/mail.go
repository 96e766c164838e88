package corpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// NewCount returns the unread count of the mailbox userid. It sends the
// plain variant that most production clients use, GET
// mail/newcount?userid= (protocol.md §5). If the server refuses that as an
// invalid parameter (40058), as the self-inconsistent official page
// suggests it might, NewCount retries with a date range (see
// NewCountBetween, the last year up to today) and keeps sending dates
// from then on. The count is accepted as a number or a string.
//
// API: protocol.md §5 mail/newcount (application 新邮件提醒)
func (s *MailService) NewCount(ctx context.Context, userid string) (int, error) {
	if s.c.newCountDates.Load() {
		return s.newCount(ctx, userid, newCountRange())
	}
	n, err := s.newCount(ctx, userid, nil)
	if err != nil && errorCode(err) == CodeInvalidParameter {
		s.c.log.Debug("exmail corpapi: mail/newcount wants begin_date/end_date; sending them from now on")
		s.c.newCountDates.Store(true)
		return s.newCount(ctx, userid, newCountRange())
	}
	return n, err
}

// NewCountBetween returns the unread count of mails that arrived between
// the days of begin and end (inclusive, sent as YYYY-MM-DD in China
// Standard Time): GET mail/newcount?userid=&begin_date=&end_date=, the
// variant leo108 and Icecho use (protocol.md §5).
func (s *MailService) NewCountBetween(ctx context.Context, userid string, begin, end time.Time) (int, error) {
	return s.newCount(ctx, userid, &[2]time.Time{begin, end})
}

// newCountDays is how far back NewCount's fallback range reaches. The
// role of the dates is not documented (protocol.md §8 question 13).
const newCountDays = 366

func newCountRange() *[2]time.Time {
	now := time.Now()
	return &[2]time.Time{now.AddDate(0, 0, -newCountDays), now}
}

// chinaTime is UTC+8, the zone Tencent's dates are in.
var chinaTime = time.FixedZone("CST", 8*3600)

func (s *MailService) newCount(ctx context.Context, userid string, dates *[2]time.Time) (int, error) {
	const op = "mail/newcount"
	if err := needUser(op, userid); err != nil {
		return 0, err
	}
	q := url.Values{"userid": {userid}}
	if dates != nil {
		if dates[1].Before(dates[0]) {
			return 0, invalidf(op, "end date before begin date")
		}
		q.Set("begin_date", dates[0].In(chinaTime).Format(time.DateOnly))
		q.Set("end_date", dates[1].In(chinaTime).Format(time.DateOnly))
	}
	var out struct {
		Count *api.Int `json:"count"`
	}
	if err := s.c.call(ctx, AppNewMail, op, q, &out); err != nil {
		return 0, err
	}
	if out.Count == nil || *out.Count < 0 {
		return 0, &Error{Op: op, HTTPStatus: http.StatusOK, Message: "the reply carried no count"}
	}
	return int(*out.Count), nil
}

// LoginURL returns a fresh single sign-on URL that opens the mailbox
// userid in a browser without a password. The URL is one-time and valid
// for 300 seconds, so it is never cached: every call asks the server.
// It is a Secret: open it at once, never log it. get_login_url has no
// parameter for a single mail, so mailID is ignored and the inbox opens
// (the signature matches the tray's Linker).
//
// The member must have authorised SSO once with their password; changing
// the password or resetting the secret revokes that (protocol.md §5).
//
// API: protocol.md §5 service/get_login_url (application 单点登录)
func (s *MailService) LoginURL(ctx context.Context, userid, mailID string) (api.Secret, error) {
	const op = "service/get_login_url"
	if err := needUser(op, userid); err != nil {
		return "", err
	}
	var out struct {
		LoginURL  string   `json:"login_url"`
		ExpiresIn *api.Int `json:"expires_in"`
	}
	if err := s.c.call(ctx, AppSSO, op, url.Values{"userid": {userid}}, &out); err != nil {
		return "", err
	}
	u, err := url.Parse(out.LoginURL)
	if out.LoginURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", &Error{Op: op, HTTPStatus: http.StatusOK, Message: "the reply carried no usable login_url"}
	}
	return api.Secret(out.LoginURL), nil
}

// errorCode returns the errcode of err's *Error, or 0.
func errorCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
