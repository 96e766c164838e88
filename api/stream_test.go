package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// checkDiff reports, under what, how got differs from want.
func checkDiff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// splitAll runs a splitter over r and returns the frames (copied) and the
// error that ended it (nil for a clean end).
func splitAll(r io.Reader, max int) ([]string, error) {
	sp := newSplitter(r, max)
	var frames []string
	for {
		f, err := sp.next()
		if err == io.EOF {
			return frames, nil
		}
		if err != nil {
			return frames, err
		}
		frames = append(frames, string(f))
	}
}

// pieces is a reader that returns its pieces one per Read.
type pieces struct{ parts [][]byte }

func (c *pieces) Read(p []byte) (int, error) {
	for len(c.parts) > 0 && len(c.parts[0]) == 0 {
		c.parts = c.parts[1:]
	}
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	return n, nil
}

func cutAt(b []byte, at ...int) io.Reader {
	var parts [][]byte
	prev := 0
	for _, i := range at {
		parts = append(parts, b[prev:i])
		prev = i
	}
	return &pieces{parts: append(parts, b[prev:])}
}

func TestStreamSplitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "whitespace only", in: " \r\n\t ", want: nil},
		{name: "one object", in: `{"Ret":0}`, want: []string{`{"Ret":0}`}},
		{name: "back to back", in: `{"Ret":0}{"Ver":"1"}`, want: []string{`{"Ret":0}`, `{"Ver":"1"}`}},
		{name: "whitespace between", in: "\n{\"Ret\":0}\r\n\t {\"Ver\":\"1\"}\n", want: []string{`{"Ret":0}`, `{"Ver":"1"}`}},
		{name: "PDF trailing comma blanked", in: `{ "Ver": "1364460338051", }`, want: []string{`{ "Ver": "1364460338051"  }`}},
		{name: "trailing comma before newline", in: "{\"a\":[1,2,\n],\n}", want: []string{"{\"a\":[1,2 \n] \n}"}},
		{name: "braces in strings", in: `{"s":"}{\"}\\"}{"t":"]"}`, want: []string{`{"s":"}{\"}\\"}`, `{"t":"]"}`}},
		{name: "nested", in: `{"a":{"b":[{"c":{}}]}}`, want: []string{`{"a":{"b":[{"c":{}}]}}`}},
		{name: "comma inside string kept", in: `{"s":",}"}`, want: []string{`{"s":",}"}`}},
		{name: "garbage first", in: `HTTP/1.1 200 OK`, wantErr: true},
		{name: "garbage after object", in: `{"Ret":0}<html>`, want: []string{`{"Ret":0}`}, wantErr: true},
		{name: "array at top level", in: `[{"Ret":0}]`, wantErr: true},
		{name: "comma between objects", in: `{"Ret":0},{"Ver":"1"}`, want: []string{`{"Ret":0}`}, wantErr: true},
		{name: "cut inside object", in: `{"Ret":0}{"Ver":"13`, want: []string{`{"Ret":0}`}, wantErr: true},
		{name: "balanced but not JSON", in: `{Ret:0}`, wantErr: true},
		{name: "mismatched brackets", in: `{"a":[}`, wantErr: true},
		{name: "double comma", in: `{"a":1,,}`, wantErr: true},
		{name: "BOM is not whitespace", in: "\uFEFF{\"Ret\":0}", wantErr: true},
		{name: "nesting deeper than encoding/json allows", in: `{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, wantErr: true},
		{name: "deep but allowed", in: `{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`,
			want: []string{`{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := splitAll(strings.NewReader(tt.in), MaxFrame)
			checkDiff(t, "frames", tt.want, got)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrBadStream) {
				t.Errorf("err = %v, want ErrBadStream", err)
			}
		})
	}
}

// TestStreamSplitAtEveryByte feeds the PDF's samples and some nasty frames
// cut at every byte, and one byte per read: the frames must not change.
func TestStreamSplitAtEveryByte(t *testing.T) {
	t.Parallel()
	pdf, err := os.ReadFile(filepath.Join("testdata", "listen", "pdf-stream.txt"))
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{
		"pdf":     pdf,
		"escapes": []byte(`{"s":"\\\"}{","u":"\u5f20 雪"} {"a":[{"b":"]"},],}` + "\n"),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, err := splitAll(bytes.NewReader(in), MaxFrame)
			if err != nil {
				t.Fatalf("whole input: %v", err)
			}
			if len(want) == 0 {
				t.Fatal("no frames")
			}
			for i := 0; i <= len(in); i++ {
				got, err := splitAll(cutAt(in, i), MaxFrame)
				if err != nil {
					t.Fatalf("cut at %d: %v", i, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("cut at %d (-whole +cut):\n%s", i, diff)
				}
			}
			got, err := splitAll(iotest.OneByteReader(bytes.NewReader(in)), MaxFrame)
			if err != nil {
				t.Fatalf("one byte per read: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("one byte per read (-whole +bytewise):\n%s", diff)
			}
		})
	}
}

