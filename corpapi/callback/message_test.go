package callback

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
	"github.com/google/go-cmp/cmp"
)

func sprint(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }

func TestDecode(t *testing.T) {
	const corp = "wm123"
	ts := time.Unix(1475980961, 0)
	tests := []struct {
		name  string
		plain string
		want  Message
		event api.Event
		err   error
	}{
		{
			name:  "mail xml",
			plain: `<xml><CorpID><![CDATA[wm123]]></CorpID><MsgType><![CDATA[Mail]]></MsgType><MailID><![CDATA[m1]]></MailID><ToUserID><![CDATA[bob@example.com]]></ToUserID><FromUser><![CDATA[alice@example.com]]></FromUser><Title><![CDATA[Hi <there>]]></Title><Time>1475980961</Time><NewCount>3</NewCount></xml>`,
			want:  &Mail{CorpID: corp, MailID: "m1", To: "bob@example.com", From: "alice@example.com", Title: "Hi <there>", Time: ts, Unread: 3},
			event: api.NewMail{User: "bob@example.com", MailID: "m1", Sender: "alice@example.com", Receiver: "bob@example.com", Subject: "Hi <there>", Unread: 3},
		},
		{
			name:  "unread xml",
			plain: `<xml><CorpID>wm123</CorpID><MsgType>UnRead</MsgType><UserID>bob@example.com</UserID><Time>1475980961</Time><UnReadCount>0</UnReadCount></xml>`,
			want:  &Unread{CorpID: corp, User: "bob@example.com", Time: ts, Unread: 0},
			event: api.UnreadChanged{User: "bob@example.com", Unread: 0},
		},
		{
			name:  "unread sample labelled Mail (mirrored doc page)",
			plain: `<xml><CorpID>wm123</CorpID><MsgType>Mail</MsgType><UserID>bob@example.com</UserID><Time>1475980961</Time><UnReadCount>7</UnReadCount></xml>`,
			want:  &Unread{CorpID: corp, User: "bob@example.com", Time: ts, Unread: 7},
			event: api.UnreadChanged{User: "bob@example.com", Unread: 7},
		},
		{
			name:  "mail json with string numbers",
			plain: `{"CorpID":"wm123","MsgType":"Mail","MailID":"m2","ToUserID":"bob@example.com","FromUser":"\"张伟\" <zw@example.com>","Title":"周报","Time":"1475980961","NewCount":"12"}`,
			want:  &Mail{CorpID: corp, MailID: "m2", To: "bob@example.com", From: `"张伟" <zw@example.com>`, Title: "周报", Time: ts, Unread: 12},
			event: api.NewMail{User: "bob@example.com", MailID: "m2", Sender: `"张伟" <zw@example.com>`, Receiver: "bob@example.com", Subject: "周报", Unread: 12},
		},
		{
			name:  "unread json lower-case type",
			plain: `{"corpid":"wm123","msgtype":"unread","userid":"bob@example.com","unreadcount":2}`,
			want:  &Unread{CorpID: corp, User: "bob@example.com", Unread: 2},
			event: api.UnreadChanged{User: "bob@example.com", Unread: 2},
		},
		{name: "other corpid", plain: `<xml><CorpID>wmother</CorpID><MsgType>UnRead</MsgType><UserID>b@x</UserID><UnReadCount>1</UnReadCount></xml>`, err: ErrCorpID},
		{name: "unknown type", plain: `<xml><MsgType>Event</MsgType></xml>`, err: ErrUnsupported},
		{name: "no type", plain: `<xml><UserID>b@x</UserID></xml>`, err: ErrMalformed},
		{name: "mail without recipient", plain: `<xml><MsgType>Mail</MsgType><MailID>m</MailID><NewCount>1</NewCount></xml>`, err: ErrMalformed},
		{name: "mail without count", plain: `<xml><MsgType>Mail</MsgType><MailID>m</MailID><ToUserID>b@x</ToUserID></xml>`, err: ErrMalformed},
		{name: "negative count", plain: `<xml><MsgType>UnRead</MsgType><UserID>b@x</UserID><UnReadCount>-1</UnReadCount></xml>`, err: ErrMalformed},
		{name: "count not a number", plain: `<xml><MsgType>UnRead</MsgType><UserID>b@x</UserID><UnReadCount>many</UnReadCount></xml>`, err: ErrMalformed},
		{name: "not xml", plain: `<xml><MsgType>`, err: ErrMalformed},
		{name: "not json", plain: `{"MsgType":`, err: ErrMalformed},
		{name: "empty", plain: ` `, err: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.plain), corp)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Decode error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Decode (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.event, got.Event()); d != "" {
				t.Errorf("Event (-want +got):\n%s", d)
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	msgs := []Message{
		&Mail{CorpID: "wm1", MailID: "id]]>x", To: "a@example.com", From: "b@example.com", Title: "a ]]> b & <c>", Time: time.Unix(1700000000, 0), Unread: 4},
		&Unread{CorpID: "wm1", User: "a@example.com", Time: time.Unix(1700000000, 0), Unread: 0},
	}
	for _, m := range msgs {
		for _, asJSON := range []bool{false, true} {
			t.Run(fmt.Sprintf("%T json=%v", m, asJSON), func(t *testing.T) {
				b, err := Encode(m, asJSON, "")
				if err != nil {
					t.Fatal(err)
				}
				got, err := Decode(b, "wm1")
				if err != nil {
					t.Fatalf("Decode(%s): %v", b, err)
				}
				if d := cmp.Diff(m, got); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			})
		}
	}
}

func TestEnvelope(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			env, err := parseEnvelope(Envelope("wm1", "Zm9v+/==", "1", asJSON))
			if err != nil {
				t.Fatal(err)
			}
			if env.ToUserName != "wm1" || env.Encrypt != "Zm9v+/==" {
				t.Errorf("parseEnvelope = %+v", env)
			}
		})
	}
	for _, body := range []string{"", "<xml></xml>", "{}", "not a body", `{"encrypt":`} {
		if _, err := parseEnvelope([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseEnvelope(%q) = %v, want ErrMalformed", body, err)
		}
	}
}
