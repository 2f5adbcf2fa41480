package entra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// GraphScope is the scope of every token: Graph's application permissions
// granted to the app.
const GraphScope = "https://graph.microsoft.com/.default"

// ErrUnauthorized marks a failure to authenticate: the token endpoint
// refused the credentials, or Graph refused a fresh token. The target
// cannot make progress until an administrator fixes the app registration.
var ErrUnauthorized = errors.New("entra: not authorized")

// tokens caches one access token until shortly before it expires, by the
// injected clock, so that a test clock decides expiry the same way the
// simulator does.
type tokens struct {
	clientID, secret, tokenURL string
	cert                       *certificate
	client                     *http.Client
	now                        func() time.Time

	mu  sync.Mutex
	tok string
	exp time.Time
}

func newTokens(c Config, client *http.Client, now func() time.Time) *tokens {
	return &tokens{clientID: c.ClientID, secret: c.clientSecret, tokenURL: c.TokenURL, cert: c.certificate, client: client, now: now}
}

// config is the client-credentials request: with the secret, or with a
// fresh assertion signed by the certificate.
func (t *tokens) config() (*clientcredentials.Config, error) {
	cc := &clientcredentials.Config{ClientID: t.clientID, TokenURL: t.tokenURL, Scopes: []string{GraphScope}, AuthStyle: oauth2.AuthStyleInParams}
	if t.cert == nil {
		cc.ClientSecret = t.secret
		return cc, nil
	}
	a, err := t.cert.assertion(t.clientID, t.tokenURL, t.now())
	if err != nil {
		return nil, fmt.Errorf("entra: %w", err)
	}
	cc.EndpointParams = url.Values{"client_assertion_type": {clientAssertionType}, "client_assertion": {a}}
	return cc, nil
}

// get returns the cached token or fetches a new one.
func (t *tokens) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && t.now().Before(t.exp) {
		return t.tok, nil
	}
	cc, err := t.config()
	if err != nil {
		return "", err
	}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, t.client))
	if err != nil {
		return "", tokenError(err)
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Until(tok.Expiry)
	}
	// Renew ahead of expiry, so that no request carries a token that runs
	// out on the way.
	t.tok, t.exp = tok.AccessToken, t.now().Add(life-min(5*time.Minute, life/10))
	return t.tok, nil
}

// drop forgets tok if it is still the cached one (Graph refused it).
func (t *tokens) drop(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == tok {
		t.tok = ""
	}
}

// tokenError names the identity platform's error code (and its AADSTS
// number) without echoing the description, which can carry app names.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if n, _, ok := strings.Cut(re.ErrorDescription, ":"); ok && strings.HasPrefix(n, "AADSTS") {
			code += " " + n
		}
		if code == "" && re.Response != nil {
			code = re.Response.Status
		}
		return fmt.Errorf("%w: the token endpoint refused the client credentials (%s); check tenant_id, client_id and the secret in client_secret_env or the certificate in client_certificate_env (it may have expired)", ErrUnauthorized, code)
	}
	return fmt.Errorf("entra: token request: %w", err)
}

// answer is a Graph response read in full (capped).
type answer struct {
	status int
	header http.Header
	body   []byte
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (a answer) errorCode() (string, string) {
	var g graphError
	if json.Unmarshal(a.body, &g) == nil && g.Error.Code != "" {
		return g.Error.Code, g.Error.Message
	}
	return "", ""
}

const maxAnswer = 16 << 20

// send makes one Graph request with a bearer token. A 401 drops the token
// and retries once with a fresh one, since Graph may expire a token before
// the time it was issued for; a second 401 is ErrUnauthorized.
func (t *Target) send(ctx context.Context, method, rawURL string, body []byte, contentType string) (answer, error) {
	for attempt := 0; ; attempt++ {
		tok, err := t.tokens.get(ctx)
		if err != nil {
			return answer{}, err
		}
		a, err := t.sendOnce(ctx, method, rawURL, body, contentType, tok)
		if err != nil {
			return a, err
		}
		if a.status != http.StatusUnauthorized {
			return a, nil
		}
		t.tokens.drop(tok)
		if attempt == 1 {
			code, _ := a.errorCode()
			return a, fmt.Errorf("%w: Graph refused a fresh token (401 %s)", ErrUnauthorized, code)
		}
	}
}

func (t *Target) sendOnce(ctx context.Context, method, rawURL string, body []byte, contentType, tok string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return answer{}, fmt.Errorf("entra: %w", err)
	}
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := t.client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("entra: %s %s: %w", method, redact(rawURL), err)
	}
	defer resp.Body.Close()
	if resp.Request != nil && resp.Request.URL.Host != req.URL.Host {
		return answer{}, fmt.Errorf("entra: %s %s: redirected to another host (%s); refusing the answer", method, redact(rawURL), resp.Request.URL.Host)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return answer{}, fmt.Errorf("entra: %s %s: reading the answer: %w", method, redact(rawURL), err)
	}
	if len(b) > maxAnswer {
		return answer{}, fmt.Errorf("entra: %s %s: answer larger than %d bytes", method, redact(rawURL), maxAnswer)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// redact drops the query, which for log reads holds filter values.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	u.RawQuery = ""
	return u.String()
}
