// Package cli is the exmail-relay command line: serve, enroll, devices,
// revoke and audit. cmd/exmail-relay is a thin main over Main.
//
// Exit status: 0 on success, 1 on failure (one line on stderr), 2 on a
// usage error — as the desktop CLI. Every command takes --help.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/postgres"
	"github.com/exmail-notifier/exmail-notifier/relay/store/sqlite"
)

// Env is the outside world a command sees.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Ready, if set, is called by serve with the API's address once it
	// serves (for tests).
	Ready func(addr string)
}

// OSEnv is the process's streams and environment. The secrets' variables
// (EXMAIL_SECRET, EXMAIL_CORP_SSO_SECRET, EXMAIL_CORP_MAIL_SECRET,
// EXMAIL_CALLBACK_TOKEN, EXMAIL_CALLBACK_AES_KEY) are read once and taken
// out of the process environment.
func OSEnv() Env {
	secrets := map[string]string{}
	for _, k := range secretVars {
		secrets[k] = os.Getenv(k)
		os.Unsetenv(k)
	}
	getenv := func(k string) string {
		if v, ok := secrets[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: getenv}
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the relay: one upstream (v1.4 listen, or the current API), the /v1 API for enrolled desktops", cmdServe},
		{"enroll", "make a one-time enrollment code (and link) for a mailbox", cmdEnroll},
		{"devices", "list enrolled devices", cmdDevices},
		{"revoke", "revoke a device, or every device of a mailbox", cmdRevoke},
		{"audit", "print the audit trail (enrollments, sign-in links, revocations)", cmdAudit},
	}
}

const mainUsage = `Usage: exmail-relay COMMAND [flags] [args]

The relay holds the exmail interface key (an enterprise admin credential),
keeps one upstream listen connection, and serves each enrolled desktop only
its own mailbox over TLS. With --upstream corp it uses Tencent's current
API instead (a corpid and two application secrets): Tencent's callbacks,
or polled unread counts.

Commands:
`

func usage() string {
	var b strings.Builder
	b.WriteString(mainUsage)
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun \"exmail-relay COMMAND --help\" for a command's flags.\n")
	return b.String()
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg, usage string }

func (e *usageError) Error() string { return e.msg }

var errHelpShown = errors.New("help shown")

// Main runs one command and returns the exit status.
func Main(ctx context.Context, args []string, e Env) int {
	if len(args) == 0 {
		fmt.Fprint(e.Stderr, usage())
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.Stdout, usage())
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		var ue *usageError
		switch {
		case err == nil, errors.Is(err, errHelpShown):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(e.Stderr, "exmail-relay %s: %s\n\n%s", c.name, ue.msg, ue.usage)
			return 2
		default:
			fmt.Fprintf(e.Stderr, "exmail-relay %s: %s\n", c.name, oneLine(err.Error()))
			return 1
		}
	}
	fmt.Fprintf(e.Stderr, "exmail-relay: unknown command %q\n\n%s", args[0], usage())
	return 2
}

// oneLine is a message for stderr: safetext's rule for a terminal line
// (errors can carry text from exmail or a client).
func oneLine(s string) string { return safetext.Line(s, 0) }

// flags is a command's flag set: --help prints the usage and exits 0;
// flags may come before and after the arguments.
type flags struct {
	*flag.FlagSet
	e     Env
	usage string
}

func newFlags(e Env, name, usage string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flags{FlagSet: fs, e: e, usage: usage}
}

func (f *flags) help() string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(f.usage, "\n"))
	b.WriteString("\n\nFlags:\n")
	f.SetOutput(&b)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
	return b.String()
}

func (f *flags) usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), usage: f.help()}
}

// parseAll parses flags anywhere among the arguments and returns the
// positional ones.
func (f *flags) parseAll(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(f.e.Stdout, f.help())
				return nil, errHelpShown
			}
			return nil, &usageError{msg: err.Error(), usage: f.help()}
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// dbFlag adds --db to f.
func dbFlag(f *flags) *string {
	return f.String("db", "", "the database: a SQLite file path (or sqlite:PATH), or postgres://… (with serve --nats, several serve processes share it; a URL with a password belongs in EXMAIL_RELAY_DB, not in argv). Default: $EXMAIL_RELAY_DB, else relay.db in $STATE_DIRECTORY, else in the user's state directory (~/.local/state/exmail-relay)")
}

// defaultDB is relay.db in the state directory.
func defaultDB(e Env) (string, error) {
	if d := e.Getenv("STATE_DIRECTORY"); d != "" { // systemd StateDirectory=
		return filepath.Join(strings.Split(d, ":")[0], "relay.db"), nil
	}
	if runtime.GOOS == "windows" {
		if d := e.Getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "exmail-relay", "relay.db"), nil
		}
	}
	if d := e.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "exmail-relay", "relay.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory (set --db): %w", err)
	}
	return filepath.Join(home, ".local", "state", "exmail-relay", "relay.db"), nil
}

// openStore opens the store named by dsn (or the default).
func openStore(ctx context.Context, e Env, dsn string) (store.Store, error) {
	if dsn == "" {
		dsn = strings.TrimSpace(e.Getenv("EXMAIL_RELAY_DB"))
	}
	if dsn == "" {
		p, err := defaultDB(e)
		if err != nil {
			return nil, err
		}
		dsn = p
	}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		dsn = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
	}
	if err := os.MkdirAll(filepath.Dir(dsn), 0o700); err != nil {
		return nil, fmt.Errorf("creating the database directory: %w", err)
	}
	return sqlite.Open(ctx, dsn, sqlite.Options{})
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
