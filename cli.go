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

// oneLine folds an error message onto one line for stderr.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
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
