package handoff

import (
	"bytes"
	"context"
	"errors"
	"github.com/exmail-notifier/exmail-notifier/internal/syncbuf"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

const ssoURL = "https://exmail.example/cgi-bin/login?fun=bizopenssologin&ticket=SECRET-TICKET"

// noRedirect is a client that shows the redirect instead of following it.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := noRedirect.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestHandoffRedirectsOnceThenIsGone(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h, err := New(t.Context(), api.Secret(ssoURL), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	h.peerOK = func(net.Addr, net.Addr) (bool, error) { return true, nil }
	if strings.Contains(h.URL(), "TICKET") || !strings.HasPrefix(h.URL(), "http://127.0.0.1:") {
		t.Fatalf("link %q must be a loopback link without the ticket", h.URL())
	}

	if resp := get(t, h.URL()+"x"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a guessed path: status %d, want 404", resp.StatusCode)
	}
	head, err := noRedirect.Head(h.URL())
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusNoContent || head.Header.Get("Location") != "" {
		t.Errorf("HEAD (a link preview): %d Location=%q, want 204 and no redirect", head.StatusCode, head.Header.Get("Location"))
	}
	resp := get(t, h.URL()) // HEAD did not use the link up
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != ssoURL {
		t.Fatalf("first visit: %d Location=%q, want 302 to the SSO URL", resp.StatusCode, resp.Header.Get("Location"))
	}
	if err := h.Wait(t.Context()); err != nil {
		t.Fatalf("Wait after the visit: %v", err)
	}
	// The listener closes right after the redirect; a late second visit
	// finds either a used link or nothing at all.
	if resp, err := noRedirect.Get(h.URL()); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusGone {
			t.Errorf("second visit: status %d, want 410 Gone or a closed port", resp.StatusCode)
		}
	}
	if strings.Contains(logs.String(), "SECRET-TICKET") {
		t.Errorf("the ticket reached the log:\n%s", logs.String())
	}
}

// A request that fails the peer check, because another user made it or
// because its owner cannot be determined, is refused and cancels the link
// for everyone: whoever made it has the link, and retrying must not help.
func TestHandoffRefusalCancelsTheLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		peerOK func(net.Addr, net.Addr) (bool, error)
	}{
		{"another user", func(net.Addr, net.Addr) (bool, error) { return false, nil }},
		{"owner unknown", func(net.Addr, net.Addr) (bool, error) { return false, errors.New("no socket in /proc/net/tcp") }},
		{"owner unknown, though the lookup leaned yes", func(net.Addr, net.Addr) (bool, error) { return true, errors.New("2 sockets") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := &syncbuf.Buffer{}
			h, err := New(t.Context(), api.Secret(ssoURL), slog.New(slog.NewTextHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			h.peerOK = tc.peerOK
			if resp := get(t, h.URL()); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
				t.Fatalf("refused visit: %d Location=%q, want 403 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if err := waitBriefly(t, h); !errors.Is(err, ErrRefused) {
				t.Errorf("Wait = %v, want ErrRefused", err)
			}
			// The user's own browser, arriving next, is told why.
			h.peerOK = func(net.Addr, net.Addr) (bool, error) { return true, nil }
			resp, err := noRedirect.Get(h.URL())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusGone || resp.Header.Get("Location") != "" || !strings.Contains(string(body), "open the mailbox again") {
				t.Errorf("the user's visit after a refusal: %d Location=%q %q, want 410 saying to open the mailbox again", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if head, err := noRedirect.Head(h.URL()); err != nil || head.StatusCode != http.StatusGone {
				t.Errorf("HEAD after a refusal: %v %v, want 410", head, err)
			}
			log := logs.String()
			if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "refused") {
				t.Errorf("the refusal was not logged at Warn:\n%s", log)
			}
			if strings.Contains(log, "SECRET-TICKET") || strings.Contains(log, h.path) {
				t.Errorf("the log names the ticket or the link:\n%s", log)
			}
		})
	}
}

// A request for another path does not know the link: it cancels nothing.
func TestHandoffWrongPathCancelsNothing(t *testing.T) {
	t.Parallel()
	h, err := New(t.Context(), api.Secret(ssoURL), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.peerOK = func(net.Addr, net.Addr) (bool, error) { return false, nil }
	if resp := get(t, h.URL()+"0"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a guessed path from another user: %d, want 404", resp.StatusCode)
	}
	h.peerOK = func(net.Addr, net.Addr) (bool, error) { return true, nil }
	if resp := get(t, h.URL()); resp.StatusCode != http.StatusFound {
		t.Fatalf("the user's visit after a guessed path: %d, want 302", resp.StatusCode)
	}
}

func TestHandoffUnusedEndsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	h, err := New(ctx, api.Secret(ssoURL), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := h.Wait(t.Context()); !errors.Is(err, ErrUnused) {
		t.Fatalf("Wait = %v, want ErrUnused", err)
	}
	if _, err := noRedirect.Get(h.URL()); err == nil {
		t.Errorf("the link still answers after the handoff closed")
	}
}

// waitBriefly is h.Wait for a handoff that should be over already: a
// regression fails in seconds instead of waiting out Lifetime.
func waitBriefly(t *testing.T, h *Link) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return h.Wait(ctx)
}
