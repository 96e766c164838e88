package main

// The administration commands: user, party and group, one subcommand per
// OpenApi v1.4 endpoint (protocol.md §3.7–3.19). Reads print aligned
// tables, or JSON with --json; writes print one confirmation line.
// Destructive writes ask first unless --yes.

import (
	"context"
	"fmt"
	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
)

func cmdUser(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "user", "Administer the members (mailboxes) of the enterprise.", []subcommand{
		{"get", "[--json] ALIAS", "print a member's profile", userGet},
		{"sync", "add|modify|delete ALIAS [flags]", "create, change or delete a member", userSync},
		{"list", "[--json] [--since VER]", "list the members changed since an address-book version", userList},
		{"check", "[--json] ADDR...", "say whether addresses are free, members, aliases or groups", userCheck},
		{"wxtoken", "on|off ALIAS", "force or lift the WeChat one-time password for a member", userWxToken},
	}, args)
}

func cmdParty(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "party", "Administer the departments. A path is \"/\"-separated without the root (研发中心/后端组); \"\" is the root.", []subcommand{
		{"list", "[--json] [PATH]", "list the sub-departments of PATH", partyList},
		{"sync", "add PATH | move SRC DST | delete PATH", "create, rename/move or delete a department", partySync},
		{"users", "[--json] [PATH]", "list the members of PATH", partyUsers},
	}, args)
}

func cmdGroup(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "group", "Administer mail groups.", []subcommand{
		{"add", "--name NAME --status STATUS [--member ADDR]... GROUP", "create a mail group at address GROUP", groupAdd},
		{"delete", "[--yes] GROUP", "delete a mail group", groupDelete},
		{"add-member", "GROUP ADDR...", "add members to a group", groupAddMember},
		{"remove-member", "[--yes] GROUP ADDR...", "remove members from a group", groupRemoveMember},
		{"allow", "GROUP ADDR...", "add senders to a group's allow list", groupAllow},
		{"disallow", "[--yes] GROUP ADDR...", "remove senders from a group's allow list", groupDisallow},
	}, args)
}

// subcommand is one verb of user, party or group.
type subcommand struct {
	name, synopsis, summary string
	run                     func(ctx context.Context, e *env, args []string) error
}

// dispatch runs the subcommand named by args[0], or prints the list.
func dispatch(ctx context.Context, e *env, prefix, about string, subs []subcommand, args []string) error {
	help := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "Usage: exmail-notifier %s <command> [flags]\n\n%s\n\nCommands:\n", prefix, about)
		t := newTable()
		for _, s := range subs {
			t.add("  "+s.name+" "+s.synopsis, s.summary)
		}
		_ = t.write(&b)
		fmt.Fprintf(&b, "\nSee \"exmail-notifier %s <command> --help\" for the flags of each.\n", prefix)
		return b.String()
	}
	if len(args) == 0 {
		return &usageError{msg: prefix + ": missing command", usage: help()}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, help())
		return errHelpShown
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, e, args[1:])
		}
	}
	return &usageError{msg: fmt.Sprintf("%s: unknown command %q", prefix, args[0]), usage: help()}
}

// adminClient builds the client; administration needs no mailbox alias.
func adminClient(ctx context.Context, e *env) (*api.Client, error) {
	c, _, err := e.client(ctx)
	return c, err
}

// --- user ------------------------------------------------------------

func userGet(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "user get", `Usage: exmail-notifier user get [--json] ALIAS

Prints the profile of the member ALIAS (openapi/user/get).

Example:
  exmail-notifier user get bob@example.com
`)
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 1, 1, "one member address (ALIAS)"); err != nil {
		return err
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	u, err := c.Users.Get(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, u)
	}
	t := newTable()
	t.add("Alias", u.Alias)
	t.add("Name", u.Name)
	t.add("Gender", u.Gender.String())
	t.add("Position", u.Position)
	t.add("Tel", u.Tel)
	t.add("Mobile", u.Mobile)
	t.add("ExtID", u.ExtID)
	t.add("Slaves", strings.Join(u.Slaves, ", "))
	t.add("Parties", strings.Join(u.Parties, ", "))
	t.add("Status", u.OpenType.String())
	return t.write(e.stdout)
}

