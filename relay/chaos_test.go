package relay_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/relay/server"
	"github.com/exmail-notifier/exmail-notifier/relay/wire"
)

// fuzzedIDs returns n Last-Event-ID values, valid and broken: the store's
// epoch and others, seqs around 0, the log's end and the uint64 limit,
// missing and doubled dots, signs, spaces, control and non-ASCII bytes,
// and very long ones.
func fuzzedIDs(r *rand.Rand, epoch string, last uint64, n int) []string {
	epochs := []string{epoch, "", "x", strings.ToUpper(epoch), epoch + "0", epoch[:len(epoch)-1], "m" + epoch, strings.Repeat("a", 65), "é", epoch + "." + epoch}
	seqs := []string{"0", "1", strconv.FormatUint(last, 10), strconv.FormatUint(last+1, 10), "18446744073709551615", "18446744073709551616",
		"-1", "+1", " 1", "1 ", "01", "1e3", "0x10", "", "٣", "1\x00"}
	out := make([]string, 0, n)
	for range n {
		e, s := epochs[r.IntN(len(epochs))], seqs[r.IntN(len(seqs))]
		var id string
		switch r.IntN(6) {
		case 0:
			id = e + s
		case 1:
			id = e + ".." + s
		case 2:
			id = s + "." + e
		case 3: // random bytes
			b := make([]byte, r.IntN(80))
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			id = string(b)
		default:
			id = e + "." + s
		}
		out = append(out, id)
	}
	return out
}

// TestFuzzedLastEventIDsResumeOrReset sends hundreds of valid and broken
// Last-Event-IDs. Each stream must answer 200 and either resume exactly
// after a known id of this mailbox, or send reset then state; it never
// sends another mailbox's event, and never an id from another epoch.
func TestFuzzedLastEventIDsResumeOrReset(t *testing.T) {
	up := upstreamFake(t)
	n := startRelay(t, up, "", server.Options{})
	be, le := n.enroll(bob), n.enroll(lina)
	s := n.source(be)
	s.online()
	var ids []string
	for i := range 5 {
		ids = append(ids, up.Deliver(bob, mail(fmt.Sprint("bob ", i))))
		up.Deliver(lina, mail(fmt.Sprint("lina ", i)))
	}
	s.mailsUntil(ids[len(ids)-1])
	ls := n.source(le)
	ls.online()
	m, err := n.st.Mailbox(t.Context(), bob)
	if err != nil {
		t.Fatal(err)
	}
	epoch := n.st.Epoch()
	r := rand.New(rand.NewPCG(1, 2))
	for _, lei := range fuzzedIDs(r, epoch, m.LastSeq, 300) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, n.url+"/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+be.Token.Reveal())
		req.Header["Last-Event-Id"] = []string{lei} // as sent, even if net/http would refuse to build it
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			continue // the client side refused the header value itself
		}
		c := &sse{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			t.Fatalf("Last-Event-ID %q: HTTP %d", lei, resp.StatusCode)
		}
		first := c.mustNext()
		// HTTP trims a header value's spaces and tabs; an empty one is no
		// cursor at all: a fresh stream, state and no replay.
		trimmed := strings.Trim(lei, " \t")
		id, perr := wire.ParseID(trimmed)
		resumable := perr == nil && id.Epoch == epoch && m.Resumable(id.Seq)
		if trimmed == "" {
			resumable, id.Seq = true, m.LastSeq
		}
		switch {
		case resumable && first.kind != wire.KindState:
			t.Errorf("Last-Event-ID %q is resumable, but the stream began with %s", lei, first.kind)
		case !resumable && first.kind != wire.KindReset:
			t.Errorf("Last-Event-ID %q is not resumable, but the stream began with %s, not reset", lei, first.kind)
		case !resumable:
			if ev := c.mustNext(); ev.kind != wire.KindState {
				t.Errorf("Last-Event-ID %q: reset was followed by %s, not state", lei, ev.kind)
			}
		}
		want := uint64(0)
		if resumable {
			want = m.LastSeq - id.Seq // the events after the cursor
		}
		for range want {
			ev := c.mustNext()
			if strings.Contains(ev.data, `"alias":"`+lina) || !strings.HasPrefix(ev.id, epoch+".") {
				t.Errorf("Last-Event-ID %q: replayed %+v", lei, ev)
			}
		}
		resp.Body.Close()
	}
}
