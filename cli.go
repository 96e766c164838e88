package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/creds"
	"github.com/exmail-notifier/exmail-notifier/internal/account"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
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
	switch {
	case errors.Is(err, api.ErrAuth):
		return err.Error() + "; check EXMAIL_AGENT and the interface key (run \"exmail-notifier login\" again)"
	case errors.Is(err, api.ErrIPNotAllowed):
		return err.Error()
	}
	return err.Error()
}

// accounts resolves the direct-mode account from e's environment and key
// store.
func (e *env) accounts() *account.Resolver {
	return &account.Resolver{Getenv: e.getenv, Keys: e.keys, Log: e.logger()}
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
// refused rather than half used. oneWord (the interface key) also trims
// white space around the secret and refuses white space inside it; a
// password is kept exactly as typed. Errors never contain the input.
func readStdinSecret(r io.Reader, flag, what string, oneWord bool) (api.Secret, error) {
	if r == nil {
		return "", fmt.Errorf("no %s on standard input", what)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretInput+1))
	defer clear(b)
	if err != nil {
		return "", fmt.Errorf("reading the %s from standard input: %w", what, err)
	}
	if len(b) > maxSecretInput {
		return "", fmt.Errorf("standard input is too long for the %s (over %d bytes)", what, maxSecretInput)
	}
	line, rest, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if oneWord {
		line = strings.TrimSpace(line)
	}
	switch {
	case strings.TrimSpace(line) == "":
		return "", fmt.Errorf("no %s on standard input", what)
	case strings.TrimSpace(rest) != "":
		return "", fmt.Errorf("standard input holds more than one line; %s wants the %s alone", flag, what)
	case oneWord && strings.ContainsAny(line, " \t"):
		return "", fmt.Errorf("standard input holds more than one word; %s wants the %s alone", flag, what)
	}
	return api.Secret(line), nil
}
