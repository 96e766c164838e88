package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// Defaults for the zero values in Config.
const (
	DefaultOfflineGrace = 30 * time.Second
	DefaultBurstWindow  = 2 * time.Second
	DefaultBurstMax     = 3
	seenCap             = 512 // mail ids remembered for de-duplication
	maxMailID           = 256 // longer "ids" are not kept or used
)

// effect is a request for I/O that the loop carries out. The reducer
// (state's methods) only returns effects; it never performs them.
type effect interface{ isEffect() }

// toastFx shows one toast.
type toastFx struct{ Title, Body, Key string }

// fetchCountFx fetches the unread count. Seq is state.countSeq when it was
// requested; CatchUp is set on a reconnect (a summary toast may follow).
type fetchCountFx struct {
	Seq     uint64
	CatchUp bool
}

// openFx fetches an SSO URL and opens it; MailID "" is the inbox.
type openFx struct{ MailID string }

// savePrefsFx persists the preferences.
type savePrefsFx struct{ Prefs Prefs }

// autostartFx turns start at login on or off.
type autostartFx struct{ On bool }

// settingsFx opens the settings page.
type settingsFx struct{}

// quitFx ends the loop.
type quitFx struct{}

func (toastFx) isEffect()      {}
func (fetchCountFx) isEffect() {}
func (openFx) isEffect()       {}
func (savePrefsFx) isEffect()  {}
func (autostartFx) isEffect()  {}
func (settingsFx) isEffect()   {}
func (quitFx) isEffect()       {}

// Results of background work, applied by the loop through the reducer.
type (
	countResult struct {
		Seq     uint64
		CatchUp bool
		N       int
		Err     error
	}
	openResult struct {
		MailID string
		Err    error // already free of the URL
	}
	autostartResult struct {
		On    bool // the state now in effect (when Err is nil)
		Query bool // the answer to the start-up query, not to a user's change
		Err   error
	}
	sourceDone     struct{ Err error }
	settingsResult struct{ Err error }
)

// state is everything the notifier knows. Only the App loop touches it.
// Its methods are the reducer: pure functions of the state, the input and
// now, returning effects.
type state struct {
	cfg   Config // with defaults filled in
	alias string // trimmed; "" is the setup state

	settingsAvail bool // Deps.Settings is set

	online         bool
	everOnline     bool
	notOnlineSince time.Time // zero while online
	problem        Problem   // from the Source; cleared when online again
	stopped        bool      // the Source's Run returned

	unread   int    // -1 unknown
	countSeq uint64 // bumped by every pushed count

	recent []RecentItem // newest first
	seen   seenSet

	// The burst window. A toast opens it (the first mail of a quiet
	// spell is shown at once); mails that follow within it are held and
	// shown when it closes, one by one or as one summary, so that no
	// window ever shows more than BurstMax toasts.
	burst      []toastFx // toasts held in the current window, ≤ BurstMax
	burstN     int       // mails held in the current window
	burstShown int       // toasts already shown in the current window
	burstUntil time.Time // end of the window; zero when none is open

	prefs Prefs
	// quietResumed is the end of a quiet span during which the user chose
	// Resume: that span does not hold toasts back any more.
	quietResumed   time.Time
	autostart      bool
	autostartAvail bool
}

// newState returns the state for cfg at time now.
func newState(cfg Config, autostartAvail bool, now time.Time) *state {
	if cfg.OfflineGrace <= 0 {
		cfg.OfflineGrace = DefaultOfflineGrace
	}
	if cfg.BurstWindow <= 0 {
		cfg.BurstWindow = DefaultBurstWindow
	}
	if cfg.BurstMax <= 0 {
		cfg.BurstMax = DefaultBurstMax
	}
	if _, ok := catalog[cfg.Lang]; !ok {
		cfg.Lang = English
	}
	s := &state{
		cfg:            cfg,
		alias:          strings.TrimSpace(cfg.Alias),
		notOnlineSince: now,
		unread:         -1,
		seen:           newSeenSet(seenCap),
		prefs:          cfg.Prefs,
		autostartAvail: autostartAvail,
	}
	if !s.prefs.PausedUntil.IsZero() && !now.Before(s.prefs.PausedUntil) {
		s.prefs.PausedUntil = time.Time{} // a pause saved earlier has run out
	}
	return s
}

