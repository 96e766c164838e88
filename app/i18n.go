package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// Lang is the language of every text the notifier shows.
type Lang string

const (
	English Lang = "en"
	Chinese Lang = "zh" // Simplified Chinese
)

// ParseLang reads a language setting from the config or a locale string:
// "zh", "zh_CN.UTF-8", "zh-Hans" → Chinese; "en", "en_US" → English. It
// reports false for anything else, including "" and "auto", which mean
// "detect from the system".
func ParseLang(s string) (Lang, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "zh" || strings.HasPrefix(s, "zh_") || strings.HasPrefix(s, "zh-") || strings.HasPrefix(s, "zh."):
		return Chinese, true
	case s == "en" || strings.HasPrefix(s, "en_") || strings.HasPrefix(s, "en-") || strings.HasPrefix(s, "en."):
		return English, true
	}
	return "", false
}

// DetectLang picks the language from the POSIX locale variables, read
// through getenv (os.Getenv in production):
//
//   - the locale is the first non-empty of LC_ALL, LC_MESSAGES and LANG;
//   - unless that locale is "C" or "POSIX", LANGUAGE (a colon-separated
//     priority list, a GNU extension) is consulted first, and its first zh*
//     or en* entry wins;
//   - a zh* locale means Chinese, any other locale English;
//   - with no locale at all, or "C"/"POSIX", fallback is returned (as in
//     gettext, LANGUAGE is then ignored).
//
// Windows and macOS do not set these variables for GUI programs. Their
// platform lookups (GetUserDefaultLocaleName, AppleLanguages) belong in an
// adapter outside app, which passes its answer as fallback.
func DetectLang(getenv func(string) string, fallback Lang) Lang {
	locale := ""
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			locale = v
			break
		}
	}
	if locale == "" || isCLocale(locale) {
		return fallback
	}
	for _, v := range strings.Split(getenv("LANGUAGE"), ":") {
		if l, ok := ParseLang(v); ok {
			return l
		}
	}
	if l, ok := ParseLang(locale); ok {
		return l
	}
	return English
}

func isCLocale(s string) bool {
	base, _, _ := strings.Cut(s, ".")
	return base == "C" || base == "POSIX"
}

// texts is one language's catalog. Fields with verbs are fmt formats.
type texts struct {
	open           string
	setupHint      string
	setupPage      string // the setup state's hint when the settings page exists
	setUp          string // menu: open the settings page in the setup state
	settings       string // menu: open the settings page
	settingsFailed string // toast title: the page could not be opened
	settingsByHand string // its body: how to open it anyway
	pause          string
	pausedUntil    string // %s: time
	pauseHour      string
	pauseTmrw      string
	resume         string
	showContent    string
	autostart      string
	about          string // %s: version
	quit           string

	connecting string
	online     string
	offline    string

	problemCredentials      string
	problemRelay            string
	problemCorp             string
	problemIP               string
	problemKeyring          string
	problemNoKeyring        string
	problemKeyringRestart   string // as problemKeyring when nothing notices the unlock
	problemNoKeyringRestart string
	problemStopped          string
	statusCredentials       string // the same problems as one short menu line (≤ menuColumns)
	statusRelay             string
	statusCorp              string
	statusIP                string
	statusKeyring           string
	statusNoKeyring         string
	statusKeyringRestart    string
	statusNoKeyringRestart  string
	statusStopped           string
	details                 string // the menu item that shows the full text and fix
	shortCredentials        string // the same problems in a few words, for the tooltip
	shortRelay              string
	shortCorp               string
	shortIP                 string
	shortKeyring            string
	shortNoKeyring          string
	shortStopped            string

	unread string // %d
	paused string // %s: time

	newMail     string
	newMails    string // %d
	newMailOne  string
	moreMails   string // %d: mails held back in a burst, after the first was shown
	moreMailOne string
	noSubject   string
	noSender    string
	openFailed  string
	seeLog      string
	autoFailed  string
	aboutTitle  string // %s: version
	aboutBody   string
	aboutKey    string // appended to aboutBody when this computer holds the admin key
	countsOnly  string // under a summary toast when the backend gives counts only
	tomorrow    string // %s: clock
	dateAndTime string // time layout for a later day
}

