package app

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/google/go-cmp/cmp"
)

// The reducer tests drive state the way the loop does: before each input,
// every timer that is due fires (tick), then the input is applied. They
// collect all effects and look at the model at the end.

var (
	zone = time.FixedZone("CST", 8*3600)
	t0   = time.Date(2026, 11, 26, 10, 0, 0, 0, zone)
)

const me = "bob@example.com"

// step is one input at a time offset from t0. Exactly one of ev, act,
// reply and res is set; a step with none only lets time pass.
type step struct {
	at    time.Duration
	ev    api.Event
	act   Action
	reply *countReply // answers the last fetchCountFx
	res   any         // any other background result
}

type countReply struct {
	n   int
	err error
}

func at(d time.Duration, ev api.Event) step { return step{at: d, ev: ev} }
func do(d time.Duration, a Action) step     { return step{at: d, act: a} }
func wait(d time.Duration) step             { return step{at: d} }
func replyAt(d time.Duration, n int) step   { return step{at: d, reply: &countReply{n: n}} }
func resultAt(d time.Duration, r any) step  { return step{at: d, res: r} }
func online(d time.Duration) step           { return at(d, api.StateChanged{State: api.StateOnline}) }
func retrying(d time.Duration, e error) step {
	return at(d, api.StateChanged{State: api.StateRetrying, Err: e})
}

func mailFor(id, user string, unread int) api.NewMail {
	return api.NewMail{
		User: user, MailID: id, Unread: unread,
		Sender:  fmt.Sprintf(`"Sender %s" <s%s@example.com>`, id, id),
		Subject: "Subject " + id, Summary: "Summary " + id,
	}
}

// checkDiff reports, under what, how got differs from want.
func checkDiff(t *testing.T, what string, want, got any) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func baseConfig() Config {
	return Config{Alias: me, Version: "1.2.3", Lang: English, Prefs: Prefs{ShowContent: true}}
}

// configOr is *c, or baseConfig when c is nil.
func configOr(c *Config) Config {
	if c == nil {
		return baseConfig()
	}
	return *c
}

// configWith is baseConfig, changed by set.
func configWith(set func(c *Config)) Config {
	c := baseConfig()
	set(&c)
	return c
}

// drive runs steps and then lets time pass until end (offset from t0).
func drive(t *testing.T, cfg Config, steps []step, end time.Duration) ([]effect, *state) {
	t.Helper()
	timed, s := driveTimed(t, cfg, steps, end)
	var all []effect
	for _, f := range timed {
		all = append(all, f.fx)
	}
	return all, s
}

// timedEffect is an effect and when (offset from t0) the reducer asked
// for it.
type timedEffect struct {
	at time.Duration
	fx effect
}

// driveTimed is drive, with the moment of each effect.
func driveTimed(t *testing.T, cfg Config, steps []step, end time.Duration) ([]timedEffect, *state) {
	t.Helper()
	s := newState(cfg, false, t0)
	var all []timedEffect
	var lastFetch *fetchCountFx
	collect := func(now time.Time, fx []effect) {
		for _, f := range fx {
			if f, ok := f.(fetchCountFx); ok {
				lastFetch = &f
			}
			all = append(all, timedEffect{at: now.Sub(t0), fx: f})
		}
	}
	advance := func(to time.Time) {
		for {
			d := s.deadline(to)
			if d.IsZero() || d.After(to) {
				return
			}
			collect(d, s.tick(d))
		}
	}
	for _, st := range steps {
		now := t0.Add(st.at)
		advance(now)
		switch {
		case st.ev != nil:
			collect(now, s.apply(st.ev, now))
		case st.act != nil:
			collect(now, s.handle(st.act, now))
		case st.reply != nil:
			if lastFetch == nil {
				t.Fatalf("step at %v answers a count fetch that was never requested", st.at)
			}
			collect(now, s.counted(countResult{Seq: lastFetch.Seq, CatchUp: lastFetch.CatchUp, N: st.reply.n, Err: st.reply.err}, now))
		case st.res != nil:
			switch r := st.res.(type) {
			case openResult:
				collect(now, s.opened(r))
			case autostartResult:
				collect(now, s.autostartDone(r))
			case sourceDone:
				s.sourceStopped(now)
			default:
				t.Fatalf("unknown result %T", r)
			}
		}
	}
	advance(t0.Add(end))
	return all, s
}

func toasts(fx []effect) []toastFx {
	var out []toastFx
	for _, f := range fx {
		if t, ok := f.(toastFx); ok {
			out = append(out, t)
		}
	}
	return out
}

func mailToast(id string) toastFx {
	return toastFx{Title: "Sender " + id, Body: "Subject " + id + "\nSummary " + id, Key: id}
}

func summaryToast(n int) toastFx {
	return toastFx{Title: English.newMailsTitle(n), Body: me}
}

// moreToast is the summary of n mails held back in a burst whose first
// mail was shown at once.
func moreToast(n int) toastFx {
	return toastFx{Title: English.moreMailsTitle(n), Body: me}
}

