package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/personio-scim/personio-scim/push"
)

// authTransport adds credentials to requests for the SCIM server's host
// only, so that nothing a redirect or a mistake points elsewhere ever sees
// them.
type authTransport struct {
	base   http.RoundTripper
	host   string
	header func(ctx context.Context) (string, error)
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != t.host {
		return nil, fmt.Errorf("refusing to send credentials to another host than base_url's")
	}
	h, err := t.header(r.Context())
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", h)
	return t.base.RoundTrip(r)
}

// errToken marks a failure to obtain an OAuth2 token.
var errToken = errors.New("oauth2 token")

// authorizer builds the Authorization header source from the
// configuration, reading secrets through env.Getenv only.
func authorizer(ctx context.Context, c Config, env push.Env, tokenClient *http.Client) (func(context.Context) (string, error), error) {
	secret := func(key, name string) (string, error) {
		v := env.Getenv(name)
		if v == "" {
			return "", fmt.Errorf("scim.%s: environment variable %s is unset or empty", key, name)
		}
		return v, nil
	}
	switch {
	case c.TokenEnv != "":
		tok, err := secret("token_env", c.TokenEnv)
		if err != nil {
			return nil, err
		}
		h := "Bearer " + tok
		return func(context.Context) (string, error) { return h, nil }, nil
	case c.Username != "":
		pass, err := secret("password_env", c.PasswordEnv)
		if err != nil {
			return nil, err
		}
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(c.Username, pass)
		h := r.Header.Get("Authorization")
		return func(context.Context) (string, error) { return h, nil }, nil
	}
	clientSecret, err := secret("client_secret_env", c.ClientSecretEnv)
	if err != nil {
		return nil, err
	}
	cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: clientSecret, TokenURL: c.TokenURL, Scopes: c.Scopes}
	// The token source outlives Open's context; it fetches through the
	// target's client (timeouts, no redirects) on first use and on expiry.
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, tokenClient)
	src := cc.TokenSource(tctx)
	return func(context.Context) (string, error) {
		tok, err := src.Token()
		if err != nil {
			return "", tokenError(err)
		}
		return tok.Type() + " " + tok.AccessToken, nil
	}, nil
}

// tokenError keeps the token endpoint's status and error code but not its
// body, which may echo request details.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if re.ErrorCode != "" {
			return fmt.Errorf("%w: the token endpoint answered %d %s", errToken, status, re.ErrorCode)
		}
		return fmt.Errorf("%w: the token endpoint answered %d", errToken, status)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%w: %s %s: %w", errToken, ue.Op, redactURL(ue.URL), ue.Err)
	}
	return fmt.Errorf("%w: %w", errToken, err)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the token endpoint"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
