package corptest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// User is a member of the fake enterprise.
type User struct {
	UserID      string // the e-mail address; the key
	Name        string
	Departments []int // department ids; default [1] (the root)
	Position    string
	Mobile      string
	Tel         string
	ExtID       string
	Gender      int // 0 unset, 1 male, 2 female
	Disabled    bool
	Slaves      []string
}

// Department is a department; 1 is the root (parent 0).
type Department struct {
	ID       int
	Name     string
	ParentID int
	Order    int
}

// Mail is a mail in a mailbox.
type Mail struct {
	ID      string    // MailID; Deliver makes one when empty
	From    string    // FromUser, e.g. "zhangwei@example.com"
	Subject string    // Title
	Time    time.Time // arrival; Deliver uses time.Now() when zero
	Read    bool
}

type account struct {
	user  User
	mails []*Mail
}

func (a *account) unread() int {
	n := 0
	for _, m := range a.mails {
		if !m.Read {
			n++
		}
	}
	return n
}

type enterprise struct {
	depts    map[int]Department
	accounts map[string]*account
	mailSeq  int
}

func (e *enterprise) init(domain string) {
	e.depts = map[int]Department{1: {ID: 1, Name: domain, ParentID: 0, Order: 0}}
	e.accounts = map[string]*account{}
}

// maxMails bounds a mailbox.
const maxMails = 500

// ErrExists and ErrUnknown are returned by the Go API of the enterprise.
var (
	ErrExists  = errors.New("corptest: already exists")
	ErrUnknown = errors.New("corptest: unknown user or department")
)

// AddDepartment adds a department under an existing parent.
func (s *Server) AddDepartment(d Department) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.ID <= 1 {
		return fmt.Errorf("corptest: department id %d: %w", d.ID, ErrExists)
	}
	if _, ok := s.ent.depts[d.ID]; ok {
		return fmt.Errorf("corptest: department %d: %w", d.ID, ErrExists)
	}
	if _, ok := s.ent.depts[d.ParentID]; !ok {
		return fmt.Errorf("corptest: parent %d: %w", d.ParentID, ErrUnknown)
	}
	s.ent.depts[d.ID] = d
	return nil
}

// AddUser adds a member with an empty mailbox.
func (s *Server) AddUser(u User) error {
	u.UserID = strings.ToLower(strings.TrimSpace(u.UserID))
	if len(u.Departments) == 0 {
		u.Departments = []int{1}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ent.accounts[u.UserID]; ok || u.UserID == "" {
		return fmt.Errorf("corptest: user %q: %w", u.UserID, ErrExists)
	}
	for _, d := range u.Departments {
		if _, ok := s.ent.depts[d]; !ok {
			return fmt.Errorf("corptest: department %d: %w", d, ErrUnknown)
		}
	}
	u.Departments = slices.Clone(u.Departments)
	u.Slaves = slices.Clone(u.Slaves)
	s.ent.accounts[u.UserID] = &account{user: u}
	return nil
}

// SeedDemo fills the enterprise with a few departments and members.
func (s *Server) SeedDemo() {
	d := s.opts.Domain
	for _, dep := range []Department{
		{ID: 2, Name: "研发中心", ParentID: 1, Order: 10},
		{ID: 3, Name: "后端组", ParentID: 2, Order: 10},
		{ID: 4, Name: "市场部", ParentID: 1, Order: 20},
	} {
		_ = s.AddDepartment(dep)
	}
	for _, u := range []User{
		{UserID: "bob@" + d, Name: "Bob", Departments: []int{3}, Position: "Engineer", Gender: 1},
		{UserID: "lina@" + d, Name: "李娜", Departments: []int{2}, Position: "研发经理", Gender: 2, Slaves: []string{"nana@" + d}},
		{UserID: "zhangwei@" + d, Name: "张伟", Departments: []int{4}, Gender: 1},
		{UserID: "ceo@" + d, Name: "CEO", Departments: []int{1}},
	} {
		_ = s.AddUser(u)
	}
}

// Users returns the members, sorted by userid.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []User
	for _, a := range s.ent.accounts {
		out = append(out, a.user)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.UserID, b.UserID) })
	return out
}