// mine reports whether an event may be shown: events about other
// mailboxes (the listen stream is enterprise-wide) are dropped before
// anything is shown or logged. It is api.Concerns, the one filter rule
// that Client.Listen also applies before decoding.
func (s *state) mine(ev api.Event) bool {
	return s.alias != "" && api.Concerns(ev, s.alias)
}

// paused reports whether toasts are held back at now: a pause from the
// menu, or quiet hours (unless the user resumed during this quiet span).
func (s *state) paused(now time.Time) bool {
	return !s.pausedUntil(now).IsZero()
}

// pausedUntil is when toasts come back at now; zero when they are not
// paused. A manual pause and quiet hours together end at the later end.
func (s *state) pausedUntil(now time.Time) time.Time {
	var until time.Time
	if !s.prefs.PausedUntil.IsZero() && now.Before(s.prefs.PausedUntil) {
		until = s.prefs.PausedUntil
	}
	if end, quiet := s.prefs.Quiet.Until(now); quiet && end.After(s.quietResumed) && end.After(until) {
		until = end
	}
	return until
}

func (s *state) setupMode() bool { return s.alias == "" }

// apply folds one event into the state.
func (s *state) apply(ev api.Event, now time.Time) []effect {
	if s.setupMode() || !s.mine(ev) {
		return nil
	}
	switch ev := ev.(type) {
	case api.StateChanged:
		return s.connState(ev, now)
	case api.Ack:
		if ev.Ret == 0 {
			return s.connState(api.StateChanged{State: api.StateOnline}, now)
		}
	case api.NewMail:
		return s.newMail(ev, now)
	case api.UnreadChanged:
		if ev.Unread < 0 {
			return nil
		}
		prev := s.unread
		s.unread = ev.Unread
		s.countSeq++
		// A backend that gives counts only (Config.CountsOnly) has no
		// new_mail event: a rise is the news, told as one summary.
		if s.cfg.CountsOnly && prev >= 0 && ev.Unread > prev && !s.paused(now) {
			return []effect{s.summary(ev.Unread - prev)}
		}
	}
	return nil
}

func (s *state) connState(ev api.StateChanged, now time.Time) []effect {
	if ev.State == api.StateOnline {
		if s.online {
			return nil
		}
		catchUp := s.everOnline
		s.online, s.everOnline = true, true
		s.notOnlineSince = time.Time{}
		s.problem = NoProblem
		// Staying true: every (re)connect re-reads the count.
		return []effect{fetchCountFx{Seq: s.countSeq, CatchUp: catchUp}}
	}
	if s.online {
		s.online = false
		s.notOnlineSince = now
	}
	if keyringErr := errors.Is(ev.Err, ErrKeyringLocked) || errors.Is(ev.Err, ErrKeyringUnavailable); !keyringErr &&
		s.problem.keyring() {
		s.problem = NoProblem // the key has been read since: the connection's own state counts
	}
	switch {
	case errors.Is(ev.Err, ErrKeyringLockedRestart):
		s.problem = ProblemKeyringLockedRestart
	case errors.Is(ev.Err, ErrKeyringUnavailableRestart):
		s.problem = ProblemKeyringUnavailableRestart
	case errors.Is(ev.Err, ErrKeyringLocked):
		s.problem = ProblemKeyringLocked
	case errors.Is(ev.Err, ErrKeyringUnavailable):
		s.problem = ProblemKeyringUnavailable
	case errors.Is(ev.Err, api.ErrIPNotAllowed):
		s.problem = ProblemIPNotAllowed
	case ev.State == api.StateAuthFailed || api.IsAuth(ev.Err):
		s.problem = s.cfg.Mode.credentialsProblem()
	}
	return nil
}

func (s *state) newMail(m api.NewMail, now time.Time) []effect {
	if len(m.MailID) > maxMailID {
		m.MailID = "" // not a real id; do not keep a huge key around
	}
	if m.Unread >= 0 {
		s.unread = m.Unread
		s.countSeq++
	}
	if m.MailID != "" && !s.seen.add(m.MailID) {
		return nil // announced already, e.g. replayed after a reconnect
	}
	item := RecentItem{Title: menuLine(m, s.cfg.Lang), MailID: m.MailID}
	s.recent = append([]RecentItem{item}, s.recent...)
	if len(s.recent) > MaxRecent {
		s.recent = s.recent[:MaxRecent]
	}
	if s.paused(now) {
		return nil
	}
	title, body := toastText(m, s.prefs.ShowContent, s.alias, s.cfg.Lang)
	t := toastFx{Title: title, Body: body, Key: m.MailID}
	if s.burstUntil.IsZero() {
		// A quiet spell: show it now, and hold what follows.
		s.burstUntil = now.Add(s.cfg.BurstWindow)
		s.burstShown = 1
		return []effect{t}
	}
	s.burstN++
	if len(s.burst) < s.cfg.BurstMax {
		s.burst = append(s.burst, t)
	}
	return nil
}