func userSync(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "user sync", "Create, change or delete a member (openapi/user/sync).", []subcommand{
		{"add", "ALIAS --name NAME --password-stdin [flags]", "create a member", func(ctx context.Context, e *env, args []string) error {
			return userSyncWrite(ctx, e, api.ActionAdd, args)
		}},
		{"modify", "ALIAS [flags]", "change the given fields of a member", func(ctx context.Context, e *env, args []string) error {
			return userSyncWrite(ctx, e, api.ActionModify, args)
		}},
		{"delete", "[--yes] ALIAS", "delete a member and its mailbox (irreversible)", userSyncDelete},
	}, args)
}

func userSyncWrite(ctx context.Context, e *env, action api.Action, args []string) error {
	name := "user sync " + action.String()
	f := newFlags(e, name, fmt.Sprintf(`Usage: exmail-notifier %s ALIAS [flags]

%s the member ALIAS (openapi/user/sync). Only the fields given are sent;
the others keep their value. The password is read from the first line of
stdin with --password-stdin, never from a flag.

Example:
  printf '%%s\n' 'Initial-Pass1' | exmail-notifier user sync add carol@example.com \
      --name Carol --gender female --party 研发中心/后端组 --password-stdin
  exmail-notifier user sync modify carol@example.com --position CTO --slave cc@example.com
`, name, map[api.Action]string{api.ActionAdd: "Creates", api.ActionModify: "Changes"}[action]))
	var req api.UserSync
	f.StringVar(&req.Name, "name", "", "display name")
	gender := f.String("gender", "", "male or female")
	f.StringVar(&req.Position, "position", "", "job title")
	f.StringVar(&req.Tel, "tel", "", "phone number")
	f.StringVar(&req.Mobile, "mobile", "", "mobile number")
	f.StringVar(&req.ExtID, "extid", "", "employee number")
	passwordStdin := f.Bool("password-stdin", false, "read the password from the first line of stdin")
	f.BoolVar(&req.PasswordMD5, "md5", false, "the password read from stdin is its hex MD5 hash")
	var parties, slaves listFlag
	f.Var(&parties, "party", "department `PATH`, e.g. 研发中心/后端组 (repeatable)")
	f.Var(&slaves, "slave", "alias `ADDR` of the member, at most 5 (repeatable)")
	enable := f.Bool("enable", false, "enable the account")
	disable := f.Bool("disable", false, "disable the account")
	yes := f.Bool("yes", false, "do not ask for confirmation (modify with --password-stdin or --disable asks)")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 1, 1, "one member address (ALIAS)"); err != nil {
		return err
	}
	req.Action, req.Alias = action, pos[0]
	req.Parties, req.Slaves = parties, slaves
	switch strings.ToLower(*gender) {
	case "":
	case "male", "m", "1":
		req.Gender = api.GenderMale
	case "female", "f", "2":
		req.Gender = api.GenderFemale
	default:
		return f.usageErrorf("--gender must be male or female, not %q", *gender)
	}
	switch {
	case *enable && *disable:
		return f.usageErrorf("--enable and --disable exclude each other")
	case *enable:
		req.OpenType = api.OpenTypeEnabled
	case *disable:
		req.OpenType = api.OpenTypeDisabled
	}
	if len(slaves) > api.MaxSlaves {
		return f.usageErrorf("at most %d --slave addresses", api.MaxSlaves)
	}
	if req.PasswordMD5 && !*passwordStdin {
		return f.usageErrorf("--md5 needs --password-stdin")
	}
	// Changing a password or disabling an account locks a person out:
	// confirm it. Standard input carries the password, so with
	// --password-stdin the answer can only be --yes.
	risky := action == api.ActionModify && (*passwordStdin || *disable)
	if risky && *passwordStdin && !*yes {
		return f.usageErrorf("changing a password: pass --yes to confirm (standard input carries the password, so it cannot carry an answer)")
	}
	if *passwordStdin {
		pw, err := readStdinSecret(e.stdin, "--password-stdin", "password", false)
		if err != nil {
			return err
		}
		req.Password = pw
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	if risky && !*passwordStdin {
		if err := confirm(e, *yes, "Disable the account %s? They can no longer sign in.", safetext.Cell(req.Alias)); err != nil {
			return err
		}
	}
	if err := c.Users.Sync(ctx, req); err != nil {
		return err
	}
	what := map[api.Action]string{api.ActionAdd: "created", api.ActionModify: "changed"}[action]
	switch {
	case action != api.ActionModify:
	case *passwordStdin && *disable:
		what += " (password set, account disabled)"
	case *passwordStdin:
		what += " (password set)"
	case *disable:
		what += " (account disabled)"
	}
	return changed(e, c, "member %s %s", safetext.Cell(req.Alias), what)
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func userList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "user list", `Usage: exmail-notifier user list [--json] [--since VER]

Lists the members added, modified or deleted after the address-book
version VER (openapi/user/list); without --since, every member. The last
line gives the current version, for the next --since.

Example:
  exmail-notifier user list
  exmail-notifier user list --since 1474444854395 --json
`)
	asJSON := f.Bool("json", false, "print JSON")
	since := f.String("since", "0", "address-book `VER`sion (a millisecond timestamp); 0 lists everyone")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 0, 0, "no arguments"); err != nil {
		return err
	}
	if !allDigits(*since) {
		return f.usageErrorf("--since must be a version number, not %q", *since)
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	ch, err := c.Users.List(ctx, api.Version(strings.TrimLeft(*since, "0")))
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, ch)
	}
	t := newTable("ALIAS", "CHANGE")
	for _, c := range ch.Changes {
		t.add(c.Alias, c.Action.String())
	}
	if err := t.write(e.stdout); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "\nversion %s\n", ch.Ver)
	return err
}

