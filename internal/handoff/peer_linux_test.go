package handoff

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
)

func TestHandoffOnlyThisUsersSockets(t *testing.T) {
	t.Parallel()
	// A real connection from this process: the kernel's socket table must
	// name this user as its owner.
	h, err := New(t.Context(), api.Secret(ssoURL), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var checked error
	h.peerOK = func(remote, local net.Addr) (bool, error) {
		ok, err := samePeerUser(remote, local)
		if err == nil && !ok {
			checked = errors.New("samePeerUser says our own connection belongs to someone else")
		}
		return ok, err
	}
	if resp := get(t, h.URL()); resp.StatusCode != http.StatusFound {
		t.Fatalf("own visit: %d, want 302", resp.StatusCode)
	}
	if checked != nil {
		t.Fatal(checked)
	}
}

func TestSocketOwner(t *testing.T) {
	t.Parallel()
	const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 111 1
   1: 0100007F:1F90 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 222 1
   2: 0100007F:C3D4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 333 1
`
	for _, tc := range []struct {
		from, to int
		uid      int
		found    bool
	}{
		{0xA1B2, 0x1F90, 1000, true},
		{0x1F90, 0xA1B2, 0, true}, // the server's side of the same pair
		{0xC3D4, 0x1F90, 1001, true},
		{0xC3D4, 0x0050, 0, false},
	} {
		uid, found, err := socketOwner(strings.NewReader(table), tc.from, tc.to)
		if err != nil || uid != tc.uid || found != tc.found {
			t.Errorf("socketOwner(%#x→%#x) = %d, %v, %v; want %d, %v", tc.from, tc.to, uid, found, err, tc.uid, tc.found)
		}
	}
	if _, _, err := socketOwner(io.MultiReader(strings.NewReader("hdr\n 0: 0:1 0:2 01 0 0 0 x\n")), 1, 2); err == nil {
		t.Errorf("a non-numeric uid must be an error")
	}
}