var catalog = map[Lang]*texts{
	English: {
		open:           "Open mailbox",
		setupHint:      "Not set up — run: exmail-notifier login",
		setupPage:      "Not set up — click to set up",
		setUp:          "Set up…",
		settings:       "Settings…",
		settingsFailed: "Could not open the settings page",
		settingsByHand: "No browser could be started. Run “exmail-notifier settings --print-url” and open the link in a browser on this computer.",
		pause:          "Pause notifications",
		pausedUntil:    "Notifications paused until %s",
		pauseHour:      "For 1 hour",
		pauseTmrw:      "Until tomorrow",
		resume:         "Resume notifications",
		showContent:    "Show message content in notifications",
		autostart:      "Start at login",
		about:          "About exmail-notifier %s",
		quit:           "Quit",

		connecting: "Connecting…",
		online:     "Online",
		offline:    "Offline — reconnecting",

		problemCredentials: "The admin account or interface key was rejected — run: exmail-notifier login",
		problemRelay:       "The company relay no longer accepts this computer (its access was revoked or has expired) — ask IT for a new enrollment link",
		problemCorp:        "The corpid or an application secret was rejected — run: exmail-notifier login --corp",
		problemIP: "This computer's IP address is not on the allow list — add it in the exmail admin " +
			"console (工具箱 → 开放协议)",
		problemKeyring:          "The keyring is locked — unlock it; exmail-notifier connects by itself once it is unlocked",
		problemNoKeyring:        "No keyring (Secret Service) is running — install or start gnome-keyring or KWallet (exmail-notifier connects by itself once it runs), or set EXMAIL_SECRET and restart",
		problemKeyringRestart:   "The keyring is locked — unlock it, then restart exmail-notifier",
		problemNoKeyringRestart: "No keyring (Secret Service) is running — install gnome-keyring or KWallet, or set EXMAIL_SECRET, then restart exmail-notifier",
		problemStopped:          "The connection stopped — see the log, then restart exmail-notifier",
		statusCredentials:       "Key rejected by the server",
		statusRelay:             "Relay access revoked or expired",
		statusCorp:              "Secret rejected by the server",
		statusIP:                "This computer's IP is not on the allow list",
		statusKeyring:           "Keyring locked — unlock it to connect",
		statusNoKeyring:         "Keyring not running",
		statusKeyringRestart:    "Keyring locked — unlock it, then restart",
		statusNoKeyringRestart:  "Keyring not running — restart once it runs",
		statusStopped:           "Connection stopped — restart exmail-notifier",
		details:                 "Details…",
		shortCredentials:        "credentials rejected — run: exmail-notifier login",
		shortRelay:              "relay access revoked — ask IT for a new link",
		shortCorp:               "credentials rejected — run: exmail-notifier login --corp",
		shortIP:                 "IP address not on the allow list",
		shortKeyring:            "keyring locked",
		shortNoKeyring:          "no keyring",
		shortStopped:            "connection stopped",

		unread: "%d unread",
		paused: "notifications paused until %s",

		newMail:     "New mail",
		newMails:    "%d new mails",
		newMailOne:  "1 new mail",
		moreMails:   "%d more new mails",
		moreMailOne: "1 more new mail",
		noSubject:   "(no subject)",
		noSender:    "(unknown sender)",
		openFailed:  "Could not open the mailbox",
		seeLog:      "See the log for details.",
		autoFailed:  "Could not change “Start at login”",
		aboutTitle:  "exmail-notifier %s",
		aboutBody:   "New-mail notifier for Tencent Enterprise Mail. Licensed under the Apache License 2.0.",
		aboutKey:    "This computer holds the company's mail administrator key, which opens every mailbox. Ask IT for a company relay link instead.",
		countsOnly:  "Sender and subject are not available with this connection; open the mailbox to read them.",
		tomorrow:    "tomorrow %s",
		dateAndTime: "Jan 2 15:04",
	},
	Chinese: {
		open:           "打开邮箱",
		setupHint:      "尚未设置——请运行：exmail-notifier login",
		setupPage:      "尚未设置——点击进行设置",
		setUp:          "设置…",
		settings:       "设置…",
		settingsFailed: "无法打开设置页面",
		settingsByHand: "无法启动浏览器。请运行“exmail-notifier settings --print-url”，并在本机的浏览器中打开该链接。",
		pause:          "暂停通知",
		pausedUntil:    "通知已暂停至 %s",
		pauseHour:      "暂停 1 小时",
		pauseTmrw:      "暂停至明天",
		resume:         "恢复通知",
		showContent:    "在通知中显示邮件内容",
		autostart:      "登录时启动",
		about:          "关于 exmail-notifier %s",
		quit:           "退出",

		connecting: "正在连接…",
		online:     "在线",
		offline:    "离线——正在重新连接",

		problemCredentials:      "管理员账号或接口 key 被拒绝——请运行：exmail-notifier login",
		problemRelay:            "公司中继不再接受本机（访问已被撤销或已过期）——请向 IT 索取新的登记链接",
		problemCorp:             "corpid 或应用 secret 被拒绝——请运行：exmail-notifier login --corp",
		problemIP:               "本机的公网 IP 不在白名单中——请在企业邮箱管理后台（工具箱 → 开放协议）中添加",
		problemKeyring:          "密钥环已锁定——请解锁；解锁后 exmail-notifier 会自动连接",
		problemNoKeyring:        "没有运行密钥环服务（Secret Service）——请安装或启动 gnome-keyring 或 KWallet（服务出现后 exmail-notifier 会自动连接），或设置 EXMAIL_SECRET 后重新启动",
		problemKeyringRestart:   "密钥环已锁定——请解锁后重新启动 exmail-notifier",
		problemNoKeyringRestart: "没有运行密钥环服务（Secret Service）——请安装 gnome-keyring 或 KWallet，或设置 EXMAIL_SECRET，然后重新启动 exmail-notifier",
		problemStopped:          "连接已停止——请查看日志后重新启动 exmail-notifier",
		statusCredentials:       "服务器拒绝了接口 key",
		statusRelay:             "中继访问已撤销或过期",
		statusCorp:              "服务器拒绝了应用 secret",
		statusIP:                "本机 IP 不在白名单中",
		statusKeyring:           "密钥环已锁定——解锁后自动连接",
		statusNoKeyring:         "密钥环未运行",
		statusKeyringRestart:    "密钥环已锁定——解锁后请重新启动",
		statusNoKeyringRestart:  "密钥环未运行——运行后请重新启动",
		statusStopped:           "连接已停止——请重新启动 exmail-notifier",
		details:                 "详情…",
		shortCredentials:        "凭据被拒绝——请运行：exmail-notifier login",
		shortRelay:              "中继访问已撤销——请向 IT 索取新链接",
		shortCorp:               "凭据被拒绝——请运行：exmail-notifier login --corp",
		shortIP:                 "IP 不在白名单中",
		shortKeyring:            "密钥环已锁定",
		shortNoKeyring:          "没有密钥环",
		shortStopped:            "连接已停止",

		unread: "%d 封未读",
		paused: "通知已暂停至 %s",

		newMail:     "新邮件",
		newMails:    "%d 封新邮件",
		newMailOne:  "1 封新邮件",
		moreMails:   "另有 %d 封新邮件",
		moreMailOne: "另有 1 封新邮件",
		noSubject:   "（无主题）",
		noSender:    "（未知发件人）",
		openFailed:  "无法打开邮箱",
		seeLog:      "详情请查看日志。",
		autoFailed:  "无法更改“登录时启动”",
		aboutTitle:  "exmail-notifier %s",
		aboutBody:   "腾讯企业邮箱新邮件提醒。采用 Apache License 2.0 许可。",
		aboutKey:    "本机保存着公司邮箱的管理员 key，可打开所有邮箱。请向 IT 索取公司中继登记链接。",
		countsOnly:  "此连接方式不提供发件人和主题，请打开邮箱查看。",
		tomorrow:    "明天 %s",
		dateAndTime: "1月2日 15:04",
	},
}