func TestToasts(t *testing.T) {
	t.Parallel()
	burst := func(n int, user string) []step {
		var steps []step
		for i := range n {
			steps = append(steps, at(time.Duration(i)*100*time.Millisecond, mailFor(fmt.Sprint("m", i), user, i+1)))
		}
		return steps
	}
	hidden := configWith(func(c *Config) { c.Prefs.ShowContent = false })
	caseAlias := configWith(func(c *Config) { c.Alias = "  Bob@Example.COM " })

	tests := []struct {
		name   string
		cfg    Config
		steps  []step
		end    time.Duration
		want   []toastFx
		unread int
		recent []string // MailIDs, newest first
	}{
		{
			name:   "one mail toasts at once, before any window closes",
			steps:  []step{at(0, mailFor("a", me, 4))},
			end:    0,
			want:   []toastFx{mailToast("a")},
			unread: 4, recent: []string{"a"},
		},
		{
			name:   "a duplicate mail id toasts once",
			steps:  []step{at(0, mailFor("a", me, 4)), at(10*time.Second, mailFor("a", me, 4))},
			end:    time.Minute,
			want:   []toastFx{mailToast("a")},
			unread: 4, recent: []string{"a"},
		},
		{
			name:   "the followers of a burst wait for the window to close",
			steps:  burst(3, me),
			end:    2*time.Second - time.Nanosecond,
			want:   []toastFx{mailToast("m0")},
			unread: 3, recent: []string{"m2", "m1", "m0"},
		},
		{
			name:   "three mails in a burst toast one by one",
			steps:  burst(3, me),
			end:    time.Minute,
			want:   []toastFx{mailToast("m0"), mailToast("m1"), mailToast("m2")},
			unread: 3, recent: []string{"m2", "m1", "m0"},
		},
		{
			name:   "four mails in a burst: the first, then one summary of the rest",
			steps:  burst(4, me),
			end:    time.Minute,
			want:   []toastFx{mailToast("m0"), moreToast(3)},
			unread: 4, recent: []string{"m3", "m2", "m1", "m0"},
		},
		{
			name:   "twelve mails in a burst: the first, then one summary; the menu keeps five",
			steps:  burst(12, me),
			end:    time.Minute,
			want:   []toastFx{mailToast("m0"), moreToast(11)},
			unread: 12, recent: []string{"m11", "m10", "m9", "m8", "m7"},
		},
		{
			name: "mails farther apart than the window each toast",
			steps: []step{
				at(0, mailFor("a", me, 1)), at(10*time.Second, mailFor("b", me, 2)),
				at(20*time.Second, mailFor("c", me, 3)), at(30*time.Second, mailFor("d", me, 4)),
			},
			end:    time.Minute,
			want:   []toastFx{mailToast("a"), mailToast("b"), mailToast("c"), mailToast("d")},
			unread: 4, recent: []string{"d", "c", "b", "a"},
		},
		{
			name:   "hidden content says only New mail",
			cfg:    hidden,
			steps:  []step{at(0, mailFor("a", me, 1))},
			end:    time.Minute,
			want:   []toastFx{{Title: "New mail", Body: me, Key: "a"}},
			unread: 1, recent: []string{"a"},
		},
		{
			name: "another mailbox never toasts, lists or counts",
			steps: []step{
				at(0, mailFor("x", "alice@example.com", 99)),
				at(time.Second, api.UnreadChanged{User: "alice@example.com", Unread: 98}),
				at(2*time.Second, mailFor("y", "bob@example.com.evil", 97)),
				at(3*time.Second, mailFor("z", "", 96)),
			},
			end:    time.Minute,
			unread: -1,
		},
		{
			name:   "alias comparison ignores case and space",
			cfg:    caseAlias,
			steps:  []step{at(0, mailFor("a", " BOB@example.com\t", 7))},
			end:    time.Minute,
			want:   []toastFx{mailToast("a")},
			unread: 7, recent: []string{"a"},
		},
		{
			name:   "a falling count never toasts",
			steps:  []step{at(0, api.UnreadChanged{User: me, Unread: 9}), at(time.Second, api.UnreadChanged{User: me, Unread: 2})},
			end:    time.Minute,
			unread: 2,
		},
		{
			name:   "a rising count without a mail does not toast either",
			steps:  []step{at(0, api.UnreadChanged{User: me, Unread: 2}), at(time.Second, api.UnreadChanged{User: me, Unread: 9})},
			end:    time.Minute,
			unread: 9,
		},
		{
			name: "paused: no toast, but count and menu update",
			steps: []step{
				do(0, Pause{For: time.Hour}),
				at(time.Minute, mailFor("a", me, 1)),
				at(2*time.Minute, mailFor("b", me, 2)),
			},
			end:    10 * time.Minute,
			unread: 2, recent: []string{"b", "a"},
		},
		{
			name: "a pause expires by itself",
			steps: []step{
				do(0, Pause{For: time.Hour}),
				at(59*time.Minute, mailFor("a", me, 1)),
				at(61*time.Minute, mailFor("b", me, 2)),
			},
			end:    2 * time.Hour,
			want:   []toastFx{mailToast("b")},
			unread: 2, recent: []string{"b", "a"},
		},
		{
			name: "pausing drops toasts still held in the burst window",
			steps: []step{
				at(0, mailFor("a", me, 1)),
				at(100*time.Millisecond, mailFor("b", me, 2)),
				do(500*time.Millisecond, Pause{For: time.Hour}),
			},
			end:    time.Minute,
			want:   []toastFx{mailToast("a")},
			unread: 2, recent: []string{"b", "a"},
		},
		{
			name: "resume",
			steps: []step{
				do(0, PauseUntilTomorrow{}),
				at(time.Minute, mailFor("a", me, 1)),
				do(2*time.Minute, Resume{}),
				at(3*time.Minute, mailFor("b", me, 2)),
			},
			end:    time.Hour,
			want:   []toastFx{mailToast("b")},
			unread: 2, recent: []string{"b", "a"},
		},
		{
			name: "a mail without an id is never taken for a duplicate",
			steps: []step{
				at(0, mailFor("", me, 1)), at(10*time.Second, mailFor("", me, 2)),
			},
			end: time.Minute,
			want: []toastFx{
				{Title: "Sender", Body: "Subject\nSummary"},
				{Title: "Sender", Body: "Subject\nSummary"},
			},
			unread: 2, recent: []string{"", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			if cfg.Alias == "" {
				cfg = baseConfig()
			}
			fx, s := drive(t, cfg, tt.steps, tt.end)
			checkDiff(t, "toasts", tt.want, toasts(fx))
			m := s.model(t0.Add(tt.end))
			if m.Unread != tt.unread {
				t.Errorf("Unread = %d, want %d", m.Unread, tt.unread)
			}
			var ids []string
			for _, r := range m.Recent {
				ids = append(ids, r.MailID)
			}
			checkDiff(t, "recent mail ids", tt.recent, ids)
		})
	}
}

func TestCatchUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		steps  []step
		want   []toastFx
		unread int
	}{
		{
			name:   "the first connect only sets the count",
			steps:  []step{online(0), replyAt(time.Second, 5)},
			unread: 5,
		},
		{
			name: "a higher count after a reconnect is one summary toast",
			steps: []step{
				online(0), replyAt(time.Second, 3),
				retrying(time.Minute, api.ErrUnavailable),
				online(5 * time.Minute), replyAt(5*time.Minute+time.Second, 5),
			},
			want:   []toastFx{summaryToast(2)},
			unread: 5,
		},
		{
			name: "an equal count after a reconnect is silent",
			steps: []step{
				online(0), replyAt(time.Second, 3),
				retrying(time.Minute, nil), online(5 * time.Minute), replyAt(5*time.Minute+time.Second, 3),
			},
			unread: 3,
		},
		{
			name: "a lower count after a reconnect is silent",
			steps: []step{
				online(0), replyAt(time.Second, 3),
				retrying(time.Minute, nil), online(5 * time.Minute), replyAt(5*time.Minute+time.Second, 1),
			},
			unread: 1,
		},
		{
			name: "catch-up while paused is silent but counts",
			steps: []step{
				online(0), replyAt(time.Second, 3),
				do(30*time.Second, Pause{For: time.Hour}),
				retrying(time.Minute, nil), online(5 * time.Minute), replyAt(5*time.Minute+time.Second, 8),
			},
			unread: 8,
		},
		{
			name: "a push that arrives during the fetch wins over the fetched count",
			steps: []step{
				online(0), replyAt(time.Second, 3),
				retrying(time.Minute, nil), online(5 * time.Minute),
				at(5*time.Minute+time.Second, mailFor("a", me, 6)),
				replyAt(5*time.Minute+2*time.Second, 5), // older than the push
			},
			want:   []toastFx{mailToast("a")},
			unread: 6,
		},
		{
			name: "a failed fetch changes nothing",
			steps: []step{
				online(0), replyAt(time.Second, 3),
				retrying(time.Minute, nil), online(5 * time.Minute),
				{at: 5*time.Minute + time.Second, reply: &countReply{err: api.ErrUnavailable}},
			},
			unread: 3,
		},
		{
			name: "an acknowledgement counts as coming online",
			steps: []step{
				online(0), replyAt(time.Second, 3),
				retrying(time.Minute, nil), at(5*time.Minute, api.Ack{}), replyAt(5*time.Minute+time.Second, 4),
			},
			want:   []toastFx{summaryToast(1)},
			unread: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx, s := drive(t, baseConfig(), tt.steps, time.Hour)
			checkDiff(t, "toasts", tt.want, toasts(fx))
			if s.unread != tt.unread {
				t.Errorf("unread = %d, want %d", s.unread, tt.unread)
			}
		})
	}
}

// Every transition to online asks for the count, and says whether it is a
// reconnect.
func TestFetchOnEveryConnect(t *testing.T) {
	t.Parallel()
	fx, _ := drive(t, baseConfig(), []step{
		online(0), online(time.Second), // a repeated online is not a new connect
		retrying(time.Minute, nil), online(2 * time.Minute),
	}, time.Hour)
	var got []fetchCountFx
	for _, f := range fx {
		if f, ok := f.(fetchCountFx); ok {
			got = append(got, f)
		}
	}
	want := []fetchCountFx{{Seq: 0, CatchUp: false}, {Seq: 0, CatchUp: true}}
	checkDiff(t, "fetches", want, got)
}

func TestIcon(t *testing.T) {
	t.Parallel()
	ipErr := &api.Error{Op: "openapi/listen", HTTPStatus: 200, Code: api.CodeIPNotAllowed}
	tokenErr := &api.Error{Op: "openapi/listen", HTTPStatus: 200, Code: api.CodeInvalidToken}
	keyring := configWith(func(c *Config) { c.Problem = ProblemKeyringLocked })
	setup := configWith(func(c *Config) { c.Alias = "" })
	tests := []struct {
		name    string
		cfg     *Config
		steps   []step
		end     time.Duration
		icon    IconKind
		problem Problem
	}{
		{"connecting at start", nil, nil, 29 * time.Second, IconConnecting, NoProblem},
		{"offline once the grace has passed without ever connecting", nil, nil, 30 * time.Second, IconOffline, NoProblem},
		{"online", nil, []step{online(0)}, time.Hour, IconOnline, NoProblem},
		{"a short outage shows nothing", nil,
			[]step{online(0), retrying(time.Minute, api.ErrUnavailable), wait(time.Minute + 29*time.Second)},
			time.Minute + 29*time.Second, IconOnline, NoProblem},
		{"an outage longer than the grace shows offline", nil,
			[]step{online(0), retrying(time.Minute, api.ErrUnavailable)},
			time.Minute + 30*time.Second, IconOffline, NoProblem},
		{"coming back within the grace shows nothing", nil,
			[]step{online(0), retrying(time.Minute, nil), online(time.Minute + 20*time.Second)},
			time.Hour, IconOnline, NoProblem},
		{"connecting states keep the grace running", nil,
			[]step{online(0), retrying(time.Minute, nil), at(time.Minute+10*time.Second, api.StateChanged{State: api.StateConnecting})},
			time.Minute + 31*time.Second, IconOffline, NoProblem},
		{"bad credentials", nil,
			[]step{at(0, api.StateChanged{State: api.StateAuthFailed, Err: api.ErrAuth})},
			time.Second, IconAttention, ProblemCredentials},
		{"invalid token", nil,
			[]step{at(0, api.StateChanged{State: api.StateAuthFailed, Err: tokenErr})},
			time.Second, IconAttention, ProblemCredentials},
		{"invalid token while retrying", nil,
			[]step{online(0), retrying(time.Second, api.ErrInvalidToken)},
			2 * time.Second, IconAttention, ProblemCredentials},
		{"IP not on the allow list shows at once", nil,
			[]step{online(0), retrying(time.Second, ipErr)},
			2 * time.Second, IconAttention, ProblemIPNotAllowed},
		{"IP not on the allow list while auth failed", nil,
			[]step{at(0, api.StateChanged{State: api.StateAuthFailed, Err: api.ErrIPNotAllowed})},
			time.Second, IconAttention, ProblemIPNotAllowed},
		{"coming online clears the problem", nil,
			[]step{at(0, api.StateChanged{State: api.StateAuthFailed, Err: api.ErrAuth}), online(time.Minute)},
			time.Hour, IconOnline, NoProblem},
		{"a problem from main stays", &keyring,
			[]step{online(0)}, time.Hour, IconAttention, ProblemKeyringLocked},
		{"the source gave up", nil,
			[]step{online(0), resultAt(time.Second, sourceDone{Err: errors.New("boom")})},
			2 * time.Second, IconAttention, ProblemStopped},
		{"setup ignores events", &setup,
			[]step{online(0), at(time.Second, mailFor("a", me, 1))}, time.Hour, IconSetup, NoProblem},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := configOr(tt.cfg)
			_, s := drive(t, cfg, tt.steps, tt.end)
			m := s.model(t0.Add(tt.end))
			if m.Icon != tt.icon || m.Problem != tt.problem {
				t.Errorf("icon %v, problem %v; want %v, %v (tooltip %q)", m.Icon, m.Problem, tt.icon, tt.problem, m.Tooltip)
			}
		})
	}
}

