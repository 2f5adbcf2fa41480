package scimsim

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	maxBody = 1 << 20
	maxLog  = 200_000 // requests kept for Requests
)

// scimError is an answer in RFC 7644 §3.12's error shape.
type scimError struct {
	status   int
	scimType string
	detail   string
}

func (e *scimError) Error() string { return e.detail }

func errorf(status int, scimType, format string, args ...any) *scimError {
	return &scimError{status: status, scimType: scimType, detail: fmt.Sprintf(format, args...)}
}

// answer is what a handler produced, written after the log entry is made.
type answer struct {
	status int
	body   any
	header http.Header
	err    *scimError
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutPrefix(r.URL.Path, s.opts.BasePath)
	if !ok || (rel != "" && rel[0] != '/') {
		s.write(w, r, rel, answer{err: errorf(http.StatusNotFound, "", "not found")})
		return
	}
	if rel == "/oauth/token" && s.opts.ClientID != "" {
		s.write(w, r, rel, s.issueToken(r))
		return
	}
	if s.injectFault(w, r, rel) {
		return
	}
	if !s.authorized(r) {
		a := answer{err: errorf(http.StatusUnauthorized, "", "authorization failure"), header: http.Header{}}
		a.header.Set("WWW-Authenticate", `Bearer realm="scimsim"`)
		s.write(w, r, rel, a)
		return
	}
	s.write(w, r, rel, s.route(r, rel))
}

// injectFault answers with a queued fault and reports whether it did.
func (s *Sim) injectFault(w http.ResponseWriter, r *http.Request, rel string) bool {
	s.mu.Lock()
	f := &s.faults
	delay, hang, hangDone := f.delay, f.hang, f.hangDone
	var a *answer
	switch {
	case f.throttle > 0:
		f.throttle--
		a = &answer{err: errorf(http.StatusTooManyRequests, "", "too many requests"), header: http.Header{}}
		a.header.Set("Retry-After", strconv.Itoa(int(math.Ceil(f.retryAfter.Seconds()))))
	case f.fail > 0:
		f.fail--
		a = &answer{err: errorf(f.failStatus, "", "server error")}
	case f.redirects > 0:
		f.redirects--
		a = &answer{status: http.StatusTemporaryRedirect, header: http.Header{}}
		a.header.Set("Location", f.redirectTo+rel)
	case f.garbage > 0:
		f.garbage--
		a = &answer{status: http.StatusOK, body: rawBody("<html><body>Service temporarily unavailable</body></html>")}
	}
	s.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
			return true
		case <-hangDone:
		}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return true
		case <-t.C:
		}
	}
	if a == nil {
		return false
	}
	s.write(w, r, rel, *a)
	return true
}

type rawBody string

func (s *Sim) write(w http.ResponseWriter, r *http.Request, rel string, a answer) {
	status := a.status
	var body []byte
	switch {
	case a.err != nil:
		status = a.err.status
		body = s.errorBody(a.err)
	case a.body != nil:
		if raw, ok := a.body.(rawBody); ok {
			body = []byte(raw)
		} else {
			body, _ = json.Marshal(a.body)
		}
	}
	s.mu.Lock()
	if len(s.log) >= maxLog {
		// A long-running demo keeps only the recent past.
		s.log = append(s.log[:0], s.log[maxLog/2:]...)
	}
	s.log = append(s.log, Request{Method: r.Method, Path: rel, Query: r.URL.RawQuery, IfMatch: r.Header.Get("If-Match"), Status: status})
	if status/100 == 2 && isWrite(r.Method) && rel != "/oauth/token" {
		s.writes++
	}
	s.mu.Unlock()
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if body != nil {
		ct := "application/scim+json"
		if _, raw := a.body.(rawBody); raw {
			ct = "text/html"
		}
		if rel == "/oauth/token" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(status)
	w.Write(body)
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func (s *Sim) errorBody(e *scimError) []byte {
	body := map[string]any{
		"schemas": []string{schemaError},
		"status":  strconv.Itoa(e.status),
		"detail":  e.detail,
	}
	if e.scimType != "" {
		body["scimType"] = e.scimType
	}
	if s.opts.Profile == Zitadel {
		const ext = "urn:ietf:params:scim:api:zitadel:messages:2.0:ErrorDetail"
		body["schemas"] = []string{schemaError, ext}
		body[ext] = map[string]any{"message": e.detail, "id": "SCIM-sim"}
	}
	out, _ := json.Marshal(body)
	return out
}

func (s *Sim) issueToken(r *http.Request) answer {
	if r.Method != http.MethodPost {
		return answer{err: errorf(http.StatusMethodNotAllowed, "", "method not allowed")}
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		return answer{status: http.StatusBadRequest, body: map[string]string{"error": "unsupported_grant_type"}}
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	good := subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) &
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret))
	if good != 1 {
		return answer{status: http.StatusUnauthorized, body: map[string]string{"error": "invalid_client"}}
	}
	buf := make([]byte, 16)
	rand.Read(buf)
	tok := hex.EncodeToString(buf)
	s.mu.Lock()
	s.tokens[tok] = true
	s.mu.Unlock()
	return answer{status: http.StatusOK, body: map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600}}
}

