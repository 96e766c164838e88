package callback_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/corpapi/callback"
	"github.com/exmail-notifier/exmail-notifier/corpapi/corptest"
)

// A relay mounts the Handler and stores each event before it answers.
func Example() {
	ctx := context.Background()
	fake := corptest.New(corptest.Options{Demo: true})
	defer fake.Close()

	events := make(chan api.Event, 1)
	h, err := callback.NewHandler(callback.Options{
		Token:          api.Secret(fake.CallbackToken()),
		EncodingAESKey: api.Secret(fake.CallbackAESKey()),
		CorpID:         fake.CorpID(),
		Deliver:        callback.ToChannel(events), // a relay would persist here
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle(callback.Path, h)
	relay := httptest.NewServer(mux)
	defer relay.Close()

	fake.SetCallbackURL(relay.URL + callback.Path)
	fmt.Println(fake.VerifyCallbackURL(ctx))
	_, err = fake.Deliver(ctx, "bob@example.com", corptest.Mail{ID: "m1", From: "lina@example.com", Subject: "Lunch?"})
	fmt.Println(err)
	fmt.Printf("%+v\n", <-events)
	// Output:
	// <nil>
	// <nil>
	// {User:bob@example.com MailID:m1 Sender:lina@example.com Receiver:bob@example.com Subject:Lunch? Summary: Unread:1}
}
