package corpapi

import (
	"context"
	"sync"
	"time"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// tokenCache holds the access token of one application secret (protocol.md
// §5: each secret yields its own token with that application's
// permissions). get fetches one on first use and replaces it margin before
// its expires_in runs out; invalidate drops it after the server refused it.
// Concurrent callers wait for one fetch instead of each fetching a token.
type tokenCache struct {
	app    App
	secret api.Secret
	margin time.Duration
	fetch  func(ctx context.Context, app App, secret api.Secret) (api.Secret, time.Duration, error)

	mu     sync.Mutex
	tok    api.Secret
	expiry time.Time
}

// defaultTokenLifetime is assumed when gettoken omits expires_in (the
// documented value is 7200 s).
const defaultTokenLifetime = 7200 * time.Second

func (t *tokenCache) get(ctx context.Context) (api.Secret, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && time.Now().Before(t.expiry) {
		return t.tok, nil
	}
	tok, life, err := t.fetch(ctx, t.app, t.secret)
	if err != nil {
		return "", err
	}
	if life <= 0 {
		life = defaultTokenLifetime
	}
	// A short-lived token is kept for half its life rather than not at all.
	margin := min(t.margin, life/2)
	t.tok, t.expiry = tok, time.Now().Add(life-margin)
	return tok, nil
}

// invalidate drops the cached token if it is still old; a token fetched
// meanwhile by another caller is kept.
func (t *tokenCache) invalidate(old api.Secret) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == old {
		t.tok = ""
	}
}

// expires returns when the cached token stops being used (zero if none).
func (t *tokenCache) expires() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == "" {
		return time.Time{}
	}
	return t.expiry
}
