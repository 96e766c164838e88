package api

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// CheckToken fetches (or reuses) the access token and reports until when
// the client will use it. It lets a diagnosis tell a token-endpoint failure
// apart from an API failure.
//
// OpenAPI: protocol.md §3.1 cgi-bin/token
func (c *Client) CheckToken(ctx context.Context) (time.Time, error) {
	if _, err := c.tokens.get(ctx); err != nil {
		return time.Time{}, err
	}
	return c.tokens.expires(), nil
}

// CheckLoginHost makes one plain GET of the SSO login endpoint, without a
// ticket, and reports the HTTP status: any answer proves the host is
// reachable. No credential is sent.
func (c *Client) CheckLoginHost(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.loginURL.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("exmail login: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, transportError(ctx, "login", err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// LoginEndpoint returns the SSO login URL without any query.
func (c *Client) LoginEndpoint() string { return c.loginURL.String() }

// BaseURL returns the API base URL.
func (c *Client) BaseURL() string { return c.baseURL.String() }
