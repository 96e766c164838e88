// Command exmail-relay is the relay server for exmail-notifier: it holds
// the enterprise's exmail interface key, keeps one upstream listen
// connection, and serves each enrolled desktop only its own mailbox.
// See package relay/cli for the commands, and "exmail-relay --help".
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/relay/cli"
)

// Stamped by the build: -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println(versionString())
		return
	}
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.OSEnv()))
}

// versionString is "exmail-relay VERSION (COMMIT, DATE)", like the
// notifier's.
func versionString() string {
	s := "exmail-relay " + version
	var extra []string
	for _, v := range []string{commit, date} {
		if v != "" {
			extra = append(extra, v)
		}
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}
