//go:build linux

// Package loadgen measures a relay against the targets in relay.md: it
// starts a fake exmail (api/exmailtest) in process and a real relay as a
// child process (so that the relay's memory is its own), enrolls devices,
// opens real SSE connections, waits for every subscriber to be live, and
// then times pushes from the fake exmail to every subscriber's bytes.
//
// It reports the relay's RSS per idle subscriber and the latency from the
// upstream push to each subscriber (p50/p99/max) and to the last
// subscriber of each push.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/internal/backoff"
	"github.com/exmail-notifier/exmail-notifier/relay/cli"
	"github.com/exmail-notifier/exmail-notifier/relay/client"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
	"github.com/exmail-notifier/exmail-notifier/relay/store/postgres"
	"github.com/exmail-notifier/exmail-notifier/relay/store/sqlite"
)

// childEnv marks the child process that runs the relay.
const childEnv = "EXMAIL_RELAY_LOAD_CHILD"

// ChildMain runs the relay if this process is loadgen's child, and then
// exits; otherwise it returns. Call it first thing in main (and TestMain).
func ChildMain() {
	if os.Getenv(childEnv) != "1" {
		return
	}
	// SIGUSR1: collect garbage, then print where the memory is, as one
	// "memstats:" line on stderr.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for range sig {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if f := os.Getenv("EXMAIL_RELAY_LOAD_HEAPPROFILE"); f != "" {
				if out, err := os.Create(f); err == nil {
					pprof.WriteHeapProfile(out)
					out.Close()
				}
			}
			fmt.Fprintf(os.Stderr, "memstats: goroutines %d, heap in use %.1f MB, stacks %.1f MB, other sys %.1f MB\n",
				runtime.NumGoroutine(), mb(m.HeapInuse), mb(m.StackInuse), mb(m.Sys-m.HeapSys-m.StackSys))
		}
	}()
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.OSEnv()))
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// Options of a run. Zero fields take the defaults noted.
type Options struct {
	Subscribers int // default 10000
	Mailboxes   int // the subscribers are spread over this many mailboxes; default 100
	Pushes      int // timed pushes, one mail to one mailbox each, round robin; default 50
	// Burst mails are then pushed back to back, round robin over the
	// mailboxes, to measure sustained events per second. Default 2000;
	// negative: none.
	Burst int
	// OpenConcurrency bounds connections being opened at once. Default 256.
	OpenConcurrency int
	// Dir holds the database; default a temporary directory, removed after.
	Dir string
	// DB, if set, is a postgres://… database (empty, or one this tool
	// filled before) to use instead of SQLite in Dir.
	DB string
	// NATS, with DB, runs the relay as a cluster of Nodes nodes over this
	// NATS server; "embed" starts one inside this process.
	NATS string
	// Nodes relay processes share the subscribers, round robin (needs DB
	// and NATS when more than 1). Default 1.
	Nodes int
	// Restart, after the measurements, kills the relay (kill -9), starts it
	// again on the same database and address, and times until every
	// subscriber has resumed its stream (they reconnect as the desktop
	// client does: from 1 s, doubling to 30 s, ±20 % jitter). One node only.
	Restart bool
	// Log gets progress lines. Default: discard.
	Log io.Writer
}

// Report is what a run measured.
type Report struct {
	Subscribers, Mailboxes, Pushes int
	Seed, Connect                  time.Duration // enrolling, and opening every stream until live
	RSSBase, RSSLoaded             int64         // the relay's VmRSS in bytes, idle and with every subscriber
	MemStats                       string        // the relay's Go memory breakdown when loaded
	PerSubscriber                  []time.Duration
	LastPerPush                    []time.Duration
	Burst                          int           // mails pushed back to back
	BurstTime                      time.Duration // until every subscriber had every one
	BurstCPU                       time.Duration // the relay's CPU time (user+system) meanwhile
	Nodes                          int
	Store                          string        // "sqlite", "postgres" or "postgres+nats"
	RestartUp                      time.Duration // kill -9 → the new relay serves
	RestartAll                     time.Duration // kill -9 → every subscriber has resumed its stream
}

