package exmailtest

import (
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// value is the {"Value": …} element of PartyList and of party lists.
type value struct {
	Value string `json:"Value"`
}

type valueList struct {
	Count int     `json:"Count"`
	List  []value `json:"List"`
}

func newValueList(vs []string) valueList {
	l := valueList{Count: len(vs), List: []value{}}
	for _, v := range vs {
		l.List = append(l.List, value{v})
	}
	return l
}

// lookup returns the account for the alias parameter (primary addresses
// only: protocol.md §3.7 leaves lookups by slave address open, and the
// fake takes the stricter reading).
func (s *Server) lookupLocked(p params) *account {
	return s.ent.accounts[strings.ToLower(p.get("alias"))]
}

// withAccount runs use, under the lock, on the account the alias
// parameter names. Without an alias it answers errInvalidRequest, and
// notFound when there is no such account; then it reports false and the
// handler has answered.
func (s *Server) withAccount(w http.ResponseWriter, p params, notFound *Error, use func(a *account)) bool {
	if p.get("alias") == "" {
		writeError(w, errInvalidRequest)
		return false
	}
	s.mu.Lock()
	a := s.lookupLocked(p)
	if a != nil {
		use(a)
	}
	s.mu.Unlock()
	if a == nil {
		writeError(w, notFound)
		return false
	}
	return true
}

// --- mail -----------------------------------------------------------------

func (s *Server) handleAuthKey(w http.ResponseWriter, r *http.Request, p params) {
	var key string
	if !s.withAccount(w, p, errUserNotFound, func(a *account) { key = s.newAuthKeyLocked(a.Alias) }) {
		return
	}
	writeJSON(w, struct {
		AuthKey string `json:"auth_key"`
	}{key})
}

func (s *Server) handleNewCount(w http.ResponseWriter, r *http.Request, p params) {
	var alias string
	var n int
	if !s.withAccount(w, p, errAccountNotFound, func(a *account) { alias, n = a.Alias, a.unread() }) {
		return
	}
	// NewCount is a string, as in the live reply recorded by C1.
	writeJSON(w, struct {
		Alias    string `json:"Alias"`
		NewCount string `json:"NewCount"`
	}{alias, strconv.Itoa(n)})
}

// --- user -----------------------------------------------------------------

type userReply struct {
	Alias     string    `json:"Alias"`
	Name      string    `json:"Name"`
	Gender    int       `json:"Gender"`
	SlaveList string    `json:"SlaveList"`
	Position  string    `json:"Position"`
	Tel       string    `json:"Tel"`
	Mobile    string    `json:"Mobile"`
	ExtID     string    `json:"ExtId"`
	PartyList valueList `json:"PartyList"`
	OpenType  int       `json:"OpenType"`
	Status    int       `json:"Status"`
}

func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request, p params) {
	var u User
	if !s.withAccount(w, p, errUserNotFound, func(a *account) { u = cloneUser(a.User) }) {
		return
	}
	openType := u.OpenType
	if openType == 0 {
		openType = 1
	}
	writeJSON(w, userReply{
		Alias:     u.Alias,
		Name:      u.Name,
		Gender:    u.Gender,
		SlaveList: strings.Join(u.Slaves, ","),
		Position:  u.Position,
		Tel:       u.Tel,
		Mobile:    u.Mobile,
		ExtID:     u.ExtID,
		PartyList: newValueList(u.Parties),
		OpenType:  openType,
		Status:    1,
	})
}

