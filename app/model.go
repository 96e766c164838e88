// Package app is the display-free core of the exmail tray notifier.
//
// It owns the notifier's state (connection, unread count, recent mails,
// preferences), decides what the tray shows and which toasts appear, and
// runs every slow operation (unread count, SSO login URL, browser, saving
// preferences, autostart) off its single loop goroutine.
//
// app imports only the standard library and the project's api package. The
// adapters that touch the desktop (the tray, toasts, keyring, browser) live
// in other packages and plug in through the small interfaces declared here:
// Source, Counter, Linker, Opener, Toaster, View, Autostart and PrefsSaver.
// The tray imports app for Model and Action; app never imports the tray.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// IconKind is the look of the tray icon. The unread badge (including any
// "99+" abbreviation) is drawn by the icon renderer from Model.Unread.
type IconKind int

const (
	// IconSetup: there is no account yet; the menu tells the user to run
	// "exmail-notifier login".
	IconSetup IconKind = iota
	// IconConnecting: the first connection has not come online yet.
	IconConnecting
	// IconOnline: the listen connection is up (or was lost less than the
	// offline grace period ago).
	IconOnline
	// IconOffline: not online for longer than the grace period; the
	// connection is being retried.
	IconOffline
	// IconAttention: the user must fix something (credentials, the IP
	// allow list, a locked keyring). Model.Status names the fix.
	IconAttention
)

func (k IconKind) String() string {
	switch k {
	case IconSetup:
		return "setup"
	case IconConnecting:
		return "connecting"
	case IconOnline:
		return "online"
	case IconOffline:
		return "offline"
	case IconAttention:
		return "attention"
	}
	return "unknown"
}

// Errors a Source may wrap into api.StateChanged.Err while it cannot
// connect because the interface key cannot be read yet; the state shows
// the matching Problem until the Source comes online.
var (
	// ErrKeyringLocked: the OS keyring is locked (ProblemKeyringLocked).
	ErrKeyringLocked = errors.New("the keyring is locked")
	// ErrKeyringUnavailable: there is no OS keyring
	// (ProblemKeyringUnavailable).
	ErrKeyringUnavailable = errors.New("no keyring is running")
	// ErrKeyringLockedRestart: as ErrKeyringLocked (which it matches), but
	// the Source cannot notice the unlock: exmail-notifier must be
	// restarted (ProblemKeyringLockedRestart).
	ErrKeyringLockedRestart = fmt.Errorf("%w and cannot be watched", ErrKeyringLocked)
	// ErrKeyringUnavailableRestart: as ErrKeyringUnavailable (which it
	// matches), but the Source cannot notice a keyring starting
	// (ProblemKeyringUnavailableRestart).
	ErrKeyringUnavailableRestart = fmt.Errorf("%w and none can be watched for", ErrKeyringUnavailable)
)

// Problem is a condition that needs the user's attention. It turns the icon
// into IconAttention and its text (Model.Status) names the fix.
type Problem int

const (
	// NoProblem: nothing to fix.
	NoProblem Problem = iota
	// ProblemCredentials: the admin account or interface key was rejected
	// (api.ErrAuth, api.ErrInvalidToken). Fix: run "exmail-notifier login".
	ProblemCredentials
	// ProblemIPNotAllowed: this computer's public IP is not on the
	// enterprise's allow list (api.ErrIPNotAllowed).
	ProblemIPNotAllowed
	// ProblemKeyringLocked: the OS keyring is locked, so the interface key
	// cannot be read. The Source reports it with a StateChanged whose Err
	// matches ErrKeyringLocked (or main sets it through Config.Problem);
	// coming online clears it.
	ProblemKeyringLocked
	// ProblemKeyringUnavailable: there is no OS keyring to read the key
	// from (no Secret Service on Linux). main sets it through
	// Config.Problem, or the Source reports it with ErrKeyringUnavailable.
	ProblemKeyringUnavailable
	// ProblemStopped: the Source gave up (its Run returned an error).
	ProblemStopped
	// ProblemKeyringLockedRestart: as ProblemKeyringLocked, but nothing
	// notices the unlock (the keyring cannot be watched, or main set it
	// through Config.Problem): the fix says to restart exmail-notifier.
	ProblemKeyringLockedRestart
	// ProblemKeyringUnavailableRestart: as ProblemKeyringUnavailable, but
	// nothing notices a keyring starting: the fix says to restart.
	ProblemKeyringUnavailableRestart
	// ProblemRelayAccess: the company relay refused this device's token
	// (revoked or expired; Config.Mode is ModeRelay). Fix: a new
	// enrollment link from IT — never the admin key.
	ProblemRelayAccess
	// ProblemCorpCredentials: Tencent's current API refused the corpid or
	// an application secret (Config.Mode is ModeCorp). Fix: run
	// "exmail-notifier login --corp".
	ProblemCorpCredentials
)

