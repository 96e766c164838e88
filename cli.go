package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/user"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/internal/desktop"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
	"github.com/exmail-notifier/exmail-notifier/internal/setup"
)

const (
	defaultTokenURL = api.DefaultTokenURL
	defaultBaseURL  = api.DefaultBaseURL
	defaultLoginURL = api.DefaultLoginURL
)

// usageError is a mistake on the command line: exit status 2.
type usageError struct {
	msg   string
	usage string // the command's usage text, printed after msg
}

func (e *usageError) Error() string { return e.msg }

// errHelpShown: --help was asked for and printed; exit status 0.
var errHelpShown = errors.New("help shown")

// flags is a subcommand's flag set with the CLI's conventions: --help
// prints the usage to stdout and exits 0; a bad flag is a usage error.
type flags struct {
	*flag.FlagSet
	e     *env
	usage string // "Usage: exmail-notifier watch [--all] ..." plus a description
}

func newFlags(e *env, name, usage string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flags{FlagSet: fs, e: e, usage: usage}
}

// help renders the usage text and the flag defaults.
func (f *flags) help() string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(f.usage, "\n"))
	b.WriteString("\n")
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nFlags:\n")
		f.SetOutput(&b)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
	return b.String()
}

// parse parses args. It returns errHelpShown after printing help, and a
// *usageError for anything else that is wrong.
func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(f.e.stdout, f.help())
			return errHelpShown
		}
		return &usageError{msg: err.Error(), usage: f.help()}
	}
	return nil
}

// usageErrorf reports a usage mistake of this subcommand.
func (f *flags) usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), usage: f.help()}
}

// oneLine is a message for stderr: safetext's rule for a terminal line,
// since error messages carry server text (one line, nothing that can drive
// the terminal).
func oneLine(s string) string {
	return safetext.Line(s, 0)
}

// describe turns an error into the sentence a user reads: it adds the fix
// for the failures a user can fix.
func describe(err error) string {
	var fixed interface{ NamesFix() bool }
	if errors.As(err, &fixed) && fixed.NamesFix() {
		return err.Error() // e.g. setup's login errors
	}
	switch {
	case errors.Is(err, api.ErrAuth):
		return err.Error() + "; check EXMAIL_AGENT and the interface key (run \"exmail-notifier login\" again)"
	case errors.Is(err, api.ErrIPNotAllowed):
		return err.Error()
	case errors.Is(err, api.ErrInsecureTokenURL):
		return err.Error() + "; use the https:// token URL, or pass --insecure if you accept that risk"
	}
	return err.Error()
}

// accounts resolves the direct-mode account from e's environment and key
// store.
func (e *env) accounts() *account.Resolver {
	return &account.Resolver{Getenv: e.getenv, Keys: e.keys, Log: e.logger(), InsecureTokenURL: e.insecure}
}

// keyStore is e's interface key store, the OS keyring by default.
func (e *env) keyStore() account.KeyStore {
	if e.keys != nil {
		return e.keys
	}
	return &creds.Keyring{}
}

// client builds an API client for the resolved account.
func (e *env) client(ctx context.Context) (*api.Client, account.Account, error) {
	a, err := e.accounts().Resolve(ctx)
	if err != nil {
		return nil, a, err
	}
	c, err := a.NewClient(e.logger())
	return c, a, err
}

// maxSecretInput bounds what a --…-stdin flag reads.
const maxSecretInput = 4096

// readStdinSecret is the one reader of secrets piped to a --…-stdin flag
// (flag, e.g. "--secret-stdin"; what, e.g. "interface key"): the first
// line of r without its line ending, at most maxSecretInput bytes. Nothing
// but white space may follow that line, so that a wrong file piped in is
// refused rather than half used. oneWord (keys, codes) also trims white
// space around the secret and refuses white space inside it; a password is
// kept exactly as typed. Errors never contain the input.
func readStdinSecret(r io.Reader, flag, what string, oneWord bool) (api.Secret, error) {
	s, err := readStdinSecrets(r, flag, []string{what}, oneWord)
	if err != nil {
		return "", err
	}
	return s[0], nil
}

