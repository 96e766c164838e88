package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestErrorIs(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrInvalidToken, ErrUnavailable, ErrIPNotAllowed, ErrNotFound, ErrAuth, ErrInvalidArgument}
	tests := []struct {
		name string
		err  *Error
		want []error // the sentinels it must match; it must match no other
	}{
		{"1200", &Error{Op: "mail/newcount", HTTPStatus: 200, Code: 1200}, []error{ErrInvalidToken}},
		{"invalid_token name only", &Error{Op: "x", HTTPStatus: 200, Name: "invalid_token"}, []error{ErrInvalidToken}},
		{"1002", &Error{Op: "x", HTTPStatus: 200, Code: 1002, Name: "temporarily_unavailable"}, []error{ErrUnavailable}},
		{"HTTP 502", &Error{Op: "x", HTTPStatus: 502}, []error{ErrUnavailable}},
		{"HTTP 404", &Error{Op: "x", HTTPStatus: 404}, nil},
		{"10001", &Error{Op: "x", HTTPStatus: 200, Code: 10001}, []error{ErrIPNotAllowed}},
		{"ip_freq_block", &Error{Op: "x", HTTPStatus: 200, Name: "ip_freq_block"}, []error{ErrIPNotAllowed}},
		{"1301", &Error{Op: "user/get", HTTPStatus: 200, Code: 1301, Name: "user_not_found"}, []error{ErrNotFound}},
		{"1310", &Error{Op: "party/list", HTTPStatus: 200, Code: 1310, Name: "party_not_found"}, []error{ErrNotFound}},
		{"1400", &Error{Op: "mail/newcount", HTTPStatus: 200, Code: 1400}, []error{ErrNotFound}},
		{"1304", &Error{Op: "user/sync", HTTPStatus: 200, Code: 1304}, nil},
		{"1001", &Error{Op: "x", HTTPStatus: 200, Code: 1001, Name: "invalid_request"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wrapped := fmt.Errorf("context: %w", tt.err)
			for _, s := range sentinels {
				want := false
				for _, w := range tt.want {
					want = want || w == s
				}
				if got := errors.Is(wrapped, s); got != want {
					t.Errorf("errors.Is(%v, %q) = %v, want %v", tt.err, s, got, want)
				}
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Op: "user/get", HTTPStatus: 200, Code: 1301, Name: "user_not_found"}, "exmail user/get: 1301 user_not_found"},
		{&Error{Op: "mail/newcount", HTTPStatus: 503, Message: "busy"}, "exmail mail/newcount: HTTP 503 Service Unavailable: busy"},
		{&Error{Op: "mail/newcount", HTTPStatus: 200, Message: "empty reply"}, "exmail mail/newcount: HTTP 200 OK: empty reply"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// The IP allow-list failure is the one a user hits first; the message must
// say where to fix it.
func TestErrorIPNotAllowedSaysHowToFix(t *testing.T) {
	t.Parallel()
	msg := (&Error{Op: "mail/newcount", HTTPStatus: http.StatusOK, Code: CodeIPNotAllowed}).Error()
	for _, want := range []string{"10001", "allow list", "开放协议"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not mention %q", msg, want)
		}
	}
}

func TestIsAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("%w (x)", ErrAuth), true},
		{&Error{Op: "x", HTTPStatus: 200, Code: 1200}, true},
		{&Error{Op: "x", HTTPStatus: 200, Code: 10001}, false},
		{&Error{Op: "x", HTTPStatus: 500}, false},
		{errors.New("other"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsAuth(tt.err); got != tt.want {
			t.Errorf("IsAuth(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestInvalidArgument(t *testing.T) {
	t.Parallel()
	err := invalidf("user/sync", "%d slave addresses", 6)
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("errors.Is(%v, ErrInvalidArgument) = false", err)
	}
	if want := "exmail user/sync: 6 slave addresses"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
