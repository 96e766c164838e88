// Command exmail-notifier is a desktop new-mail notifier for Tencent
// Enterprise Mail (腾讯企业邮箱, exmail.qq.com) and a command-line client of
// its BizMail OpenApi v1.4.
//
// With no arguments it runs the tray app; `exmail-notifier demo` runs it
// against an embedded fake server. See `exmail-notifier --help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/exmail-notifier/exmail-notifier/creds"
)

// Stamped by the build: -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	// Nothing ever takes a heap profile: do not pay for its samples.
	runtime.MemProfileRate = 0
	os.Exit(run(os.Args[1:], osEnv()))
}

// osEnv is the real outside world: the process's streams, environment and
// the OS keyring. It takes EXMAIL_SECRET out of the process environment
// (see keepSecretFromChildren).
func osEnv() *env {
	return &env{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: keepSecretFromChildren(os.Getenv, os.Unsetenv),
		keys:   &creds.Keyring{}, // one queue for every keyring call of the process
	}
}

// keepSecretFromChildren reads EXMAIL_SECRET (the interface key),
// EXMAIL_DEVICE_TOKEN (a relay device token) and the current API's
// application secrets (EXMAIL_CORP_*_SECRET) once and unsets them, so that
// no child process (the browser opener, the browser) inherits them; the
// returned getenv still answers them for this process.
func keepSecretFromChildren(getenv func(string) string, unsetenv func(string) error) func(string) string {
	secrets := map[string]string{}
	for _, name := range []string{"EXMAIL_SECRET", "EXMAIL_DEVICE_TOKEN", "EXMAIL_CORP_SSO_SECRET", "EXMAIL_CORP_MAIL_SECRET"} {
		secrets[name] = getenv(name)
		_ = unsetenv(name)
	}
	return func(k string) string {
		if v, ok := secrets[k]; ok {
			return v
		}
		return getenv(k)
	}
}

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
	// gui commands manage their own signals and must run on the main
	// goroutine (systray.Run).
	gui bool
}

func commands() []command {
	return []command{
		{name: "demo", summary: "run the tray app against an embedded demo server (no account needed)", run: cmdDemo, gui: true},
		{name: "tray", summary: "run the tray app (what no command does); --settings also opens the settings page", run: cmdTray, gui: true},
		{name: "settings", summary: "open the settings page: set-up, preferences, account, checks", run: cmdSettings},
		{name: "watch", summary: "hold the listen connection and print one JSON event per line", run: cmdWatch},
		{name: "count", summary: "print the unread count of the watched mailbox", run: cmdCount},
		{name: "open", summary: "open the mailbox in the browser through single sign-on", run: cmdOpen},
		{name: "enroll", summary: "enroll this computer with the company relay (the link or code from IT)", run: cmdEnrollRestartingTray},
		{name: "login", summary: "store the admin account, the mailbox and the interface key", run: cmdLogin},
		{name: "logout", summary: "remove the stored account and interface key", run: cmdLogout},
		{name: "doctor", summary: "check the desktop, the keyring and the server; print a report", run: cmdDoctor},
		{name: "user", summary: "administer members: get, sync, list, check, wxtoken", run: cmdUser},
		{name: "party", summary: "administer departments: list, sync, users", run: cmdParty},
		{name: "group", summary: "administer mail groups: add, delete, add-member, remove-member, allow, disallow", run: cmdGroup},
		{name: "version", summary: "print the version", run: cmdVersion},
	}
}