func TestStreamSeveralObjectsInOneRead(t *testing.T) {
	t.Parallel()
	var in bytes.Buffer
	for range 500 {
		in.WriteString(`{"UserName":"bob@x.com","NewCount":1}`)
	}
	// pieces delivers everything in as few reads as the buffer allows.
	got, err := splitAll(&pieces{parts: [][]byte{in.Bytes()}}, MaxFrame)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 {
		t.Fatalf("got %d frames, want 500", len(got))
	}
}

// endless yields an object that never ends: a string of x forever.
type endless struct{ started bool }

func (e *endless) Read(p []byte) (int, error) {
	if !e.started {
		e.started = true
		return copy(p, `{"Subject":"`), nil
	}
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestStreamOversizedFrameBoundsMemory(t *testing.T) {
	t.Parallel()
	sp := newSplitter(&endless{}, MaxFrame)
	_, err := sp.next()
	if !errors.Is(err, ErrBadStream) || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("err = %v, want ErrBadStream for an object larger than 1 MiB", err)
	}
	if c := cap(sp.buf); c > MaxFrame+firstRead {
		t.Errorf("buffer grew to %d bytes, want at most %d", c, MaxFrame+firstRead)
	}
	if _, err2 := sp.next(); !errors.Is(err2, ErrBadStream) {
		t.Errorf("after the error, next = %v; want it to stay failed", err2)
	}
}

func TestStreamFrameSizeLimit(t *testing.T) {
	t.Parallel()
	obj := func(n int) string { // a JSON object of exactly n bytes
		return `{"s":"` + strings.Repeat("a", n-len(`{"s":""}`)) + `"}`
	}
	for _, tc := range []struct {
		size    int
		wantErr bool
	}{{64, false}, {65, true}} {
		in := obj(tc.size) + obj(10)
		got, err := splitAll(iotest.OneByteReader(strings.NewReader(in)), 64)
		if (err != nil) != tc.wantErr {
			t.Errorf("size %d: err = %v, want error %v", tc.size, err, tc.wantErr)
		}
		if !tc.wantErr && len(got) != 2 {
			t.Errorf("size %d: %d frames, want 2", tc.size, len(got))
		}
	}
}

func TestStreamReadErrorPassesThrough(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(`{"Ret":0}{"Ver`), iotest.ErrReader(boom))
	got, err := splitAll(r, MaxFrame)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	checkDiff(t, "frames", []string{`{"Ret":0}`}, got)
}

