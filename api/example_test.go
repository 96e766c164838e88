package api_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

// A client for the fake server of api/exmailtest. Against the real
// service, leave the URLs empty and give the admin account and the
// interface key.
func Example() {
	srv := exmailtest.New(exmailtest.Options{})
	defer srv.Close()
	_ = srv.AddUser(exmailtest.User{Alias: "bob@example.com", Name: "Bob", Parties: []string{"研发中心"}})
	srv.Deliver("bob@example.com", exmailtest.Mail{Sender: `"Alice" <alice@example.com>`, Subject: "Lunch?"})

	c, err := api.New(api.Config{
		ClientID:     srv.ClientID(),
		ClientSecret: api.Secret(srv.ClientSecret()),
		TokenURL:     srv.TokenURL(),
		BaseURL:      srv.APIBase(),
		LoginURL:     srv.LoginURL(),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	n, err := c.Mail.NewCount(ctx, "bob@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("unread:", n)

	u, err := c.Users.Get(ctx, "bob@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Name, u.Parties)

	// The SSO URL is a Secret: it prints redacted; Reveal it only to hand
	// it to the browser.
	sso, err := c.Mail.LoginURL(ctx, "bob@example.com", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("login URL:", sso)

	_, err = c.Users.Get(ctx, "nobody@example.com")
	fmt.Println("not found:", errors.Is(err, api.ErrNotFound))
	// Output:
	// unread: 1
	// Bob [研发中心]
	// login URL: [redacted]
	// not found: true
}

// Creating a member: only the fields set are sent; lists go as repeated
// keys.
func ExampleUserService_Sync() {
	srv := exmailtest.New(exmailtest.Options{})
	defer srv.Close()
	_ = srv.AddParty("研发中心/后端组")
	c, err := api.New(api.Config{
		ClientID: srv.ClientID(), ClientSecret: api.Secret(srv.ClientSecret()),
		TokenURL: srv.TokenURL(), BaseURL: srv.APIBase(),
	})
	if err != nil {
		log.Fatal(err)
	}
	err = c.Users.Sync(context.Background(), api.UserSync{
		Action:   api.ActionAdd,
		Alias:    "carol@example.com",
		Name:     "Carol",
		Password: api.Secret("Initial-Pass1"),
		Parties:  []string{"研发中心/后端组"},
		Slaves:   []string{"cc@example.com"},
	})
	fmt.Println(err)
	form := srv.RequestsTo("user/sync")[0].Form
	for _, k := range []string{"action", "alias", "name", "md5", "partypath", "slave"} {
		fmt.Printf("%s=%q\n", k, form[k])
	}
	// Output:
	// <nil>
	// action=["2"]
	// alias=["carol@example.com"]
	// name=["Carol"]
	// md5=["0"]
	// partypath=["研发中心/后端组"]
	// slave=["cc@example.com"]
}

// BuildLoginURL makes the SSO URL from an auth key without a network
// call.
func ExampleBuildLoginURL() {
	u, err := api.BuildLoginURL(api.DefaultLoginURL, "admin", "bob@example.com", api.Secret("077FFF01"), "ZC4028")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Reveal())
	// Output:
	// https://exmail.qq.com/cgi-bin/login?fun=bizopenssologin&method=bizauth&agent=admin&user=bob%40example.com&ticket=077FFF01&mailid=ZC4028
}
