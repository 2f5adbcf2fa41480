package personio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// tokenLifetime is what Personio grants when a token answer names no
// lifetime; tokenMargin is how long before expiry the client stops using a
// token, so that a request never leaves with a token about to die.
const (
	tokenLifetime = 24 * time.Hour
	tokenMargin   = 5 * time.Minute
)

// tokenCache holds the current bearer token. Personio's tokens are stable for
// 24 hours today; in the legacy mode each token worked once and every answer
// carried the next one in its Authorization header, so the cache also takes
// tokens from answers.
type tokenCache struct {
	mu      sync.Mutex
	token   string
	expires time.Time
	// fetching serializes authentication so that concurrent callers wait
	// for one token instead of each asking for their own.
	fetching chan struct{}
}

func newTokenCache() *tokenCache {
	return &tokenCache{fetching: make(chan struct{}, 1)}
}

func (tc *tokenCache) valid(now time.Time) (string, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.token, tc.token != "" && now.Before(tc.expires)
}

func (tc *tokenCache) set(token string, expires time.Time) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.token, tc.expires = token, expires
}

// token returns a usable token, authenticating when the cache has none.
func (c *Client) token(ctx context.Context, run *run) (string, error) {
	if tok, ok := c.tokens.valid(c.cfg.Now()); ok {
		return tok, nil
	}
	select {
	case c.tokens.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("wait for personio token: %w", ctx.Err())
	}
	defer func() { <-c.tokens.fetching }()
	if tok, ok := c.tokens.valid(c.cfg.Now()); ok {
		return tok, nil
	}
	tok, lifetime, err := c.authenticate(ctx, run)
	if err != nil {
		return "", err
	}
	expires := c.cfg.Now().Add(lifetime - min(tokenMargin, lifetime/10))
	c.tokens.set(tok, expires)
	return tok, nil
}

// dropToken forgets token after Personio refused it, unless it has already
// been replaced.
func (c *Client) dropToken(token string) {
	c.tokens.mu.Lock()
	defer c.tokens.mu.Unlock()
	if c.tokens.token == token {
		c.tokens.token = ""
	}
}

// rotateToken adopts a token an answer hands back in its Authorization
// header ("Bearer <token>"), the legacy one-time mode. Today's stable tokens
// come back unchanged, which makes this a no-op.
func (c *Client) rotateToken(used string, h http.Header) {
	v := h.Get("Authorization")
	scheme, next, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return
	}
	next = strings.TrimSpace(next)
	c.tokens.mu.Lock()
	defer c.tokens.mu.Unlock()
	if next != "" && next != used && c.tokens.token == used {
		c.tokens.token = next
	}
}

func (c *Client) authenticate(ctx context.Context, run *run) (string, time.Duration, error) {
	if c.cfg.APIVersion == APIv2 {
		return c.authenticateV2(ctx, run)
	}
	return c.authenticateV1(ctx, run)
}

// authenticateV1 posts the credentials as JSON to /v1/auth.
func (c *Client) authenticateV1(ctx context.Context, run *run) (string, time.Duration, error) {
	body, err := json.Marshal(map[string]string{"client_id": c.cfg.ClientID, "client_secret": c.cfg.ClientSecret})
	if err != nil {
		return "", 0, fmt.Errorf("encode v1 auth request: %w", err)
	}
	resp, err := c.send(ctx, run, call{
		method: http.MethodPost, endpoint: endpointV1Auth, url: c.url("/v1/auth"),
		body: body, contentType: "application/json", repeatable: true,
	})
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	var answer struct {
		Success bool `json:"success"`
		Data    struct {
			Token     string `json:"token"`
			ExpiresIn int    `json:"expires_in"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.body, &answer); err != nil || !answer.Success || answer.Data.Token == "" {
		return "", 0, fmt.Errorf("%w: %w", ErrAuth, malformed("v1 auth answer has no token"))
	}
	return answer.Data.Token, lifetimeOf(answer.Data.ExpiresIn), nil
}

// authenticateV2 runs the OAuth2 client-credentials grant; Personio accepts
// only a form-encoded body there.
func (c *Client) authenticateV2(ctx context.Context, run *run) (string, time.Duration, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.cfg.ClientID},
		"client_secret": {c.cfg.ClientSecret},
	}
	if len(c.cfg.V2Scopes) > 0 {
		form.Set("scope", strings.Join(c.cfg.V2Scopes, " "))
	}
	resp, err := c.send(ctx, run, call{
		method: http.MethodPost, endpoint: endpointV2Token, url: c.url("/v2/auth/token"),
		body: []byte(form.Encode()), contentType: "application/x-www-form-urlencoded", repeatable: true,
	})
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	var answer struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.body, &answer); err != nil || answer.AccessToken == "" {
		return "", 0, fmt.Errorf("%w: %w", ErrAuth, malformed("v2 token answer has no access_token"))
	}
	return answer.AccessToken, lifetimeOf(answer.ExpiresIn), nil
}

func lifetimeOf(expiresIn int) time.Duration {
	if expiresIn <= 0 {
		return tokenLifetime
	}
	return time.Duration(expiresIn) * time.Second
}