// TestStreamParseGolden decodes each file of testdata/listen through the
// splitter and the event parser.
func TestStreamParseGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		want    Event
		wantErr error
	}{
		{file: "ack.json", want: Ack{Ret: 0}},
		{file: "version-pdf.json", want: VersionChanged{Ver: "1364460338051"}},
		{file: "version-number.json", want: VersionChanged{Ver: "1474444854395"}},
		{file: "newmail-pdf.json", want: NewMail{
			User: "bob@gzdev.com", MailID: "ZC4028-FPiX_oOG5HUh4XorwyhAY33",
			Sender: `"Test" <test@gzdev.com>`, Receiver: "bob@gzdev.com",
			Subject: "TestMail", Summary: "TestMail Content ", Unread: 549,
		}},
		{file: "newmail-escapes.json", want: NewMail{
			User: "alice@x.com", MailID: "M1",
			Sender: `"张三" <zs@x.com>`, Receiver: "alice@x.com",
			Subject: "Quote \" brace } bracket ] tab\t", Summary: "\u2028line", Unread: 3,
		}},
		{file: "unread-pdf.json", want: UnreadChanged{User: "bob@gzdev.com", Unread: 550}},
		{file: "unread-string-count.json", want: UnreadChanged{User: "Bob@GZDev.com", Unread: 7}},
		{file: "unread-bad-count.json", want: Unknown{Raw: json.RawMessage(`{"UserName":"bob@gzdev.com","NewCount":"lots"}`)}},
		{file: "unknown.json", want: Unknown{Raw: json.RawMessage(`{"Hello":"world","Nested":{"a":[1,2,{"b":"}"}]}}`)}},
		{file: "errcode-invalid-token.json", wantErr: ErrInvalidToken},
		{file: "errcode-ip.json", wantErr: ErrIPNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("testdata", "listen", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			d := newDecoder(bytes.NewReader(b), "", MaxFrame)
			got, err := d.next()
			if tt.wantErr != nil {
				var e *Error
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &e) || e.Op != "listen" {
					t.Fatalf("err = %v, want an *Error for listen that is %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkDiff(t, "event", tt.want, got)
			if _, err := d.next(); err != io.EOF {
				t.Errorf("after the only object: %v, want io.EOF", err)
			}
		})
	}
}

func TestStreamFilterByAlias(t *testing.T) {
	t.Parallel()
	in := `{"Ret":0}` +
		`{"UserName":"bob@x.com","NewCount":1}` +
		`{"UserName":"BOB@X.COM","MailId":"m1","Subject":"for bob","NewCount":2}` +
		`{"UserName":"carol@x.com","MailId":"m2","Subject":"for carol","NewCount":9}` +
		`{"UserName":"carol@x.com","NewCount":8}` +
		`{"Receiver":"\"Bob\" <bob@x.com>","MailId":"m3"}` + // no UserName: Receiver decides
		`{"MailId":"m4"}` + // about a mailbox, names none: dropped
		`{"UserName":"b\u006fb@x.com","NewCount":3}` + // escaped: still bob
		`{"UserName":"carol@x.com","Other":1}` + // unknown, carol's
		`{"Ver":"5"}` +
		`{"Other":true}`
	d := newDecoder(strings.NewReader(in), " Bob@X.com ", MaxFrame)
	var got []Event
	for {
		ev, err := d.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	want := []Event{
		Ack{},
		UnreadChanged{User: "bob@x.com", Unread: 1},
		NewMail{User: "BOB@X.COM", MailID: "m1", Subject: "for bob", Unread: 2},
		Skipped{}, Skipped{}, // carol's
		NewMail{User: "bob@x.com", MailID: "m3", Receiver: `"Bob" <bob@x.com>`},
		Skipped{}, // nobody's
		UnreadChanged{User: "bob@x.com", Unread: 3},
		Skipped{}, // carol's unknown
		VersionChanged{Ver: "5"},
		Unknown{Raw: json.RawMessage(`{"Other":true}`)},
	}
	checkDiff(t, "events for bob", want, got)
}

func TestStreamMailboxAndConcerns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ev          Event
		wantBox     string
		concernsBob bool
	}{
		{NewMail{User: "Bob@x.com"}, "Bob@x.com", true},
		{NewMail{User: "carol@x.com"}, "carol@x.com", false},
		{NewMail{}, "", false},
		{UnreadChanged{User: "bob@X.com"}, "bob@X.com", true},
		{UnreadChanged{User: "carol@x.com"}, "carol@x.com", false},
		{Unknown{Raw: json.RawMessage(`{"UserName":"carol@x.com","X":1}`)}, "carol@x.com", false},
		{Unknown{Raw: json.RawMessage(`{"X":1}`)}, "", true},
		{Unknown{Raw: json.RawMessage(" \n{ \"UserName\" : \"bob@x.com\" }")}, "bob@x.com", true},
		{Unknown{Raw: json.RawMessage(`not json`)}, "", true},
		{Ack{}, "", true},
		{VersionChanged{Ver: "1"}, "", true},
		{StateChanged{State: StateOnline}, "", true},
	}
	for _, tt := range tests {
		if got := Mailbox(tt.ev); got != tt.wantBox {
			t.Errorf("Mailbox(%#v) = %q, want %q", tt.ev, got, tt.wantBox)
		}
		if got := Concerns(tt.ev, "bob@x.com"); got != tt.concernsBob {
			t.Errorf("Concerns(%#v, bob) = %v, want %v", tt.ev, got, tt.concernsBob)
		}
		if !Concerns(tt.ev, "") {
			t.Errorf("Concerns(%#v, \"\") = false, want true", tt.ev)
		}
	}
}

func TestStreamKeysAreTolerant(t *testing.T) {
	t.Parallel()
	// Decision (README): keys match after trimming spaces and ignoring
	// case; values are strict JSON. Duplicates: the last one wins.
	tests := []struct {
		in   string
		want Event
	}{
		{`{"  username ":"a@x","newcount":"2"}`, UnreadChanged{User: "a@x", Unread: 2}},
		{`{"MAILID":"m","UserName":"a@x"}`, NewMail{User: "a@x", MailID: "m"}},
		{`{"Ver":"1","Ver":"2"}`, VersionChanged{Ver: "2"}},
		{`{"Ret":"0"}`, Ack{}},
		{`{"Ret":3}`, Ack{Ret: 3}},
		{`{"Ver":null}`, VersionChanged{}},
		{`{"Ver":"abc"}`, Unknown{Raw: json.RawMessage(`{"Ver":"abc"}`)}},
		{`{"errcode":"0","errmsg":"ok"}`, Unknown{Raw: json.RawMessage(`{"errcode":"0","errmsg":"ok"}`)}},
		{`{"MailId":123,"Subject":null,"Sender":{"a":1}}`, NewMail{MailID: "123", Sender: `{"a":1}`}},
	}
	for _, tt := range tests {
		got, err := parseEvent([]byte(tt.in))
		if err != nil {
			t.Errorf("parseEvent(%s): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseEvent(%s) (-want +got):\n%s", tt.in, diff)
		}
	}
}
