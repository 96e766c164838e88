package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// The seed corpora are in testdata/fuzz/FuzzSplitter and
// testdata/fuzz/FuzzDecode: the PDF's samples, the fake server's framings
// and nasty cases (escapes at chunk edges, deep nesting, oversized and
// unbalanced objects, invalid UTF-8). Run the fuzzers with
//
//	go test ./api -run '^$' -fuzz FuzzSplitter -fuzztime 1m
//	go test ./api -run '^$' -fuzz FuzzDecode -fuzztime 1m

// FuzzSplitter checks the splitter's promises: no panic; every frame is a
// valid JSON object of at most max bytes; and cutting the input at any
// point, or reading it one byte at a time, yields the same frames and the
// same kind of ending.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte(`{ "Ret": 0 }{ "Ver": "1364460338051", }`), uint(7), false)
	f.Fuzz(func(t *testing.T, data []byte, cut uint, small bool) {
		max := MaxFrame
		if small {
			max = 64
		}
		want, wantErr := splitAll(bytes.NewReader(data), max)
		for _, fr := range want {
			if len(fr) > max {
				t.Fatalf("frame of %d bytes, max %d", len(fr), max)
			}
			if fr[0] != '{' || fr[len(fr)-1] != '}' || !json.Valid([]byte(fr)) {
				t.Fatalf("frame %q is not a JSON object", fr)
			}
		}
		if wantErr != nil && !errors.Is(wantErr, ErrBadStream) {
			t.Fatalf("error %v from a bytes.Reader is not ErrBadStream", wantErr)
		}
		at := int(cut % uint(len(data)+1))
		for name, r := range map[string]io.Reader{
			"cut":      cutAt(data, at),
			"bytewise": iotest.OneByteReader(bytes.NewReader(data)),
		} {
			got, err := splitAll(r, max)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s (at %d): frames differ (-whole +%s):\n%s", name, at, name, diff)
			}
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("%s: err = %v, whole: %v", name, err, wantErr)
			}
		}
	})
}

// decodeAll runs a decoder to its end.
func decodeAll(r io.Reader, alias string) ([]Event, error) {
	d := newDecoder(r, alias, MaxFrame)
	var evs []Event
	for {
		ev, err := d.next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// FuzzDecode checks the decoder: no panic; reading byte by byte changes
// nothing; with an alias, every event that is passed on concerns it and
// equals the unfiltered decoding, and every NewMail or UnreadChanged of
// another mailbox became Skipped; errors are *Error or ErrBadStream.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"UserName":"bob@x.com","NewCount":1}{"UserName":"carol@x.com","MailId":"m"}`), "BOB@x.com")
	f.Fuzz(func(t *testing.T, data []byte, alias string) {
		all, allErr := decodeAll(bytes.NewReader(data), "")
		mine, mineErr := decodeAll(iotest.OneByteReader(bytes.NewReader(data)), alias)
		for _, err := range []error{allErr, mineErr} {
			var e *Error
			if err != nil && !errors.Is(err, ErrBadStream) && !errors.As(err, &e) {
				t.Fatalf("unexpected error %v", err)
			}
		}
		if (allErr == nil) != (mineErr == nil) || len(all) != len(mine) {
			t.Fatalf("filtered and unfiltered decoding differ: %d events (%v) vs %d (%v)", len(all), allErr, len(mine), mineErr)
		}
		for i, ev := range mine {
			if u, ok := all[i].(Unknown); ok && (len(u.Raw) > MaxFrame || !json.Valid(u.Raw)) {
				t.Fatalf("Unknown with bad Raw %q", u.Raw)
			}
			if _, ok := all[i].(Skipped); ok {
				t.Fatalf("Skipped without an alias")
			}
			if _, ok := ev.(Skipped); ok {
				switch all[i].(type) {
				case NewMail, UnreadChanged, Unknown, Ack, VersionChanged:
				default:
					t.Fatalf("%#v was skipped", all[i])
				}
				continue
			}
			if !Concerns(ev, alias) {
				t.Fatalf("%#v passed the filter for %q", ev, alias)
			}
			if diff := cmp.Diff(all[i], ev); diff != "" {
				t.Fatalf("event %d differs when filtered (-all +filtered):\n%s", i, diff)
			}
		}
		for i, ev := range all {
			switch ev.(type) {
			case NewMail, UnreadChanged:
				if !Concerns(ev, alias) {
					if _, ok := mine[i].(Skipped); !ok {
						t.Fatalf("%#v of another mailbox reached %q", ev, alias)
					}
				}
			}
		}
	})
}
