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

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/exmail-notifier/exmail-notifier/api/exmailtest"
	"github.com/exmail-notifier/exmail-notifier/relay/cli"
	"github.com/exmail-notifier/exmail-notifier/relay/store"
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
	fmt.Fprintf(&b, "subscribers %d over %d mailboxes; %d timed pushes\n", r.Subscribers, r.Mailboxes, r.Pushes)
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
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "exmail-relay-load")
		if err != nil {
			return Report{}, err
		}
		defer os.RemoveAll(d)
		o.Dir = d
	}
	rep := Report{Subscribers: o.Subscribers, Mailboxes: o.Mailboxes, Pushes: o.Pushes}

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
	dbPath := filepath.Join(o.Dir, "relay.db")
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		return rep, err
	}
	tokens := make([]api.Secret, o.Subscribers)
	for i := range tokens {
		code, tok := store.NewCode(), store.NewToken()
		if err := st.AddCode(ctx, store.HashSecret(code), aliases[i%o.Mailboxes], time.Now().Add(time.Hour)); err != nil {
			st.Close()
			return rep, err
		}
		if _, err := st.Enroll(ctx, store.HashSecret(code), store.HashSecret(tok), "load", time.Now()); err != nil {
			st.Close()
			return rep, err
		}
		tokens[i] = tok
		if (i+1)%1000 == 0 {
			fmt.Fprintf(o.Log, "enrolled %d\n", i+1)
		}
	}
	st.Close()
	rep.Seed = time.Since(start)

	// The relay, as a child process.
	cmd := exec.CommandContext(ctx, os.Args[0], "serve", "--listen", "127.0.0.1:0", "--db", dbPath)
	cmd.Env = append(os.Environ(), childEnv+"=1",
		"EXMAIL_AGENT="+up.ClientID(), "EXMAIL_SECRET="+up.ClientSecret(),
		"EXMAIL_TOKEN_URL="+up.TokenURL(), "EXMAIL_API_URL="+up.APIBase(), "EXMAIL_LOGIN_URL="+up.LoginURL())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return rep, err
	}
	if err := cmd.Start(); err != nil {
		return rep, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	memstats := make(chan string, 1)
	addr, err := waitServing(stderr, memstats)
	if err != nil {
		return rep, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = up.WaitListeners(wctx, 1)
	cancel()
	if err != nil {
		return rep, fmt.Errorf("the relay did not connect upstream: %w", err)
	}
	if rep.RSSBase, err = rss(cmd.Process.Pid); err != nil {
		return rep, err
	}

	// Every subscriber, live.
	arrivals := make(chan arrival, o.Subscribers)
	start = time.Now()
	conns, err := openAll(ctx, addr, tokens, o.OpenConcurrency, arrivals, o.Log)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		return rep, err
	}
	rep.Connect = time.Since(start)
	time.Sleep(time.Second) // let the relay settle before reading its RSS
	if rep.RSSLoaded, err = rss(cmd.Process.Pid); err != nil {
		return rep, err
	}
	cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case rep.MemStats = <-memstats:
	case <-time.After(5 * time.Second):
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
		cpu0, _ := cpuTime(cmd.Process.Pid)
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
		if cpu1, err := cpuTime(cmd.Process.Pid); err == nil {
			rep.BurstCPU = cpu1 - cpu0
		}
	}
	return rep, nil
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

// openAll opens one stream per token and returns once each has received
// its state event. Each stream then reports every new_mail's arrival.
func openAll(ctx context.Context, addr string, tokens []api.Secret, conc int, out chan<- arrival, log io.Writer) ([]net.Conn, error) {
	var (
		mu    sync.Mutex
		conns []net.Conn
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, conc)
	var live sync.WaitGroup
	for i, tok := range tokens {
		sem <- struct{}{}
		wg.Add(1)
		live.Add(1)
		go func() {
			defer wg.Done()
			c, r, err := open(ctx, addr, tok)
			<-sem
			mu.Lock()
			if err != nil {
				if first == nil {
					first = err
				}
				mu.Unlock()
				live.Done()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			live.Done()
			follow(r, out)
		}()
		if (i+1)%1000 == 0 {
			fmt.Fprintf(log, "opening %d\n", i+1)
		}
	}
	live.Wait()
	return conns, first
}

// open connects, sends the request and reads until the state event.
func open(ctx context.Context, addr string, tok api.Secret) (net.Conn, *bufio.Reader, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(c, "GET /v1/events HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n", tok.Reveal())
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

// follow reports each new_mail's arrival until the connection ends. The
// bytes are chunk-framed; data lines are never split by this relay.
func follow(r *bufio.Reader, out chan<- arrival) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		at := time.Now()
		if i := bytes.Index(line, mailIDKey); i >= 0 && bytes.HasPrefix(line, []byte("data: ")) {
			rest := line[i+len(mailIDKey):]
			if j := bytes.IndexByte(rest, '"'); j >= 0 {
				out <- arrival{mailID: string(rest[:j]), at: at}
			}
		}
	}
}
