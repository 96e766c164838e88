package corptest

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// chinaTime is UTC+8: mail/newcount's dates are days in China.
var chinaTime = time.FixedZone("CST", 8*3600)

// Deliver puts m into userid's mailbox and, when a callback URL is set,
// POSTs the encrypted Mail callback (with the next queued Fault, if any)
// and waits for the answer. It returns the mail's id; the error reports an
// unknown user, or a callback the receiver did not acknowledge with HTTP
// 200 (a *CallbackError).
func (s *Server) Deliver(ctx context.Context, userid string, m Mail) (string, error) {
	userid = strings.ToLower(strings.TrimSpace(userid))
	s.mu.Lock()
	a := s.ent.accounts[userid]
	if a == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("corptest: deliver to %q: %w", userid, ErrUnknown)
	}
	if m.ID == "" {
		s.ent.mailSeq++
		m.ID = fmt.Sprintf("CT%05d%s", s.ent.mailSeq, randomString(9))
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	m.Read = false
	stored := m
	a.mails = append(a.mails, &stored)
	if n := len(a.mails) - maxMails; n > 0 {
		a.mails = slices.Delete(a.mails, 0, n)
	}
	count := a.unread()
	s.mu.Unlock()
	return m.ID, s.sendMail(ctx, userid, m, count)
}

// Unread returns userid's unread count (-1 for an unknown user).
func (s *Server) Unread(userid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ent.accounts[strings.ToLower(userid)]
	if a == nil {
		return -1
	}
	return a.unread()
}

// MarkRead marks every mail of userid read and, when a callback URL is
// set and the count changed, sends the UnRead callback.
func (s *Server) MarkRead(ctx context.Context, userid string) error {
	changed, count, err := s.markRead(userid)
	if err != nil || !changed {
		return err
	}
	return s.sendUnread(ctx, strings.ToLower(userid), count)
}

func (s *Server) markRead(userid string) (changed bool, count int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ent.accounts[strings.ToLower(strings.TrimSpace(userid))]
	if a == nil {
		return false, 0, fmt.Errorf("corptest: mark read %q: %w", userid, ErrUnknown)
	}
	for _, m := range a.mails {
		if !m.Read {
			m.Read, changed = true, true
		}
	}
	return changed, 0, nil
}

// PushUnread sends the UnRead callback with userid's current count.
func (s *Server) PushUnread(ctx context.Context, userid string) error {
	n := s.Unread(userid)
	if n < 0 {
		return fmt.Errorf("corptest: push unread %q: %w", userid, ErrUnknown)
	}
	return s.sendUnread(ctx, strings.ToLower(userid), n)
}

// handleNewCount serves mail/newcount: GET ?userid=[&begin_date=&end_date=]
// or POST with the JSON body {"userid","type","begin_date","end_date"}
// (protocol.md §5; the official page shows both). With dates, only mails
// that arrived on those days (China time, inclusive) are counted.
func (s *Server) handleNewCount(w http.ResponseWriter, r *http.Request, p params) {
	id := strings.ToLower(p.get("userid"))
	if id == "" {
		writeError(w, CodeInvalidParameter, "userid missing")
		return
	}
	var from, to time.Time
	if p.has("begin_date") || p.has("end_date") || s.opts.NewCountRequiresDates {
		var err1, err2 error
		from, err1 = time.ParseInLocation(time.DateOnly, p.get("begin_date"), chinaTime)
		to, err2 = time.ParseInLocation(time.DateOnly, p.get("end_date"), chinaTime)
		if err1 != nil || err2 != nil || to.Before(from) {
			writeError(w, CodeInvalidParameter, "invalid begin_date or end_date")
			return
		}
		to = to.AddDate(0, 0, 1)
	}
	s.mu.Lock()
	a := s.ent.accounts[id]
	n := 0
	if a != nil {
		for _, m := range a.mails {
			if !m.Read && (from.IsZero() || (!m.Time.Before(from) && m.Time.Before(to))) {
				n++
			}
		}
	}
	s.mu.Unlock()
	if a == nil {
		writeError(w, CodeUserNotFound, "userid not found")
		return
	}
	var count any = n
	if s.opts.CountAsString {
		count = strconv.Itoa(n)
	}
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "count": count})
}

