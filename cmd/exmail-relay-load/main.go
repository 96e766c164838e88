//go:build linux

// Command exmail-relay-load measures the relay against relay.md's targets:
// it runs a fake exmail in process and the relay as a child process,
// opens real SSE connections, waits until every one is live, and reports
// the relay's RSS per subscriber and the push → byte latencies.
//
//	exmail-relay-load --subscribers 10000 --mailboxes 100 --pushes 50
//	exmail-relay-load --subscribers 10000 --restart        # kill -9, restart, time until all resumed
//	exmail-relay-load --db postgres://… --nats embed --nodes 3
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/exmail-notifier/exmail-notifier/relay/loadgen"
)

func main() {
	loadgen.ChildMain() // the relay child process
	fs := flag.NewFlagSet("exmail-relay-load", flag.ContinueOnError)
	var o loadgen.Options
	fs.IntVar(&o.Subscribers, "subscribers", 10000, "SSE subscribers to open")
	fs.IntVar(&o.Mailboxes, "mailboxes", 100, "mailboxes the subscribers are spread over")
	fs.IntVar(&o.Pushes, "pushes", 50, "timed pushes (one mail to one mailbox each)")
	fs.IntVar(&o.Burst, "burst", 2000, "mails then pushed back to back to measure events/s (negative: none)")
	fs.StringVar(&o.Dir, "dir", "", "directory for the database (default: a temporary one)")
	fs.StringVar(&o.DB, "db", "", "a postgres://… database to use instead of SQLite (empty, or filled by an earlier run)")
	fs.StringVar(&o.NATS, "nats", "", "with --db: run the relay as a cluster over this NATS server (\"embed\": one in this process)")
	fs.IntVar(&o.Nodes, "nodes", 1, "relay processes sharing the subscribers (more than 1 needs --db and --nats)")
	fs.BoolVar(&o.Restart, "restart", false, "finally kill -9 the relay, restart it on the same database and address, and time until every subscriber has resumed")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if !*quiet {
		o.Log = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := loadgen.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "exmail-relay-load:", err)
		os.Exit(1)
	}
	fmt.Print(rep)
}