// flushBurst ends the burst window. The mails held in it get their own
// toasts when, together with the toasts the window already showed, they
// are no more than BurstMax; otherwise they become one summary toast
// "N more new mails". Toasts that go out here open the next window at
// once, so a long storm of mail shows at most BurstMax toasts per window,
// never a stack.
func (s *state) flushBurst(now time.Time) []effect {
	n, held, shown := s.burstN, s.burst, s.burstShown
	s.resetBurst()
	if n == 0 || s.paused(now) {
		return nil
	}
	var fx []effect
	if shown+n > s.cfg.BurstMax {
		fx = []effect{toastFx{Title: s.cfg.Lang.moreMailsTitle(n), Body: sanitize(s.alias, maxSender)}}
	} else {
		for _, t := range held {
			fx = append(fx, t)
		}
	}
	s.burstUntil = now.Add(s.cfg.BurstWindow)
	s.burstShown = len(fx)
	return fx
}

func (s *state) resetBurst() {
	s.burst, s.burstN, s.burstShown, s.burstUntil = nil, 0, 0, time.Time{}
}

func (s *state) summary(n int) toastFx {
	body := sanitize(s.alias, maxSender)
	if s.cfg.CountsOnly {
		body += "\n" + s.cfg.Lang.t().countsOnly
	}
	return toastFx{Title: s.cfg.Lang.newMailsTitle(n), Body: body}
}

// counted applies a fetched unread count.
func (s *state) counted(r countResult, now time.Time) []effect {
	if r.Err != nil || r.N < 0 || r.Seq != s.countSeq {
		// A failed fetch changes nothing; a push that arrived since the
		// fetch began is at least as fresh and has been shown already.
		return nil
	}
	prev := s.unread
	s.unread = r.N
	if r.CatchUp && prev >= 0 && r.N > prev && !s.paused(now) {
		return []effect{s.summary(r.N - prev)}
	}
	return nil
}

// opened handles the end of an SSO open; a failure shows one toast.
func (s *state) opened(r openResult) []effect {
	if r.Err == nil {
		return nil
	}
	c := s.cfg.Lang.t()
	body := c.seeLog
	switch {
	case errors.Is(r.Err, api.ErrIPNotAllowed):
		body = c.problemIP
	case api.IsAuth(r.Err):
		body = s.cfg.Lang.problemText(s.cfg.Mode.credentialsProblem())
	}
	return []effect{toastFx{Title: c.openFailed, Body: body}}
}

func (s *state) autostartDone(r autostartResult) []effect {
	if r.Err == nil {
		s.autostart = r.On
		return nil
	}
	if r.Query {
		return nil
	}
	return []effect{toastFx{Title: s.cfg.Lang.t().autoFailed, Body: s.cfg.Lang.t().seeLog}}
}

// sourceStopped records that the Source's Run returned: nothing will
// come online again, which needs the user's attention.
func (s *state) sourceStopped(now time.Time) {
	s.stopped = true
	if s.online {
		s.online = false
		s.notOnlineSince = now
	}
}

