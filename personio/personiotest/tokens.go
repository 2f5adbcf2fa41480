package personiotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// tokenLifetime is Personio's documented token lifetime.
const tokenLifetime = 24 * time.Hour

// issued is a token the simulator handed out.
type issued struct {
	token   string
	cred    *Credential
	scopes  []string
	expires time.Time
}

// tokenStore keeps issued tokens. In stable mode a credential asking again
// within 24 hours gets the same token back, as Personio documents.
type tokenStore struct {
	byToken map[string]*issued
	stable  map[string]*issued // by client id and scope set
}

func newTokenStore() *tokenStore {
	return &tokenStore{byToken: map[string]*issued{}, stable: map[string]*issued{}}
}

func newTokenValue() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "papi-" + hex.EncodeToString(b[:])
}

// issue returns a token for cred with the given scopes.
func (ts *tokenStore) issue(cred *Credential, scopes []string, now time.Time) *issued {
	key := cred.ClientID + "\x00" + strings.Join(scopes, " ")
	if cred.TokenMode == TokenStable {
		if t, ok := ts.stable[key]; ok && now.Before(t.expires) {
			return t
		}
	}
	t := &issued{token: newTokenValue(), cred: cred, scopes: scopes, expires: now.Add(tokenLifetime)}
	ts.byToken[t.token] = t
	if cred.TokenMode == TokenStable {
		ts.stable[key] = t
	}
	return t
}

func (ts *tokenStore) lookup(token string, now time.Time) (*issued, bool) {
	t, ok := ts.byToken[token]
	if !ok || !now.Before(t.expires) {
		return nil, false
	}
	return t, true
}

func (ts *tokenStore) revoke(token string) {
	if t, ok := ts.byToken[token]; ok {
		delete(ts.byToken, token)
		for k, v := range ts.stable {
			if v == t {
				delete(ts.stable, k)
			}
		}
	}
}

// credential finds a credential by id and secret.
func (s *Server) credential(id, secret string) *Credential {
	for i := range s.opts.Credentials {
		c := &s.opts.Credentials[i]
		if c.ClientID == id && c.ClientSecret == secret {
			return c
		}
	}
	return nil
}

func (s *Server) credentialByID(id string) *Credential {
	for i := range s.opts.Credentials {
		if s.opts.Credentials[i].ClientID == id {
			return &s.opts.Credentials[i]
		}
	}
	return nil
}

// authCredentials reads client_id and client_secret from a JSON body, a
// form body or the query, the three forms v1 /auth has accepted.
func authCredentials(r *http.Request) (id, secret string) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&body) == nil {
			return body.ClientID, body.ClientSecret
		}
		return "", ""
	}
	_ = r.ParseForm() // a bad form leaves the values empty, which is refused below
	return r.Form.Get("client_id"), r.Form.Get("client_secret")
}

// v1Auth is POST /v1/auth.
func (s *Server) v1Auth(w http.ResponseWriter, r *http.Request) {
	id, secret := authCredentials(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.allowAuth(w, r, id, "v1-auth") {
		return
	}
	cred := s.credential(id, secret)
	if cred == nil {
		writeV1Error(w, http.StatusUnauthorized, "Wrong credentials")
		return
	}
	t := s.tokens.issue(cred, cred.Scopes, s.now())
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true,
		"data": map[string]any{
			"token": t.token, "expires_in": int(tokenLifetime.Seconds()), "scope": strings.Join(t.scopes, " "),
		},
	})
}

