package corpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// Error codes. protocol.md §5 documents only 40001 (gettoken: invalid
// credential; clients also refresh on it) and 40014 (invalid token). The
// others are WeChat Work's global codes, which the exmail API shares its
// style with; they are a guess until seen on the wire.
const (
	CodeBusy              = -1    // system busy, retry later (WeCom)
	CodeInvalidCredential = 40001 // gettoken: bad corpsecret; on calls: invalid token (protocol.md §5)
	CodeInvalidCorpID     = 40013 // invalid corpid (WeCom)
	CodeInvalidToken      = 40014 // invalid access_token (protocol.md §5)
	CodeInvalidParameter  = 40058 // invalid or missing parameter (WeCom)
	CodeMissingToken      = 41001 // access_token missing (WeCom)
	CodeTokenExpired      = 42001 // access_token expired (WeCom)
	CodeRateLimited       = 45009 // API call frequency over the limit (WeCom)
	CodeTooFrequent       = 45011 // API called too often (WeCom)
	CodeConcurrency       = 45033 // too many concurrent calls (WeCom)
	CodeDepartmentMissing = 60003 // department not found (WeCom)
	CodeNoPrivilege       = 60011 // the token's application may not call this (WeCom)
	CodeUserNotFound      = 60111 // userid not found (WeCom)
	CodeInvalidDepartment = 60123 // invalid department id (WeCom)
)

// Sentinels callers branch on with errors.Is. Where the legacy client
// has the same condition, the sentinel IS api's, so that callers that
// already branch on api.ErrAuth, api.ErrInvalidToken, api.ErrNotFound,
// api.ErrUnavailable or api.ErrInvalidArgument (and api.IsAuth) need no
// second branch for this backend.
var (
	// ErrAuth: gettoken refused the corpid or the application's secret
	// (40001, 40013, or any other gettoken errcode that is not transient),
	// or a token was refused for lack of privilege (60011: the secret
	// belongs to another application).
	ErrAuth = api.ErrAuth
	// ErrInvalidToken: 40001, 40014, 41001 or 42001 on a call. The client
	// fetches a new token and retries once by itself; callers see it only
	// if a fresh token was refused too.
	ErrInvalidToken = api.ErrInvalidToken
	// ErrNotFound: 60003, 60111, 60123 (unknown user or department).
	ErrNotFound = api.ErrNotFound
	// ErrUnavailable: errcode -1 (system busy), an HTTP 5xx, or a rate
	// limit (which also matches ErrRateLimited).
	ErrUnavailable = api.ErrUnavailable
	// ErrInvalidArgument: the client refused to send a request it knows
	// to be wrong, or the server answered 40058 (invalid parameter).
	ErrInvalidArgument = api.ErrInvalidArgument
	// ErrRateLimited: 45009, 45011 or 45033. Not retried by the client:
	// back off. It also matches ErrUnavailable.
	ErrRateLimited = errors.New("exmail corpapi: rate limited; try again later")
	// ErrNoSecret: the call needs an application whose secret the Config
	// does not have (it also matches ErrInvalidArgument).
	ErrNoSecret = errors.New("exmail corpapi: no secret configured for this application")
)

// Error reports a failed call: an HTTP status other than 2xx, or a
// non-zero errcode in the reply. Its text never contains a secret, a
// token, a query string or the server's reply body; Message is the
// server's errmsg, cleaned and cut short.
type Error struct {
	Op         string // endpoint, e.g. "mail/newcount" or "gettoken"
	HTTPStatus int    // HTTP status; 200 when the error came as an errcode
	Code       int    // errcode; 0 if absent
	Message    string // errmsg from the server (untrusted, truncated), or the client's note
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("exmail corpapi ")
	b.WriteString(e.Op)
	b.WriteString(":")
	if e.Code != 0 {
		fmt.Fprintf(&b, " errcode %d", e.Code)
	} else {
		fmt.Fprintf(&b, " HTTP %d %s", e.HTTPStatus, http.StatusText(e.HTTPStatus))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	switch {
	case e.Is(ErrAuth):
		b.WriteString(" (the corpid or the application's secret was rejected)")
	case e.Is(ErrRateLimited):
		b.WriteString(" (rate limited)")
	}
	return b.String()
}

// Is maps the error onto the sentinels.
func (e *Error) Is(target error) bool {
	gettoken := e.Op == opGetToken
	switch target {
	case ErrAuth:
		if gettoken {
			return e.Code != 0 && !e.transientCode() || e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden
		}
		return e.Code == CodeNoPrivilege
	case ErrInvalidToken:
		return !gettoken && (e.Code == CodeInvalidCredential || e.Code == CodeInvalidToken ||
			e.Code == CodeMissingToken || e.Code == CodeTokenExpired)
	case ErrNotFound:
		return e.Code == CodeUserNotFound || e.Code == CodeDepartmentMissing || e.Code == CodeInvalidDepartment
	case ErrUnavailable:
		return e.transientCode() || e.HTTPStatus >= 500
	case ErrRateLimited:
		return e.rateLimited()
	case ErrInvalidArgument:
		return e.Code == CodeInvalidParameter
	}
	return false
}

func (e *Error) rateLimited() bool {
	return e.Code == CodeRateLimited || e.Code == CodeTooFrequent || e.Code == CodeConcurrency
}

func (e *Error) transientCode() bool { return e.Code == CodeBusy || e.rateLimited() }

// argError reads "exmail corpapi <op>: <what is wrong>" and matches
// ErrInvalidArgument (and ErrNoSecret when noSecret).
type argError struct {
	op, msg  string
	noSecret bool
}

func (e *argError) Error() string { return "exmail corpapi " + e.op + ": " + e.msg }
func (e *argError) Is(target error) bool {
	return target == ErrInvalidArgument || (e.noSecret && target == ErrNoSecret)
}

func invalidf(op, format string, args ...any) error {
	return &argError{op: op, msg: fmt.Sprintf(format, args...)}
}