// applyUserParams copies the user/sync fields present in p onto u. A
// field that is absent stays as it is; one that is present but empty is
// cleared.
func applyUserParams(u *User, p params, add bool) *Error {
	for name, field := range map[string]*string{
		"name": &u.Name, "position": &u.Position, "tel": &u.Tel, "mobile": &u.Mobile, "extid": &u.ExtID,
	} {
		if p.has(name) {
			*field = p.get(name)
		}
	}
	if p.has("gender") {
		g, err := strconv.Atoi(p.get("gender"))
		if p.get("gender") == "" {
			g, err = 0, nil
		}
		if err != nil || g < 0 || g > 2 {
			return errInvalidRequest
		}
		u.Gender = g
	}
	if p.has("partypath") {
		u.Parties = nil
		for _, path := range p.all("partypath") {
			if path != "" && !slices.Contains(u.Parties, path) {
				u.Parties = append(u.Parties, path)
			}
		}
	}
	if p.has("slave") {
		u.Slaves = nil
		for _, sl := range p.all("slave") {
			if sl != "" {
				u.Slaves = append(u.Slaves, sl)
			}
		}
		if len(u.Slaves) > MaxSlaves {
			return errInvalidRequest
		}
	}
	switch ot := p.get("opentype"); ot {
	case "", "0":
		if add {
			u.OpenType = 1
		}
	case "1", "2":
		u.OpenType = int(ot[0] - '0')
	default:
		return errInvalidRequest
	}
	isMD5 := false
	switch p.get("md5") {
	case "", "0":
	case "1":
		isMD5 = true
	default:
		return errInvalidRequest
	}
	if pw := p.get("password"); pw != "" || add {
		if isMD5 {
			if _, err := hex.DecodeString(pw); err != nil || len(pw) != 32 {
				return errBadPassword
			}
		} else if n := utf8.RuneCountInString(pw); n < 6 || n > 32 {
			return errBadPassword
		}
		u.Password, u.PasswordMD5 = pw, isMD5
	}
	return nil
}

