package googlesim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type user struct {
	id      string
	created time.Time
	version int
	// data holds the writable fields as the client sent them (merged),
	// without the password.
	data    map[string]any
	aliases []string
	delay   time.Duration // CreationDelay when inserted
	renamed time.Time     // when the primary email last changed
}

// Fields a client cannot write; Google ignores them in requests.
var readOnlyUserFields = []string{
	"id", "kind", "etag", "creationTime", "customerId", "isAdmin", "isDelegatedAdmin",
	"isMailboxSetup", "aliases", "nonEditableAliases", "lastLoginTime", "suspensionReason",
	"suspensionTime", "agreedToTerms", "thumbnailPhotoUrl", "thumbnailPhotoEtag", "deletionTime",
	"isEnrolledIn2Sv", "isEnforcedIn2Sv",
}

var externalIDTypes = []string{"account", "custom", "customer", "login_id", "network", "organization"}

func (u *user) str(key string) string {
	v, _ := u.data[key].(string)
	return v
}

func (u *user) name(key string) string {
	n, _ := u.data["name"].(map[string]any)
	v, _ := n[key].(string)
	return v
}

func (u *user) suspended() bool {
	b, _ := u.data["suspended"].(bool)
	return b
}

// personioID is the user's externalIds value of type organization.
func (u *user) personioID() string { return externalID(u.data) }

func externalID(data map[string]any) string {
	ids, _ := data["externalIds"].([]any)
	for _, e := range ids {
		m, _ := e.(map[string]any)
		if m["type"] == "organization" {
			v, _ := m["value"].(string)
			return v
		}
	}
	return ""
}

func (u *user) manager() string {
	rels, _ := u.data["relations"].([]any)
	for _, e := range rels {
		m, _ := e.(map[string]any)
		if m["type"] == "manager" {
			v, _ := m["value"].(string)
			return v
		}
	}
	return ""
}

func (u *user) organization(key string) string {
	orgs, _ := u.data["organizations"].([]any)
	for i, e := range orgs {
		m, _ := e.(map[string]any)
		if primary, _ := m["primary"].(bool); primary || i == 0 {
			v, _ := m[key].(string)
			return v
		}
	}
	return ""
}

func (u *user) incomplete(now time.Time) bool {
	return now.Before(u.created.Add(u.delay))
}

func (s *Sim) userJSON(u *user) map[string]any {
	out := make(map[string]any, len(u.data)+8)
	for k, v := range u.data {
		out[k] = v
	}
	name := map[string]any{}
	if n, ok := u.data["name"].(map[string]any); ok {
		for k, v := range n {
			name[k] = v
		}
	}
	name["fullName"] = strings.TrimSpace(u.name("givenName") + " " + u.name("familyName"))
	out["name"] = name
	out["kind"] = "admin#directory#user"
	out["id"] = u.id
	out["etag"] = s.etag(u.id, u.version)
	out["customerId"] = s.opt.Customer
	out["creationTime"] = u.created.UTC().Format("2006-01-02T15:04:05.000Z")
	out["isAdmin"] = false
	out["isMailboxSetup"] = !u.incomplete(s.now())
	out["suspended"] = u.suspended()
	if _, ok := out["orgUnitPath"]; !ok {
		out["orgUnitPath"] = "/"
	}
	if len(u.aliases) > 0 {
		out["aliases"] = slices.Clone(u.aliases)
	}
	return out
}

// userByKey resolves a userKey: the numeric id, the primary email or an
// alias.
func (s *Sim) userByKey(key string) *user {
	if u, ok := s.users[key]; ok {
		return u
	}
	if id, ok := s.emails[lower(key)]; ok {
		return s.users[id]
	}
	return nil
}

func notFoundUser(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: userKey")
}

func (s *Sim) insertUser(w http.ResponseWriter, r *http.Request, body map[string]any) {
	data := writable(body)
	password, _ := body["password"].(string)
	hashed, _ := body["hashFunction"].(string)
	if s.reject[externalID(data)] && externalID(data) != "" {
		rejected(w)
		return
	}
	if !s.validUser(w, data) {
		return
	}
	if hashed == "" && (len(password) < 8 || len(password) > 100) {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Password")
		return
	}
	email := lower(data["primaryEmail"].(string))
	if _, taken := s.emails[email]; taken {
		writeError(w, http.StatusConflict, "duplicate", "Entity already exists.")
		return
	}
	if _, group := s.gemails[email]; group {
		writeError(w, http.StatusConflict, "duplicate", "Entity already exists.")
		return
	}
	u := &user{id: s.nextID(), created: s.now(), version: 1, data: data, delay: s.opt.CreationDelay}
	s.users[u.id] = u
	s.emails[email] = u.id
	s.writes++
	writeJSON(w, http.StatusOK, s.userJSON(u))
}

