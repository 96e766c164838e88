// Command fakeexmail runs the exmailtest fake server for the desktop
// end-to-end test, with a small control API the test scripts drive with
// curl:
//
//	fakeexmail -env FILE        # writes export FAKE_*=… lines (agent, key, URLs) to FILE, then serves
//
//	GET $FAKE_CTL/deliver?alias=A&subject=S[&sender=N]   → the new MailId
//	GET $FAKE_CTL/unread?alias=A                         → the unread count
//	GET $FAKE_CTL/markread?alias=A                       → marks all read
//
// The test passes them to "exmail-notifier login". It stops on SIGINT/SIGTERM.
//
// Every delivery is logged on stdout, with the wall-clock time just before
// the mail is handed to the listen stream, for the push→toast latency
// measurement (compare with the bus monitor's timestamp-realtime):
//
//	delivered UNIX_MICROSECONDS MAILID SUBJECT
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
)

func main() {
	envFile := flag.String("env", "", "write the EXMAIL_* settings and FAKE_CTL to this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := exmailtest.New(exmailtest.Options{Demo: true})
	defer srv.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("/deliver", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		alias := q.Get("alias")
		sender := q.Get("sender")
		if sender == "" {
			sender = `"张伟" <zhangwei@` + srv.Domain() + `>`
		}
		now := time.Now()
		id := srv.Deliver(alias, exmailtest.Mail{Sender: sender, Subject: q.Get("subject"),
			Summary: q.Get("summary"), Time: now})
		fmt.Printf("delivered %d %s %s\n", now.UnixMicro(), id, q.Get("subject"))
		fmt.Fprintln(w, id)
	})
	mux.HandleFunc("/unread", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, srv.Unread(r.URL.Query().Get("alias")))
	})
	mux.HandleFunc("/markread", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, srv.MarkAllRead(r.URL.Query().Get("alias")))
	})
	mux.HandleFunc("/listeners", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, strconv.Itoa(srv.Listeners()))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, mux)

	env := fmt.Sprintf("export FAKE_AGENT=%s\nexport FAKE_SECRET=%s\nexport FAKE_DOMAIN=%s\nexport FAKE_TOKEN_URL=%s\nexport FAKE_API_URL=%s\nexport FAKE_LOGIN_URL=%s\nexport FAKE_CTL=http://%s\n",
		srv.ClientID(), srv.ClientSecret(), srv.Domain(), srv.TokenURL(), srv.APIBase(), srv.LoginURL(), ln.Addr())
	if *envFile != "" {
		tmp := *envFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(env), 0o600); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, *envFile); err != nil {
			log.Fatal(err)
		}
	} else {
		fmt.Print(env)
	}
	<-ctx.Done()
}