func TestModel(t *testing.T) {
	t.Parallel()
	zh := configWith(func(c *Config) { c.Lang = Chinese })
	setup := configWith(func(c *Config) { c.Alias = "" })
	setupZh := setup
	setupZh.Lang = Chinese
	attention := configWith(func(c *Config) { c.Problem = ProblemKeyringLocked })
	noKeyring := configWith(func(c *Config) { c.Problem = ProblemKeyringUnavailable })

	type view struct {
		Icon    IconKind
		Unread  int
		Tooltip string
		Status  string
		Details string
		CanOpen bool
		Open    string
		Pause   string
		Recent  []RecentItem
	}
	// keyring is what a keyring problem shows, in English or Chinese:
	// attention, no count, and nothing can be opened without the key.
	keyring := func(lang Lang, short, status, details string) view {
		v := view{
			Icon: IconAttention, Unread: -1, Tooltip: "bob@example.com — " + short, Status: status, Details: details,
			CanOpen: false, Open: "Open mailbox", Pause: "Pause notifications",
		}
		if lang == Chinese {
			v.Open, v.Pause = "打开邮箱", "暂停通知"
		}
		return v
	}
	// A locked keyring and plain offline are each expected twice.
	locked := keyring(English, "keyring locked", "Keyring locked — unlock it to connect",
		"The keyring is locked — unlock it; exmail-notifier connects by itself once it is unlocked")
	offline := view{
		Icon: IconOffline, Unread: -1, Tooltip: "bob@example.com — Offline — reconnecting",
		Status: "Offline — reconnecting", CanOpen: true, Open: "Open mailbox", Pause: "Pause notifications",
	}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
		end   time.Duration
		want  view
	}{
		{"online with a count", baseConfig(), []step{online(0), replyAt(time.Second, 3)}, time.Minute, view{
			Icon: IconOnline, Unread: 3, Tooltip: "bob@example.com — 3 unread", Status: "Online",
			CanOpen: true, Open: "Open mailbox", Pause: "Pause notifications",
		}},
		{"online with a count, Chinese", zh, []step{online(0), replyAt(time.Second, 3)}, time.Minute, view{
			Icon: IconOnline, Unread: 3, Tooltip: "bob@example.com — 3 封未读", Status: "在线",
			CanOpen: true, Open: "打开邮箱", Pause: "暂停通知",
		}},
		{"online, count not yet known", baseConfig(), []step{online(0)}, time.Minute, view{
			Icon: IconOnline, Unread: -1, Tooltip: "bob@example.com — Online", Status: "Online",
			CanOpen: true, Open: "Open mailbox", Pause: "Pause notifications",
		}},
		{"connecting", baseConfig(), nil, time.Second, view{
			Icon: IconConnecting, Unread: -1, Tooltip: "bob@example.com — Connecting…", Status: "Connecting…",
			CanOpen: true, Open: "Open mailbox", Pause: "Pause notifications",
		}},
		{"offline keeps the last count", baseConfig(),
			[]step{online(0), replyAt(time.Second, 0), retrying(time.Minute, nil)}, 2 * time.Minute, view{
				Icon: IconOffline, Unread: 0, Tooltip: "bob@example.com — Offline — reconnecting · 0 unread",
				Status: "Offline — reconnecting", CanOpen: true, Open: "Open mailbox", Pause: "Pause notifications",
			}},
		{"attention names the fix; nothing can be opened without the key", attention, nil, time.Second, locked},
		{"no keyring at all names a different fix", noKeyring, nil, time.Second,
			keyring(English, "no keyring", "Keyring not running",
				"No keyring (Secret Service) is running — install or start gnome-keyring or KWallet (exmail-notifier connects by itself once it runs), or set EXMAIL_SECRET and restart")},
		{"a locked keyring reported by the Source", baseConfig(),
			[]step{retrying(0, fmt.Errorf("waiting: %w", ErrKeyringLocked))}, time.Second, locked},
		{"no keyring reported by the Source, Chinese", zh,
			[]step{retrying(0, fmt.Errorf("waiting: %w", ErrKeyringUnavailable))}, time.Second, keyring(Chinese, "没有密钥环", "密钥环未运行",
				"没有运行密钥环服务（Secret Service）——请安装或启动 gnome-keyring 或 KWallet（服务出现后 exmail-notifier 会自动连接），或设置 EXMAIL_SECRET 后重新启动")},
		{"a locked keyring that cannot be watched says to restart", baseConfig(),
			[]step{retrying(0, fmt.Errorf("waiting: %w", ErrKeyringLockedRestart))}, time.Second, keyring(English, "keyring locked", "Keyring locked — unlock it, then restart",
				"The keyring is locked — unlock it, then restart exmail-notifier")},
		{"no keyring and none can be watched for says to restart, Chinese", zh,
			[]step{retrying(0, fmt.Errorf("waiting: %w", ErrKeyringUnavailableRestart))}, time.Second, keyring(Chinese, "没有密钥环", "密钥环未运行——运行后请重新启动",
				"没有运行密钥环服务（Secret Service）——请安装 gnome-keyring 或 KWallet，或设置 EXMAIL_SECRET，然后重新启动 exmail-notifier")},
		{"the restart wording is cleared like the other once the key is read", baseConfig(),
			[]step{retrying(0, ErrKeyringLockedRestart), retrying(time.Minute, nil)}, 2 * time.Minute, offline},
		{"coming online once the keyring is unlocked clears the problem", baseConfig(),
			[]step{retrying(0, ErrKeyringLocked), online(time.Minute), replyAt(time.Minute+time.Second, 4)}, 2 * time.Minute, view{
				Icon: IconOnline, Unread: 4, Tooltip: "bob@example.com — 4 unread", Status: "Online",
				CanOpen: true, Open: "Open mailbox", Pause: "Pause notifications",
			}},
		{"once the key is read, the connection's own state replaces the keyring problem", baseConfig(),
			[]step{retrying(0, ErrKeyringLocked), retrying(time.Minute, nil)}, 2 * time.Minute, offline},
		{"IP problem keeps the count", baseConfig(),
			[]step{online(0), replyAt(time.Second, 3), retrying(time.Minute, api.ErrIPNotAllowed)}, 2 * time.Minute, view{
				Icon: IconAttention, Unread: 3,
				Tooltip: "bob@example.com — IP address not on the allow list · 3 unread",
				Status:  "This computer's IP is not on the allow list",
				Details: "This computer's IP address is not on the allow list — add it in the exmail admin " +
					"console (工具箱 → 开放协议)",
				CanOpen: true, Open: "Open mailbox", Pause: "Pause notifications",
			}},
		{"bad credentials, Chinese", zh,
			[]step{at(0, api.StateChanged{State: api.StateAuthFailed, Err: api.ErrAuth})}, time.Second, view{
				Icon: IconAttention, Unread: -1,
				Tooltip: "bob@example.com — 凭据被拒绝——请运行：exmail-notifier login",
				Status:  "服务器拒绝了接口 key",
				Details: "管理员账号或接口 key 被拒绝——请运行：exmail-notifier login",
				CanOpen: true, Open: "打开邮箱", Pause: "暂停通知",
			}},
		{"setup", setup, nil, time.Hour, view{
			Icon: IconSetup, Unread: -1,
			Tooltip: "exmail-notifier — Not set up — run: exmail-notifier login",
			Status:  "Not set up — run: exmail-notifier login",
			Open:    "Not set up — run: exmail-notifier login", Pause: "Pause notifications",
		}},
		{"setup, Chinese", setupZh, nil, time.Hour, view{
			Icon: IconSetup, Unread: -1,
			Tooltip: "exmail-notifier — 尚未设置——请运行：exmail-notifier login",
			Status:  "尚未设置——请运行：exmail-notifier login",
			Open:    "尚未设置——请运行：exmail-notifier login", Pause: "暂停通知",
		}},
		{"paused until tomorrow", baseConfig(),
			[]step{online(0), replyAt(time.Second, 2), do(time.Minute, PauseUntilTomorrow{})}, 2 * time.Minute, view{
				Icon: IconOnline, Unread: 2,
				Tooltip: "bob@example.com — 2 unread · notifications paused until tomorrow 08:00",
				Status:  "Online", CanOpen: true, Open: "Open mailbox",
				Pause: "Notifications paused until tomorrow 08:00",
			}},
		{"paused for an hour, Chinese", zh,
			[]step{online(0), replyAt(time.Second, 2), do(time.Minute, Pause{For: time.Hour})}, 2 * time.Minute, view{
				Icon: IconOnline, Unread: 2,
				Tooltip: "bob@example.com — 2 封未读 · 通知已暂停至 11:01",
				Status:  "在线", CanOpen: true, Open: "打开邮箱", Pause: "通知已暂停至 11:01",
			}},
		{"recent mails, hostile text cleaned", baseConfig(), []step{
			online(0),
			at(time.Second, api.NewMail{User: me, MailID: "x", Unread: 1,
				Sender: "\"Mallory\u202E\r\n\" <m@example.com>", Subject: "Pay\r\nnow 💸"}),
		}, time.Minute, view{
			Icon: IconOnline, Unread: 1, Tooltip: "bob@example.com — 1 unread", Status: "Online",
			CanOpen: true, Open: "Open mailbox", Pause: "Pause notifications",
			Recent: []RecentItem{{Title: "Mallory — Pay now 💸", MailID: "x"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, s := drive(t, tt.cfg, tt.steps, tt.end)
			m := s.model(t0.Add(tt.end))
			got := view{m.Icon, m.Unread, m.Tooltip, m.Status, m.Details, m.CanOpen, m.Labels.Open, m.Labels.Pause, m.Recent}
			checkDiff(t, "model", tt.want, got)
		})
	}
}

func TestModelLabels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang Lang
		want Labels
	}{
		{English, Labels{
			Details: "Details…", Open: "Open mailbox", Pause: "Pause notifications", PauseHour: "For 1 hour",
			PauseTomorrow: "Until tomorrow", Resume: "Resume notifications",
			ShowContent: "Show message content in notifications", Autostart: "Start at login",
			Settings: "Settings…", About: "About exmail-notifier 1.2.3", Quit: "Quit",
		}},
		{Chinese, Labels{
			Details: "详情…", Open: "打开邮箱", Pause: "暂停通知", PauseHour: "暂停 1 小时", PauseTomorrow: "暂停至明天",
			Resume: "恢复通知", ShowContent: "在通知中显示邮件内容", Autostart: "登录时启动",
			Settings: "设置…", About: "关于 exmail-notifier 1.2.3", Quit: "退出",
		}},
	}
	for _, tt := range tests {
		cfg := configWith(func(c *Config) { c.Lang = tt.lang })
		m := newState(cfg, true, t0).model(t0)
		if diff := cmp.Diff(tt.want, m.Labels); diff != "" {
			t.Errorf("%s labels (-want +got):\n%s", tt.lang, diff)
		}
		if m.Version != "1.2.3" || !m.AutostartAvailable || !m.ShowContent {
			t.Errorf("%s: Version %q, AutostartAvailable %v, ShowContent %v", tt.lang, m.Version, m.AutostartAvailable, m.ShowContent)
		}
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	setup := configWith(func(c *Config) { c.Alias = "" })
	tests := []struct {
		name  string
		cfg   *Config
		steps []step
		want  []effect
	}{
		{"open the inbox", nil, []step{do(0, OpenMailbox{})}, []effect{openFx{}}},
		{"open one mail", nil, []step{do(0, OpenMail{MailID: "m1"})}, []effect{openFx{MailID: "m1"}}},
		{"open in the setup state explains", &setup, []step{do(0, OpenMailbox{})},
			[]effect{toastFx{Title: "exmail-notifier", Body: "Not set up — run: exmail-notifier login"}}},
		{"a failed open is one toast", nil, []step{resultAt(0, openResult{Err: errors.New("xdg-open: exit status 3")})},
			[]effect{toastFx{Title: "Could not open the mailbox", Body: "See the log for details."}}},
		{"a failed open names the allow list", nil, []step{resultAt(0, openResult{Err: fmt.Errorf("authkey: %w", api.ErrIPNotAllowed)})},
			[]effect{toastFx{Title: "Could not open the mailbox", Body: English.t().problemIP}}},
		{"a failed open names the credentials", nil, []step{resultAt(0, openResult{Err: api.ErrAuth})},
			[]effect{toastFx{Title: "Could not open the mailbox", Body: English.t().problemCredentials}}},
		{"hide content", nil, []step{do(0, SetShowContent{On: false})},
			[]effect{savePrefsFx{Prefs{ShowContent: false}}}},
		{"setting the same value saves nothing", nil, []step{do(0, SetShowContent{On: true})}, nil},
		{"pause for an hour, then resume", nil, []step{do(0, Pause{For: time.Hour}), do(time.Minute, Resume{})},
			[]effect{
				savePrefsFx{Prefs{ShowContent: true, PausedUntil: t0.Add(time.Hour)}},
				savePrefsFx{Prefs{ShowContent: true}},
			}},
		{"a pause that runs out is saved", nil, []step{do(0, Pause{For: time.Hour}), wait(2 * time.Hour)},
			[]effect{
				savePrefsFx{Prefs{ShowContent: true, PausedUntil: t0.Add(time.Hour)}},
				savePrefsFx{Prefs{ShowContent: true}},
			}},
		{"resume when not paused does nothing", nil, []step{do(0, Resume{})}, nil},
		{"a pause of zero does nothing", nil, []step{do(0, Pause{})}, nil},
		{"autostart without a backend does nothing", nil, []step{do(0, SetAutostart{On: true})}, nil},
		{"about names the program, its version and its licence", nil, []step{do(0, About{})},
			[]effect{toastFx{Title: "exmail-notifier 1.2.3", Body: "New-mail notifier for Tencent Enterprise Mail. Licensed under the Apache License 2.0."}}},
		{"about on a computer that holds the admin key says what the key can do", &Config{Alias: me, Version: "1.2.3", HoldsAdminKey: true},
			[]step{do(0, About{})},
			[]effect{toastFx{Title: "exmail-notifier 1.2.3", Body: "New-mail notifier for Tencent Enterprise Mail. Licensed under the Apache License 2.0.\n" +
				"This computer holds the company's mail administrator key, which opens every mailbox. Ask IT for a company relay link instead."}}},
		{"quit", nil, []step{do(0, Quit{})}, []effect{quitFx{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := configOr(tt.cfg)
			got, _ := drive(t, cfg, tt.steps, 3*time.Hour)
			checkDiff(t, "effects", tt.want, got)
		})
	}
}

// TestSettingsPage: with a settings page (Deps.Settings), the setup state
// points at it and a click on the icon opens it; the page's preferences
// apply at once and are saved, keeping a pause in effect.
func TestSettingsPage(t *testing.T) {
	t.Parallel()
	withPage := func(cfg Config) *state {
		s := newState(cfg, false, t0)
		s.settingsAvail = true
		return s
	}
	t.Run("the setup state opens the page on a click", func(t *testing.T) {
		s := withPage(configWith(func(c *Config) { c.Alias = "" }))
		checkDiff(t, "OpenMailbox effects", []effect{settingsFx{}}, s.handle(OpenMailbox{}, t0))
		m := s.model(t0)
		if m.Labels.Open != "Not set up — click to set up" || m.Labels.Settings != "Set up…" || !m.SettingsAvailable {
			t.Errorf("setup labels: Open %q, Settings %q, available %v", m.Labels.Open, m.Labels.Settings, m.SettingsAvailable)
		}
	})
	t.Run("the setup state in Chinese", func(t *testing.T) {
		s := withPage(configWith(func(c *Config) { c.Alias, c.Lang = "", Chinese }))
		if m := s.model(t0); m.Labels.Open != "尚未设置——点击进行设置" || m.Labels.Settings != "设置…" || m.Status != "" {
			t.Errorf("zh setup: Open %q, Settings %q, Status %q (want none: the Open item says it)", m.Labels.Open, m.Labels.Settings, m.Status)
		}
	})
	t.Run("the menu item opens it when set up", func(t *testing.T) {
		s := withPage(baseConfig())
		checkDiff(t, "OpenSettings effects", []effect{settingsFx{}}, s.handle(OpenSettings{}, t0))
		checkDiff(t, "OpenMailbox effects", []effect{openFx{}}, s.handle(OpenMailbox{}, t0))
	})
	t.Run("without a page the item does nothing", func(t *testing.T) {
		s := newState(baseConfig(), false, t0)
		if fx := s.handle(OpenSettings{}, t0); fx != nil {
			t.Errorf("OpenSettings without a page: %v", fx)
		}
	})
	t.Run("a page that cannot open says so", func(t *testing.T) {
		s := withPage(baseConfig())
		checkDiff(t, "failure", []effect{toastFx{Title: "Could not open the settings page",
			Body: "No browser could be started. Run “exmail-notifier settings --print-url” and open the link in a browser on this computer."}},
			s.settingsOpened(settingsResult{Err: errors.New("no browser")}))
		if fx := s.settingsOpened(settingsResult{}); fx != nil {
			t.Errorf("success toasts %v", fx)
		}
	})
	t.Run("preferences apply at once and keep a pause", func(t *testing.T) {
		s := withPage(baseConfig())
		s.handle(Pause{For: time.Hour}, t0)
		quiet := QuietHours{On: true, From: 20 * 60, To: 8 * 60}
		want := Prefs{ShowContent: false, PausedUntil: t0.Add(time.Hour), Quiet: quiet, Sound: true}
		checkDiff(t, "ApplyPrefs effects", []effect{savePrefsFx{want}},
			s.handle(ApplyPrefs{ShowContent: false, Quiet: quiet, Sound: true}, t0))
		if m := s.model(t0); m.ShowContent {
			t.Error("the menu still shows content on")
		}
		if fx := s.handle(ApplyPrefs{ShowContent: false, Quiet: quiet, Sound: true}, t0); fx != nil {
			t.Errorf("the same preferences again: %v", fx)
		}
	})
}

func TestAutostart(t *testing.T) {
	t.Parallel()
	s := newState(baseConfig(), true, t0)
	checkDiff(t, "SetAutostart effects", []effect{autostartFx{On: true}}, s.handle(SetAutostart{On: true}, t0))
	if fx := s.autostartDone(autostartResult{On: true}); fx != nil || !s.model(t0).Autostart {
		t.Errorf("after success: effects %v, Autostart %v; want none, true", fx, s.model(t0).Autostart)
	}
	fx := s.autostartDone(autostartResult{On: false, Err: errors.New("read-only home")})
	checkDiff(t, "failure effects", []effect{toastFx{Title: "Could not change “Start at login”", Body: "See the log for details."}}, fx)
	if !s.model(t0).Autostart {
		t.Error("a failed change must keep the old state")
	}
	if fx := s.autostartDone(autostartResult{Query: true, Err: errors.New("no such file")}); fx != nil {
		t.Errorf("a failed start-up query toasts %v", fx)
	}
	if fx := s.handle(AutostartChanged{On: false}, t0); fx != nil || s.model(t0).Autostart {
		t.Errorf("a change made on the settings page: effects %v (want none: it is written there), Autostart %v", fx, s.model(t0).Autostart)
	}
}

func TestPausedAtStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		until time.Time
		want  bool
	}{
		{"a saved pause still running", t0.Add(time.Hour), true},
		{"a saved pause that ran out", t0.Add(-time.Hour), false},
		{"not paused", time.Time{}, false},
	}
	for _, tt := range tests {
		cfg := configWith(func(c *Config) { c.Prefs.PausedUntil = tt.until })
		m := newState(cfg, false, t0).model(t0)
		if m.Paused != tt.want {
			t.Errorf("%s: Paused = %v, want %v", tt.name, m.Paused, tt.want)
		}
	}
}

