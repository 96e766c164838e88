package exmailtest

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Mail is a message in a mailbox of the fake enterprise.
type Mail struct {
	ID       string    // MailId; Deliver makes one like "ZC0042-…" when empty
	Sender   string    // display form, e.g. "\"张伟\" <zhangwei@example.com>"
	Receiver string    // recipient address; Deliver fills in the mailbox's address
	Subject  string    //
	Summary  string    // short plain-text excerpt
	Time     time.Time // arrival; Deliver uses time.Now() when zero
	Read     bool
}

// newMailPush is the listen push of protocol.md §3.5 (2).
type newMailPush struct {
	UserName string `json:"UserName"`
	MailID   string `json:"MailId"`
	Sender   string `json:"Sender"`
	Receiver string `json:"Receiver"`
	Subject  string `json:"Subject"`
	Summary  string `json:"Summary"`
	NewCount int    `json:"NewCount"`
}

// resolveLocked finds the account behind a primary or slave address.
func (e *enterprise) resolveLocked(addr string) *account {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if a := e.accounts[addr]; a != nil {
		return a
	}
	if p := e.slaves[addr]; p != "" {
		return e.accounts[p]
	}
	return nil
}

func (a *account) unread() int {
	n := 0
	for _, m := range a.mails {
		if !m.Read {
			n++
		}
	}
	return n
}

func (e *enterprise) newMailID() string {
	e.mailSeq++
	return fmt.Sprintf("ZC%04d-%s", e.mailSeq%10000, base64.RawURLEncoding.EncodeToString(randomBytes(18)))
}

// storeLocked appends m to a's mailbox, filling in the defaults, and
// returns the stored copy.
func (e *enterprise) storeLocked(a *account, to string, m Mail) *Mail {
	if m.ID == "" {
		m.ID = e.newMailID()
	}
	if m.Receiver == "" {
		m.Receiver = to
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	stored := &m
	a.mails = append(a.mails, stored)
	if n := len(a.mails) - maxMails; n > 0 {
		a.mails = slices.Delete(a.mails, 0, n)
	}
	return stored
}

// Deliver puts m into the mailbox of alias (a primary address, or a slave
// address, which lands in its owner's mailbox with Receiver set to the
// slave), and pushes the new-mail object of protocol.md §3.5 (2) — with
// NewCount as a number — to every listen connection. It returns the
// MailId, or "" (and does nothing) when alias is not an address of an
// account.
func (s *Server) Deliver(alias string, m Mail) (mailID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ent.resolveLocked(alias)
	if a == nil {
		return ""
	}
	to := strings.ToLower(strings.TrimSpace(alias))
	stored := s.ent.storeLocked(a, to, m)
	s.hub.publish(item{kind: kindMail, mail: newMailPush{
		UserName: a.Alias,
		MailID:   stored.ID,
		Sender:   stored.Sender,
		Receiver: stored.Receiver,
		Subject:  stored.Subject,
		Summary:  stored.Summary,
		NewCount: a.unread(),
	}})
	return stored.ID
}

// Mails returns a copy of alias's mailbox, oldest first (nil for an
// unknown account).
func (s *Server) Mails(alias string) []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ent.accounts[strings.ToLower(alias)]
	if a == nil {
		return nil
	}
	out := make([]Mail, len(a.mails))
	for i, m := range a.mails {
		out[i] = *m
	}
	return out
}

// Unread returns alias's unread count (what mail/newcount reports); 0 for
// an unknown account.
func (s *Server) Unread(alias string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ent.accounts[strings.ToLower(alias)]
	if a == nil {
		return 0
	}
	return a.unread()
}

// pushUnreadLocked pushes {"UserName","NewCount"} (§3.5 (3)) if the count
// differs from before.
func (s *Server) pushUnreadLocked(a *account, before int) {
	if n := a.unread(); n != before {
		s.hub.publish(item{kind: kindUnread, user: a.Alias, count: n})
	}
}

// changeMailbox runs fn on alias's account under the lock, then pushes
// {"UserName","NewCount"} if fn changed the unread count. It reports
// whether alias is an account.
func (s *Server) changeMailbox(alias string, fn func(a *account)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ent.accounts[strings.ToLower(alias)]
	if a == nil {
		return false
	}
	before := a.unread()
	fn(a)
	s.pushUnreadLocked(a, before)
	return true
}

// markOldestRead marks the n oldest unread mails of a read.
func markOldestRead(a *account, n int) {
	for _, m := range a.mails {
		if n <= 0 {
			return
		}
		if !m.Read {
			m.Read = true
			n--
		}
	}
}

// MarkRead marks the n oldest unread mails of alias read and, if the
// count changed, pushes {"UserName","NewCount"}. It reports whether
// alias is an account.
func (s *Server) MarkRead(alias string, n int) bool {
	return s.changeMailbox(alias, func(a *account) { markOldestRead(a, n) })
}

// MarkAllRead marks every mail of alias read, as opening the mailbox in
// webmail does, and pushes the new count if it changed.
func (s *Server) MarkAllRead(alias string) bool {
	return s.MarkRead(alias, maxMails+1)
}

// MarkMailRead marks one mail read and pushes the new count if it
// changed. It reports whether the mail was found.
func (s *Server) MarkMailRead(alias, mailID string) bool {
	found := false
	s.changeMailbox(alias, func(a *account) {
		for _, m := range a.mails {
			if m.ID == mailID {
				m.Read, found = true, true
			}
		}
	})
	return found
}

// SetUnread makes alias's unread count n: it marks the oldest unread
// mails read, or quietly files older unread mails (made by SampleMail),
// and pushes {"UserName","NewCount"} if the count changed. Unlike Deliver
// it pushes no new-mail object. It reports whether alias is an account.
func (s *Server) SetUnread(alias string, n int) bool {
	return s.changeMailbox(alias, func(a *account) {
		before := a.unread()
		switch {
		case n < before:
			markOldestRead(a, before-n)
		case n > before:
			r := newRand(uint64(len(a.mails)) + 7)
			for range n - before {
				m := SampleMail(r, a.Alias)
				m.Time = time.Now().Add(-time.Hour)
				stored := s.ent.storeLocked(a, a.Alias, m)
				// Filed as old mail: move it to the front so that it is the
				// first to be marked read.
				a.mails = append([]*Mail{stored}, a.mails[:len(a.mails)-1]...)
			}
		}
	})
}