func (s *Sim) route(r *http.Request, rel string) answer {
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	switch parts[0] {
	case "ServiceProviderConfig", "ResourceTypes", "Schemas":
		if s.opts.NoDiscovery || len(parts) > 1 || r.Method != http.MethodGet {
			return answer{err: errorf(http.StatusNotFound, "", "not found")}
		}
		return answer{status: http.StatusOK, body: s.discovery(parts[0])}
	case string(kindUsers), string(kindGroups):
	default:
		return answer{err: errorf(http.StatusNotFound, "", "not found")}
	}
	k := kind(parts[0])
	if k == kindGroups && s.opts.Profile == Zitadel {
		return answer{err: errorf(http.StatusNotFound, "", "not found")}
	}
	if len(parts) > 2 {
		return answer{err: errorf(http.StatusNotFound, "", "not found")}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(parts) == 1 {
		switch r.Method {
		case http.MethodGet:
			return s.list(r, k)
		case http.MethodPost:
			return s.create(r, k)
		}
		return answer{err: errorf(http.StatusMethodNotAllowed, "", "method not allowed")}
	}
	res, ok := s.table(k)[parts[1]]
	if !ok {
		return answer{err: errorf(http.StatusNotFound, "", "resource %s not found", parts[1])}
	}
	if isWrite(r.Method) {
		if a, failed := s.checkIfMatch(r, res); failed {
			return a
		}
	}
	switch r.Method {
	case http.MethodGet:
		return s.resourceAnswer(http.StatusOK, res, r)
	case http.MethodPut:
		return s.replace(r, res)
	case http.MethodPatch:
		if s.opts.NoPatch {
			return answer{err: errorf(http.StatusNotImplemented, "", "PATCH is not supported")}
		}
		return s.patch(r, res)
	case http.MethodDelete:
		s.deleteLocked(res.id)
		return answer{status: http.StatusNoContent}
	}
	return answer{err: errorf(http.StatusMethodNotAllowed, "", "method not allowed")}
}

func (s *Sim) checkIfMatch(r *http.Request, res *resource) (answer, bool) {
	im := r.Header.Get("If-Match")
	if !s.opts.ETags || im == "" || im == "*" {
		return answer{}, false
	}
	for tag := range strings.SplitSeq(im, ",") {
		if strings.TrimSpace(tag) == s.etag(res) {
			return answer{}, false
		}
	}
	return answer{err: errorf(http.StatusPreconditionFailed, "", "version mismatch")}, true
}

func (s *Sim) location(r *http.Request, res *resource) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s%s/%s/%s", scheme, r.Host, s.opts.BasePath, res.kind, res.id)
}

func (s *Sim) resourceAnswer(status int, res *resource, r *http.Request) answer {
	a := answer{status: status, header: http.Header{}}
	if s.opts.ETags {
		a.header.Set("ETag", s.etag(res))
	}
	if status == http.StatusCreated {
		a.header.Set("Location", s.location(r, res))
	}
	if status == http.StatusNoContent {
		return a
	}
	a.body = s.render(res, s.location(r, res))
	return a
}

func (s *Sim) list(r *http.Request, k kind) answer {
	q := r.URL.Query()
	var terms []comparison
	if f := q.Get("filter"); f != "" {
		var err error
		if terms, err = parseFilter(f); err != nil {
			return answer{err: errorf(http.StatusBadRequest, "invalidFilter", "the filter is not supported")}
		}
		for _, t := range terms {
			if !filterable(k, t.attr) {
				return answer{err: errorf(http.StatusBadRequest, "invalidFilter", "attribute %s is not filterable", t.attr)}
			}
		}
	}
	start, _ := strconv.Atoi(q.Get("startIndex"))
	start = max(start, 1)
	count := s.opts.MaxResults
	if c := q.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			return answer{err: errorf(http.StatusBadRequest, "invalidValue", "bad count")}
		}
		count = min(n, count)
	}
	var found []*resource
	if v, ok := singleStringTerm(terms); ok && isIndexed(k, terms[0].attr) {
		found = s.lookup(k, terms[0].attr, v)
	} else {
		for _, id := range s.order {
			res, ok := s.table(k)[id]
			if ok && (terms == nil || matches(res.attrs, res.id, terms)) {
				found = append(found, res)
			}
		}
	}
	page := []any{}
	for i := start - 1; i < len(found) && len(page) < count; i++ {
		page = append(page, s.render(found[i], s.location(r, found[i])))
	}
	return answer{status: http.StatusOK, body: map[string]any{
		"schemas":      []string{schemaList},
		"totalResults": len(found),
		"startIndex":   start,
		"itemsPerPage": len(page),
		"Resources":    page,
	}}
}

