package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

const enrollUsage = `Usage: exmail-relay enroll ALIAS [--ttl 72h] [--relay-url URL] [--db DSN]
       exmail-relay enroll --csv FILE [ALIAS...] [--ttl 72h] [--relay-url URL]

Makes a one-time enrollment code for the mailbox ALIAS, which must exist
upstream (user/get on v1.4, mail/newcount on the current API). It prints the code on the first line of stdout and the
link exmail-notifier://enroll?relay=…&code=… on the second. The code is a
credential until it is used or expires: hand it to the mailbox's owner only.

With --csv FILE it enrolls every ALIAS given (or, with none, one per line on
stdin) and writes alias,code,link rows to FILE (created with mode 0600);
stdout then only says how many.

The relay URL comes from --relay-url or EXMAIL_RELAY_URL. The upstream
(--upstream or EXMAIL_RELAY_UPSTREAM) and its account and key are read as
by serve; with --upstream corp only EXMAIL_CORPID and the 新邮件提醒
secret are needed.
`

func cmdEnroll(ctx context.Context, e Env, args []string) error {
	f := newFlags(e, "enroll", enrollUsage)
	ttl := f.Duration("ttl", 72*time.Hour, "how long the code stays valid")
	relayURL := f.String("relay-url", "", "the relay's public URL, for the link (default $EXMAIL_RELAY_URL)")
	csvFile := f.String("csv", "", "enroll many aliases and write alias,code,link rows to this file")
	uf := addUpstreamFlags(f, false)
	db := dbFlag(f)
	aliases, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if *ttl < time.Minute || *ttl > 90*24*time.Hour {
		return f.usageErrorf("--ttl must be between 1m and 90 days, got %v", *ttl)
	}
	if *relayURL == "" {
		*relayURL = e.Getenv("EXMAIL_RELAY_URL")
	}
	if *relayURL == "" {
		return f.usageErrorf("the relay URL is needed for the link: --relay-url https://relay.example.com or EXMAIL_RELAY_URL")
	}
	if u, err := url.Parse(*relayURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return f.usageErrorf("--relay-url %q is not an http(s) URL", *relayURL)
	}
	*relayURL = strings.TrimRight(*relayURL, "/")
	if *csvFile == "" {
		if len(aliases) != 1 {
			return f.usageErrorf("enroll takes one ALIAS (or --csv FILE for many)")
		}
	} else if len(aliases) == 0 {
		sc := bufio.NewScanner(e.Stdin)
		for sc.Scan() {
			if a := strings.TrimSpace(sc.Text()); a != "" && !strings.HasPrefix(a, "#") {
				aliases = append(aliases, a)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading aliases from stdin: %w", err)
		}
		if len(aliases) == 0 {
			return f.usageErrorf("no aliases given (as arguments or one per line on stdin)")
		}
	}
	for i, a := range aliases {
		aliases[i] = store.NormAlias(a)
		if !strings.Contains(aliases[i], "@") {
			return f.usageErrorf("%q is not a mail address", a)
		}
	}

	up, err := uf.open(f, e, false, false)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, e, *db)
	if err != nil {
		return err
	}
	defer st.Close()

	// Every mailbox is checked, and the CSV file created, before any code
	// is stored: a code that is stored is always also handed out.
	for _, a := range aliases {
		if err := up.checkMailbox(ctx, a); err != nil {
			return err
		}
	}
	var w *csv.Writer
	var out *os.File
	if *csvFile != "" {
		out, err = os.OpenFile(*csvFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("creating %s (it must not exist yet): %w", *csvFile, err)
		}
		w = csv.NewWriter(out)
		w.Write([]string{"alias", "code", "link"})
	}
	n := 0
	var addErr error
	for _, a := range aliases {
		code := store.NewCode()
		expires := time.Now().Add(*ttl)
		if addErr = st.AddCode(ctx, store.HashSecret(code), a, expires); addErr != nil {
			addErr = fmt.Errorf("storing the code for %s: %w", a, addErr)
			break
		}
		st.AddAudit(ctx, store.Audit{Alias: a, Action: "code", Source: "cli", Result: "ok, expires " + expires.UTC().Format(time.RFC3339)})
		n++
		link := wire.EnrollLink(*relayURL, code.Reveal())
		if w == nil {
			_, err := fmt.Fprintf(e.Stdout, "%s\n%s\n", code.Reveal(), link)
			return err
		}
		w.Write([]string{a, code.Reveal(), link})
	}
	if w == nil {
		return addErr // the one code was not stored
	}
	w.Flush()
	if err := errors.Join(w.Error(), out.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", *csvFile, err)
	}
	if addErr != nil {
		return fmt.Errorf("%w (the %d codes stored before it are in %s)", addErr, n, *csvFile)
	}
	_, err = fmt.Fprintf(e.Stdout, "%d enrollment codes written to %s\n", n, *csvFile)
	return err
}

const devicesUsage = `Usage: exmail-relay devices [--json] [--db DSN]

Lists enrolled devices: id, mailbox, name, enrolled, last seen, status.
`