// t returns the catalog of l; unknown languages get English.
func (l Lang) t() *texts {
	if c, ok := catalog[l]; ok {
		return c
	}
	return catalog[English]
}

// newMailsTitle is "N new mails" (n ≥ 1).
func (l Lang) newMailsTitle(n int) string {
	if n == 1 {
		return l.t().newMailOne
	}
	return fmt.Sprintf(l.t().newMails, n)
}

// moreMailsTitle is "N more new mails" (n ≥ 1): the mails of a burst
// held back after its first was shown.
func (l Lang) moreMailsTitle(n int) string {
	if n == 1 {
		return l.t().moreMailOne
	}
	return fmt.Sprintf(l.t().moreMails, n)
}

// problemWords is what one Problem says in a language: status, one short
// menu line; text, the whole explanation and fix (the Details… item shows
// it); short, a few words for the tooltip.
type problemWords struct{ status, text, short string }

// problemTable is the one table of what each Problem says, as it picks
// the three texts out of a catalog; a Problem not in it says nothing.
var problemTable = map[Problem]func(c *texts) problemWords{
	ProblemCredentials: func(c *texts) problemWords {
		return problemWords{c.statusCredentials, c.problemCredentials, c.shortCredentials}
	},
	ProblemRelayAccess:     func(c *texts) problemWords { return problemWords{c.statusRelay, c.problemRelay, c.shortRelay} },
	ProblemCorpCredentials: func(c *texts) problemWords { return problemWords{c.statusCorp, c.problemCorp, c.shortCorp} },
	ProblemIPNotAllowed:    func(c *texts) problemWords { return problemWords{c.statusIP, c.problemIP, c.shortIP} },
	ProblemKeyringLocked: func(c *texts) problemWords {
		return problemWords{c.statusKeyring, c.problemKeyring, c.shortKeyring}
	},
	ProblemKeyringUnavailable: func(c *texts) problemWords {
		return problemWords{c.statusNoKeyring, c.problemNoKeyring, c.shortNoKeyring}
	},
	ProblemKeyringLockedRestart: func(c *texts) problemWords {
		return problemWords{c.statusKeyringRestart, c.problemKeyringRestart, c.shortKeyring}
	},
	ProblemKeyringUnavailableRestart: func(c *texts) problemWords {
		return problemWords{c.statusNoKeyringRestart, c.problemNoKeyringRestart, c.shortNoKeyring}
	},
	ProblemStopped: func(c *texts) problemWords { return problemWords{c.statusStopped, c.problemStopped, c.shortStopped} },
}