// Mode is how this computer reaches the mail. It decides what a rejected
// credential means, and so which fix the tray names.
type Mode int

const (
	ModeDirect Mode = iota // the v1.4 interface key ("login")
	ModeRelay              // the company relay, with a device token ("enroll")
	ModeCorp               // Tencent's current API, with application secrets ("login --corp")
)

// keyring reports whether p means the interface key cannot be read.
func (p Problem) keyring() bool {
	switch p {
	case ProblemKeyringLocked, ProblemKeyringUnavailable, ProblemKeyringLockedRestart, ProblemKeyringUnavailableRestart:
		return true
	}
	return false
}

func (p Problem) String() string {
	switch p {
	case NoProblem:
		return "none"
	case ProblemCredentials:
		return "credentials"
	case ProblemIPNotAllowed:
		return "ip-not-allowed"
	case ProblemKeyringLocked:
		return "keyring-locked"
	case ProblemKeyringUnavailable:
		return "keyring-unavailable"
	case ProblemStopped:
		return "stopped"
	case ProblemKeyringLockedRestart:
		return "keyring-locked-restart"
	case ProblemKeyringUnavailableRestart:
		return "keyring-unavailable-restart"
	case ProblemRelayAccess:
		return "relay-access"
	case ProblemCorpCredentials:
		return "corp-credentials"
	}
	return "unknown"
}

// MaxRecent is the number of recent mails the menu lists.
const MaxRecent = 5

// RecentItem is one "recent mail" menu entry.
type RecentItem struct {
	// Title is "sender — subject", sanitized and ellipsized to one menu
	// line by display width; the sender's display name is preferred over
	// the address.
	Title string
	// MailID opens this mail: send OpenMail{MailID} when it is clicked.
	MailID string
}

// Model is everything the tray shows, already translated. The tray draws
// it and nothing else; it never formats text itself. Model values are
// immutable snapshots: the tray may keep one and diff against the next.
type Model struct {
	Icon IconKind
	// Unread is the exact unread count of the mailbox, or -1 when unknown.
	Unread int
	// Tooltip names the mailbox and the unread count, or the problem in
	// words, e.g. "bob@example.com — 3 unread".
	Tooltip string
	// Status is one line naming the connection state or the problem with
	// its fix, e.g. "Online" or "IP address not on the allow list: …".
	// The tray may show it as a disabled first menu item.
	Status string
	// Problem is the condition behind IconAttention (NoProblem otherwise).
	Problem Problem
	// Details is the whole explanation of Status and its fix, a paragraph;
	// "" when Status says everything. The tray offers it through the
	// Labels.Details item (which sends Details), never as a menu line.
	Details string

	// Alias is the mailbox shown ("" in the setup state).
	Alias string
	// Recent lists the newest mails first, at most MaxRecent.
	Recent []RecentItem

	// CanOpen is false while the interface key cannot be read from the
	// keyring, and in the setup state without a settings page (Labels.Open
	// then carries the setup hint): the tray should disable that item. In
	// the setup state with a settings page the item opens the page.
	CanOpen bool
	// Paused is true while notifications are paused; PausedUntil says
	// until when (local time).
	Paused      bool
	PausedUntil time.Time
	// ShowContent: toasts show sender, subject and summary (checkbox).
	ShowContent bool
	// Autostart: start at login is on (checkbox). AutostartAvailable is
	// false when there is no Autostart backend; hide or disable the item.
	Autostart          bool
	AutostartAvailable bool
	// SettingsAvailable: the settings page can be opened (Deps.Settings);
	// the tray shows Labels.Settings, which sends OpenSettings.
	SettingsAvailable bool
	// Version is the program version shown in About.
	Version string

	// Labels are the menu texts in the user's language.
	Labels Labels
}

