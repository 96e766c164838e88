package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
	"github.com/exmail-notifier/exmail-notifier/internal/poll"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

const watchUsage = `Usage: exmail-notifier watch [--all] [--idle-timeout 2m] [--ver VER]

Holds the listen connection (openapi/listen) and writes one JSON object per
line to stdout for each event of the watched mailbox (EXMAIL_ALIAS or the
stored account), or of every mailbox of the enterprise with --all:

  {"time":"…","event":"new_mail","alias":"bob@example.com","mail_id":"…","from":"…","to":"…","subject":"…","summary":"…","unread":549}
  {"time":"…","event":"unread","alias":"bob@example.com","unread":550}
  {"time":"…","event":"version","ver":"1364460338051"}
  {"time":"…","event":"connected"}
  {"time":"…","event":"disconnected","error":"…","retry_in_ms":2000}

It reconnects by itself, with backoff, for as long as it runs; a
"disconnected" line says why and when it tries again. Logs go to stderr.
On a computer enrolled with a company relay it follows the relay's stream
of its own mailbox, with the same lines (no "version"; no --all or --ver).
On Tencent's current API ("login --corp", EXMAIL_CORPID) it counts the
mailbox's unread mail every minute and prints "unread" lines only.
Ctrl-C (SIGINT) or SIGTERM stops it with exit status 0.

Example:
  exmail-notifier watch | jq -r 'select(.event=="new_mail") | .subject'
`

func cmdWatch(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "watch", watchUsage)
	all := f.Bool("all", false, "print the events of every mailbox of the enterprise")
	idle := f.Duration("idle-timeout", api.DefaultIdleTimeout, "treat a connection that carries nothing for this long as dead and reconnect")
	from := f.String("ver", "0", "the address-book version to start from (a \"version\" line's ver)")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return f.usageErrorf("watch takes no arguments, got %q", pos[0])
	}
	if *idle < time.Second {
		return f.usageErrorf("--idle-timeout must be at least 1s, got %v", *idle)
	}
	if !allDigits(*from) {
		return f.usageErrorf("--ver must be a number, got %q", *from)
	}
	a, err := e.accounts().Resolve(ctx)
	if err != nil {
		return err
	}
	src, err := watchSource(a, *all, *from, *idle, f, e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan api.Event)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()
	go desktop.WatchWake(ctx, e.logger(), src.Reconnect) // a dead connection after sleep is replaced at once
	scrub := scrubber(cmp.Or(a.Secret, a.DeviceToken))
	for {
		select {
		case ev := <-out:
			// No filter here: the Watcher was given the alias, and its
			// Listen drops other mailboxes' objects before decoding them
			// (api.Concerns' rule, in one place).
			line, ok := watchLine(ev, time.Now(), scrub)
			if !ok {
				continue
			}
			if err := encodeJSON(e.stdout, line, ""); err != nil {
				cancel()
				<-done
				return fmt.Errorf("watch: writing to stdout: %w", err)
			}
		case err := <-done:
			if ctx.Err() != nil {
				return nil // SIGINT or SIGTERM: a clean stop
			}
			return err
		}
	}
}

// eventSource is what watch follows: the v1.4 listen Watcher in direct
// mode, the relay's event stream in relay mode. Both reconnect at once on
// Reconnect (after a wake-up).
type eventSource interface {
	Run(ctx context.Context, out chan<- api.Event) error
	Reconnect()
}

// watchSource returns what watch follows for account a: the watched
// mailbox, or every mailbox with all. In relay mode the device sees its
// own mailbox only, so --all and --ver are usage errors.
func watchSource(a account.Account, all bool, from string, idle time.Duration, f *flags, e *env) (eventSource, error) {
	if a.Relayed() {
		switch {
		case all:
			return nil, f.usageErrorf("--all: this computer is enrolled with a relay, which serves its own mailbox only")
		case from != "0":
			return nil, f.usageErrorf("--ver: the relay resumes by itself; there is no address-book version in relay mode")
		}
		return a.NewRelaySource(e.logger())
	}
	if a.Corp() {
		// The current API has no push without the relay: count at an
		// interval and print "unread" lines.
		switch {
		case all:
			return nil, f.usageErrorf("--all: Tencent's current API gives one mailbox's count at a time")
		case from != "0":
			return nil, f.usageErrorf("--ver: there is no address-book version on Tencent's current API")
		}
		if err := a.NeedAlias(); err != nil {
			return nil, err
		}
		c, err := a.NewCorpClient(e.logger())
		if err != nil {
			return nil, err
		}
		return poll.New(c.Mail, a.Alias, poll.Options{Logger: e.logger()}), nil
	}
	alias := ""
	if !all {
		if err := a.NeedAlias(); err != nil {
			return nil, err
		}
		alias = a.Alias
	}
	c, err := a.NewClient(e.logger())
	if err != nil {
		return nil, err
	}
	w := api.NewWatcher(c, api.WatchOptions{Alias: alias, IdleTimeout: idle, Logger: e.logger()})
	return fromVersion{w, api.Version(from)}, nil
}

// fromVersion runs a Watcher from a given address-book version.
type fromVersion struct {
	*api.Watcher
	ver api.Version
}

func (w fromVersion) Run(ctx context.Context, out chan<- api.Event) error {
	return w.Watcher.Run(ctx, w.ver, out)
}

// The lines watch prints. Field order is the order on the wire. new_mail
// and unread are relay/wire's NewMailLine and UnreadLine: the relay sends
// exactly these lines, so one schema serves the CLI, the relay and the tray.
type (
	versionLine struct {
		Time  string `json:"time"`
		Event string `json:"event"`
		Ver   string `json:"ver"`
	}
	connectedLine struct {
		Time  string `json:"time"`
		Event string `json:"event"`
	}
	disconnectedLine struct {
		Time      string `json:"time"`
		Event     string `json:"event"`
		Error     string `json:"error"`
		RetryInMS int64  `json:"retry_in_ms"`
	}
)

// watchLine turns an event into the line watch prints, or reports false
// for events it does not print (connecting, Unknown, Ack, Skipped).
// scrub cleans error text.
func watchLine(ev api.Event, now time.Time, scrub func(string) string) (any, bool) {
	ts := now.Format(time.RFC3339Nano)
	switch ev := ev.(type) {
	case api.NewMail:
		return wire.NewMailLine{Time: ts, Event: wire.KindNewMail, Alias: ev.User, MailID: ev.MailID,
			From: ev.Sender, To: ev.Receiver, Subject: ev.Subject, Summary: ev.Summary, Unread: ev.Unread}, true
	case api.UnreadChanged:
		return wire.UnreadLine{Time: ts, Event: wire.KindUnread, Alias: ev.User, Unread: ev.Unread}, true
	case api.VersionChanged:
		return versionLine{ts, "version", ev.Ver.String()}, true
	case api.StateChanged:
		switch ev.State {
		case api.StateOnline:
			return connectedLine{ts, "connected"}, true
		case api.StateRetrying, api.StateAuthFailed:
			msg := ev.State.String()
			if ev.Err != nil {
				msg = scrub(oneLine(describe(ev.Err)))
			}
			return disconnectedLine{ts, "disconnected", msg, ev.RetryIn.Milliseconds()}, true
		}
	}
	return nil, false
}

// scrubber returns a function that removes the interface key from text,
// in case an error ever carried it (the api package never puts it there).
func scrubber(secret api.Secret) func(string) string {
	s := secret.Reveal()
	return func(text string) string {
		if len(s) < 4 {
			return text
		}
		return strings.ReplaceAll(text, s, "[redacted]")
	}
}