func TestTomorrowMorning(t *testing.T) {
	t.Parallel()
	day := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, zone) }
	tests := []struct {
		now, want time.Time
	}{
		{day(26, 10, 0), day(27, 8, 0)},
		{day(26, 23, 59), day(27, 8, 0)},
		{day(27, 0, 30), day(27, 8, 0)}, // after midnight "tomorrow" is this morning
		{day(27, 3, 59), day(27, 8, 0)},
		{day(27, 4, 0), day(28, 8, 0)},
		{day(27, 7, 0), day(28, 8, 0)},
		{time.Date(2026, 12, 31, 18, 0, 0, 0, zone), time.Date(2027, 1, 1, 8, 0, 0, 0, zone)},
	}
	for _, tt := range tests {
		if got := tomorrowMorning(tt.now); !got.Equal(tt.want) {
			t.Errorf("tomorrowMorning(%v) = %v, want %v", tt.now, got, tt.want)
		}
	}
}

// Remembered mail ids are bounded: the oldest is forgotten first.
func TestSeenSetBounded(t *testing.T) {
	t.Parallel()
	s := newSeenSet(3)
	for _, id := range []string{"a", "b", "c", "d"} {
		if !s.add(id) {
			t.Errorf("add(%q) = false for a new id", id)
		}
	}
	if len(s.ids) != 3 {
		t.Errorf("remembers %d ids, want 3", len(s.ids))
	}
	if s.add("c") || s.add("d") {
		t.Error("recent ids were forgotten")
	}
	if !s.add("a") {
		t.Error("the oldest id is still remembered")
	}
}

