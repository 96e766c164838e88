package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error codes from protocol.md §2.3. The PDF has no table; these come from
// client code written against the live service.
const (
	CodeInvalidRequest  = 1001 // invalid_request
	CodeUnavailable     = 1002 // temporarily_unavailable
	CodeInvalidToken    = 1200 // invalid_token
	CodeUserNotFound    = 1301 // user_not_found
	CodeBadPassword     = 1303 // password must be 6–32 characters
	CodeAddressExists   = 1304 // mailbox address already exists
	CodePartyNotFound   = 1310 // party_not_found
	CodeAccountNotFound = 1400 // mail/newcount: the account does not exist
	CodeIPNotAllowed    = 10001
)

// Sentinels that callers branch on with errors.Is. *Error maps its code and
// HTTP status onto them.
var (
	// ErrInvalidToken: errcode 1200. The client refreshes its token and
	// retries once by itself; callers see it only if that failed too.
	ErrInvalidToken = errors.New("exmail: invalid token")
	// ErrUnavailable: errcode 1002 or an HTTP 5xx. Worth retrying later.
	ErrUnavailable = errors.New("exmail: temporarily unavailable")
	// ErrIPNotAllowed: errcode 10001 (or error "ip_freq_block"). The
	// caller's public IP is not on the enterprise's allow list.
	ErrIPNotAllowed = errors.New("exmail: this computer's public IP address is not on the allow list; " +
		"add it in the exmail admin console under 工具箱 → 开放协议 → 可使用此开放接口的IP")
	// ErrNotFound: errcode 1301 (user), 1310 (department) or 1400 (account).
	ErrNotFound = errors.New("exmail: not found")
	// ErrAuth: the token endpoint rejected the admin account or the
	// interface key.
	ErrAuth = errors.New("exmail: the admin account or interface key was rejected")
)

// Error reports a failed call, either by HTTP status or by an errcode in a
// 200 reply (protocol.md §2.3). Its text never contains a secret.
type Error struct {
	Op         string // endpoint, e.g. "mail/newcount"
	HTTPStatus int    // HTTP status; 200 when the error came as an errcode
	Code       int    // errcode; 0 if absent
	Name       string // the "error" field, e.g. "invalid_token"
	Message    string // extra text, truncated; never a secret
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("exmail ")
	b.WriteString(e.Op)
	b.WriteString(":")
	switch {
	case e.Code != 0 || e.Name != "":
		if e.Code != 0 {
			fmt.Fprintf(&b, " %d", e.Code)
		}
		if e.Name != "" {
			b.WriteString(" " + e.Name)
		}
	default:
		fmt.Fprintf(&b, " HTTP %d %s", e.HTTPStatus, http.StatusText(e.HTTPStatus))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Is(ErrIPNotAllowed) {
		b.WriteString(" (" + ErrIPNotAllowed.Error()[len("exmail: "):] + ")")
	}
	return b.String()
}

// Is maps the error onto the package's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalidToken:
		return e.Code == CodeInvalidToken || e.Name == "invalid_token"
	case ErrUnavailable:
		return e.Code == CodeUnavailable || e.Name == "temporarily_unavailable" || e.HTTPStatus >= 500
	case ErrIPNotAllowed:
		return e.Code == CodeIPNotAllowed || e.Name == "ip_freq_block"
	case ErrNotFound:
		return e.Code == CodeUserNotFound || e.Code == CodePartyNotFound || e.Code == CodeAccountNotFound ||
			e.Name == "user_not_found" || e.Name == "party_not_found"
	}
	return false
}

// IsAuth reports whether err means the credentials themselves are wrong:
// the token endpoint rejected them, or a fresh token was still refused.
// A user must fix the admin account or the interface key.
func IsAuth(err error) bool { return errors.Is(err, ErrAuth) || errors.Is(err, ErrInvalidToken) }
