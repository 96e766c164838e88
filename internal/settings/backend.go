package settings

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/app"
)

// Backend is what the page reads and changes. The tray implements it; every
// change applies at once (no restart). Each method gets a context that ends
// when the browser goes away or after the server's call timeout.
//
// Errors are shown to the user as err.Error() through safetext.Line, so they
// must name the problem and its fix and never contain a secret. The page adds
// a translated headline for the errors it recognises with errors.Is:
// client.ErrEnrollRefused (the code was used or expired; the typed code is
// then discarded), client.ErrRateLimited, client.ErrInsecureURL, api.ErrAuth,
// api.ErrIPNotAllowed, api.ErrNotFound, creds.ErrLocked, app.ErrKeyringLocked,
// creds.ErrUnavailable, app.ErrKeyringUnavailable, ErrUnreachable and any
// net.Error (the server could not be reached).
type Backend interface {
	// State is the account and the preferences as they are now.
	State(ctx context.Context) (State, error)
	// PreviewEnrollment parses and checks an enrollment link or code
	// (relayFlag is the relay address typed beside a bare code, "" for a
	// link) without any network call, and returns the relay URL the code
	// would be sent to.
	PreviewEnrollment(ctx context.Context, input api.Secret, relayFlag string) (relayURL string, err error)
	// Enroll trades the link or code for a device token, stores it and
	// switches the tray to the relay account. It returns the mailbox the
	// relay serves this computer. deviceName is what IT sees.
	Enroll(ctx context.Context, input api.Secret, relayFlag, deviceName string) (alias string, err error)
	// Login checks and stores a direct v1.4 account (admin account, the
	// mailbox to watch, the interface key) and switches the tray to it.
	// Nothing is stored unless the server accepted the key and knows alias.
	Login(ctx context.Context, agent, alias string, key api.Secret) error
	// LoginCorp does the same for Tencent's current API: the corpid, the
	// mailbox and the secrets of the 单点登录 (sso) and 新邮件提醒 (mail)
	// applications.
	LoginCorp(ctx context.Context, corpID, alias string, sso, mail api.Secret) error
	// SetPrefs stores and applies the preferences.
	SetPrefs(ctx context.Context, p Prefs) error
	// SetAutostart turns start at login on or off.
	SetAutostart(ctx context.Context, on bool) error
	// SignOut removes the account (its secret from the keyring, the account
	// from the config file) and keeps the preferences; the tray goes back
	// to its set-up state.
	SignOut(ctx context.Context) error
	// Doctor runs doctor's checks.
	Doctor(ctx context.Context) (Report, error)
}

// Mode is how this computer reaches the mail.
type Mode int

const (
	ModeNone   Mode = iota // no account yet: the page shows first run
	ModeRelay              // the company relay, with a device token
	ModeDirect             // the v1.4 interface key on this computer
	ModeCorp               // Tencent's current API (corpid and secrets)
)

func (m Mode) String() string {
	switch m {
	case ModeNone:
		return "none"
	case ModeRelay:
		return "relay"
	case ModeDirect:
		return "direct"
	case ModeCorp:
		return "corp"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// State is what the page shows. Text fields are untrusted: the page passes
// them through safetext and escapes them.
type State struct {
	Mode    Mode
	Mailbox string // the mailbox shown, "" when Mode is ModeNone
	Relay   string // the relay's URL (ModeRelay)
	Agent   string // the admin account (ModeDirect)
	CorpID  string // the corpid (ModeCorp)

	Prefs Prefs

	// AutostartAvailable is false where start at login cannot be set;
	// the page then hides it. Autostart is whether it is on.
	AutostartAvailable bool
	Autostart          bool

	// Lang is the language in effect (Prefs.Lang resolved against the
	// system). "" means the Options' Lang.
	Lang app.Lang
}

// Prefs are the user's preferences.
type Prefs struct {
	// ShowContent: notifications show sender, subject and summary.
	ShowContent bool
	// Quiet is the pause schedule.
	Quiet QuietHours
	// Sound: notifications play the system's sound.
	Sound bool
	// Lang is "" (follow the system), "zh" or "en".
	Lang string
}

// QuietHours silences notifications on weekdays (Monday to Friday) from
// From to To, local time. When To is not after From the span crosses
// midnight (20:00–08:00 is the night). Unread counts keep updating.
type QuietHours struct {
	On       bool
	From, To TimeOfDay
}

// TimeOfDay is minutes after midnight, 0 to 1439.
type TimeOfDay int

// String is "HH:MM".
func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", int(t)/60, int(t)%60) }

// ParseTimeOfDay reads "HH:MM" (what an <input type=time> sends) or "H:MM".
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	hs, ms, ok := strings.Cut(s, ":")
	h, herr := digits(hs, 1, 2)
	m, merr := digits(ms, 2, 2)
	if !ok || herr != nil || merr != nil || h > 23 || m > 59 {
		return 0, fmt.Errorf("settings: %q is not a time of day (HH:MM)", s)
	}
	return TimeOfDay(h*60 + m), nil
}

// digits reads a number of min to max ASCII digits (no sign, no space).
func digits(s string, min, max int) (int, error) {
	if len(s) < min || len(s) > max || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("not %d to %d digits", min, max)
	}
	return strconv.Atoi(s)
}

// Report is doctor's findings.
type Report struct {
	Checks []Check
	// Text is the plain-text support report: the checks and the version,
	// with no secret (no key, token, code or sign-in link). The page shows
	// it for copying.
	Text string
}

// Check is one finding.
type Check struct {
	Status CheckStatus
	Name   string // what was checked, e.g. "OS keyring"
	Detail string // what was found, and the fix when it failed
}

// CheckStatus is the outcome of a Check.
type CheckStatus int

const (
	CheckOK CheckStatus = iota
	CheckWarn
	CheckFail
	CheckInfo
)