// RSSPerSubscriber is the relay's extra resident memory per live idle
// subscriber, in bytes.
func (r Report) RSSPerSubscriber() int64 {
	if r.Subscribers == 0 {
		return 0
	}
	return (r.RSSLoaded - r.RSSBase) / int64(r.Subscribers)
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "subscribers %d over %d mailboxes on %d relay node(s), %s; %d timed pushes\n", r.Subscribers, r.Mailboxes, r.Nodes, r.Store, r.Pushes)
	fmt.Fprintf(&b, "enroll %v; connect until all live %v\n", r.Seed.Round(time.Millisecond), r.Connect.Round(time.Millisecond))
	fmt.Fprintf(&b, "relay RSS idle %.1f MB, loaded %.1f MB: %.1f KB per subscriber\n",
		float64(r.RSSBase)/(1<<20), float64(r.RSSLoaded)/(1<<20), float64(r.RSSPerSubscriber())/1024)
	f := func(name string, d []time.Duration) {
		fmt.Fprintf(&b, "%s: p50 %v  p99 %v  max %v  (n=%d)\n", name,
			pct(d, .5).Round(10*time.Microsecond), pct(d, .99).Round(10*time.Microsecond), pct(d, 1).Round(10*time.Microsecond), len(d))
	}
	if r.MemStats != "" {
		fmt.Fprintf(&b, "relay %s\n", r.MemStats)
	}
	f("push → each subscriber's byte", r.PerSubscriber)
	f("push → last subscriber's byte", r.LastPerPush)
	if r.Burst > 0 && r.BurstTime > 0 {
		fmt.Fprintf(&b, "burst: %d mails to %d mailboxes delivered to every subscriber in %v: %.0f events/s (%.0f deliveries/s); relay CPU %.0f%% of one core\n",
			r.Burst, r.Mailboxes, r.BurstTime.Round(time.Millisecond), float64(r.Burst)/r.BurstTime.Seconds(),
			float64(r.Burst)*float64(r.Subscribers)/float64(r.Mailboxes)/r.BurstTime.Seconds(), 100*r.BurstCPU.Seconds()/r.BurstTime.Seconds())
	}
	if r.RestartAll > 0 {
		fmt.Fprintf(&b, "restart (kill -9, same database and address): serving again after %v; every subscriber resumed %v after the kill\n",
			r.RestartUp.Round(time.Millisecond), r.RestartAll.Round(time.Millisecond))
	}
	return b.String()
}

