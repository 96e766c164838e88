package corpapi

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// User is a member's profile from user/get (protocol.md §5). Numbers are
// accepted as JSON numbers or strings (gender arrives as "1"/"2").
type User struct {
	UserID     string    `json:"userid"` // the member's e-mail address
	Name       string    `json:"name"`
	Department []api.Int `json:"department"` // department ids
	Position   string    `json:"position"`
	Mobile     string    `json:"mobile"`
	Tel        string    `json:"tel"`
	ExtID      string    `json:"extid"`
	Gender     api.Int   `json:"gender"`     // 1 male, 2 female, 0 unset
	Enable     api.Int   `json:"enable"`     // 1 enabled, 0 disabled
	Slaves     []string  `json:"slaves"`     // alias addresses
	CpwdLogin  api.Int   `json:"cpwd_login"` // 1: must change the password at next login
}

// Get returns the profile of the member userid (an e-mail address). An
// unknown member matches ErrNotFound.
//
// API: protocol.md §5 user/get (application 通讯录管理)
func (s *UserService) Get(ctx context.Context, userid string) (*User, error) {
	const op = "user/get"
	if err := needUser(op, userid); err != nil {
		return nil, err
	}
	var u User
	if err := s.c.call(ctx, AppContacts, op, url.Values{"userid": {userid}}, &u); err != nil {
		return nil, err
	}
	if u.UserID == "" {
		u.UserID = userid
	}
	return &u, nil
}

// Member is one entry of user/simplelist.
type Member struct {
	UserID     string    `json:"userid"`
	Name       string    `json:"name"`
	Department []api.Int `json:"department"`
}

// SimpleList returns the members of a department (1 = the root), and
// with fetchChild those of its sub-departments too. An unknown department
// matches ErrNotFound.
//
// API: protocol.md §5 user/simplelist (application 通讯录管理)
func (s *UserService) SimpleList(ctx context.Context, departmentID int, fetchChild bool) ([]Member, error) {
	const op = "user/simplelist"
	if departmentID <= 0 {
		return nil, invalidf(op, "department id %d is not positive", departmentID)
	}
	q := url.Values{"department_id": {strconv.Itoa(departmentID)}, "fetch_child": {"0"}}
	if fetchChild {
		q.Set("fetch_child", "1")
	}
	var out struct {
		UserList []Member `json:"userlist"`
	}
	if err := s.c.call(ctx, AppContacts, op, q, &out); err != nil {
		return nil, err
	}
	return out.UserList, nil
}

// Department is one entry of department/list.
type Department struct {
	ID       api.Int `json:"id"`
	Name     string  `json:"name"`
	ParentID api.Int `json:"parentid"` // 1 is the root; the root's own parent is 0
	Order    api.Int `json:"order"`
}

// List returns the departments under id (0: the whole tree). Which
// departments the server includes is not settled by protocol.md (the root's
// children, or the department itself and every descendant, as WeChat Work
// does); List returns what the server sends. An unknown id matches
// ErrNotFound.
//
// API: protocol.md §5 department/list (application 通讯录管理)
func (s *DepartmentService) List(ctx context.Context, id int) ([]Department, error) {
	const op = "department/list"
	if id < 0 {
		return nil, invalidf(op, "department id %d is negative", id)
	}
	q := url.Values{}
	if id > 0 {
		q.Set("id", strconv.Itoa(id))
	}
	var out struct {
		Department []Department `json:"department"`
	}
	if err := s.c.call(ctx, AppContacts, op, q, &out); err != nil {
		return nil, err
	}
	return out.Department, nil
}

func needUser(op, userid string) error {
	if strings.TrimSpace(userid) == "" {
		return invalidf(op, "the member (userid) is empty")
	}
	return nil
}