// A mail id too long to be real is not used as a key.
func TestHugeMailID(t *testing.T) {
	t.Parallel()
	huge := string(make([]byte, 1<<20))
	fx, s := drive(t, baseConfig(), []step{at(0, mailFor(huge, me, 1))}, time.Minute)
	if len(toasts(fx)) != 1 || toasts(fx)[0].Key != "" || s.recent[0].MailID != "" {
		t.Errorf("toasts %d, recent %d; want one toast and one item without the id", len(toasts(fx)), len(s.recent))
	}
	if len(s.seen.ids) != 0 {
		t.Errorf("the huge id was remembered")
	}
}

// However mail arrives, no burst window shows more than BurstMax toasts,
// and a burst of more than BurstMax mails is its first mail (at once) and
// one summary of the rest: never a stack of toasts.
func TestBurstNeverStacks(t *testing.T) {
	t.Parallel()
	window := DefaultBurstWindow
	mails := func(n int, every time.Duration) []step {
		var steps []step
		for i := range n {
			steps = append(steps, at(time.Duration(i)*every, mailFor(fmt.Sprint("m", i), me, i+1)))
		}
		return steps
	}
	tests := []struct {
		name   string
		steps  []step
		toasts int // how many toasts in all
	}{
		{"4 mails at the same instant", mails(4, 0), 2},
		{"50 mails at the same instant", mails(50, 0), 2},
		{"50 mails 10 ms apart", mails(50, 10*time.Millisecond), 2},
		{"3 mails 900 ms apart: each its own toast", mails(3, 900*time.Millisecond), 3},
		{"a storm: 100 mails 300 ms apart", mails(100, 300*time.Millisecond), 0},
		{"a storm at the window's own pace", mails(40, window), 40},
		{"mails just over the window apart each toast at once", mails(20, window+time.Millisecond), 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx, _ := driveTimed(t, baseConfig(), tt.steps, time.Hour)
			var at []time.Duration
			for _, f := range fx {
				if _, ok := f.fx.(toastFx); ok {
					at = append(at, f.at)
				}
			}
			if tt.toasts > 0 && len(at) != tt.toasts {
				t.Errorf("%d toasts, want %d", len(at), tt.toasts)
			}
			for i := range at {
				in := 0
				for _, b := range at[i:] {
					if b-at[i] < window {
						in++
					}
				}
				if in > DefaultBurstMax {
					t.Fatalf("%d toasts within %v from %v: a stack (all at %v)", in, window, at[i], at)
				}
			}
		})
	}
}