func userCheck(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "user check", fmt.Sprintf(`Usage: exmail-notifier user check [--json] ADDR...

Says for each address whether it is available, a member's primary
address, a member's alias, a mail group or invalid (openapi/user/check).
More than %d addresses are checked in several requests.

Example:
  exmail-notifier user check bob@example.com new.hire@example.com
`, api.MaxCheck))
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 1, -1, "at least one address"); err != nil {
		return err
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	res, err := c.Users.Check(ctx, pos...)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, res)
	}
	t := newTable("ADDRESS", "TYPE")
	for _, r := range res {
		t.add(r.Email, r.Type.String())
	}
	return t.write(e.stdout)
}

func userWxToken(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "user wxtoken", `Usage: exmail-notifier user wxtoken [--yes] on|off ALIAS

Forces (on) or lifts (off) the WeChat one-time password for logins of the
member ALIAS (openapi/user/openwxtoken, openapi/user/closewxtoken). Lifting
it asks for confirmation unless --yes.
`)
	yes := f.Bool("yes", false, "do not ask for confirmation (off asks)")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 2, 2, "on or off, and one member address"); err != nil {
		return err
	}
	var call func(context.Context, string) error
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "on":
		call = c.Users.OpenWxToken
	case "off":
		call = c.Users.CloseWxToken
	default:
		return f.usageErrorf("want on or off, not %q", pos[0])
	}
	if pos[0] == "off" {
		if err := confirm(e, *yes, "Lift the WeChat one-time password of %s? Their sign-in is then protected by the password alone.", safetext.Cell(pos[1])); err != nil {
			return err
		}
	}
	if err := call(ctx, pos[1]); err != nil {
		return err
	}
	return changed(e, c, "WeChat one-time password %s for %s", pos[0], safetext.Cell(pos[1]))
}

// --- party -----------------------------------------------------------

func partyList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "party list", `Usage: exmail-notifier party list [--json] [PATH]

Lists the names of the direct sub-departments of PATH, the root if none
(openapi/party/list).

Example:
  exmail-notifier party list
  exmail-notifier party list 研发中心
`)
	return partyRead(ctx, e, f, args, func(c *api.Client, path string) ([]string, error) {
		return c.Party.List(ctx, path)
	})
}

func partyUsers(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "party users", `Usage: exmail-notifier party users [--json] [PATH]

Lists the addresses of the members of the department PATH, the root if
none (openapi/partyuser/list).

Example:
  exmail-notifier party users 研发中心/后端组
`)
	return partyRead(ctx, e, f, args, func(c *api.Client, path string) ([]string, error) {
		return c.Party.Users(ctx, path)
	})
}

func partyRead(ctx context.Context, e *env, f *flags, args []string, read func(*api.Client, string) ([]string, error)) error {
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 0, 1, "at most one department path"); err != nil {
		return err
	}
	path := ""
	if len(pos) == 1 {
		path = strings.Trim(pos[0], "/")
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	list, err := read(c, path)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, list)
	}
	t := newTable()
	for _, v := range list {
		t.add(v)
	}
	return t.write(e.stdout)
}

func partySync(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "party sync", "Create, rename/move or delete a department (openapi/party/sync).", []subcommand{
		{"add", "PATH", "create a department and any missing parents", partySyncAdd},
		{"move", "SRC DST", "rename or move a department with its members", partySyncMove},
		{"delete", "[--yes] PATH", "delete an empty department", partySyncDelete},
	}, args)
}

func partySyncAdd(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "party sync add", `Usage: exmail-notifier party sync add PATH

Creates the department PATH and any missing parent levels.

Example:
  exmail-notifier party sync add 市场部/华南
`)
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 1, 1, "one department path"); err != nil {
		return err
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	if err := c.Party.Add(ctx, pos[0]); err != nil {
		return err
	}
	return changed(e, c, "department %s created", safetext.Cell(pos[0]))
}

func partySyncMove(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "party sync move", `Usage: exmail-notifier party sync move [--yes] SRC DST

Renames or moves the department SRC to DST; its members move with it.
Asks for confirmation unless --yes.

Example:
  exmail-notifier party sync move --yes 研发中心/后端组 研发中心/服务端组
`)
	yes := f.Bool("yes", false, "do not ask for confirmation")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 2, 2, "a source and a destination path"); err != nil {
		return err
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	if err := confirm(e, *yes, "Move the department %s to %s? Its members move with it.", safetext.Cell(pos[0]), safetext.Cell(pos[1])); err != nil {
		return err
	}
	if err := c.Party.Move(ctx, pos[0], pos[1]); err != nil {
		return err
	}
	return changed(e, c, "department %s moved to %s", safetext.Cell(pos[0]), safetext.Cell(pos[1]))
}

// --- group -----------------------------------------------------------

func groupAdd(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "group add", `Usage: exmail-notifier group add --name NAME --status STATUS [--member ADDR]... GROUP

Creates a mail group with the address GROUP, which must not be in use
(openapi/group/add). STATUS says who may send to it: all (anyone), inner
(the enterprise), group (its members) or list (its allow list; see
"group allow").

Example:
  exmail-notifier group add --name 全体 --status inner --member bob@example.com all@example.com
`)
	name := f.String("name", "", "display `NAME` of the group (required)")
	status := f.String("status", "", "who may send: all, inner, group or list (required)")
	var members listFlag
	f.Var(&members, "member", "member `ADDR` (repeatable)")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 1, 1, "the group's address (GROUP)"); err != nil {
		return err
	}
	if *name == "" {
		return f.usageErrorf("--name is required")
	}
	switch api.GroupStatus(*status) {
	case api.GroupAll, api.GroupInner, api.GroupMembers, api.GroupList:
	default:
		return f.usageErrorf("--status must be all, inner, group or list, not %q", *status)
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	g := api.NewGroup{Address: pos[0], Name: *name, Status: api.GroupStatus(*status), Members: members}
	if err := c.Groups.Add(ctx, g); err != nil {
		return err
	}
	return changed(e, c, "group %s created", safetext.Cell(pos[0]))
}

// deletion is the shape shared by the three deletions (member,
// department, group): one argument, a confirmation, one call.
type deletion struct {
	name, usage string
	arg         string // what the one argument is, for the usage error
	ask, past   string // the question and the confirmation, with %s for the argument
	call        func(ctx context.Context, c *api.Client, arg string) error
}

func (d deletion) run(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, d.name, d.usage)
	yes := f.Bool("yes", false, "do not ask for confirmation")
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 1, 1, d.arg); err != nil {
		return err
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	if err := confirm(e, *yes, d.ask, safetext.Cell(pos[0])); err != nil {
		return err
	}
	if err := d.call(ctx, c, pos[0]); err != nil {
		return err
	}
	return changed(e, c, d.past, safetext.Cell(pos[0]))
}

func userSyncDelete(ctx context.Context, e *env, args []string) error {
	return deletion{
		name: "user sync delete",
		usage: `Usage: exmail-notifier user sync delete [--yes] ALIAS

Deletes the member ALIAS and its mailbox (openapi/user/sync, action 1).
This cannot be undone. Asks for confirmation unless --yes.
`,
		arg:  "one member address (ALIAS)",
		ask:  "Delete the member %s and all of its mail? This cannot be undone.",
		past: "member %s deleted",
		call: func(ctx context.Context, c *api.Client, alias string) error {
			return c.Users.Sync(ctx, api.UserSync{Action: api.ActionDelete, Alias: alias})
		},
	}.run(ctx, e, args)
}