// Run performs one measurement.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Subscribers <= 0 {
		o.Subscribers = 10000
	}
	if o.Mailboxes <= 0 {
		o.Mailboxes = 100
	}
	o.Mailboxes = min(o.Mailboxes, o.Subscribers)
	if o.Pushes <= 0 {
		o.Pushes = 50
	}
	if o.Burst == 0 {
		o.Burst = 2000
	}
	if o.OpenConcurrency <= 0 {
		o.OpenConcurrency = 256
	}
	if o.Nodes <= 0 {
		o.Nodes = 1
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Nodes > 1 && (o.DB == "" || o.NATS == "") {
		return Report{}, errors.New("several nodes need a postgres:// database and NATS")
	}
	if o.Restart && o.Nodes > 1 {
		return Report{}, errors.New("the restart measurement runs one node")
	}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "exmail-relay-load")
		if err != nil {
			return Report{}, err
		}
		defer os.RemoveAll(d)
		o.Dir = d
	}
	rep := Report{Subscribers: o.Subscribers, Mailboxes: o.Mailboxes, Pushes: o.Pushes, Nodes: o.Nodes, Store: "sqlite"}
	if o.DB != "" {
		rep.Store = "postgres"
		if o.NATS != "" {
			rep.Store = "postgres+nats"
		}
	}
	if o.NATS == "embed" {
		ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
		if err != nil {
			return rep, err
		}
		go ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			return rep, errors.New("the embedded NATS server did not start")
		}
		defer ns.Shutdown()
		o.NATS = ns.ClientURL()
	}

	up := exmailtest.New(exmailtest.Options{})
	defer up.Close()
	aliases := make([]string, o.Mailboxes)
	for i := range aliases {
		aliases[i] = fmt.Sprintf("user%05d@%s", i, up.Domain())
		if err := up.AddUser(exmailtest.User{Alias: aliases[i], Name: fmt.Sprint("User ", i)}); err != nil {
			return rep, err
		}
	}

	// Enroll every device straight into the store, as the enroll command
	// and POST /v1/enroll would.
	start := time.Now()
	db := o.DB
	if db == "" {
		db = filepath.Join(o.Dir, "relay.db")
	}
	tokens, err := seed(ctx, db, aliases, o.Subscribers, o.Log)
	if err != nil {
		return rep, err
	}
	rep.Seed = time.Since(start)

	// The relays, as child processes.
	env := append(os.Environ(), childEnv+"=1",
		"EXMAIL_AGENT="+up.ClientID(), "EXMAIL_SECRET="+up.ClientSecret(),
		"EXMAIL_TOKEN_URL="+up.TokenURL(), "EXMAIL_API_URL="+up.APIBase(), "EXMAIL_LOGIN_URL="+up.LoginURL())
	// The database and NATS URLs may carry passwords: the environment,
	// not argv (which every local user can read), as relay.env does.
	env = append(env, "EXMAIL_RELAY_DB="+db)
	if o.NATS != "" {
		env = append(env, "EXMAIL_RELAY_NATS="+o.NATS)
	}
	args := []string{"serve"}
	var nodes []*child
	defer func() {
		for _, c := range nodes {
			c.stop()
		}
	}()
	for range o.Nodes {
		c, err := startChild(ctx, env, append(args, "--listen", "127.0.0.1:0"))
		if err != nil {
			return rep, err
		}
		nodes = append(nodes, c)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = up.WaitListeners(wctx, 1)
	cancel()
	if err != nil {
		return rep, fmt.Errorf("the relay did not connect upstream: %w", err)
	}
	if rep.RSSBase, err = rssAll(nodes); err != nil {
		return rep, err
	}

	// Every subscriber, live, spread round robin over the nodes.
	arrivals := make(chan arrival, o.Subscribers)
	states := make(chan int, o.Subscribers)
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	start = time.Now()
	addrs := make([]string, len(nodes))
	for i, c := range nodes {
		addrs[i] = c.addr
	}
	if err := openAll(sctx, addrs, tokens, o.OpenConcurrency, arrivals, states, o.Log); err != nil {
		return rep, err
	}
	rep.Connect = time.Since(start)
	time.Sleep(time.Second) // let the relays settle before reading their RSS
	if rep.RSSLoaded, err = rssAll(nodes); err != nil {
		return rep, err
	}
	if len(nodes) == 1 {
		nodes[0].cmd.Process.Signal(syscall.SIGUSR1)
		select {
		case rep.MemStats = <-nodes[0].memstats:
		case <-time.After(5 * time.Second):
		}
	}
	fmt.Fprintf(o.Log, "all %d subscribers live in %v\n", o.Subscribers, rep.Connect.Round(time.Millisecond))

	// Timed pushes, one at a time.
	perBox := make([]int, o.Mailboxes)
	for i := range o.Subscribers {
		perBox[i%o.Mailboxes]++
	}
	for p := range o.Pushes {
		box := p % o.Mailboxes
		t0 := time.Now()
		id := up.Deliver(aliases[box], exmailtest.Mail{Sender: "load@example.com", Subject: fmt.Sprint("load ", p)})
		var last time.Duration
		timeout := time.NewTimer(30 * time.Second)
		for got := 0; got < perBox[box]; {
			select {
			case a := <-arrivals:
				if a.mailID != id {
					continue
				}
				d := a.at.Sub(t0)
				rep.PerSubscriber = append(rep.PerSubscriber, d)
				last = max(last, d)
				got++
			case <-timeout.C:
				return rep, fmt.Errorf("push %d: only %d of %d subscribers got it within 30 s", p, got, perBox[box])
			case <-ctx.Done():
				return rep, ctx.Err()
			}
		}
		timeout.Stop()
		rep.LastPerPush = append(rep.LastPerPush, last)
	}

	// Sustained: a burst of mails back to back.
	if o.Burst > 0 {
		rep.Burst = o.Burst
		want := 0
		ids := make(map[string]bool, o.Burst)
		cpu0, _ := cpuAll(nodes)
		t0 := time.Now()
		for p := range o.Burst {
			box := p % o.Mailboxes
			ids[up.Deliver(aliases[box], exmailtest.Mail{Sender: "load@example.com", Subject: fmt.Sprint("burst ", p)})] = true
			want += perBox[box]
		}
		timeout := time.NewTimer(2 * time.Minute)
		defer timeout.Stop()
		for got := 0; got < want; {
			select {
			case a := <-arrivals:
				if ids[a.mailID] {
					got++
				}
			case <-timeout.C:
				return rep, fmt.Errorf("burst: only %d of %d deliveries within 2 minutes", got, want)
			case <-ctx.Done():
				return rep, ctx.Err()
			}
		}
		rep.BurstTime = time.Since(t0)
		if cpu1, err := cpuAll(nodes); err == nil {
			rep.BurstCPU = cpu1 - cpu0
		}
	}

	// A crash and a restart on the same database and address.
	if o.Restart {
		addr := nodes[0].addr
		for len(states) > 0 {
			<-states
		}
		nodes[0].cmd.Process.Signal(syscall.SIGKILL)
		nodes[0].cmd.Wait()
		killed := time.Now()
		fmt.Fprintf(o.Log, "killed the relay (kill -9); restarting it on %s\n", addr)
		c, err := startChild(ctx, env, append(args, "--listen", addr))
		if err != nil {
			return rep, err
		}
		nodes[0] = c
		rep.RestartUp = time.Since(killed)
		back := make([]bool, o.Subscribers)
		timeout := time.NewTimer(2 * time.Minute)
		defer timeout.Stop()
		for n := 0; n < o.Subscribers; {
			select {
			case i := <-states:
				if !back[i] {
					back[i] = true
					n++
					if n%1000 == 0 {
						fmt.Fprintf(o.Log, "resumed %d after %v\n", n, time.Since(killed).Round(time.Millisecond))
					}
				}
			case <-timeout.C:
				return rep, fmt.Errorf("restart: only %d of %d subscribers resumed within 2 minutes", n, o.Subscribers)
			case <-ctx.Done():
				return rep, ctx.Err()
			}
		}
		rep.RestartAll = time.Since(killed)
	}
	return rep, nil
}