// Labels are the translated menu texts, in menu order. Every menu text of
// the Model (these, Status and the Recent titles) is at most 60 display
// columns wide (safetext.Width), so that no menu line grows into a
// paragraph.
type Labels struct {
	Details       string // "Details…" (详情…): shows Model.Details
	Open          string // "Open mailbox" (打开邮箱), or the setup hint
	Pause         string // submenu title: "Pause notifications", or "Paused until 08:00"
	PauseHour     string // "For 1 hour"
	PauseTomorrow string // "Until tomorrow"
	Resume        string // "Resume notifications"
	ShowContent   string // "Show message content in notifications"
	Autostart     string // "Start at login"
	Settings      string // "Settings…" (设置…), or "Set up…" (设置…) in the setup state
	About         string // "About exmail-notifier 1.2.3"
	Quit          string // "Quit" (退出)
}

// Action is a user request from the tray, or from a toast click. Send
// actions on the channel given as Deps.Actions. The concrete types are
// OpenMailbox, OpenMail, Pause, PauseUntilTomorrow, Resume, Details,
// SetShowContent, SetAutostart, OpenSettings, ApplyPrefs, AutostartChanged,
// About and Quit.
type Action interface{ isAction() }

// OpenMailbox opens the inbox in the browser through SSO (a left click on
// the icon, or the "Open mailbox" item). In the setup state it opens the
// settings page instead, where the account is set up (or, without
// Deps.Settings, shows how to set it up).
type OpenMailbox struct{}

// OpenMail opens one mail through SSO: a recent-mail item, or a click on a
// toast whose key is MailID. An empty MailID opens the inbox, so a toast
// click can always be forwarded as OpenMail{MailID: key}.
type OpenMail struct{ MailID string }

// Pause silences toasts for the given duration (the menu offers one hour).
// Unread counts and recent mails still update.
type Pause struct{ For time.Duration }

// PauseUntilTomorrow silences toasts until 08:00 local time the next
// morning. Between midnight and 04:00 "tomorrow" means the coming morning,
// i.e. 08:00 the same calendar day.
type PauseUntilTomorrow struct{}

// Resume ends a pause.
type Resume struct{}

// Details shows the whole explanation of the status line and its fix
// (Model.Details) as a toast. It does nothing when there is none.
type Details struct{}

// SetShowContent turns message content in toasts on or off. The tray sends
// the new checkbox state (!Model.ShowContent); repeating a value is harmless.
type SetShowContent struct{ On bool }

// SetAutostart turns start at login on or off (!Model.Autostart).
type SetAutostart struct{ On bool }

// OpenSettings opens the settings page (the "Settings…" item; "Set up…"
// in the setup state). It does nothing without Deps.Settings.
type OpenSettings struct{}

// ApplyPrefs sets the preferences chosen on the settings page, at once:
// message content, the quiet hours and the sound. A pause in effect
// (Prefs.PausedUntil) is kept.
type ApplyPrefs struct {
	ShowContent bool
	Quiet       QuietHours
	Sound       bool
}

// AutostartChanged says that start at login was changed elsewhere (the
// settings page, which did it and reported any failure): the menu's
// checkbox follows, and nothing is written again.
type AutostartChanged struct{ On bool }

// About shows one toast with the program name and version.
type About struct{}

// Quit ends App.Run, which then returns nil.
type Quit struct{}

func (OpenMailbox) isAction()        {}
func (OpenMail) isAction()           {}
func (Pause) isAction()              {}
func (PauseUntilTomorrow) isAction() {}
func (Resume) isAction()             {}
func (Details) isAction()            {}
func (SetShowContent) isAction()     {}
func (SetAutostart) isAction()       {}
func (OpenSettings) isAction()       {}
func (ApplyPrefs) isAction()         {}
func (AutostartChanged) isAction()   {}
func (About) isAction()              {}
func (Quit) isAction()               {}