// handleLoginURL serves service/get_login_url?userid= (protocol.md §5): a
// one-time URL to the fake's webmail page, valid for LoginLifetime.
func (s *Server) handleLoginURL(w http.ResponseWriter, r *http.Request, p params) {
	id := strings.ToLower(p.get("userid"))
	if id == "" {
		writeError(w, CodeInvalidParameter, "userid missing")
		return
	}
	key := strings.ToUpper(fmt.Sprintf("%x", randomBytes(40)))
	s.mu.Lock()
	known := s.ent.accounts[id] != nil
	if known {
		now := time.Now()
		for k, l := range s.logins {
			if !now.Before(l.expires) {
				delete(s.logins, k)
			}
		}
		s.logins[key] = login{userid: id, expires: now.Add(s.opts.LoginLifetime)}
	}
	s.mu.Unlock()
	if !known {
		writeError(w, CodeUserNotFound, "userid not found")
		return
	}
	q := "fun=bizopenssologin&method=openapi&userid=" + url.QueryEscape(id) + "&authkey=" + key
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "login_url": s.url + "/cgi-bin/login?" + q,
		"expires_in": int(s.opts.LoginLifetime / time.Second)})
}

// handleLogin serves the page a login URL opens: with an unused,
// unexpired authkey issued for userid it shows the mailbox (newest
// first, unread in bold), marks it read and sends the UnRead callback;
// anything else gets 403 "link expired". A key is consumed by the first
// request that presents it, valid or not.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, p params) {
	key, id := p.get("authkey"), strings.ToLower(p.get("userid"))
	s.mu.Lock()
	l, ok := s.logins[key]
	delete(s.logins, key)
	ok = ok && key != "" && l.userid == id && time.Now().Before(l.expires) &&
		p.get("fun") == "bizopenssologin" && p.get("method") == "openapi"
	var page mailboxPage
	if a := s.ent.accounts[id]; ok && a != nil {
		page = mailboxPage{UserID: a.user.UserID, Name: a.user.Name, Unread: a.unread()}
		for _, m := range slices.Backward(a.mails) {
			page.Mails = append(page.Mails, pageMail{From: m.From, Subject: m.Subject, Time: m.Time.In(chinaTime).Format("2006-01-02 15:04"), Unread: !m.Read})
			m.Read = true
		}
	} else {
		ok = false
	}
	s.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if !ok {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, expiredPage)
		return
	}
	_, _ = io.WriteString(w, page.render())
	if page.Unread > 0 {
		// The count fell to 0: tell the callback receiver, as Tencent
		// would. Failures are the receiver's business; log them.
		if err := s.sendUnread(r.Context(), id, 0); err != nil {
			s.log.Debug("corptest: UnRead callback after login failed", "err", err)
		}
	}
}

type mailboxPage struct {
	UserID, Name string
	Unread       int
	Mails        []pageMail
}

type pageMail struct {
	From, Subject, Time string
	Unread              bool
}

// render writes the fake webmail page. Every value is HTML-escaped
// (html.EscapeString): no template engine, so that the desktop binary,
// which embeds this fake for "demo --corp", links none.
func (p mailboxPage) render() string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>企业邮箱 - ` + e(p.UserID) + `</title>
<style>body{font:14px/1.5 sans-serif;margin:0;background:#f2f4f7}header{background:#1f6fd0;color:#fff;padding:10px 24px}
table{background:#fff;margin:16px auto;border-collapse:collapse;min-width:600px}td,th{padding:8px 12px;border-bottom:1px solid #eee;text-align:left}
tr.new td{font-weight:600}</style></head>
<body><header><b>腾讯企业邮箱</b> ` + e(p.Name) + ` &lt;` + e(p.UserID) + `&gt;`)
	if p.Unread > 0 {
		fmt.Fprintf(&b, " · 收件箱 (%d)", p.Unread)
	}
	b.WriteString(`</header>
<table><tr><th>发件人</th><th>主题</th><th>时间</th></tr>
`)
	for _, m := range p.Mails {
		class := ""
		if m.Unread {
			class = ` class="new"`
		}
		b.WriteString(`<tr` + class + `><td>` + e(m.From) + `</td><td>` + e(m.Subject) + `</td><td>` + e(m.Time) + "</td></tr>\n")
	}
	if len(p.Mails) == 0 {
		b.WriteString(`<tr><td colspan="3">收件箱里没有邮件</td></tr>`)
	}
	b.WriteString("</table></body></html>\n")
	return b.String()
}

// expiredPage is the page of a used, expired or unknown login link.
const expiredPage = `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>登录链接已失效</title></head>
<body><h1>登录链接已失效</h1><p>该链接已过期或已被使用过。</p><p lang="en">This login link has expired or has already been used.</p></body></html>
`