// v2Token is POST /v2/auth/token, OAuth2 client credentials, form only.
func (s *Server) v2Token(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The content type must be application/x-www-form-urlencoded.", nil)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The request body could not be read.", nil)
		return
	}
	var missing []string
	for _, p := range []string{"grant_type", "client_id", "client_secret"} {
		if r.PostForm.Get(p) == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Required parameters are missing.", map[string]any{"missing_parameters": missing})
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Only client_credentials is supported.", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PostForm.Get("client_id")
	if !s.allowAuth(w, r, id, "v2-token") {
		return
	}
	cred := s.credential(id, r.PostForm.Get("client_secret"))
	if cred == nil {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "The credentials were not correct or the client is not authorized.", nil)
		return
	}
	scopes := cred.Scopes
	if requested := strings.Fields(r.PostForm.Get("scope")); len(requested) > 0 {
		for _, sc := range requested {
			if !slices.Contains(cred.Scopes, sc) {
				writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "A requested scope is not granted to the client.", nil)
				return
			}
		}
		scopes = requested
	}
	t := s.tokens.issue(cred, scopes, s.now())
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": t.token, "token_type": "Bearer", "expires_in": int(tokenLifetime.Seconds()),
		"scope": strings.Join(t.scopes, " "), "refresh_token": nil,
	})
}

// v2Revoke is POST /v2/auth/revoke.
func (s *Server) v2Revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The token parameter is missing.", nil)
		return
	}
	s.mu.Lock()
	s.tokens.revoke(r.PostForm.Get("token"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// allowAuth applies the auth endpoints' rate limits to a client id.
func (s *Server) allowAuth(w http.ResponseWriter, r *http.Request, clientID, class string) bool {
	cred := s.credentialByID(clientID)
	if cred == nil || cred.NoRateLimit {
		return true
	}
	if ok, _ := s.limits.allow(clientID, class, s.now()); ok {
		return true
	}
	s.writeTooMany(w, r, nil)
	return false
}

// authorize checks the bearer token, the rate limit and the scope of an API
// call, and in legacy mode swaps the token for the next one. It returns the
// caller's credential, or nil after writing the error answer. The caller
// must hold s.mu.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, scopes ...string) *Credential {
	v2 := isV2(r)
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		s.unauthorized(w, v2, "Authorization is not provided")
		return nil
	}
	t, ok := s.tokens.lookup(token, s.now())
	if !ok {
		if v2 {
			s.unauthorized(w, v2, "Provided authorization is not valid")
		} else {
			writeV1Error(w, s.opts.V1InvalidTokenStatus, "Provided authorization is not valid")
		}
		return nil
	}
	if !t.cred.NoRateLimit {
		ok, headers := s.limits.allow(t.cred.ClientID, s.limitClass(r), s.now())
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		if !ok {
			s.writeTooMany(w, r, headers)
			return nil
		}
	}
	if !hasAnyScope(t.scopes, scopes) {
		if v2 {
			writeProblem(w, s.opts.V2MissingScopeStatus, "Insufficient access scope", "Client scope insufficient to access resource")
		} else {
			writeV1Error(w, http.StatusForbidden, "Provided authorization is not valid")
		}
		return nil
	}
	if t.cred.TokenMode == TokenLegacy {
		s.tokens.revoke(t.token)
		t = s.tokens.issue(t.cred, t.scopes, s.now())
	}
	// v1 echoes the token on every JSON answer; in the legacy mode it is the
	// next token, which v2 then has to hand out too.
	if !v2 || t.cred.TokenMode == TokenLegacy {
		w.Header().Set("Authorization", "Bearer "+t.token)
	}
	return t.cred
}

func (s *Server) unauthorized(w http.ResponseWriter, v2 bool, message string) {
	if v2 {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized Request", message)
		return
	}
	writeV1Error(w, http.StatusUnauthorized, message)
}

func hasAnyScope(granted, wanted []string) bool {
	if len(wanted) == 0 {
		return true
	}
	for _, w := range wanted {
		if slices.Contains(granted, w) {
			return true
		}
	}
	return false
}

// readScopes and writeScopes are the scopes (any one of them) the person
// endpoints accept, v2 names and legacy v1 names.
func readScopes() []string  { return []string{"personio:persons:read", "employees:read"} }
func writeScopes() []string { return []string{"personio:persons:write", "employees:write"} }

// queryValues is r.URL.Query() with a size guard against absurd queries.
func queryValues(r *http.Request) url.Values {
	if len(r.URL.RawQuery) > 1<<16 {
		return url.Values{}
	}
	return r.URL.Query()
}