// handleUserGet serves user/get?userid= (protocol.md §5).
func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request, p params) {
	id := strings.ToLower(p.get("userid"))
	if id == "" {
		writeError(w, CodeInvalidParameter, "userid missing")
		return
	}
	s.mu.Lock()
	a := s.ent.accounts[id]
	var u User
	if a != nil {
		u = a.user
	}
	s.mu.Unlock()
	if a == nil {
		writeError(w, CodeUserNotFound, "userid not found")
		return
	}
	enable := 1
	if u.Disabled {
		enable = 0
	}
	slaves := u.Slaves
	if slaves == nil {
		slaves = []string{}
	}
	writeJSON(w, map[string]any{
		"errcode": 0, "errmsg": "ok",
		"userid": u.UserID, "name": u.Name, "department": u.Departments,
		"position": u.Position, "mobile": u.Mobile, "tel": u.Tel, "extid": u.ExtID,
		"gender": strconv.Itoa(u.Gender), "enable": enable, "slaves": slaves, "cpwd_login": 0,
	})
}

// descendants returns id's sub-departments, recursively, in id order.
func (e *enterprise) descendants(id int) []int {
	var out []int
	for _, d := range e.sortedDepts() {
		for p := d.ParentID; p != 0; p = e.depts[p].ParentID {
			if p == id {
				out = append(out, d.ID)
				break
			}
		}
	}
	return out
}

func (e *enterprise) sortedDepts() []Department {
	var ds []Department
	for _, d := range e.depts {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b Department) int { return a.ID - b.ID })
	return ds
}

// handleDepartmentList serves department/list[?id=].
func (s *Server) handleDepartmentList(w http.ResponseWriter, r *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int
	if raw := p.get("id"); raw != "" {
		id, err := strconv.Atoi(raw)
		if err != nil {
			writeError(w, CodeInvalidParameter, "invalid id")
			return
		}
		if _, ok := s.ent.depts[id]; !ok {
			writeError(w, CodeInvalidDepartment, "invalid party id")
			return
		}
		if s.opts.ListChildrenOnly {
			for _, d := range s.ent.sortedDepts() {
				if d.ParentID == id {
					ids = append(ids, d.ID)
				}
			}
		} else {
			ids = append([]int{id}, s.ent.descendants(id)...)
		}
	} else {
		for _, d := range s.ent.sortedDepts() {
			ids = append(ids, d.ID)
		}
	}
	list := []map[string]any{}
	for _, id := range ids {
		d := s.ent.depts[id]
		list = append(list, map[string]any{"id": d.ID, "name": d.Name, "parentid": d.ParentID, "order": d.Order})
	}
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "department": list})
}

// handleSimpleList serves user/simplelist?department_id=&fetch_child=.
func (s *Server) handleSimpleList(w http.ResponseWriter, r *http.Request, p params) {
	id, err := strconv.Atoi(p.get("department_id"))
	if err != nil {
		writeError(w, CodeInvalidParameter, "invalid department_id")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ent.depts[id]; !ok {
		writeError(w, CodeInvalidDepartment, "invalid party id")
		return
	}
	want := map[int]bool{id: true}
	if p.get("fetch_child") == "1" {
		for _, d := range s.ent.descendants(id) {
			want[d] = true
		}
	}
	list := []map[string]any{}
	for _, u := range s.usersLocked() {
		if slices.ContainsFunc(u.Departments, func(d int) bool { return want[d] }) {
			list = append(list, map[string]any{"userid": u.UserID, "name": u.Name, "department": u.Departments})
		}
	}
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "userlist": list})
}

func (s *Server) usersLocked() []User {
	var out []User
	for _, a := range s.ent.accounts {
		out = append(out, a.user)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.UserID, b.UserID) })
	return out
}