func singleStringTerm(terms []comparison) (string, bool) {
	if len(terms) != 1 {
		return "", false
	}
	v, ok := terms[0].value.(string)
	return v, ok
}

func filterable(k kind, attr string) bool {
	names := []string{"id", "userName", "externalId", "displayName", "active", "name.familyName"}
	if k == kindGroups {
		names = []string{"id", "displayName", "externalId", "members.value"}
	}
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, attr) })
}

// readObject reads a JSON object request body, capped.
func readObject(r *http.Request) (map[string]any, *scimError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalidSyntax", "unreadable body")
	}
	if len(body) > maxBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "", "request too large")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errorf(http.StatusBadRequest, "invalidSyntax", "the body is not a JSON object")
	}
	return m, nil
}

func (s *Sim) create(r *http.Request, k kind) answer {
	attrs, e := readObject(r)
	if e != nil {
		return answer{err: e}
	}
	del(attrs, "id")
	del(attrs, "meta")
	if k == kindGroups {
		if e := s.checkGroupMembersAllowed(attrs); e != nil {
			return answer{err: e}
		}
		normalizeMembers(attrs)
	}
	if s.opts.Profile == Authentik {
		if existing := s.correlate(k, attrs); existing != nil {
			// authentik adopts the tenant's object with the same userName or
			// displayName and overwrites it with the request.
			if e := s.validate(k, attrs, existing); e != nil {
				return answer{err: e}
			}
			existing.attrs = attrs
			s.touch(existing)
			return s.resourceAnswer(http.StatusCreated, existing, r)
		}
	}
	if e := s.validate(k, attrs, nil); e != nil {
		return answer{err: e}
	}
	res := s.insert(k, attrs)
	return s.resourceAnswer(http.StatusCreated, res, r)
}

func (s *Sim) correlate(k kind, attrs map[string]any) *resource {
	field := "userName"
	if k == kindGroups {
		field = "displayName"
	}
	if found := s.lookup(k, field, str(attrs, field)); len(found) > 0 && str(attrs, field) != "" {
		return found[0]
	}
	return nil
}

func (s *Sim) checkGroupMembersAllowed(attrs map[string]any) *scimError {
	if s.opts.Profile == Keycloak && len(list(attrs, "members")) > 0 {
		return errorf(http.StatusBadRequest, "invalidValue", "members are not supported when creating or replacing a group; use PATCH")
	}
	return nil
}

// validate checks what the server requires of a resource about to be
// stored in place of self (nil for a new one).
func (s *Sim) validate(k kind, attrs map[string]any, self *resource) *scimError {
	if k == kindUsers && s.opts.ExternalIDUnmapped {
		if s.rejected[str(attrs, "externalId")] {
			return errorf(http.StatusBadRequest, "invalidValue", "the server refused the record")
		}
		del(attrs, "externalId")
	}
	if k == kindGroups {
		name := str(attrs, "displayName")
		if name == "" {
			return errorf(http.StatusBadRequest, "invalidValue", "displayName is required")
		}
		for _, g := range s.lookup(kindGroups, "displayName", name) {
			if g != self {
				return errorf(http.StatusConflict, "uniqueness", "displayName is already in use")
			}
		}
		for _, id := range memberIDs(attrs) {
			if _, ok := s.users[id]; !ok {
				return errorf(http.StatusBadRequest, "invalidValue", "member %s does not exist", id)
			}
		}
		return nil
	}
	if s.rejected[str(attrs, "externalId")] || (self != nil && s.rejected[str(self.attrs, "externalId")]) {
		return errorf(http.StatusBadRequest, "invalidValue", "the server refused the record")
	}
	userName := str(attrs, "userName")
	if userName == "" {
		return errorf(http.StatusBadRequest, "invalidValue", "userName is required")
	}
	if v, ok := get(attrs, "active"); ok {
		if _, isBool := v.(bool); !isBool {
			return errorf(http.StatusBadRequest, "invalidValue", "active must be a boolean")
		}
	}
	if s.opts.Profile == Zitadel {
		name := obj(attrs, "name")
		if str(name, "givenName") == "" || str(name, "familyName") == "" || len(list(attrs, "emails")) == 0 {
			return errorf(http.StatusBadRequest, "invalidValue", "name.givenName, name.familyName and an email are required")
		}
	}
	for _, u := range s.lookup(kindUsers, "userName", userName) {
		if u != self {
			return errorf(http.StatusConflict, "uniqueness", "userName is already in use")
		}
	}
	if m := str(obj(obj(attrs, schemaEnterprise), "manager"), "value"); m != "" {
		if _, ok := s.users[m]; !ok {
			return errorf(http.StatusBadRequest, "invalidValue", "manager %s does not exist", m)
		}
	}
	return nil
}

