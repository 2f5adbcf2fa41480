package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// loginTTL is how long a started sign-in may take at the IdP.
const loginTTL = 10 * time.Minute

// pendingLogin is a sign-in between the redirect to the IdP and its return.
type pendingLogin struct {
	verifier, nonce, next string
	expires               time.Time
}

// oidcClient signs people in with the authorization code flow and PKCE.
// Discovery runs on first use, so that the service starts while the IdP
// is unreachable and the console says so instead.
type oidcClient struct {
	cfg  Config
	http *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	pending  map[string]pendingLogin // by state
}

func (o *oidcClient) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.http), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover the OpenID provider: %w", err)
	}
	o.provider = p
	return p, nil
}

func (o *oidcClient) oauth(p *oidc.Provider) oauth2.Config {
	scopes := []string{oidc.ScopeOpenID, "email", "profile"}
	scopes = append(scopes, o.cfg.ExtraScopes...)
	return oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: o.cfg.redirectURL(), Scopes: scopes}
}

// start remembers a new sign-in and returns the IdP's URL and the state.
func (o *oidcClient) start(ctx context.Context, next string, now time.Time) (string, string, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", "", err
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	o.mu.Lock()
	for k, v := range o.pending {
		if now.After(v.expires) {
			delete(o.pending, k)
		}
	}
	if len(o.pending) >= 10000 {
		o.mu.Unlock()
		return "", "", errors.New("too many sign-ins in progress; try again in a few minutes")
	}
	o.pending[state] = pendingLogin{verifier: verifier, nonce: nonce, next: next, expires: now.Add(loginTTL)}
	o.mu.Unlock()
	cfg := o.oauth(p)
	return cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), state, nil
}

// errSignIn is a sign-in the console refuses; its text is safe to show.
type errSignIn string

func (e errSignIn) Error() string { return string(e) }

// finish redeems the code and verifies the ID token; it returns the
// verified claims and where the person was going.
func (o *oidcClient) finish(ctx context.Context, state, code string, now time.Time) (claims, string, error) {
	o.mu.Lock()
	pl, ok := o.pending[state]
	delete(o.pending, state)
	o.mu.Unlock()
	if !ok || now.After(pl.expires) {
		return claims{}, "", errSignIn("this sign-in is unknown or took too long; start again")
	}
	p, err := o.discover(ctx)
	if err != nil {
		return claims{}, "", err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.http), 15*time.Second)
	defer cancel()
	cfg := o.oauth(p)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pl.verifier))
	if err != nil {
		return claims{}, "", fmt.Errorf("redeem the authorization code: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return claims{}, "", errSignIn("the identity provider sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: func() time.Time { return now }}).Verify(ctx, raw)
	if err != nil {
		return claims{}, "", fmt.Errorf("verify the ID token: %w", err)
	}
	if subtleNonce := idt.Nonce; !equalSecret(subtleNonce, pl.nonce) {
		return claims{}, "", errSignIn("the ID token answers another sign-in (nonce mismatch)")
	}
	var c claims
	if err := idt.Claims(&c.raw); err != nil {
		return claims{}, "", fmt.Errorf("read the ID token's claims: %w", err)
	}
	c.fill(o.cfg.GroupsClaim)
	return c, pl.next, nil
}

// claims are what the console reads from an ID token.
type claims struct {
	raw           map[string]any
	Email, Name   string
	EmailVerified bool
	Groups        []string
}

func (c *claims) fill(groupsClaim string) {
	c.Email, _ = c.raw["email"].(string)
	c.Email = strings.ToLower(c.Email)
	c.Name, _ = c.raw["name"].(string)
	switch v := c.raw["email_verified"].(type) {
	case bool:
		c.EmailVerified = v
	case string: // some providers send "true"
		c.EmailVerified = v == "true"
	default:
		// Entra ID omits email_verified; its email claim comes from the
		// directory the tenant controls.
		c.EmailVerified = true
	}
	if groupsClaim == "" {
		groupsClaim = "groups"
	}
	if list, ok := c.raw[groupsClaim].([]any); ok {
		for _, g := range list {
			if s, ok := g.(string); ok {
				c.Groups = append(c.Groups, s)
			}
		}
	}
}

// roleFor applies the allow-lists: admin wins over viewer; nobody else
// gets in.
func (cfg Config) roleFor(c claims) (Role, bool) {
	if c.Email == "" || !c.EmailVerified {
		return "", false
	}
	in := func(emails, groups []string) bool {
		if slices.ContainsFunc(emails, func(e string) bool { return strings.EqualFold(e, c.Email) }) {
			return true
		}
		return slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(c.Groups, g) })
	}
	switch {
	case in(cfg.AdminEmails, cfg.AdminGroups):
		return RoleAdmin, true
	case in(cfg.ViewerEmails, cfg.ViewerGroups):
		return RoleViewer, true
	}
	return "", false
}