// writable copies a request body without the fields a client cannot set.
func writable(body map[string]any) map[string]any {
	data := make(map[string]any, len(body))
	for k, v := range body {
		if k == "password" || k == "hashFunction" || slices.Contains(readOnlyUserFields, k) {
			continue
		}
		data[k] = v
	}
	if n, ok := data["name"].(map[string]any); ok {
		delete(n, "fullName")
	}
	return data
}

// validUser checks a user's fields after a write is applied, and answers
// the first problem found.
func (s *Sim) validUser(w http.ResponseWriter, data map[string]any) bool {
	email, _ := data["primaryEmail"].(string)
	if email == "" {
		writeError(w, http.StatusBadRequest, "required", "Invalid Input: primary_user_email")
		return false
	}
	if !strings.Contains(email, "@") || !s.inDomain(email) {
		writeError(w, http.StatusBadRequest, "invalid", "Domain not found.")
		return false
	}
	name, _ := data["name"].(map[string]any)
	for _, part := range []string{"givenName", "familyName"} {
		v, _ := name[part].(string)
		if strings.TrimSpace(v) == "" || len([]rune(v)) > 60 {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid Given/Family Name: "+strings.ToUpper(part[:1])+part[1:])
			return false
		}
	}
	if d, _ := name["displayName"].(string); len([]rune(d)) > 256 {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: displayName")
		return false
	}
	if v, ok := data["suspended"]; ok {
		if _, isBool := v.(bool); !isBool {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid value for: suspended")
			return false
		}
	}
	ou, _ := data["orgUnitPath"].(string)
	if ou == "" {
		ou = "/"
	}
	if _, ok := s.ous[lower(ou)]; !ok {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: INVALID_OU_ID")
		return false
	}
	for field, limit := range map[string]int{"externalIds": 2048, "relations": 2048, "organizations": 10240, "phones": 1024, "addresses": 10240} {
		if b, _ := json.Marshal(data[field]); data[field] != nil && len(b) > limit {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: "+field+" too large")
			return false
		}
	}
	ids, _ := data["externalIds"].([]any)
	for _, e := range ids {
		m, _ := e.(map[string]any)
		t, _ := m["type"].(string)
		if !slices.Contains(externalIDTypes, t) {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: externalIds type")
			return false
		}
	}
	return true
}

func rejected(w http.ResponseWriter) {
	writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: the simulator rejects this record")
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	u := s.userByKey(r.PathValue("userKey"))
	if u == nil || (u.incomplete(s.now()) && u.id == r.PathValue("userKey")) {
		notFoundUser(w)
		return
	}
	writeJSON(w, http.StatusOK, s.userJSON(u))
}

// updateUser serves PUT and PATCH. Both merge: omitted fields are kept,
// null clears, arrays are replaced as a whole.
func (s *Sim) updateUser(w http.ResponseWriter, r *http.Request, body map[string]any) {
	u := s.userByKey(r.PathValue("userKey"))
	if u == nil {
		notFoundUser(w)
		return
	}
	if u.incomplete(s.now()) {
		writeError(w, http.StatusPreconditionFailed, "conditionNotMet", "User creation is not complete.")
		return
	}
	if s.reject[u.personioID()] || (externalID(body) != "" && s.reject[externalID(body)]) {
		rejected(w)
		return
	}
	if !u.renamed.IsZero() && s.now().Before(u.renamed.Add(s.opt.RenameDelay)) {
		writeError(w, http.StatusConflict, "duplicate", "Entity already exists.")
		return
	}
	next := cloneMap(u.data)
	merge(next, writable(body))
	if !s.validUser(w, next) {
		return
	}
	if pw, ok := body["password"].(string); ok && (len(pw) < 8 || len(pw) > 100) {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Password")
		return
	}
	oldEmail, newEmail := lower(u.str("primaryEmail")), lower(next["primaryEmail"].(string))
	if oldEmail != newEmail {
		if owner, taken := s.emails[newEmail]; taken && owner != u.id {
			writeError(w, http.StatusConflict, "duplicate", "Entity already exists.")
			return
		}
		// Google keeps the old address as an alias so that mail to it
		// still arrives.
		u.aliases = slices.DeleteFunc(u.aliases, func(a string) bool { return lower(a) == newEmail })
		u.aliases = append(u.aliases, u.str("primaryEmail"))
		s.emails[newEmail] = u.id
		u.renamed = s.now()
	}
	u.data = next
	u.version++
	s.writes++
	writeJSON(w, http.StatusOK, s.userJSON(u))
}

