// Command exmail-relay is the relay server for exmail-notifier: it holds
// the enterprise's exmail interface key, keeps one upstream listen
// connection, and serves each enrolled desktop only its own mailbox.
// See package relay/cli for the commands, and "exmail-relay --help".
package main

import (
	"context"
	"os"

	"github.com/exmail-notifier/exmail-notifier/relay/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.OSEnv()))
}
