package exmailtest_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

func TestSampleMail(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	digits := regexp.MustCompile(`[0-9]+`)
	patterns := map[string]bool{}
	var chinese, english int
	for range 1000 {
		m := exmailtest.SampleMail(r, lina)
		if m.Subject == "" || m.Summary == "" || m.Receiver != lina || m.Time.IsZero() || m.ID != "" {
			t.Fatalf("incomplete mail %+v", m)
		}
		addr, err := mail.ParseAddress(m.Sender)
		if err != nil || addr.Name == "" {
			t.Fatalf("sender %q is not a \"Name\" <addr> display form: %v", m.Sender, err)
		}
		if strings.EqualFold(addr.Address, lina) {
			t.Fatalf("mail from the recipient to herself: %+v", m)
		}
		patterns[digits.ReplaceAllString(strings.SplitN(m.Subject, " ", 2)[0], "#")] = true
		if strings.ContainsFunc(m.Subject, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			chinese++
		} else {
			english++
		}
	}
	if len(patterns) < 20 {
		t.Errorf("only %d subject patterns: %v", len(patterns), patterns)
	}
	if chinese < 200 || english < 200 {
		t.Errorf("%d Chinese and %d English subjects; want a mix", chinese, english)
	}

	// The same seed gives the same mails.
	a := exmailtest.SampleMail(rand.New(rand.NewPCG(7, 7)), bob)
	b := exmailtest.SampleMail(rand.New(rand.NewPCG(7, 7)), bob)
	if diff := cmp.Diff(a, b, cmpopts.IgnoreFields(exmailtest.Mail{}, "Time")); diff != "" {
		t.Errorf("same seed, different mail (-a +b):\n%s", diff)
	}
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	s := newServer(t, exmailtest.Options{Demo: true})
	s.SeedDemo() // a second call changes nothing
	users := s.Users()
	if len(users) != 10 {
		t.Fatalf("%d demo users, want 10", len(users))
	}
	var names []string
	for _, u := range users {
		if !strings.HasSuffix(u.Alias, "@example.com") || u.Name == "" || len(u.Parties) != 1 {
			t.Errorf("odd demo user %+v", u)
		}
		if s.Unread(u.Alias) == 0 || len(s.Mails(u.Alias)) <= s.Unread(u.Alias) {
			t.Errorf("%s: %d mails, %d unread; want read and unread mail", u.Alias, len(s.Mails(u.Alias)), s.Unread(u.Alias))
		}
		names = append(names, u.Name)
		mails := s.Mails(u.Alias)
		for i := 1; i < len(mails); i++ {
			if !mails[i].Time.After(mails[i-1].Time) {
				t.Errorf("%s: mail %d is not newer than mail %d", u.Alias, i, i-1)
			}
		}
	}
	if !strings.Contains(strings.Join(names, ","), "张伟") || !strings.Contains(strings.Join(names, ","), "Alice Chen") {
		t.Errorf("names %v lack Chinese or English ones", names)
	}
	var groups []string
	for _, g := range s.Groups() {
		groups = append(groups, g.Alias+":"+g.Status)
	}
	if diff := cmp.Diff([]string{"all@example.com:inner", "dev@example.com:list"}, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	wantJSON(t, api(t, s, "party/list", form("partypath", "研发中心")),
		`{"Count":4,"List":[{"Value":"后端组"},{"Value":"前端组"},{"Value":"测试组"},{"Value":"运维组"}]}`)
}

// The simulated colleague delivers mail until its context ends.
func TestSimulate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := twoUsers(t, newPipe(t, exmailtest.Options{}))
		l := listening(t, s)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Simulate(ctx, rand.New(rand.NewPCG(3, 4)), time.Minute, lina) }()
		got := l.chunks(1)[0]
		if !strings.Contains(got, `"UserName":"lina@example.com"`) {
			t.Errorf("first simulated push %q", got)
		}
		if d := time.Since(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); d < 30*time.Second || d > 90*time.Second {
			t.Errorf("first mail after %v, want 30–90 s", d)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Simulate returned %v", err)
		}
	})
}