// seed enrolls n devices, round robin over aliases, into the database at
// db (a SQLite path or a postgres:// DSN), and returns their tokens.
func seed(ctx context.Context, db string, aliases []string, n int, log io.Writer) ([]api.Secret, error) {
	var st store.Store
	var err error
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		st, err = postgres.Open(ctx, db)
	} else {
		st, err = sqlite.Open(ctx, db, sqlite.Options{})
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	tokens := make([]api.Secret, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				code, tok := store.NewCode(), store.NewToken()
				err := st.AddCode(ctx, store.HashSecret(code), aliases[i%len(aliases)], time.Now().Add(time.Hour))
				if err == nil {
					_, err = st.Enroll(ctx, store.HashSecret(code), store.HashSecret(tok), "load", time.Now())
				}
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
				tokens[i] = tok
			}
		})
	}
	for i := range n {
		next <- i
		if (i+1)%1000 == 0 {
			fmt.Fprintf(log, "enrolled %d\n", i+1)
		}
	}
	close(next)
	wg.Wait()
	return tokens, first
}

// child is one relay process.
type child struct {
	cmd      *exec.Cmd
	addr     string
	memstats chan string
}

func startChild(ctx context.Context, env, args []string) (*child, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, memstats: make(chan string, 1)}
	if c.addr, err = waitServing(stderr, c.memstats); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Wait()
}