// Prefs are the user's choices made in the menu that outlive the process.
// App hands them to PrefsSaver whenever they change.
type Prefs struct {
	ShowContent bool
	// PausedUntil is zero when not paused.
	PausedUntil time.Time
	// Quiet pauses notifications on a schedule (quiet hours).
	Quiet QuietHours
	// Sound: notifications may play the desktop's sound. App only carries
	// it; the notifier applies it (main supplies the default, on).
	Sound bool
}

// QuietHours is a pause schedule: on weekdays (Monday to Friday), from
// From to To, local time, in minutes after midnight (0 to 1439). When To
// is not after From the span crosses midnight and belongs to the weekday
// it starts on (Friday 20:00 to Saturday 08:00 is quiet; Saturday 20:00
// is not). While quiet, nothing is shown; the badge and the recent-mail
// list still update, as with a pause.
type QuietHours struct {
	On       bool
	From, To int
}

// span is the quiet span that starts on day's date, or ok false when that
// day has none (a weekend day, or the schedule is off).
func (q QuietHours) span(day time.Time) (start, end time.Time, ok bool) {
	if !q.On || q.From == q.To || day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		return time.Time{}, time.Time{}, false
	}
	y, m, d := day.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, day.Location())
	start = midnight.Add(time.Duration(q.From) * time.Minute)
	end = midnight.Add(time.Duration(q.To) * time.Minute)
	if q.To <= q.From {
		end = time.Date(y, m, d+1, 0, 0, 0, 0, day.Location()).Add(time.Duration(q.To) * time.Minute)
	}
	return start, end, true
}

// Until reports whether t falls in a quiet span, and when that span ends.
func (q QuietHours) Until(t time.Time) (end time.Time, quiet bool) {
	for _, day := range []time.Time{t.AddDate(0, 0, -1), t} {
		if s, e, ok := q.span(day); ok && !t.Before(s) && t.Before(e) {
			return e, true
		}
	}
	return time.Time{}, false
}

// next is the first start or end of a quiet span after t (zero when the
// schedule is off): the moment the tray's state changes by itself.
func (q QuietHours) next(t time.Time) time.Time {
	for i := -1; i <= 7; i++ {
		s, e, ok := q.span(t.AddDate(0, 0, i))
		switch {
		case !ok:
		case s.After(t):
			return s
		case e.After(t):
			return e
		}
	}
	return time.Time{}
}

// The interfaces below are declared here, by their consumer, and kept
// small, so that other backends (a company relay, Tencent's newer API)
// plug in without changes to the UI.

// Source delivers events for the enterprise: new mail, unread changes and
// its own connection state (api.StateChanged). It is the listen supervisor
// (api.Watcher). Run blocks until ctx is done or it gives up, and sends on
// out with a select on ctx.Done. App starts Run itself.
//
// The listen stream is enterprise-wide; App filters the events to the
// configured alias before anything is shown or logged.
type Source interface {
	Run(ctx context.Context, out chan<- api.Event) error
}

// Counter fetches a mailbox's unread count (mail/newcount).
type Counter interface {
	NewCount(ctx context.Context, alias string) (int, error)
}

// Linker returns a one-click login (SSO) URL for alias; mailID "" means the
// inbox. The URL is a credential: it is never logged.
type Linker interface {
	LoginURL(ctx context.Context, alias, mailID string) (api.Secret, error)
}

// Opener opens a URL in the browser. It has its own timeout.
type Opener interface {
	Open(ctx context.Context, url api.Secret) error
}

// Toaster shows a desktop notification. It must never block. key is the
// mail id of the mail the toast is about ("" for summary and information
// toasts); a click on the toast should come back as OpenMail{MailID: key}.
type Toaster interface {
	Toast(title, body, key string)
}

// View draws a Model (the tray). App calls Render only from its loop, and
// only when the model changed.
type View interface {
	Render(Model)
}

// Autostart reads and changes "start at login".
type Autostart interface {
	Enabled() (bool, error)
	SetEnabled(on bool) error
}

// Settings opens the settings page in the browser. Open has its own
// timeout and must not block for long.
type Settings interface {
	Open(ctx context.Context) error
}

// PrefsSaver persists Prefs (in the config file).
type PrefsSaver interface {
	SavePrefs(Prefs) error
}
