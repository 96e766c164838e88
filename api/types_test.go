package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestIntUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Int
		wantErr bool
	}{
		{in: `15`, want: 15},
		{in: `"15"`, want: 15},
		{in: `" 15 "`, want: 15},
		{in: `"-1"`, want: -1},
		{in: `-1`, want: -1},
		{in: `""`, want: 0},
		{in: `null`, want: 0},
		{in: `1e3`, want: 1000},
		{in: `"1e3"`, want: 1000},
		{in: `15.0`, want: 15},
		{in: `1474444854395`, want: 1474444854395},
		{in: `"1474444854395"`, want: 1474444854395},
		{in: `1.5`, wantErr: true},
		{in: `"abc"`, wantErr: true},
		{in: `true`, wantErr: true},
		{in: `{}`, wantErr: true},
		{in: `[]`, wantErr: true},
		{in: `"0x10"`, wantErr: true},
		{in: `1e400`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var got struct{ N Int }
			err := json.Unmarshal([]byte(`{"N":`+tt.in+`}`), &got)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %d, want an error", tt.in, got.N)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			if got.N != tt.want {
				t.Errorf("Unmarshal(%s) = %d, want %d", tt.in, got.N, tt.want)
			}
		})
	}
}

func TestIntErrorIsBounded(t *testing.T) {
	t.Parallel()
	var n Int
	err := json.Unmarshal([]byte(`"`+strings.Repeat("x", 10000)+`"`), &n)
	if err == nil {
		t.Fatal("Unmarshal of a huge non-number succeeded")
	}
	if len(err.Error()) > 200 {
		t.Errorf("error is %d bytes long; a hostile reply must not be echoed whole", len(err.Error()))
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Version
		wire    string // String()
		wantErr bool
	}{
		{in: `1474444854395`, want: "1474444854395", wire: "1474444854395"},
		{in: `"1364460338051"`, want: "1364460338051", wire: "1364460338051"},
		{in: `0`, want: "", wire: "0"},
		{in: `"0"`, want: "", wire: "0"},
		{in: `""`, want: "", wire: "0"},
		{in: `null`, want: "", wire: "0"},
		{in: `1e3`, want: "1000", wire: "1000"},
		{in: `"-1"`, want: "-1", wire: "-1"},
		{in: `"ver"`, wantErr: true},
		{in: `1.5`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var got Version
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			if got != tt.want || got.String() != tt.wire {
				t.Errorf("Unmarshal(%s) = %q (String %q), want %q (String %q)", tt.in, got, got.String(), tt.want, tt.wire)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if want := `"` + tt.wire + `"`; string(b) != want {
				t.Errorf("Marshal = %s, want %s", b, want)
			}
		})
	}
}

// A Secret must not come out through any of the ways a value usually
// reaches a log line, an error string or a dump.
func TestSecretRedaction(t *testing.T) {
	t.Parallel()
	const key = "563a8c6a89d2368194c1c7889c508b34"
	s := Secret(key)
	type holder struct {
		Key Secret
		Ptr *Secret
	}
	h := holder{Key: s, Ptr: &s}

	outputs := map[string]string{
		"%v":       fmt.Sprintf("%v", s),
		"%s":       fmt.Sprintf("%s", s),
		"%q":       fmt.Sprintf("%q", s),
		"%x":       fmt.Sprintf("%x", s),
		"%#v":      fmt.Sprintf("%#v", s),
		"%d":       fmt.Sprintf("%d", s),
		"%+v":      fmt.Sprintf("%+v", h),
		"%#v/h":    fmt.Sprintf("%#v", h),
		"Sprint":   fmt.Sprint(s, h),
		"Errorf":   fmt.Errorf("failed with %v", s).Error(),
		"String()": s.String(),
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("msg", "key", s, "h", h, slog.Any("any", s))
	slog.New(slog.NewJSONHandler(&js, nil)).Info("msg", "key", s, "h", h, slog.Any("any", s))
	outputs["slog text"] = text.String()
	outputs["slog json"] = js.String()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json.Marshal"] = string(b)

	for how, out := range outputs {
		if strings.Contains(out, key) || strings.Contains(out, fmt.Sprintf("%x", key)) {
			t.Errorf("%s leaks the secret: %s", how, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s = %q, want the [redacted] marker", how, out)
		}
	}
	if s.Reveal() != key {
		t.Errorf("Reveal() = %q, want the secret back", s.Reveal())
	}
}