// readStdinSecrets is readStdinSecret for several secrets, one a line, in
// the order of whats.
func readStdinSecrets(r io.Reader, flag string, whats []string, oneWord bool) ([]api.Secret, error) {
	all := strings.Join(whats, " and ")
	if r == nil {
		return nil, fmt.Errorf("no %s on standard input", all)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretInput+1))
	defer clear(b)
	if err != nil {
		return nil, fmt.Errorf("reading the %s from standard input: %w", all, err)
	}
	if len(b) > maxSecretInput {
		return nil, fmt.Errorf("standard input is too long for the %s (over %d bytes)", all, maxSecretInput)
	}
	rest := string(b)
	var out []api.Secret
	for _, what := range whats {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSuffix(line, "\r")
		if oneWord {
			line = strings.TrimSpace(line)
		}
		switch {
		case strings.TrimSpace(line) == "":
			return nil, fmt.Errorf("no %s on standard input", what)
		case oneWord && strings.ContainsAny(line, " \t"):
			return nil, fmt.Errorf("standard input holds more than one word for the %s; %s wants one a line", what, flag)
		}
		out = append(out, api.Secret(line))
	}
	if strings.TrimSpace(rest) != "" {
		if len(whats) == 1 {
			return nil, fmt.Errorf("standard input holds more than one line; %s wants the %s alone", flag, all)
		}
		return nil, fmt.Errorf("standard input holds more than %d lines; %s wants the %s, one a line", len(whats), flag, all)
	}
	return out, nil
}

// parseAll parses args allowing flags after positional arguments
// ("user get bob@example.com --json"), which the flag package alone does
// not. Everything after "--" is positional.
func (f *flags) parseAll(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.parse(args); err != nil {
			return nil, err
		}
		rest := f.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// confirm asks on stderr and reads the answer from stdin. Anything but
// y/yes, including end of input (no terminal), refuses.
func confirm(e *env, yes bool, format string, args ...any) error {
	if yes {
		return nil
	}
	fmt.Fprintf(e.stderr, format+" [y/N] ", args...)
	var line string
	var err error = io.EOF
	if e.stdin != nil {
		line, err = bufio.NewReader(io.LimitReader(e.stdin, 256)).ReadString('\n')
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	case "":
		fmt.Fprintln(e.stderr)
		if err != nil {
			return errors.New("not confirmed: no answer on stdin; pass --yes to run without asking")
		}
	}
	return errors.New("not confirmed; nothing was changed")
}

// needArgs checks the number of positional arguments.
func needArgs(f *flags, pos []string, min, max int, what string) error {
	switch {
	case len(pos) < min:
		return f.usageErrorf("missing %s", what)
	case max >= 0 && len(pos) > max:
		return f.usageErrorf("too many arguments: want %s", what)
	}
	return nil
}

// changed reports an administrative write that succeeded: one line on
// stdout for the person, and one audit line in the log file (who: the
// admin account and the OS user; what: the same sentence; when: the log's
// time). The sentence never holds a password or a key. An audit line that
// cannot be written is a warning, not a failure: the write is done.
func changed(e *env, c *api.Client, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if err := e.audit(c.ClientID(), what); err != nil {
		e.logger().Warn("could not write the audit line to the log file", "err", err)
	}
	_, err := fmt.Fprintln(e.stdout, what)
	return err
}

// audit appends one line about an administrative write to the log file
// (desktop.OpenLogFile, shared with the tray app).
func (e *env) audit(agent, what string) error {
	f, _, err := desktop.OpenLogFile()
	if err != nil {
		return err
	}
	defer f.Close()
	who := cmp.Or(e.getenv("USER"), e.getenv("USERNAME"))
	if u, err := user.Current(); who == "" && err == nil {
		who = u.Username
	}
	slog.New(slog.NewTextHandler(f, nil)).Info("audit: administrative write", "agent", agent, "os_user", who, "change", what)
	return nil
}

// setupStore changes e's stored account (enroll, login, logout), with
// the keyring's longer wait for a person at the terminal.
func (e *env) setupStore() *setup.Store {
	return &setup.Store{Keys: e.interactiveKeyStore(), Config: e.accounts().LoadConfig, Log: e.logger()}
}

// configHint adds to a broken config file's error what to do after fixing
// it (then, e.g. "then log in again"); other errors pass unchanged.
func configHint(err error, then string) error {
	var ce *setup.ConfigError
	if errors.As(err, &ce) && ce.Path != "" {
		return fmt.Errorf("%w (fix or delete the file; %s)", ce.Err, then)
	}
	return err
}