// Exit statuses: the CLI contract scripts rely on.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// run executes the command line and returns the exit status. It must be
// called on the main goroutine: the tray app needs it.
func run(args []string, e *env) int {
	top := flag.NewFlagSet("exmail-notifier", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	showVersion := top.Bool("version", false, "")
	top.BoolVar(&e.verbose, "verbose", false, "")
	top.BoolVar(&e.verbose, "v", false, "")
	top.BoolVar(&e.insecure, "insecure", false, "")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(e.stdout)
			return exitOK
		}
		fmt.Fprintf(e.stderr, "exmail-notifier: %v\n\n", err)
		usage(e.stderr)
		return exitUsage
	}
	if *showVersion {
		return finish(e, cmdVersion(context.Background(), e, nil))
	}
	e.setupLogger()
	rest := top.Args()
	if len(rest) == 0 {
		return finish(e, cmdTray(context.Background(), e, nil))
	}
	if len(rest) == 1 && strings.HasPrefix(strings.ToLower(rest[0]), linkScheme) {
		// A click on the enrollment link in IT's mail (the URL handler).
		return finish(e, enrollFromLink(context.Background(), e, rest[0]))
	}
	name := rest[0]
	if name == "help" {
		if len(rest) > 1 {
			return run([]string{rest[1], "--help"}, e)
		}
		usage(e.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		if c.gui {
			return finish(e, c.run(context.Background(), e, rest[1:]))
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return finish(e, c.run(ctx, e, rest[1:]))
	}
	fmt.Fprintf(e.stderr, "exmail-notifier: unknown command %q\n\n", name)
	usage(e.stderr)
	return exitUsage
}

// finish maps a command's error onto an exit status and a one-line reason.
func finish(e *env, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "exmail-notifier: %s\n", ue.msg)
		if ue.usage != "" {
			fmt.Fprintf(e.stderr, "\n%s", ue.usage)
		}
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "exmail-notifier: %s\n", oneLine(describe(err)))
		return exitFail
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `exmail-notifier: new-mail notifications for Tencent Enterprise Mail (腾讯企业邮箱)

Usage:
  exmail-notifier [--verbose]            run the tray app
  exmail-notifier <command> [flags]      see "exmail-notifier <command> --help"

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Global flags:
  --verbose, -v   log debug detail
  --version       print the version and exit
  --insecure      allow a plain-HTTP token URL on another machine (the interface
                  key then crosses the network in clear text)

Environment (overrides the stored account):
  EXMAIL_AGENT      admin account (client_id)
  EXMAIL_SECRET     interface key (接口key); prefer "exmail-notifier login"
  EXMAIL_ALIAS      mailbox to watch, e.g. bob@example.com
  EXMAIL_TOKEN_URL  token endpoint     (default %s)
  EXMAIL_API_URL    API base, ending in / (default %s)
  EXMAIL_LOGIN_URL  SSO login endpoint (default %s)
  EXMAIL_CONFIG     settings file (default: the user config dir/exmail-notifier/config.json)
  EXMAIL_ALLOW_ENV_ENDPOINTS=1
                    send the key stored in the keyring to endpoints set in the
                    environment (refused otherwise: a leftover demo.env must not
                    receive it)

Exit status: 0 success, 1 failure (reason on stderr), 2 usage error.
`, defaultTokenURL, defaultBaseURL, defaultLoginURL)
}

func cmdVersion(_ context.Context, e *env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprintln(e.stdout, "Usage: exmail-notifier version\n\nPrints the version, the commit and the build date.")
		return nil
	}
	fmt.Fprintln(e.stdout, versionString())
	return nil
}

func versionString() string {
	s := "exmail-notifier " + version
	var extra []string
	if commit != "" {
		extra = append(extra, commit)
	}
	if date != "" {
		extra = append(extra, date)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// env is what a command may touch of the outside world. Tests build their
// own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	verbose        bool
	insecure       bool // --insecure: the key may go to a plain-HTTP token URL on another machine
	log            *slog.Logger
	keys           account.KeyStore // the interface key store; nil: the OS keyring
}

// setupLogger installs the CLI's logger: text lines on stderr, debug with
// --verbose. The tray app replaces it with a rotating file.
func (e *env) setupLogger() {
	level := slog.LevelInfo
	if e.verbose {
		level = slog.LevelDebug
	}
	e.log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

func (e *env) logger() *slog.Logger {
	if e.log == nil {
		e.setupLogger()
	}
	return e.log
}
