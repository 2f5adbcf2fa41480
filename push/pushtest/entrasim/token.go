package entrasim

import (
	"crypto/subtle"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"time"
)

// token is the identity platform's v2.0 token endpoint, client credentials
// grant only: form-encoded client_id, client_secret, grant_type and scope.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
		return
	}
	if r.PathValue("tenant") != s.opts.TenantID {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS90002: Tenant not found.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	assertion := r.PostForm.Get("client_assertion")
	if assertion != "" && id == "" {
		id = assertionSubject(assertion)
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
		return
	case id != s.opts.ClientID:
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application was not found in the directory.")
		return
	case r.PostForm.Get("scope") != GraphScope:
		oauthError(w, http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.")
		return
	}
	if assertion != "" {
		if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS50027: Invalid client assertion type.")
			return
		}
		if code, desc := s.checkAssertion(assertion, baseURL(r)+r.URL.Path); code != "" {
			oauthError(w, http.StatusUnauthorized, code, desc)
			return
		}
		s.issue(w)
		return
	}
	s.mu.Lock()
	expired := s.secretExpiry
	good := subtle.ConstantTimeCompare([]byte(secret), []byte(s.secret)) == 1
	s.mu.Unlock()
	switch {
	case !good:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		return
	case expired:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000222: The provided client secret keys for the app are expired.")
		return
	}
	s.issue(w)
}

// issue answers a fresh access token.
func (s *Sim) issue(w http.ResponseWriter) {
	tok := "sim." + newID()
	life := s.opts.TokenLifetime
	s.mu.Lock()
	s.tokens[tok] = s.opts.Now().Add(life)
	s.mu.Unlock()
	secs := int(math.Round(life.Seconds()))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

// authorize checks the bearer token and the permission a call needs and
// answers Graph's error when either is missing.
func (s *Sim) authorize(w http.ResponseWriter, r *http.Request, perms ...string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return false
	}
	s.mu.Lock()
	exp, known := s.tokens[tok]
	now := s.opts.Now()
	s.mu.Unlock()
	if !known || !now.Before(exp) {
		graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		return false
	}
	for _, p := range perms {
		for _, g := range s.opts.Permissions {
			if g == p {
				return true
			}
		}
	}
	graphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return false
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": code, "error_description": desc, "error_codes": []int{aadstsCode(desc)},
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": newID(), "correlation_id": newID(),
	})
}

func aadstsCode(desc string) int {
	n := 0
	for _, c := range strings.TrimPrefix(desc, "AADSTS") {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// graphError writes Graph's standard error body.
func graphError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	reqID := newID()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", reqID)
	if c := r.Header.Get("client-request-id"); c != "" {
		w.Header().Set("client-request-id", c)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": reqID, "client-request-id": r.Header.Get("client-request-id")},
	}})
}
