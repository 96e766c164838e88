package exmailtest

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/mail"
	"slices"
	"strings"
)

// handleLogin serves the SSO entry of protocol.md §3.3:
//
//	GET /cgi-bin/login?fun=bizopenssologin&method=bizauth&agent=<client_id>&user=<alias>&ticket=<auth_key>[&mailid=<MailId>]
//
// A ticket is consumed by the first request that presents it, valid or
// not. With a valid ticket the reply is a small webmail page (200
// text/html) and the mailbox is marked read (all of it, or only mailid);
// the new unread count is pushed on listen if it changed. Anything else
// gets the 403 "link expired" page.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, p params) {
	user := strings.ToLower(p.get("user"))
	ticket := p.get("ticket")
	mailID := p.get("mailid")

	s.mu.Lock()
	ok := ticket != "" && s.useAuthKeyLocked(ticket, user) &&
		p.get("fun") == "bizopenssologin" && p.get("method") == "bizauth" &&
		strings.EqualFold(p.get("agent"), s.opts.ClientID)
	var page mailboxPage
	a := s.ent.accounts[user]
	if ok && a != nil {
		page = s.openMailboxLocked(a, mailID)
	}
	s.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the URL holds the ticket
	if !ok || a == nil {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, expiredPage)
		return
	}
	_, _ = w.Write(page.render())
}

type mailboxPage struct {
	Alias, Name string
	Unread      int // before opening
	Opened      *pageMail
	Mails       []pageMail
	More        int // mails not listed
}

type pageMail struct {
	ID, Sender, From, Subject, Summary, Time string
	WasUnread, Opened                        bool
}

// displayName shows "Name" for a "\"Name\" <addr>" sender, as webmail
// lists do; the full form goes into a tooltip.
func displayName(sender string) string {
	if a, err := mail.ParseAddress(sender); err == nil {
		if a.Name != "" {
			return a.Name
		}
		return a.Address
	}
	return sender
}

const pageMails = 50

// openMailboxLocked renders the mailbox as it was when opened, then marks
// it read (everything, or only mailID when given) and pushes the count.
func (s *Server) openMailboxLocked(a *account, mailID string) mailboxPage {
	page := mailboxPage{Alias: a.Alias, Name: a.Name, Unread: a.unread()}
	for _, m := range slices.Backward(a.mails) {
		pm := pageMail{
			ID:        m.ID,
			Sender:    displayName(m.Sender),
			From:      m.Sender,
			Subject:   m.Subject,
			Summary:   m.Summary,
			Time:      m.Time.Format("2006-01-02 15:04"),
			WasUnread: !m.Read,
			Opened:    mailID != "" && m.ID == mailID,
		}
		if pm.Opened {
			opened := pm
			page.Opened = &opened
		}
		if len(page.Mails) < pageMails {
			page.Mails = append(page.Mails, pm)
		} else {
			page.More++
		}
	}
	before := page.Unread
	for _, m := range a.mails {
		if mailID == "" || m.ID == mailID {
			m.Read = true
		}
	}
	s.pushUnreadLocked(a, before)
	return page
}

const pageStyle = `
body{margin:0;font:14px/1.5 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;background:#f2f4f7;color:#1f2329}
header{background:#1f6fd0;color:#fff;padding:10px 24px;display:flex;justify-content:space-between;align-items:center}
header b{font-size:16px;letter-spacing:1px}
main{display:flex;max-width:1100px;margin:16px auto;gap:16px;padding:0 16px}
nav{width:160px;background:#fff;border-radius:6px;padding:12px 0;height:fit-content}
nav div{padding:6px 18px}nav .on{background:#e8f0fd;color:#1f6fd0;font-weight:600}
section{flex:1;min-width:0}
article,table{background:#fff;border-radius:6px;width:100%}
article{padding:16px 20px;margin-bottom:16px;box-sizing:border-box;border-left:4px solid #1f6fd0}
article h2{margin:0 0 6px;font-size:18px}.meta{color:#646a73;font-size:13px}
table{border-collapse:collapse;overflow:hidden}
td,th{padding:9px 12px;text-align:left;border-bottom:1px solid #eef0f3;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:420px}
th{color:#646a73;font-weight:normal;font-size:12px}
tr.new td{font-weight:600}tr.new td:first-child::before{content:"● ";color:#1f6fd0}
tr.opened{background:#fff8e1}
.sum{color:#8f959e;font-weight:normal}
.empty{padding:40px;text-align:center;color:#8f959e}
`

// render writes the demo webmail page for p. Every value from a mail is
// HTML-escaped (html.EscapeString): the page has no template engine, so
// that the desktop binary, which embeds this fake for its demo, links none.
func (p mailboxPage) render() []byte {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>企业邮箱 - ` + e(p.Alias) + `</title>
<style>` + pageStyle + `</style></head>
<body>
<header><b>腾讯企业邮箱</b><span>`)
	if p.Name != "" {
		b.WriteString(e(p.Name) + " &lt;" + e(p.Alias) + "&gt;")
	} else {
		b.WriteString(e(p.Alias))
	}
	b.WriteString(`</span></header>
<main>
<nav><div class="on">收件箱`)
	if p.Unread > 0 {
		fmt.Fprintf(&b, " (%d)", p.Unread)
	}
	b.WriteString(`</div><div>星标邮件</div><div>草稿箱</div><div>已发送</div><div>已删除</div></nav>
<section>
`)
	if o := p.Opened; o != nil {
		b.WriteString(`<article id="opened">
<h2>` + e(o.Subject) + `</h2>
<div class="meta">发件人：` + e(o.From) + `　时间：` + e(o.Time) + `</div>
<p>` + e(o.Summary) + `</p>
</article>`)
	}
	b.WriteString(`
<table>
<tr><th>发件人</th><th>主题</th><th>时间</th></tr>
`)
	for _, m := range p.Mails {
		class := ""
		if m.WasUnread {
			class = "new"
		}
		if m.Opened {
			class += " opened"
		}
		b.WriteString(`<tr id="mail-` + e(m.ID) + `" class="` + class + `">
<td title="` + e(m.From) + `">` + e(m.Sender) + `</td><td>` + e(m.Subject) + ` <span class="sum">- ` + e(m.Summary) + `</span></td><td>` + e(m.Time) + `</td></tr>
`)
	}
	if len(p.Mails) == 0 {
		b.WriteString(`<tr><td colspan="3" class="empty">收件箱里没有邮件</td></tr>
`)
	}
	if p.More > 0 {
		fmt.Fprintf(&b, `<tr><td colspan="3" class="empty">还有 %d 封较早的邮件</td></tr>`, p.More)
	}
	b.WriteString(`
</table>
</section>
</main>
</body></html>
`)
	return []byte(b.String())
}

// expiredPage is the page of a used or unknown sign-in link.
const expiredPage = `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>企业邮箱 - 登录链接已失效</title>
<style>` + pageStyle + `
.box{max-width:480px;margin:80px auto;background:#fff;border-radius:8px;padding:32px 36px;text-align:center}
.box h1{font-size:20px;margin:0 0 12px}.box p{color:#646a73}
</style></head>
<body>
<header><b>腾讯企业邮箱</b><span></span></header>
<div class="box">
<h1>登录链接已失效</h1>
<p>该链接已过期或已被使用过。请回到邮件提醒程序重新打开邮箱。</p>
<p lang="en">This login link has expired or has already been used. Open the mailbox again from the notifier.</p>
</div>
</body></html>
`
