package notify_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/exmail-notifier/exmail-notifier/notify"
)

func ExampleNotifier() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	clicks := make(chan string, 8)
	n := notify.New(notify.Options{
		AppName:  "Exmail Notifier",
		IconPath: "/home/alice/.cache/exmail-notifier/icon.png", // written once by main
		OnClick: func(mailID string) {
			select { // hand off; never block the notifier
			case clicks <- mailID:
			default:
			}
		},
		Logger: slog.Default(),
	})
	go n.Run(ctx) //nolint:errcheck // returns nil when ctx ends

	n.Toast("New mail from Alice", "Q3 report", "mail-42")
}

func ExamplePrinter() {
	p := notify.NewPrinter(os.Stdout)
	p.Toast("New mail from Alice", "Q3 report\nsee attachment", "mail-42")
	p.Toast("3 new mails", "", "")
	// Output:
	// [toast] New mail from Alice — Q3 report see attachment
	// [toast] 3 new mails
}