func (s *Sim) replace(r *http.Request, res *resource) answer {
	attrs, e := readObject(r)
	if e != nil {
		return answer{err: e}
	}
	if id := str(attrs, "id"); id != "" && id != res.id && s.opts.Profile == Keycloak {
		return answer{err: errorf(http.StatusBadRequest, "invalidValue", "the id in the body differs from the URL")}
	}
	del(attrs, "id")
	del(attrs, "meta")
	if res.kind == kindGroups {
		if e := s.checkGroupMembersAllowed(attrs); e != nil {
			return answer{err: e}
		}
		if s.opts.Profile == Keycloak {
			// Members are managed only by PATCH; PUT leaves them alone.
			setMembers(attrs, memberIDs(res.attrs))
		}
		normalizeMembers(attrs)
	}
	if e := s.validate(res.kind, attrs, res); e != nil {
		return answer{err: e}
	}
	res.attrs = attrs
	s.touch(res)
	return s.writeAnswer(res, r)
}

func (s *Sim) writeAnswer(res *resource, r *http.Request) answer {
	if s.opts.NoContent {
		return s.resourceAnswer(http.StatusNoContent, res, r)
	}
	return s.resourceAnswer(http.StatusOK, res, r)
}

func (s *Sim) patch(r *http.Request, res *resource) answer {
	body, e := readObject(r)
	if e != nil {
		return answer{err: e}
	}
	ops, e := parsePatch(body)
	if e != nil {
		return answer{err: e}
	}
	if max := s.opts.MaxPatchOperations; max > 0 && len(ops) > max {
		return answer{err: errorf(http.StatusBadRequest, "tooMany", "at most %d operations per request", max)}
	}
	attrs := deepCopy(res.attrs)
	for _, op := range ops {
		if e := s.applyOp(res.kind, attrs, op); e != nil {
			return answer{err: e}
		}
	}
	if res.kind == kindGroups {
		normalizeMembers(attrs)
	}
	if e := s.validate(res.kind, attrs, res); e != nil {
		return answer{err: e}
	}
	res.attrs = attrs
	s.touch(res)
	return s.writeAnswer(res, r)
}

func (s *Sim) discovery(what string) any {
	switch what {
	case "ServiceProviderConfig":
		return map[string]any{
			"schemas":        []string{schemaSPC},
			"patch":          map[string]any{"supported": !s.opts.NoPatch},
			"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
			"filter":         map[string]any{"supported": true, "maxResults": s.opts.MaxResults},
			"changePassword": map[string]any{"supported": false},
			"sort":           map[string]any{"supported": false},
			"etag":           map[string]any{"supported": s.opts.ETags},
			"authenticationSchemes": []any{map[string]any{
				"type": "oauthbearertoken", "name": "OAuth Bearer Token",
				"description": "Authentication with a bearer token",
			}},
		}
	case "ResourceTypes":
		types := []any{map[string]any{"schemas": []string{schemaResType}, "id": "User", "name": "User", "endpoint": "/Users", "schema": schemaUser,
			"schemaExtensions": []any{map[string]any{"schema": schemaEnterprise, "required": false}}}}
		if s.opts.Profile != Zitadel {
			types = append(types, map[string]any{"schemas": []string{schemaResType}, "id": "Group", "name": "Group", "endpoint": "/Groups", "schema": schemaGroup})
		}
		return map[string]any{"schemas": []string{schemaList}, "totalResults": len(types), "Resources": types}
	}
	schemas := []any{
		map[string]any{"schemas": []string{schemaSchema}, "id": schemaUser, "name": "User"},
		map[string]any{"schemas": []string{schemaSchema}, "id": schemaGroup, "name": "Group"},
		map[string]any{"schemas": []string{schemaSchema}, "id": schemaEnterprise, "name": "EnterpriseUser"},
	}
	return map[string]any{"schemas": []string{schemaList}, "totalResults": len(schemas), "Resources": schemas}
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&out) != nil {
		return map[string]any{}
	}
	return out
}