func (s *Server) handleUserSync(w http.ResponseWriter, r *http.Request, p params) {
	action, err := strconv.Atoi(p.get("action"))
	alias := strings.ToLower(p.get("alias"))
	if err != nil || alias == "" {
		writeError(w, errInvalidRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &s.ent
	switch action {
	case ActionDel:
		if e.accounts[alias] == nil {
			writeError(w, errUserNotFound)
			return
		}
		s.removeUserLocked(alias)
	case ActionAdd:
		if !validAddress(alias) || !e.inDomain(alias) {
			writeError(w, errInvalidAlias)
			return
		}
		if e.addrKind(alias) != 0 {
			writeError(w, errAddressExists)
			return
		}
		if err := s.saveUserLocked(User{Alias: alias}, nil, p); err != nil {
			writeError(w, err)
			return
		}
	case ActionMod:
		a := e.accounts[alias]
		if a == nil {
			writeError(w, errUserNotFound)
			return
		}
		if err := s.saveUserLocked(cloneUser(a.User), a, p); err != nil {
			writeError(w, err)
			return
		}
	default:
		writeError(w, errInvalidRequest)
		return
	}
	writeEmpty(w)
}

// saveUserLocked applies p to u, a new user (old == nil, which must get a
// name) or a copy of old's, validates the result and stores it.
func (s *Server) saveUserLocked(u User, old *account, p params) *Error {
	add := old == nil
	if err := applyUserParams(&u, p, add); err != nil {
		return err
	}
	if add && u.Name == "" {
		return errInvalidRequest
	}
	if err := s.ent.validateUser(&u, old, false); err != nil {
		return err
	}
	if add {
		s.putUserLocked(u, ActionAdd)
	} else {
		s.putUserLocked(u, ActionMod)
	}
	return nil
}

func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request, p params) {
	ver, ok := parseVer(p.get("ver"))
	if !ok {
		writeError(w, errInvalidRequest)
		return
	}
	s.mu.Lock()
	list := s.ent.changesSince(ver)
	cur := s.ent.ver
	s.mu.Unlock()
	// Ver is a number here, unlike in the listen push (§2.4).
	writeJSON(w, struct {
		Ver   int64       `json:"Ver"`
		Count int         `json:"Count"`
		List  []listEntry `json:"List"`
	}{cur, len(list), list})
}

type checkEntry struct {
	Email string `json:"Email"`
	Type  int    `json:"Type"`
}

func (s *Server) handleUserCheck(w http.ResponseWriter, r *http.Request, p params) {
	emails := p.all("email")
	if len(emails) > MaxCheckEmails {
		writeError(w, errInvalidRequest)
		return
	}
	list := []checkEntry{}
	s.mu.Lock()
	for _, e := range emails {
		list = append(list, checkEntry{Email: e, Type: s.ent.addrKind(e)})
	}
	s.mu.Unlock()
	writeJSON(w, struct {
		Count int          `json:"Count"`
		List  []checkEntry `json:"List"`
	}{len(list), list})
}

func (s *Server) handleOpenWXToken(w http.ResponseWriter, r *http.Request, p params) {
	s.setWXToken(w, p, true)
}

func (s *Server) handleCloseWXToken(w http.ResponseWriter, r *http.Request, p params) {
	s.setWXToken(w, p, false)
}

func (s *Server) setWXToken(w http.ResponseWriter, p params, on bool) {
	if s.withAccount(w, p, errUserNotFound, func(a *account) { a.WXToken = on }) {
		writeEmpty(w)
	}
}

// --- party ----------------------------------------------------------------

func (s *Server) handlePartySync(w http.ResponseWriter, r *http.Request, p params) {
	action, err := strconv.Atoi(p.get("action"))
	if err != nil {
		writeError(w, errInvalidRequest)
		return
	}
	dst, src := p.get("dstpath"), p.get("srcpath")
	s.mu.Lock()
	defer s.mu.Unlock()
	var e2 *Error
	switch action {
	case ActionAdd:
		e2 = s.partyAddLocked(dst)
	case ActionDel:
		e2 = s.partyDelLocked(dst)
	case ActionMod:
		e2 = s.partyModLocked(src, dst)
	default:
		e2 = errInvalidRequest
	}
	if e2 != nil {
		writeError(w, e2)
		return
	}
	writeEmpty(w)
}

// partyAddLocked: ADD creates missing parents; an existing path is fine.
func (s *Server) partyAddLocked(dst string) *Error {
	if dst == "" {
		return errInvalidParty
	}
	return s.ent.addPartyLocked(dst)
}

// partyDelLocked: DEL removes only the last level, and only when it has
// no sub-departments and no members.
func (s *Server) partyDelLocked(dst string) *Error {
	e := &s.ent
	if _, err := splitParty(dst); err != nil || dst == "" {
		return errInvalidParty
	}
	if !e.partyExists(dst) {
		return errPartyNotFound
	}
	if len(e.children(dst)) > 0 || len(e.members(dst)) > 0 {
		return errPartyNotEmpty
	}
	delete(e.parties, dst)
	return nil
}

// partyModLocked renames or moves src (with its sub-departments and
// members) to dst, creating dst's missing parents. Members that move are
// address-book modifications (Action 3).
func (s *Server) partyModLocked(src, dst string) *Error {
	e := &s.ent
	if src == "" || dst == "" {
		return errInvalidParty
	}
	if _, err := splitParty(src); err != nil {
		return errPartyNotFound
	}
	if !e.partyExists(src) {
		return errPartyNotFound
	}
	dstLevels, err := splitParty(dst)
	if err != nil || strings.HasPrefix(dst, src+"/") {
		return errInvalidParty
	}
	if dst == src {
		return nil
	}
	if e.partyExists(dst) {
		return errPartyExists
	}
	rename := func(path string) (string, bool) {
		if path == src {
			return dst, true
		}
		if rest, ok := strings.CutPrefix(path, src+"/"); ok {
			return dst + "/" + rest, true
		}
		return path, false
	}
	// Check depth of the deepest moved department first.
	for path := range e.parties {
		if np, ok := rename(path); ok {
			if _, err := splitParty(np); err != nil {
				return errInvalidParty
			}
		}
	}
	if len(dstLevels) > 1 {
		if err := e.addPartyLocked(strings.Join(dstLevels[:len(dstLevels)-1], "/")); err != nil {
			return err
		}
	}
	moved := map[string]int64{}
	for path, seq := range e.parties {
		if np, ok := rename(path); ok {
			delete(e.parties, path)
			moved[np] = seq
		}
	}
	for np, seq := range moved {
		e.parties[np] = seq
	}
	var changes []change
	for _, a := range e.sortedAccounts() {
		touched := false
		for i, path := range a.Parties {
			if np, ok := rename(path); ok {
				a.Parties[i], touched = np, true
			}
		}
		if touched {
			changes = append(changes, change{alias: a.Alias, action: ActionMod})
		}
	}
	if len(changes) > 0 {
		s.changedLocked(changes...)
	}
	return nil
}

func (s *Server) handlePartyList(w http.ResponseWriter, r *http.Request, p params) {
	s.writePartyList(w, p, (*enterprise).children)
}

func (s *Server) handlePartyUserList(w http.ResponseWriter, r *http.Request, p params) {
	s.writePartyList(w, p, (*enterprise).members)
}

// writePartyList answers with list(partypath), or with partypath not
// found.
func (s *Server) writePartyList(w http.ResponseWriter, p params, list func(*enterprise, string) []string) {
	path := p.get("partypath")
	s.mu.Lock()
	ok := s.ent.partyExists(path)
	values := list(&s.ent, path)
	s.mu.Unlock()
	if !ok {
		writeError(w, errPartyNotFound)
		return
	}
	writeJSON(w, newValueList(values))
}

// --- group ----------------------------------------------------------------

func nonEmpty(vs []string) []string {
	return slices.DeleteFunc(vs, func(v string) bool { return v == "" })
}

func (s *Server) handleGroupAdd(w http.ResponseWriter, r *http.Request, p params) {
	g := Group{
		Name:    p.get("group_name"),
		Alias:   p.get("group_admin"),
		Status:  p.get("status"),
		Members: nonEmpty(p.all("members")),
	}
	if g.Name == "" || g.Alias == "" || g.Status == "" {
		writeError(w, errInvalidRequest)
		return
	}
	s.mu.Lock()
	err := s.addGroupLocked(g)
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeEmpty(w)
}

// groupOp runs fn on the group named by group_alias.
func (s *Server) groupOp(w http.ResponseWriter, p params, fn func(g *groupRec) *Error) {
	alias := strings.ToLower(p.get("group_alias"))
	if alias == "" {
		writeError(w, errInvalidRequest)
		return
	}
	s.mu.Lock()
	var err *Error
	if g := s.ent.groups[alias]; g == nil {
		err = errGroupNotFound
	} else {
		err = fn(g)
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeEmpty(w)
}

func (s *Server) handleGroupDelete(w http.ResponseWriter, r *http.Request, p params) {
	s.groupOp(w, p, func(g *groupRec) *Error {
		delete(s.ent.groups, g.Alias)
		for _, other := range s.ent.groups {
			other.Members = slices.DeleteFunc(other.Members, func(m string) bool { return m == g.Alias })
		}
		return nil
	})
}

func (s *Server) handleGroupAddMember(w http.ResponseWriter, r *http.Request, p params) {
	s.groupOp(w, p, func(g *groupRec) *Error {
		members, err := s.ent.checkMembers(nonEmpty(p.all("members")))
		switch {
		case err != nil:
			return err
		case len(members) == 0 || slices.Contains(members, g.Alias):
			return errInvalidRequest
		}
		g.Members = appendMissing(g.Members, members...)
		return nil
	})
}

func (s *Server) handleGroupDeleteMember(w http.ResponseWriter, r *http.Request, p params) {
	s.groupOp(w, p, func(g *groupRec) *Error {
		members := nonEmpty(p.all("members"))
		if len(members) == 0 {
			return errInvalidRequest
		}
		g.Members = slices.DeleteFunc(g.Members, func(m string) bool {
			return slices.ContainsFunc(members, func(x string) bool { return strings.EqualFold(x, m) })
		})
		return nil
	})
}

// appendMissing appends to list the items it does not hold yet.
func appendMissing(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// allowList splits the comma-separated allow_list parameter.
func allowList(p params) ([]string, *Error) {
	var out []string
	for _, v := range p.all("allow_list") {
		for a := range strings.SplitSeq(v, ",") {
			a = strings.ToLower(strings.TrimSpace(a))
			if a == "" {
				continue
			}
			if !validAddress(a) {
				return nil, errInvalidRequest
			}
			out = appendMissing(out, a)
		}
	}
	if len(out) == 0 {
		return nil, errInvalidRequest
	}
	return out, nil
}

func (s *Server) handleGroupAddAllowList(w http.ResponseWriter, r *http.Request, p params) {
	s.allowListOp(w, p, func(g *groupRec, list []string) *Error {
		g.AllowList = appendMissing(g.AllowList, list...)
		return nil
	})
}

func (s *Server) handleGroupDelAllowList(w http.ResponseWriter, r *http.Request, p params) {
	s.allowListOp(w, p, func(g *groupRec, list []string) *Error {
		rest := slices.DeleteFunc(slices.Clone(g.AllowList), func(a string) bool { return slices.Contains(list, a) })
		if len(rest) == 0 {
			return errAllowListLast
		}
		g.AllowList = rest
		return nil
	})
}

// allowListOp is a groupOp on a list group's allow list, with the
// addresses of the allow_list parameter.
func (s *Server) allowListOp(w http.ResponseWriter, p params, op func(g *groupRec, list []string) *Error) {
	s.groupOp(w, p, func(g *groupRec) *Error {
		if g.Status != "list" {
			return errGroupNotList
		}
		list, err := allowList(p)
		if err != nil {
			return err
		}
		return op(g, list)
	})
}