// handle applies a user action.
func (s *state) handle(act Action, now time.Time) []effect {
	switch act := act.(type) {
	case OpenMailbox:
		return s.open("")
	case OpenMail:
		return s.open(act.MailID)
	case Pause:
		if act.For <= 0 {
			return nil
		}
		return s.pauseUntil(now.Add(act.For))
	case PauseUntilTomorrow:
		return s.pauseUntil(tomorrowMorning(now))
	case Details:
		p := s.currentProblem()
		if s.setupMode() || p == NoProblem {
			return nil
		}
		l := s.cfg.Lang
		return []effect{toastFx{Title: l.problemStatus(p), Body: l.problemText(p)}}
	case Resume:
		if end, quiet := s.prefs.Quiet.Until(now); quiet {
			s.quietResumed = end // this quiet span only; the schedule stays
		}
		if s.prefs.PausedUntil.IsZero() {
			return nil
		}
		s.prefs.PausedUntil = time.Time{}
		return []effect{savePrefsFx{s.prefs}}
	case SetShowContent:
		if s.prefs.ShowContent == act.On {
			return nil
		}
		s.prefs.ShowContent = act.On
		return []effect{savePrefsFx{s.prefs}}
	case OpenSettings:
		if !s.settingsAvail {
			return nil
		}
		return []effect{settingsFx{}}
	case ApplyPrefs:
		next := s.prefs
		next.ShowContent, next.Quiet, next.Sound = act.ShowContent, act.Quiet, act.Sound
		if next == s.prefs {
			return nil
		}
		s.prefs = next
		s.quietResumed = time.Time{} // a new schedule starts afresh
		return []effect{savePrefsFx{s.prefs}}
	case AutostartChanged:
		s.autostart = act.On
		return nil
	case SetAutostart:
		if !s.autostartAvail {
			return nil
		}
		return []effect{autostartFx{On: act.On}}
	case About:
		c := s.cfg.Lang.t()
		body := c.aboutBody
		if s.cfg.HoldsAdminKey {
			body += "\n" + c.aboutKey
		}
		return []effect{toastFx{Title: fmt.Sprintf(c.aboutTitle, s.cfg.Version), Body: body}}
	case Quit:
		return []effect{quitFx{}}
	}
	return nil
}

func (s *state) open(mailID string) []effect {
	if s.setupMode() && s.settingsAvail {
		return []effect{settingsFx{}}
	}
	if s.setupMode() {
		return []effect{toastFx{Title: "exmail-notifier", Body: s.cfg.Lang.t().setupHint}}
	}
	return []effect{openFx{MailID: mailID}}
}

func (s *state) pauseUntil(t time.Time) []effect {
	s.prefs.PausedUntil = t.Round(0) // no monotonic reading in saved prefs
	s.resetBurst()
	return []effect{savePrefsFx{s.prefs}}
}

// tomorrowMorning is when "Pause until tomorrow" ends: 08:00 local time the
// next day, or the same day when it is not yet 04:00 (someone pausing at
// 01:00 means the coming morning, not the one after).
func tomorrowMorning(now time.Time) time.Time {
	y, m, d := now.Date()
	if now.Hour() >= 4 {
		d++
	}
	return time.Date(y, m, d, 8, 0, 0, 0, now.Location())
}

// tick handles timers that have come due at now: the end of a burst
// window and the end of a pause. (The offline grace needs no state change;
// the model reads it from now.)
func (s *state) tick(now time.Time) []effect {
	var fx []effect
	if !s.burstUntil.IsZero() && !now.Before(s.burstUntil) {
		fx = append(fx, s.flushBurst(now)...)
	}
	if !s.prefs.PausedUntil.IsZero() && !now.Before(s.prefs.PausedUntil) {
		s.prefs.PausedUntil = time.Time{}
		fx = append(fx, savePrefsFx{s.prefs})
	}
	return fx
}

// deadline is the next moment tick or the model needs to run again, or
// zero when there is none.
func (s *state) deadline(now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	consider(s.burstUntil)
	consider(s.prefs.PausedUntil)
	consider(s.prefs.Quiet.next(now))
	if !s.online && !s.notOnlineSince.IsZero() {
		if g := s.notOnlineSince.Add(s.cfg.OfflineGrace); g.After(now) {
			consider(g)
		}
	}
	return next
}

// currentProblem is the problem shown, if any.
func (s *state) currentProblem() Problem {
	switch {
	case s.cfg.Problem != NoProblem:
		return s.cfg.Problem
	case s.problem != NoProblem:
		return s.problem
	case s.stopped:
		return ProblemStopped
	}
	return NoProblem
}

// keyringProblem: the key cannot be read, so nothing can be opened.
func (s *state) keyringProblem() bool {
	return s.currentProblem().keyring()
}

// icon picks the icon at now.
func (s *state) icon(now time.Time) IconKind {
	switch {
	case s.setupMode():
		return IconSetup
	case s.currentProblem() != NoProblem:
		return IconAttention
	case s.online:
		return IconOnline
	case now.Sub(s.notOnlineSince) < s.cfg.OfflineGrace:
		// A short outage shows nothing: keep what was shown before.
		if s.everOnline {
			return IconOnline
		}
		return IconConnecting
	}
	return IconOffline
}