// A mail that arrives in a quiet spell is shown by the step that
// delivers it, not by a later tick: it never waits for a timer.
func TestQuietMailNeedsNoTimer(t *testing.T) {
	t.Parallel()
	s := newState(baseConfig(), false, t0)
	s.apply(api.StateChanged{State: api.StateOnline}, t0)
	for i, gap := range []time.Duration{0, 10 * time.Second, DefaultBurstWindow, time.Hour} {
		now := t0.Add(time.Duration(i) * time.Hour).Add(gap)
		s.tick(now) // the loop's timer: whatever came due
		id := fmt.Sprint("q", i)
		if diff := cmp.Diff([]effect{mailToast(id)}, s.apply(mailFor(id, me, i+1), now)); diff != "" {
			t.Errorf("mail %s, %v after the last: effects (-want +got):\n%s", id, gap, diff)
		}
	}
}

func TestDetails(t *testing.T) {
	t.Parallel()
	keyring := configWith(func(c *Config) { c.Problem = ProblemKeyringUnavailable })
	keyringZh := keyring
	keyringZh.Lang = Chinese
	setup := configWith(func(c *Config) { c.Alias = "" })
	tests := []struct {
		name  string
		cfg   Config
		steps []step
		want  []toastFx
	}{
		{"a problem: the short line as title, the whole text and fix as body", keyring, []step{do(0, Details{})},
			[]toastFx{{Title: "Keyring not running", Body: English.t().problemNoKeyring}}},
		{"the same in Chinese", keyringZh, []step{do(0, Details{})},
			[]toastFx{{Title: "密钥环未运行", Body: Chinese.t().problemNoKeyring}}},
		{"a problem the connection reported", baseConfig(),
			[]step{retrying(0, api.ErrIPNotAllowed), do(time.Second, Details{})},
			[]toastFx{{Title: "This computer's IP is not on the allow list", Body: English.t().problemIP}}},
		{"nothing to explain while all is well", baseConfig(), []step{online(0), do(time.Second, Details{})}, nil},
		{"nor in the setup state, whose line says it all", setup, []step{do(0, Details{})}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx, _ := drive(t, tt.cfg, tt.steps, time.Minute)
			checkDiff(t, "toasts", tt.want, toasts(fx))
		})
	}
}