func rssAll(nodes []*child) (int64, error) {
	var sum int64
	for _, c := range nodes {
		n, err := rss(c.cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

func cpuAll(nodes []*child) (time.Duration, error) {
	var sum time.Duration
	for _, c := range nodes {
		n, err := cpuTime(c.cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

var servingRE = regexp.MustCompile(`msg="relay: serving" addr=(\S+)`)

// waitServing reads the child's log until it serves; after that it passes
// on "memstats:" lines and drops the rest.
func waitServing(r io.Reader, memstats chan<- string) (string, error) {
	sc := bufio.NewScanner(r)
	var tail []string
	for sc.Scan() {
		if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
					if v, ok := strings.CutPrefix(sc.Text(), "memstats: "); ok {
						select {
						case memstats <- v:
						default:
						}
					}
				}
			}()
			return m[1], nil
		}
		tail = append(tail, sc.Text())
	}
	return "", fmt.Errorf("the relay did not start:\n%s", strings.Join(tail, "\n"))
}

// rss is a process's VmRSS in bytes (Linux).
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the relay's RSS (Linux only): %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuTime is a process's user+system CPU time (Linux, USER_HZ = 100).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

type arrival struct {
	mailID string
	at     time.Time
}

// openAll starts one subscriber per token, round robin over addrs, and
// returns once each has received its first state event. Each subscriber
// then reports every new_mail's arrival, and reconnects (resuming from the
// last event id, with the desktop client's backoff) until ctx is done,
// sending its index on states at every later state event.
func openAll(ctx context.Context, addrs []string, tokens []api.Secret, conc int, out chan<- arrival, states chan<- int, log io.Writer) error {
	var (
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, conc)
	var live sync.WaitGroup
	for i, tok := range tokens {
		sem <- struct{}{}
		live.Add(1)
		go subscribe(ctx, addrs[i%len(addrs)], tok, out, func(err error) {
			<-sem
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			live.Done()
		}, func() {
			select {
			case states <- i:
			default:
			}
		})
		if (i+1)%1000 == 0 {
			fmt.Fprintf(log, "opening %d\n", i+1)
		}
	}
	live.Wait()
	return first
}

// subscribe runs one subscriber: firstLive is called once, after its first
// connection's state event (or its failure); resumed after each later one.
func subscribe(ctx context.Context, addr string, tok api.Secret, out chan<- arrival, firstLive func(error), resumed func()) {
	lastID := ""
	bo := backoff.Backoff{Min: client.DefaultMinBackoff} // the desktop client's policy
	for first := true; ctx.Err() == nil; first = false {
		c, r, err := open(ctx, addr, tok, lastID)
		if first {
			firstLive(err)
			if err != nil {
				return
			}
		}
		if err == nil {
			bo.Reset()
			if !first {
				resumed()
			}
			stop := context.AfterFunc(ctx, func() { c.Close() })
			lastID = follow(r, out, lastID)
			stop()
			c.Close()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(bo.Next(client.DefaultMaxBackoff)):
		}
	}
}

// open connects, sends the request and reads until the state event.
func open(ctx context.Context, addr string, tok api.Secret, lastID string) (net.Conn, *bufio.Reader, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	lei := ""
	if lastID != "" {
		lei = "Last-Event-ID: " + lastID + "\r\n"
	}
	fmt.Fprintf(c, "GET /v1/events HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n%s\r\n", tok.Reveal(), lei)
	r := bufio.NewReaderSize(c, 1024)
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("waiting for the state event: %w", err)
		}
		if bytes.HasPrefix(line, []byte("event: state")) {
			break
		}
	}
	c.SetReadDeadline(time.Time{})
	return c, r, nil
}

var mailIDKey = []byte(`"mail_id":"`)

// follow reports each new_mail's arrival until the connection ends, and
// returns the last event id seen. The bytes are chunk-framed; data lines
// are never split by this relay.
func follow(r *bufio.Reader, out chan<- arrival, lastID string) string {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return lastID
		}
		at := time.Now()
		if id, ok := bytes.CutPrefix(line, []byte("id: ")); ok {
			lastID = string(bytes.TrimSpace(id))
			continue
		}
		if i := bytes.Index(line, mailIDKey); i >= 0 && bytes.HasPrefix(line, []byte("data: ")) {
			rest := line[i+len(mailIDKey):]
			if j := bytes.IndexByte(rest, '"'); j >= 0 {
				out <- arrival{mailID: string(rest[:j]), at: at}
			}
		}
	}
}