// model is what the tray shows at now. It is pure.
func (s *state) model(now time.Time) Model {
	l := s.cfg.Lang
	c := l.t()
	m := Model{
		Icon:               s.icon(now),
		Unread:             s.unread,
		Problem:            s.currentProblem(),
		Alias:              s.alias,
		Recent:             append([]RecentItem(nil), s.recent...),
		CanOpen:            (!s.setupMode() && !s.keyringProblem()) || (s.setupMode() && s.settingsAvail),
		Paused:             s.paused(now),
		ShowContent:        s.prefs.ShowContent,
		Autostart:          s.autostart,
		AutostartAvailable: s.autostartAvail,
		SettingsAvailable:  s.settingsAvail,
		Version:            s.cfg.Version,
		Labels: Labels{
			Details:       c.details,
			Open:          c.open,
			Pause:         c.pause,
			PauseHour:     c.pauseHour,
			PauseTomorrow: c.pauseTmrw,
			Resume:        c.resume,
			ShowContent:   c.showContent,
			Autostart:     c.autostart,
			Settings:      c.settings,
			About:         safetext.Fit(sanitize(fmt.Sprintf(c.about, s.cfg.Version), menuColumns*2), menuColumns),
			Quit:          c.quit,
		},
	}
	if m.Paused {
		m.PausedUntil = s.pausedUntil(now)
		m.Labels.Pause = fmt.Sprintf(c.pausedUntil, l.when(m.PausedUntil, now))
	}
	alias := sanitize(s.alias, 80)
	var parts []string
	switch m.Icon {
	case IconSetup:
		hint := c.setupHint
		m.Status = hint
		if s.settingsAvail {
			// The Open item says it and opens the page: no second,
			// disabled line saying the same.
			hint, m.Labels.Settings, m.Status = c.setupPage, c.setUp, ""
		}
		m.Labels.Open = hint
		m.Tooltip = "exmail-notifier — " + hint
		return m
	case IconAttention:
		m.Status = l.problemStatus(m.Problem)
		m.Details = l.problemText(m.Problem)
		parts = append(parts, l.problemShort(m.Problem))
	case IconConnecting:
		m.Status = c.connecting
		parts = append(parts, c.connecting)
	case IconOffline:
		m.Status = c.offline
		parts = append(parts, c.offline)
	case IconOnline:
		m.Status = c.online
	}
	if m.Unread >= 0 {
		parts = append(parts, fmt.Sprintf(c.unread, m.Unread))
	} else if m.Icon == IconOnline {
		parts = append(parts, c.online)
	}
	if m.Paused {
		parts = append(parts, fmt.Sprintf(c.paused, l.when(m.PausedUntil, now)))
	}
	// A line or two. (Windows cuts tooltips at 127 UTF-16 units; the tray
	// clips to that as well.)
	m.Tooltip = safetext.Fit(sanitize(alias+" — "+strings.Join(parts, " · "), 2*tooltipColumns), tooltipColumns)
	return m
}

// seenSet remembers the last cap mail ids, oldest forgotten first.
type seenSet struct {
	ids  map[string]struct{}
	ring []string
	next int
}

func newSeenSet(cap int) seenSet {
	return seenSet{ids: make(map[string]struct{}, cap), ring: make([]string, 0, cap)}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	if _, ok := s.ids[id]; ok {
		return false
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, id)
	} else {
		delete(s.ids, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.ids[id] = struct{}{}
	return true
}

// credentialsProblem is what a rejected credential means in mode m: each
// mode has its own fix, and a relay desktop is never sent to the admin key.
func (m Mode) credentialsProblem() Problem {
	switch m {
	case ModeRelay:
		return ProblemRelayAccess
	case ModeCorp:
		return ProblemCorpCredentials
	}
	return ProblemCredentials
}

// settingsOpened tells the user when the settings page could not be
// opened (no browser): the page is where the account is set up.
func (s *state) settingsOpened(res settingsResult) []effect {
	if res.Err == nil {
		return nil
	}
	c := s.cfg.Lang.t()
	return []effect{toastFx{Title: c.settingsFailed, Body: c.settingsByHand}}
}
