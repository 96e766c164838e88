package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Int is an integer that the server may send as a JSON number (15) or as a
// string of digits ("15"). protocol.md §2.3 and §3.6: errcode and NewCount
// arrive as strings in live replies and as numbers in the PDF.
//
// An empty string and null decode as 0.
type Int int64

// UnmarshalJSON accepts a number, a numeric string, "" and null.
func (n *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("exmail: integer: %w", err)
		}
		b = []byte(strings.TrimSpace(s))
		if len(b) == 0 {
			*n = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// Tolerate "15.0" or 1e3 but not fractions.
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f != float64(int64(f)) {
			return fmt.Errorf("exmail: %.40q is not an integer", string(b))
		}
		v = int64(f)
	}
	*n = Int(v)
	return nil
}

// Version is the enterprise address book's version cursor (protocol.md
// §2.4): a millisecond timestamp sent as a string in listen pushes and as a
// number in user/list replies. It is kept as an opaque decimal string; the
// zero value means "I know nothing" and is sent as "0".
type Version string

// String returns the version as sent on the wire ("0" when empty).
func (v Version) String() string {
	if v == "" {
		return "0"
	}
	return string(v)
}

// UnmarshalJSON accepts a number, a numeric string, "" and null.
func (v *Version) UnmarshalJSON(b []byte) error {
	var n Int
	if err := n.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("exmail: version: %w", err)
	}
	if n == 0 {
		*v = ""
		return nil
	}
	*v = Version(strconv.FormatInt(int64(n), 10))
	return nil
}

// MarshalJSON writes the version as a JSON string.
func (v Version) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// Secret holds a credential (the interface key, an access token, an auth
// key or an SSO URL). It prints as "[redacted]" through fmt, %#v and slog,
// so it cannot reach a log line by accident. Call Reveal to use it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself. Use it only where the value goes on the
// wire or to the OS (browser, keyring).
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return redacted }

// Format makes every verb, including %s %q %v %x and %#v, print the
// redaction marker.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON keeps secrets out of JSON dumps as well.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }
