package exmailtest

import (
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// User is an account of the fake enterprise.
type User struct {
	Alias    string // primary address, e.g. "lina@example.com" (stored lower-cased)
	Name     string
	Gender   int // 0 unset, 1 male, 2 female
	Position string
	Tel      string
	Mobile   string
	ExtID    string   // employee number (ExtId on the wire)
	Slaves   []string // alias addresses (SlaveList), at most 5
	// Parties are the account's department paths, "/"-separated without
	// the root ("研发中心/后端组"). None means the account sits in the root.
	Parties  []string
	OpenType int  // 1 enabled, 2 disabled; 0 is treated as 1
	WXToken  bool // user/openwxtoken switched the WeChat one-time password on

	// Password is the password as last set by user/sync (an MD5 hex when
	// PasswordMD5). See CheckPassword.
	Password    string
	PasswordMD5 bool
}

// Group is a mail group of the fake enterprise.
type Group struct {
	Alias     string   // the group's own address (group_admin on group/add)
	Name      string   // group_name
	Status    string   // who may send to it: "all", "inner", "group" or "list"
	Members   []string // member addresses
	AllowList []string // senders allowed when Status is "list"
}

// Actions in user/sync, party/sync and user/list (protocol.md §3.8, §3.9).
const (
	ActionDel = 1
	ActionAdd = 2
	ActionMod = 3
)

// Limits the server enforces.
const (
	MaxSlaves      = 5  // slave parameters per user/sync
	MaxCheckEmails = 20 // email parameters per user/check
	MaxPartyLevels = 5  // levels of a department path
	MaxPartyLevel  = 64 // characters of one level
	maxChanges     = 10000
	maxMails       = 1000 // per mailbox; the oldest are dropped beyond it
)

type account struct {
	User
	seq   int64
	mails []*Mail // oldest first
}

type change struct {
	ver    int64
	alias  string
	action int
}

// enterprise is the whole in-memory state, guarded by Server.mu.
type enterprise struct {
	domain   string
	seq      int64
	tokens   map[string]time.Time
	authKeys map[string]authKey
	accounts map[string]*account // by primary address
	slaves   map[string]string   // slave address → primary address
	parties  map[string]int64    // path → creation sequence
	groups   map[string]*groupRec
	ver      int64 // address-book version (ms timestamp)
	baseVer  int64 // oldest version user/list can diff from
	changes  []change
	mailSeq  int64
}

type groupRec struct {
	Group
	seq int64
}

func (e *enterprise) init(domain string) {
	e.domain = domain
	e.tokens = map[string]time.Time{}
	e.authKeys = map[string]authKey{}
	e.accounts = map[string]*account{}
	e.slaves = map[string]string{}
	e.parties = map[string]int64{}
	e.groups = map[string]*groupRec{}
	e.ver = time.Now().UnixMilli()
	e.baseVer = e.ver
}

func (e *enterprise) next() int64 { e.seq++; return e.seq }

// addrKind is user/check's Type: -1 invalid, 0 free, 1 primary account,
// 2 alias (slave), 3 mail group.
func (e *enterprise) addrKind(addr string) int {
	addr = strings.ToLower(addr)
	switch {
	case !e.inDomain(addr):
		return -1
	case e.accounts[addr] != nil:
		return 1
	case e.slaves[addr] != "":
		return 2
	case e.groups[addr] != nil:
		return 3
	}
	return 0
}

func (e *enterprise) inDomain(addr string) bool {
	return validAddress(addr) && strings.HasSuffix(strings.ToLower(addr), "@"+e.domain)
}

// validAddress is a plain syntax check: local@domain.tld with the
// characters mail providers accept in a local part.
func validAddress(addr string) bool {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
		!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") {
		return false
	}
	for _, r := range local {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+", r)) {
			return false
		}
	}
	for _, r := range domain {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// splitParty validates a department path and returns its levels; ""
// (the root) gives none.
func splitParty(path string) ([]string, *Error) {
	if path == "" {
		return nil, nil
	}
	levels := strings.Split(path, "/")
	if len(levels) > MaxPartyLevels {
		return nil, errInvalidParty
	}
	for _, l := range levels {
		if strings.TrimSpace(l) == "" || utf8.RuneCountInString(l) > MaxPartyLevel {
			return nil, errInvalidParty
		}
	}
	return levels, nil
}

// addPartyLocked creates path and its missing parents.
func (e *enterprise) addPartyLocked(path string) *Error {
	levels, err := splitParty(path)
	if err != nil {
		return err
	}
	for i := range levels {
		p := strings.Join(levels[:i+1], "/")
		if _, ok := e.parties[p]; !ok {
			e.parties[p] = e.next()
		}
	}
	return nil
}

func (e *enterprise) partyExists(path string) bool {
	if path == "" {
		return true
	}
	_, ok := e.parties[path]
	return ok
}

// children returns the names of path's direct children in creation order.
func (e *enterprise) children(path string) []string {
	type kid struct {
		name string
		seq  int64
	}
	var kids []kid
	prefix := path + "/"
	if path == "" {
		prefix = ""
	}
	for p, seq := range e.parties {
		rest, ok := strings.CutPrefix(p, prefix)
		if ok && rest != "" && !strings.Contains(rest, "/") {
			kids = append(kids, kid{rest, seq})
		}
	}
	slices.SortFunc(kids, func(a, b kid) int { return int(a.seq - b.seq) })
	names := make([]string, len(kids))
	for i, k := range kids {
		names[i] = k.name
	}
	return names
}

// sortedAccounts returns the accounts in creation order.
func (e *enterprise) sortedAccounts() []*account {
	out := make([]*account, 0, len(e.accounts))
	for _, a := range e.accounts {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *account) int { return int(a.seq - b.seq) })
	return out
}

// members returns the addresses of the accounts directly in path.
func (e *enterprise) members(path string) []string {
	var out []string
	for _, a := range e.sortedAccounts() {
		if path == "" && len(a.Parties) == 0 || slices.Contains(a.Parties, path) {
			out = append(out, a.Alias)
		}
	}
	return out
}

// validateUser checks u for ADD (old == nil) or MOD. It lower-cases
// addresses in place.
func (e *enterprise) validateUser(u *User, old *account, autoParties bool) *Error {
	u.Alias = strings.ToLower(strings.TrimSpace(u.Alias))
	if !validAddress(u.Alias) {
		return errInvalidAlias
	}
	if old == nil {
		if !e.inDomain(u.Alias) {
			return errInvalidAlias
		}
		if e.addrKind(u.Alias) != 0 {
			return errAddressExists
		}
	}
	if u.Gender < 0 || u.Gender > 2 || u.OpenType < 0 || u.OpenType > 2 {
		return errInvalidRequest
	}
	if len(u.Slaves) > MaxSlaves {
		return errInvalidRequest
	}
	seen := map[string]bool{}
	for i, sl := range u.Slaves {
		sl = strings.ToLower(sl)
		u.Slaves[i] = sl
		if !e.inDomain(sl) || sl == u.Alias {
			return errInvalidAlias
		}
		if seen[sl] {
			return errInvalidRequest
		}
		seen[sl] = true
		if owner := e.slaves[sl]; e.accounts[sl] != nil || e.groups[sl] != nil || owner != "" && owner != u.Alias {
			return errAddressExists
		}
	}
	for _, p := range u.Parties {
		if _, err := splitParty(p); err != nil {
			return errPartyNotFound
		}
		if !autoParties && !e.partyExists(p) {
			return errPartyNotFound
		}
	}
	return nil
}

// putUserLocked stores u (validated) as a new or replaced account.
func (s *Server) putUserLocked(u User, action int) {
	e := &s.ent
	a := e.accounts[u.Alias]
	if a == nil {
		a = &account{seq: e.next()}
		e.accounts[u.Alias] = a
	} else {
		for _, sl := range a.Slaves {
			delete(e.slaves, sl)
		}
	}
	for _, p := range u.Parties {
		_ = e.addPartyLocked(p)
	}
	u.Slaves = slices.Clone(u.Slaves)
	u.Parties = slices.Clone(u.Parties)
	a.User = u
	for _, sl := range u.Slaves {
		e.slaves[sl] = u.Alias
	}
	s.changedLocked(change{alias: u.Alias, action: action})
}

func (s *Server) removeUserLocked(alias string) {
	e := &s.ent
	a := e.accounts[alias]
	for _, sl := range a.Slaves {
		delete(e.slaves, sl)
	}
	delete(e.accounts, alias)
	for _, g := range e.groups {
		g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == alias })
	}
	s.changedLocked(change{alias: alias, action: ActionDel})
}

// changedLocked records address-book changes under one new version and
// pushes {"Ver":"…"} to the listen connections.
func (s *Server) changedLocked(cs ...change) {
	e := &s.ent
	v := time.Now().UnixMilli()
	if v <= e.ver {
		v = e.ver + 1
	}
	e.ver = v
	for _, c := range cs {
		c.ver = v
		e.changes = append(e.changes, c)
	}
	if n := len(e.changes) - maxChanges; n > 0 {
		e.baseVer = e.changes[n-1].ver
		e.changes = slices.Delete(e.changes, 0, n)
	}
	s.hub.publish(item{kind: kindVer, ver: v})
}

// listEntry is one user/list entry.
type listEntry struct {
	Alias  string `json:"Alias"`
	Action int    `json:"Action"`
}

// changesSince is user/list: every account with Action 2 when ver is 0 or
// older than the retained history, else one entry per changed account
// (the latest action, except that an add followed by modifications stays
// an add), ordered by the time of its latest change.
func (e *enterprise) changesSince(ver int64) []listEntry {
	out := []listEntry{}
	if ver <= 0 || ver < e.baseVer {
		for _, a := range e.sortedAccounts() {
			out = append(out, listEntry{Alias: a.Alias, Action: ActionAdd})
		}
		return out
	}
	type agg struct {
		action, order int
	}
	latest := map[string]*agg{}
	for i, c := range e.changes {
		if c.ver <= ver {
			continue
		}
		a := latest[c.alias]
		switch {
		case a == nil:
			a = &agg{action: c.action}
			latest[c.alias] = a
		case a.action == ActionAdd && c.action == ActionMod:
		default:
			a.action = c.action
		}
		a.order = i
	}
	for alias, a := range latest {
		out = append(out, listEntry{Alias: alias, Action: a.action})
	}
	slices.SortFunc(out, func(x, y listEntry) int { return latest[x.Alias].order - latest[y.Alias].order })
	return out
}

// --- Go API -----------------------------------------------------------

// AddUser creates an account (and any departments in u.Parties that do
// not exist yet), bumps the address-book version and pushes it. It returns
// an *Error with the code user/sync would give (1302, 1304, 1001).
func (s *Server) AddUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Slaves = slices.Clone(u.Slaves)
	if err := s.ent.validateUser(&u, nil, true); err != nil {
		return err
	}
	if u.OpenType == 0 {
		u.OpenType = 1
	}
	s.putUserLocked(u, ActionAdd)
	return nil
}

// UpdateUser replaces the account u.Alias with u, bumps the version and
// pushes it. Unknown accounts give errcode 1301.
func (s *Server) UpdateUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Slaves = slices.Clone(u.Slaves)
	old := s.ent.accounts[strings.ToLower(strings.TrimSpace(u.Alias))]
	if old == nil {
		return errUserNotFound
	}
	if err := s.ent.validateUser(&u, old, true); err != nil {
		return err
	}
	if u.OpenType == 0 {
		u.OpenType = 1
	}
	s.putUserLocked(u, ActionMod)
	return nil
}

// RemoveUser deletes an account and its mailbox, bumps the version and
// pushes it. Unknown accounts give errcode 1301.
func (s *Server) RemoveUser(alias string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	alias = strings.ToLower(alias)
	if s.ent.accounts[alias] == nil {
		return errUserNotFound
	}
	s.removeUserLocked(alias)
	return nil
}

// User returns the account with primary address alias.
func (s *Server) User(alias string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ent.accounts[strings.ToLower(alias)]
	if a == nil {
		return User{}, false
	}
	return cloneUser(a.User), true
}

// Users returns every account in creation order.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []User
	for _, a := range s.ent.sortedAccounts() {
		out = append(out, cloneUser(a.User))
	}
	return out
}

func cloneUser(u User) User {
	u.Slaves = slices.Clone(u.Slaves)
	u.Parties = slices.Clone(u.Parties)
	return u
}

// CheckPassword reports whether plain is alias's password (comparing MD5
// hashes when user/sync set it with md5=1).
func (s *Server) CheckPassword(alias, plain string) bool {
	u, ok := s.User(alias)
	if !ok || u.Password == "" {
		return false
	}
	if u.PasswordMD5 {
		sum := md5.Sum([]byte(plain))
		return strings.EqualFold(hex.EncodeToString(sum[:]), u.Password)
	}
	return u.Password == plain
}

// AddParty creates a department path and its missing parents. Departments
// alone do not change the address-book version.
func (s *Server) AddParty(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ent.addPartyLocked(path); err != nil {
		return err
	}
	return nil
}

// Parties returns every department path in creation order.
func (s *Server) Parties() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	type p struct {
		path string
		seq  int64
	}
	var ps []p
	for path, seq := range s.ent.parties {
		ps = append(ps, p{path, seq})
	}
	slices.SortFunc(ps, func(a, b p) int { return int(a.seq - b.seq) })
	out := make([]string, len(ps))
	for i, x := range ps {
		out[i] = x.path
	}
	return out
}

// AddGroup creates a mail group with the rules of group/add: the address
// must be free and in the domain, Status one of all/inner/group/list
// ("" means "all"), and members existing accounts or groups.
func (s *Server) AddGroup(g Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.Status == "" {
		g.Status = "all"
	}
	if err := s.addGroupLocked(g); err != nil {
		return err
	}
	return nil
}

func (s *Server) addGroupLocked(g Group) *Error {
	e := &s.ent
	g.Alias = strings.ToLower(strings.TrimSpace(g.Alias))
	switch {
	case !e.inDomain(g.Alias):
		return errInvalidAlias
	case e.addrKind(g.Alias) != 0:
		return errAddressExists
	case !validStatus(g.Status):
		return errInvalidRequest
	}
	members, err := e.checkMembers(g.Members)
	if err != nil {
		return err
	}
	g.Members = members
	g.AllowList = slices.Clone(g.AllowList)
	e.groups[g.Alias] = &groupRec{Group: g, seq: e.next()}
	return nil
}

// checkMembers lower-cases and de-duplicates addresses and checks that
// each is an account or a group.
func (e *enterprise) checkMembers(in []string) ([]string, *Error) {
	var out []string
	for _, m := range in {
		m = strings.ToLower(strings.TrimSpace(m))
		if e.accounts[m] == nil && e.groups[m] == nil {
			return nil, errUserNotFound
		}
		out = appendMissing(out, m)
	}
	return out, nil
}

func validStatus(s string) bool {
	switch s {
	case "all", "inner", "group", "list":
		return true
	}
	return false
}

// Group returns the mail group with address alias.
func (s *Server) Group(alias string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.ent.groups[strings.ToLower(alias)]
	if g == nil {
		return Group{}, false
	}
	return cloneGroup(g.Group), true
}

// Groups returns every mail group in creation order.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []*groupRec
	for _, g := range s.ent.groups {
		recs = append(recs, g)
	}
	slices.SortFunc(recs, func(a, b *groupRec) int { return int(a.seq - b.seq) })
	out := make([]Group, len(recs))
	for i, g := range recs {
		out[i] = cloneGroup(g.Group)
	}
	return out
}

func cloneGroup(g Group) Group {
	g.Members = slices.Clone(g.Members)
	g.AllowList = slices.Clone(g.AllowList)
	return g
}

// Ver returns the current address-book version (a millisecond timestamp,
// strictly increasing).
func (s *Server) Ver() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ent.ver
}

// BumpVer records a modification (Action 3) of alias without changing it,
// as if it had been edited in the admin console, and pushes the new
// version. It returns the new version; unknown accounts give errcode 1301.
func (s *Server) BumpVer(alias string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	alias = strings.ToLower(alias)
	if s.ent.accounts[alias] == nil {
		return 0, errUserNotFound
	}
	s.changedLocked(change{alias: alias, action: ActionMod})
	return s.ent.ver, nil
}
