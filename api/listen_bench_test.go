package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"testing"
)

// The listen connection carries every mailbox of the enterprise
// (protocol.md §3.4). These benchmarks measure what that costs for a
// 10,000-mailbox enterprise when we care about one mailbox:
//
//	go test ./api -run '^$' -bench 'Listen' -benchmem
//
// ns/op, B/op and allocs/op are per object on the wire.

const mailboxes = 10_000

// enterpriseStream returns one pushed object for each of mailboxes
// accounts, a third of them new mails (with a Chinese subject and
// summary) and the rest unread counts, shuffled, newline-separated,
// and the address of one of the accounts.
func enterpriseStream() (stream []byte, ours string) {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for i := range mailboxes {
		user := fmt.Sprintf("user%05d@example.com", i)
		var obj any
		if i%3 == 0 {
			obj = map[string]any{
				"UserName": user, "MailId": fmt.Sprintf("ZC%04d-%016x", i, r.Uint64()),
				"Sender": `"张伟" <zhangwei@example.com>`, "Receiver": user,
				"Subject": "关于第四季度预算的讨论 Re: Q4 budget", "Summary": "各位好，附件是第四季度的预算草案，请在周五前反馈意见。Hello all, attached is the draft…",
				"NewCount": r.IntN(500),
			}
		} else {
			obj = map[string]any{"UserName": user, "NewCount": r.IntN(500)}
		}
		j, _ := json.Marshal(obj)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.Bytes(), fmt.Sprintf("user%05d@example.com", mailboxes/2)
}

// loopReader replays b forever in reads of at most chunk bytes, as a
// socket would deliver it.
type loopReader struct {
	b     []byte
	i     int
	chunk int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p[:min(len(p), l.chunk)], l.b[l.i:])
	l.i = (l.i + n) % len(l.b)
	return n, nil
}

// BenchmarkListenDecode decodes objects of the enterprise stream: with
// our alias (the others skipped before decoding) and without (every
// object decoded).
func BenchmarkListenDecode(b *testing.B) {
	stream, ours := enterpriseStream()
	for _, bc := range []struct{ name, alias string }{
		{"filtered", ours},
		{"all", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := newDecoder(&loopReader{b: stream, chunk: 4 << 10}, bc.alias, MaxFrame)
			kept := 0
			b.ReportAllocs()
			b.SetBytes(int64(len(stream) / mailboxes))
			for b.Loop() {
				ev, err := d.next()
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := ev.(Skipped); !ok {
					kept++
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(kept)/float64(b.N)*mailboxes, "kept/10k")
		})
	}
}

// BenchmarkListenFilteredOut is the cost of one object of another
// mailbox: split, scanned for UserName, compared, skipped. It must not
// allocate.
func BenchmarkListenFilteredOut(b *testing.B) {
	stream, _ := enterpriseStream()
	d := newDecoder(&loopReader{b: stream, chunk: 4 << 10}, "nobody@example.com", MaxFrame)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.next(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkListenClient runs Client.Listen end to end over an in-memory
// HTTP transport: one op is one listen reply carrying an object for each
// of the 10,000 mailboxes, of which one is ours.
func BenchmarkListenClient(b *testing.B) {
	stream, ours := enterpriseStream()
	s := &listenServer{reply: func(w http.ResponseWriter, r *http.Request, _ int) {
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), 4<<10)
			w.Write(rest[:n])
			rest = rest[n:]
		}
	}}
	c, err := New(Config{
		ClientID: "admin", ClientSecret: "0123456789abcdef0123456789abcdef",
		BaseURL: "http://exmail.test/openapi/", TokenURL: "http://exmail.test/token",
		Transport: handlerTransport{s}, InsecureTokenURL: true, // in memory
	})
	if err != nil {
		b.Fatal(err)
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ReportAllocs()
	for b.Loop() {
		mine := 0
		for ev, err := range c.Listen(b.Context(), "1", ours) {
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := ev.(Skipped); !ok {
				mine++
			}
		}
		if mine != 1 {
			b.Fatalf("%d events for %s, want 1", mine, ours)
		}
	}
	runtime.ReadMemStats(&ms1)
	events := float64(b.N) * mailboxes
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/events, "allocs/event")
}

var _ io.Reader = (*loopReader)(nil)