// A backend that gives counts only (Tencent's current API without the
// relay) has no new-mail event: a rising count is the news, told as one
// summary that says why it has no sender or subject.
func TestCountsOnly(t *testing.T) {
	t.Parallel()
	countsOnly := configWith(func(c *Config) { c.CountsOnly = true })
	unread := func(d time.Duration, n int) step { return at(d, api.UnreadChanged{User: me, Unread: n}) }
	summary := func(n string) toastFx {
		return toastFx{Title: n + " new mails", Body: me + "\nSender and subject are not available with this connection; open the mailbox to read them."}
	}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
		want  []effect
	}{
		{"the first count is no news", countsOnly,
			[]step{online(0), replyAt(0, 3), unread(time.Minute, 3)},
			[]effect{fetchCountFx{Seq: 0}}},
		{"a rise is one summary of the difference", countsOnly,
			[]step{online(0), unread(time.Second, 3), unread(time.Minute, 5)},
			[]effect{fetchCountFx{Seq: 0}, summary("2")}},
		{"a fall is no news", countsOnly,
			[]step{online(0), unread(time.Second, 5), unread(time.Minute, 1)},
			[]effect{fetchCountFx{Seq: 0}}},
		{"paused: the badge counts, nothing is shown", Config{Alias: me, Version: "1.2.3", Lang: English, CountsOnly: true, Prefs: Prefs{ShowContent: true, PausedUntil: t0.Add(2 * time.Hour)}},
			[]step{online(0), unread(time.Second, 3), unread(time.Minute, 5)},
			[]effect{fetchCountFx{Seq: 0}}},
		{"with a listen connection a count change is no toast: new_mail is", baseConfig(),
			[]step{online(0), unread(time.Second, 3), unread(time.Minute, 5)},
			[]effect{fetchCountFx{Seq: 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := drive(t, tt.cfg, tt.steps, time.Hour)
			checkDiff(t, "effects", tt.want, got)
		})
	}
}

// A rejected credential names the fix of the mode the computer is in: a
// relay desktop is sent to IT for a new link, never to the admin key.
func TestRejectedCredentialsNameTheFixOfTheMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode         Mode
		status, text string
	}{
		{ModeDirect, "Key rejected by the server", "The admin account or interface key was rejected — run: exmail-notifier login"},
		{ModeRelay, "Relay access revoked or expired", "The company relay no longer accepts this computer (its access was revoked or has expired) — ask IT for a new enrollment link"},
		{ModeCorp, "Secret rejected by the server", "The corpid or an application secret was rejected — run: exmail-notifier login --corp"},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			t.Parallel()
			cfg := configWith(func(c *Config) { c.Mode = tt.mode })
			_, s := drive(t, cfg, []step{at(0, api.StateChanged{State: api.StateAuthFailed, Err: api.ErrAuth})}, time.Minute)
			m := s.model(t0.Add(time.Minute))
			if m.Status != tt.status || m.Details != tt.text || m.Icon != IconAttention {
				t.Errorf("status %q, details %q, icon %v; want %q, %q, attention", m.Status, m.Details, m.Icon, tt.status, tt.text)
			}
			if tt.mode == ModeRelay && strings.Contains(m.Tooltip+m.Details+m.Status, "login") {
				t.Errorf("a relay desktop is told to log in: %q / %q", m.Tooltip, m.Details)
			}
		})
	}
}