func (s *Sim) deleteUser(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	u := s.userByKey(r.PathValue("userKey"))
	if u == nil {
		notFoundUser(w)
		return
	}
	if s.reject[u.personioID()] {
		rejected(w)
		return
	}
	delete(s.users, u.id)
	for email, id := range s.emails {
		if id == u.id {
			delete(s.emails, email)
		}
	}
	for _, g := range s.groups {
		delete(g.members, u.id)
	}
	s.writes++
	writeEmpty(w)
}

func (s *Sim) insertAlias(w http.ResponseWriter, r *http.Request, body map[string]any) {
	u := s.userByKey(r.PathValue("userKey"))
	if u == nil {
		notFoundUser(w)
		return
	}
	alias, _ := body["alias"].(string)
	if alias == "" || !s.inDomain(alias) {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: alias")
		return
	}
	if _, taken := s.emails[lower(alias)]; taken {
		writeError(w, http.StatusConflict, "duplicate", "Entity already exists.")
		return
	}
	u.aliases = append(u.aliases, alias)
	s.emails[lower(alias)] = u.id
	u.version++
	s.writes++
	writeJSON(w, http.StatusOK, map[string]any{
		"kind": "admin#directory#alias", "id": u.id, "primaryEmail": u.str("primaryEmail"),
		"alias": alias, "etag": s.etag(u.id+alias, 1),
	})
}

func (s *Sim) listAliases(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	u := s.userByKey(r.PathValue("userKey"))
	if u == nil {
		notFoundUser(w)
		return
	}
	list := []any{}
	for _, a := range u.aliases {
		list = append(list, map[string]any{"kind": "admin#directory#alias", "id": u.id, "primaryEmail": u.str("primaryEmail"), "alias": a})
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "admin#directory#aliases", "aliases": list})
}

func (s *Sim) deleteAlias(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	u := s.userByKey(r.PathValue("userKey"))
	alias := lower(r.PathValue("alias"))
	if u == nil || !slices.ContainsFunc(u.aliases, func(a string) bool { return lower(a) == alias }) {
		writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: alias")
		return
	}
	u.aliases = slices.DeleteFunc(u.aliases, func(a string) bool { return lower(a) == alias })
	delete(s.emails, alias)
	u.version++
	s.writes++
	writeEmpty(w)
}

func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	q := r.URL.Query()
	customer, domain := q.Get("customer"), q.Get("domain")
	switch {
	case customer == "" && domain == "":
		writeError(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	case customer != "" && !s.customerOK(customer):
		writeError(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	case customer == "" && !slices.ContainsFunc(s.opt.Domains, func(d string) bool { return strings.EqualFold(d, domain) }):
		writeError(w, http.StatusBadRequest, "notFound", "Domain not found.")
		return
	}
	limit, ok := pageSize(q.Get("maxResults"), 100, 500)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid value for: maxResults")
		return
	}
	match, err := parseQuery(q.Get("query"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: "+err.Error())
		return
	}
	after, ok := decodePageToken(q.Get("pageToken"))
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid page token")
		return
	}
	var all []*user
	for _, u := range s.users {
		if domain != "" && !strings.HasSuffix(lower(u.str("primaryEmail")), "@"+lower(domain)) {
			continue
		}
		if match(u) {
			all = append(all, u)
		}
	}
	slices.SortFunc(all, func(a, b *user) int {
		return strings.Compare(lower(a.str("primaryEmail")), lower(b.str("primaryEmail")))
	})
	var page []any
	next := ""
	for _, u := range all {
		key := lower(u.str("primaryEmail"))
		if after != "" && key <= after {
			continue
		}
		if len(page) == limit {
			next = encodePageToken(lower(page[len(page)-1].(map[string]any)["primaryEmail"].(string)))
			break
		}
		page = append(page, s.userJSON(u))
	}
	out := map[string]any{"kind": "admin#directory#users", "etag": s.etag("users", int(s.seq))}
	if len(page) > 0 {
		out["users"] = page
	}
	if next != "" {
		out["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func pageSize(raw string, def, max int) (int, bool) {
	if raw == "" {
		return def, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		return 0, false
	}
	return n, true
}

func encodePageToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("after:" + after))
}

func decodePageToken(tok string) (string, bool) {
	if tok == "" {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	after, ok := strings.CutPrefix(string(b), "after:")
	return after, ok
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if inner, ok := v.(map[string]any); ok {
			v = cloneMap(inner)
		}
		out[k] = v
	}
	return out
}

// merge applies a write: null clears a field, objects merge, everything
// else (arrays included) replaces.
func merge(dst, patch map[string]any) {
	for k, v := range patch {
		switch v := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			inner, ok := dst[k].(map[string]any)
			if !ok {
				inner = map[string]any{}
			}
			merge(inner, v)
			dst[k] = inner
		default:
			dst[k] = v
		}
	}
}