func partySyncDelete(ctx context.Context, e *env, args []string) error {
	return deletion{
		name: "party sync delete",
		usage: `Usage: exmail-notifier party sync delete [--yes] PATH

Deletes the department PATH (its last level). The server refuses if it
still has members. Asks for confirmation unless --yes.
`,
		arg:  "one department path",
		ask:  "Delete the department %s?",
		past: "department %s deleted",
		call: func(ctx context.Context, c *api.Client, path string) error { return c.Party.Delete(ctx, path) },
	}.run(ctx, e, args)
}

func groupDelete(ctx context.Context, e *env, args []string) error {
	return deletion{
		name: "group delete",
		usage: `Usage: exmail-notifier group delete [--yes] GROUP

Deletes the mail group GROUP (openapi/group/delete). Asks for
confirmation unless --yes.
`,
		arg:  "the group's address (GROUP)",
		ask:  "Delete the mail group %s?",
		past: "group %s deleted",
		call: func(ctx context.Context, c *api.Client, group string) error { return c.Groups.Delete(ctx, group) },
	}.run(ctx, e, args)
}

// groupList is the shape shared by add-member, remove-member, allow and
// disallow: GROUP ADDR..., an optional confirmation, one call.
type groupList struct {
	name, usage string
	ask         string // confirmation question; "" for none
	call        func(c *api.Client) func(context.Context, string, ...string) error
	past        string
}

func (g groupList) run(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "group "+g.name, g.usage)
	var yes *bool
	if g.ask != "" {
		yes = f.Bool("yes", false, "do not ask for confirmation")
	}
	pos, err := f.parseAll(args)
	if err != nil {
		return err
	}
	if err := needArgs(f, pos, 2, -1, "a group address and at least one address"); err != nil {
		return err
	}
	c, err := adminClient(ctx, e)
	if err != nil {
		return err
	}
	group, addrs := pos[0], pos[1:]
	list := safetext.Cell(strings.Join(addrs, ", "))
	if g.ask != "" {
		if err := confirm(e, *yes, g.ask, list, safetext.Cell(group)); err != nil {
			return err
		}
	}
	if err := g.call(c)(ctx, group, addrs...); err != nil {
		return err
	}
	return changed(e, c, g.past, list, safetext.Cell(group))
}

func groupAddMember(ctx context.Context, e *env, args []string) error {
	return groupList{
		name: "add-member",
		usage: `Usage: exmail-notifier group add-member [--yes] GROUP ADDR...

Adds members to the mail group GROUP (openapi/group/addmember). Asks for
confirmation unless --yes.

Example:
  exmail-notifier group add-member --yes all@example.com carol@example.com dave@example.com
`,
		ask:  "Add %s to the mail group %s? They will receive its mail.",
		call: func(c *api.Client) func(context.Context, string, ...string) error { return c.Groups.AddMembers },
		past: "added %s to %s",
	}.run(ctx, e, args)
}

func groupRemoveMember(ctx context.Context, e *env, args []string) error {
	return groupList{
		name: "remove-member",
		usage: `Usage: exmail-notifier group remove-member [--yes] GROUP ADDR...

Removes members from the mail group GROUP (openapi/group/deletemember).
Asks for confirmation unless --yes.
`,
		ask:  "Remove %s from the mail group %s?",
		call: func(c *api.Client) func(context.Context, string, ...string) error { return c.Groups.RemoveMembers },
		past: "removed %s from %s",
	}.run(ctx, e, args)
}

func groupAllow(ctx context.Context, e *env, args []string) error {
	return groupList{
		name: "allow",
		usage: `Usage: exmail-notifier group allow [--yes] GROUP ADDR...

Adds senders to the allow list of the mail group GROUP
(openapi/group/addallowlist). Only groups created with --status list
have one. Asks for confirmation unless --yes.

Example:
  exmail-notifier group allow --yes board@example.com ceo@example.com
`,
		ask:  "Allow %s to send to the mail group %s?",
		call: func(c *api.Client) func(context.Context, string, ...string) error { return c.Groups.Allow },
		past: "allowed %s to send to %s",
	}.run(ctx, e, args)
}

func groupDisallow(ctx context.Context, e *env, args []string) error {
	return groupList{
		name: "disallow",
		usage: `Usage: exmail-notifier group disallow [--yes] GROUP ADDR...

Removes senders from the allow list of the mail group GROUP
(openapi/group/delallowlist). The last entry cannot be removed. Asks
for confirmation unless --yes.
`,
		ask:  "Stop allowing %s to send to the mail group %s?",
		call: func(c *api.Client) func(context.Context, string, ...string) error { return c.Groups.Disallow },
		past: "%s may no longer send to %s",
	}.run(ctx, e, args)
}