type deviceJSON struct {
	ID       string `json:"id"`
	Alias    string `json:"alias"`
	Name     string `json:"name"`
	Created  string `json:"created"`
	LastSeen string `json:"last_seen,omitempty"`
	Revoked  string `json:"revoked,omitempty"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func cmdDevices(ctx context.Context, e Env, args []string) error {
	f := newFlags(e, "devices", devicesUsage)
	asJSON := f.Bool("json", false, "one JSON object per line")
	db := dbFlag(f)
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return f.usageErrorf("devices takes no arguments")
	}
	st, err := openStore(ctx, e, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	devs, err := st.Devices(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetEscapeHTML(false)
		for _, d := range devs {
			if err := enc.Encode(deviceJSON{d.ID, d.Alias, d.Name, stamp(d.Created), stamp(d.LastSeen), stamp(d.Revoked)}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMAILBOX\tNAME\tENROLLED\tLAST SEEN\tSTATUS")
	for _, d := range devs {
		status := "active"
		if !d.Active() {
			status = "revoked " + stamp(d.Revoked)
		}
		seen := stamp(d.LastSeen)
		if seen == "" {
			seen = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Alias, wire.Clean(d.Name, 40), stamp(d.Created), seen, status)
	}
	return tw.Flush()
}

const revokeUsage = `Usage: exmail-relay revoke DEVICE_ID [--db DSN]
       exmail-relay revoke --alias ALIAS [--db DSN]

Revokes a device (see "exmail-relay devices"), or every device of a
mailbox. A running relay closes the device's open streams within a second
and refuses its token from then on. Prints the revoked device ids.
`

func cmdRevoke(ctx context.Context, e Env, args []string) error {
	f := newFlags(e, "revoke", revokeUsage)
	alias := f.String("alias", "", "revoke every device of this mailbox")
	db := dbFlag(f)
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if (*alias == "") == (len(pos) == 0) || len(pos) > 1 {
		return f.usageErrorf("give one DEVICE_ID or --alias ALIAS")
	}
	st, err := openStore(ctx, e, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	var devs []store.Device
	if *alias != "" {
		devs, err = st.RevokeAlias(ctx, *alias, now)
		if err != nil {
			return err
		}
		if len(devs) == 0 {
			return fmt.Errorf("%s has no active device", store.NormAlias(*alias))
		}
	} else {
		d, err := st.Revoke(ctx, pos[0], now)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no device %q (see exmail-relay devices)", pos[0])
		}
		if err != nil {
			return err
		}
		devs = []store.Device{d}
	}
	for _, d := range devs {
		st.AddAudit(ctx, store.Audit{Time: now, Device: d.ID, Alias: d.Alias, Action: "revoke", Source: "cli", Result: "ok"})
		fmt.Fprintln(e.Stdout, d.ID)
	}
	return nil
}

const auditUsage = `Usage: exmail-relay audit [--since 168h | --since 2026-12-01] [--json] [--db DSN]
       exmail-relay audit --verify [--db DSN]

Prints the audit trail: enrollments (and refused codes), enrollment codes
made, sign-in links issued (each /v1/sso call, with the device, the
mailbox, the source address and the result) and revocations.

Each line is chained to the one before by a SHA-256 hash. --verify
recomputes the chain and exits 1 if a line was changed or deleted in the
database.
`

type auditJSON struct {
	Time   string `json:"time"`
	Action string `json:"action"`
	Device string `json:"device,omitempty"`
	Alias  string `json:"alias,omitempty"`
	Source string `json:"source"`
	Result string `json:"result"`
}

func cmdAudit(ctx context.Context, e Env, args []string) error {
	f := newFlags(e, "audit", auditUsage)
	since := f.String("since", "168h", "a duration back from now, or a date (2006-01-02) or RFC 3339 time")
	asJSON := f.Bool("json", false, "one JSON object per line")
	verify := f.Bool("verify", false, "check the hash chain of the whole trail")
	db := dbFlag(f)
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return f.usageErrorf("audit takes no arguments")
	}
	if *verify {
		st, err := openStore(ctx, e, *db)
		if err != nil {
			return err
		}
		defer st.Close()
		n, err := st.VerifyAudit(ctx)
		if err != nil {
			return fmt.Errorf("%w (%d lines before it verified)", err, n)
		}
		_, err = fmt.Fprintf(e.Stdout, "audit trail intact: %d lines verified\n", n)
		return err
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return f.usageErrorf("--since: %v", err)
	}
	st, err := openStore(ctx, e, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	lines, err := st.AuditSince(ctx, from)
	if err != nil {
		return err
	}
	var w io.Writer = e.Stdout
	if *asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, a := range lines {
			if err := enc.Encode(auditJSON{stamp(a.Time), a.Action, a.Device, a.Alias, a.Source, a.Result}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tDEVICE\tMAILBOX\tSOURCE\tRESULT")
	for _, a := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(a.Time), a.Action, dash(a.Device), dash(a.Alias), a.Source, a.Result)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, errors.New("a negative duration")
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (168h) nor a date (2006-01-02)", s)
}
