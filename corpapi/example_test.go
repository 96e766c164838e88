package corpapi_test

import (
	"context"
	"fmt"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi"
	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
)

// A desktop needs the SSO and new-mail secrets only.
func Example() {
	ctx := context.Background()
	s := corptest.New(corptest.Options{Demo: true})
	defer s.Close()
	_, _ = s.Deliver(ctx, "bob@example.com", corptest.Mail{From: "lina@example.com", Subject: "周报"})

	c, err := corpapi.New(corpapi.Config{
		CorpID:        s.CorpID(),
		SSOSecret:     api.Secret(s.Secret(corptest.AppSSO)),
		NewMailSecret: api.Secret(s.Secret(corptest.AppNewMail)),
		BaseURL:       s.BaseURL(),
	})
	if err != nil {
		panic(err)
	}
	n, err := c.Mail.NewCount(ctx, "bob@example.com")
	fmt.Println(n, err)
	u, err := c.Mail.LoginURL(ctx, "bob@example.com", "")
	fmt.Println(u, err) // a Secret: prints redacted
	_, err = c.Users.Get(ctx, "bob@example.com")
	fmt.Println(err)
	// Output:
	// 1 <nil>
	// [redacted] <nil>
	// exmail corpapi user/get: needs the secret of the address book (通讯录管理) application
}
