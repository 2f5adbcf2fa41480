package googlesim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The most a JWT's clock may be ahead of the simulator's, as Google allows
// some skew between the signer and its own clock.
const clockSkew = 5 * time.Minute

// KeyJSON returns a service account key file for this simulator, as the
// Cloud console downloads it, whose token_uri points at baseURL/token.
func (s *Sim) KeyJSON(baseURL string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(s.opt.Key)
	if err != nil {
		return nil
	}
	key := map[string]string{
		"type":                        "service_account",
		"project_id":                  "sim-project",
		"private_key_id":              s.keyIDFor(),
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                s.opt.ClientEmail,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   strings.TrimSuffix(baseURL, "/") + "/token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}
	b, _ := json.MarshalIndent(key, "", "  ")
	return b
}

func (s *Sim) keyIDFor() string {
	sum := sha256.Sum256(s.opt.Key.PublicKey.N.Bytes())
	return hex.EncodeToString(sum[:20])
}

type claims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Exp   int64  `json:"exp"`
	Iat   int64  `json:"iat"`
	Sub   string `json:"sub"`
}

// serveToken is Google's token endpoint for the JWT-bearer grant.
func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "Invalid request.")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	c, ok := s.verifyAssertion(r.PostForm.Get("assertion"))
	if !ok {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if c.Iss != s.opt.ClientEmail {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: iss is not a known service account.")
		return
	}
	if c.Aud != tokenURL(r) {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Failed audience check.")
		return
	}
	signedAt := s.opt.AssertionNow()
	if c.Exp <= signedAt.Unix() || c.Iat > signedAt.Add(clockSkew).Unix() || c.Exp-c.Iat > 3600 {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
		return
	}
	scopes := strings.Fields(c.Scope)
	if len(scopes) == 0 {
		tokenError(w, http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	}
	if !s.delegated(c.Sub, scopes) {
		tokenError(w, http.StatusUnauthorized, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
		return
	}
	granted := map[string]bool{}
	for _, sc := range scopes {
		granted[sc] = true
	}
	access := "ya29.sim-" + randomToken()
	s.mu.Lock()
	s.tokens[access] = token{subject: c.Sub, scopes: granted, expires: s.now().Add(s.opt.TokenLifetime)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access,
		"expires_in":   int(s.opt.TokenLifetime / time.Second),
		"token_type":   "Bearer",
	})
}

// delegated says whether domain-wide delegation lets the service account
// impersonate sub with every scope asked for: one scope too many fails the
// whole token, as in Google. Without sub the token is issued, and the
// Directory API refuses it later.
func (s *Sim) delegated(sub string, scopes []string) bool {
	if sub == "" {
		return true
	}
	if !slices.ContainsFunc(s.opt.Admins, func(a string) bool { return strings.EqualFold(a, sub) }) {
		return false
	}
	for _, sc := range scopes {
		if !slices.Contains(s.opt.DelegatedScopes, sc) {
			return false
		}
	}
	return true
}

// verifyAssertion checks the RS256 signature of a compact JWT against the
// service account's key and returns its claims.
func (s *Sim) verifyAssertion(jwt string) (claims, bool) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return claims{}, false
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if !decodeSegment(parts[0], &header) || header.Alg != "RS256" {
		return claims{}, false
	}
	if header.Kid != "" && header.Kid != s.keyIDFor() {
		return claims{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return claims{}, false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&s.opt.Key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return claims{}, false
	}
	var c claims
	if !decodeSegment(parts[1], &c) {
		return claims{}, false
	}
	return c, true
}

func decodeSegment(seg string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// tokenURL is the address the client posted to, which a JWT's aud must name.
func tokenURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

func tokenError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