func (l Lang) problemWords(p Problem) problemWords {
	if words, ok := problemTable[p]; ok {
		return words(l.t())
	}
	return problemWords{}
}

// problemStatus names a problem in one short menu line.
func (l Lang) problemStatus(p Problem) string { return l.problemWords(p).status }

// problemText names a problem and its fix.
func (l Lang) problemText(p Problem) string { return l.problemWords(p).text }

// problemShort names a problem in a few words (for the tooltip).
func (l Lang) problemShort(p Problem) string { return l.problemWords(p).short }

// when formats a moment relative to now: "15:04" today, "tomorrow 08:00"
// the next day, a date and time otherwise. It uses t's location.
func (l Lang) when(t, now time.Time) string {
	now = now.In(t.Location())
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	switch {
	case ty == ny && tm == nm && td == nd:
		return t.Format("15:04")
	case time.Date(ny, nm, nd+1, 0, 0, 0, 0, t.Location()).Equal(time.Date(ty, tm, td, 0, 0, 0, 0, t.Location())):
		return fmt.Sprintf(l.t().tomorrow, t.Format("15:04"))
	}
	return t.Format(l.t().dateAndTime)
}

// Widths, in display columns (safetext.Width: CJK counts two), of what
// the tray shows.
const (
	menuColumns    = 60  // one menu line
	tooltipColumns = 120 // the tooltip: a line or two
	senderColumns  = 24  // the sender part of a recent-mail line
)

// menuLine is a recent-mail menu item, "sender — subject", cleaned and
// ellipsized by display width to one menu line: the sender takes at most
// senderColumns, the subject the rest.
func menuLine(m api.NewMail, l Lang) string {
	from := safetext.Fit(senderLabel(m.Sender, maxSender), senderColumns)
	if from == "" {
		from = l.t().noSender
	}
	const sep = " — "
	subj := safetext.Fit(sanitize(m.Subject, menuColumns), menuColumns-safetext.Width(from)-safetext.Width(sep))
	if subj == "" {
		subj = l.t().noSubject
	}
	return from + sep + subj
}
