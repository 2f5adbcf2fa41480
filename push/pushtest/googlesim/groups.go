package googlesim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type group struct {
	id, email, name, description string
	aliases                      []string
	created                      time.Time
	version                      int
	// members by key: the user's id, or the lower-case address of a
	// member outside the tenant's users.
	members map[string]*member
}

type member struct {
	key, email, role, kind string
}

func (s *Sim) groupJSON(g *group) map[string]any {
	out := map[string]any{
		"kind": "admin#directory#group", "id": g.id, "etag": s.etag(g.id, g.version),
		"email": g.email, "name": g.name, "description": g.description,
		"directMembersCount": strconv.Itoa(len(g.members)), "adminCreated": true,
	}
	if len(g.aliases) > 0 {
		out["aliases"] = slices.Clone(g.aliases)
	}
	return out
}

func (s *Sim) memberJSON(g *group, m *member) map[string]any {
	out := map[string]any{
		"kind": "admin#directory#member", "etag": s.etag(g.id+m.key, 1),
		"role": m.role, "type": m.kind, "status": "ACTIVE",
	}
	if u, ok := s.users[m.key]; ok {
		out["id"], out["email"] = u.id, u.str("primaryEmail")
		if u.suspended() {
			out["status"] = "SUSPENDED"
		}
		return out
	}
	out["email"] = m.email
	if id, ok := s.gemails[lower(m.email)]; ok {
		out["id"] = id
	}
	return out
}

func (s *Sim) groupByKey(key string) *group {
	if g, ok := s.groups[key]; ok {
		return g
	}
	if id, ok := s.gemails[lower(key)]; ok {
		return s.groups[id]
	}
	return nil
}

func notFoundGroup(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: groupKey")
}

func (s *Sim) insertGroup(w http.ResponseWriter, _ *http.Request, body map[string]any) {
	email, _ := body["email"].(string)
	if email == "" {
		writeError(w, http.StatusBadRequest, "required", "Missing required field: email")
		return
	}
	if !s.inDomain(email) {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: email")
		return
	}
	if !s.validGroupText(w, body) {
		return
	}
	if s.emailTaken(email) {
		writeError(w, http.StatusConflict, "duplicate", "Entity already exists.")
		return
	}
	g := &group{id: "0" + s.nextID()[6:], email: email, created: s.now(), version: 1, members: map[string]*member{}}
	g.name, _ = body["name"].(string)
	if g.name == "" {
		g.name, _, _ = strings.Cut(email, "@")
	}
	g.description, _ = body["description"].(string)
	s.groups[g.id] = g
	s.gemails[lower(email)] = g.id
	s.writes++
	writeJSON(w, http.StatusOK, s.groupJSON(g))
}

func (s *Sim) emailTaken(email string) bool {
	_, user := s.emails[lower(email)]
	_, grp := s.gemails[lower(email)]
	return user || grp
}

func (s *Sim) validGroupText(w http.ResponseWriter, body map[string]any) bool {
	if name, _ := body["name"].(string); len([]rune(name)) > 75 {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: name")
		return false
	}
	if d, _ := body["description"].(string); len([]rune(d)) > 4096 {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: description")
		return false
	}
	return true
}

func (s *Sim) getGroup(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	g := s.groupByKey(r.PathValue("groupKey"))
	if g == nil {
		notFoundGroup(w)
		return
	}
	writeJSON(w, http.StatusOK, s.groupJSON(g))
}

func (s *Sim) updateGroup(w http.ResponseWriter, r *http.Request, body map[string]any) {
	g := s.groupByKey(r.PathValue("groupKey"))
	if g == nil {
		notFoundGroup(w)
		return
	}
	if !s.validGroupText(w, body) {
		return
	}
	if email, _ := body["email"].(string); email != "" && !strings.EqualFold(email, g.email) {
		if !s.inDomain(email) {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: email")
			return
		}
		if owner, taken := s.gemails[lower(email)]; (taken && owner != g.id) || s.emails[lower(email)] != "" {
			writeError(w, http.StatusConflict, "duplicate", "Entity already exists.")
			return
		}
		g.aliases = append(g.aliases, g.email)
		g.email = email
		s.gemails[lower(email)] = g.id
	}
	if name, ok := body["name"].(string); ok && name != "" {
		g.name = name
	}
	if d, ok := body["description"].(string); ok {
		g.description = d
	}
	g.version++
	s.writes++
	writeJSON(w, http.StatusOK, s.groupJSON(g))
}

func (s *Sim) deleteGroup(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	g := s.groupByKey(r.PathValue("groupKey"))
	if g == nil {
		notFoundGroup(w)
		return
	}
	delete(s.groups, g.id)
	for email, id := range s.gemails {
		if id == g.id {
			delete(s.gemails, email)
		}
	}
	s.writes++
	writeEmpty(w)
}

func (s *Sim) listGroups(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	q := r.URL.Query()
	if c := q.Get("customer"); (c == "" && q.Get("domain") == "" && q.Get("userKey") == "") || (c != "" && !s.customerOK(c)) {
		writeError(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	}
	limit, ok := pageSize(q.Get("maxResults"), 200, 200)
	after, tokOK := decodePageToken(q.Get("pageToken"))
	if !ok || !tokOK {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid value for: maxResults or pageToken")
		return
	}
	var of *user
	if k := q.Get("userKey"); k != "" {
		if of = s.userByKey(k); of == nil {
			notFoundUser(w)
			return
		}
	}
	var all []*group
	for _, g := range s.groups {
		if of != nil && g.members[of.id] == nil {
			continue
		}
		all = append(all, g)
	}
	slices.SortFunc(all, func(a, b *group) int { return strings.Compare(lower(a.email), lower(b.email)) })
	page, next := []any{}, ""
	for _, g := range all {
		if after != "" && lower(g.email) <= after {
			continue
		}
		if len(page) == limit {
			next = encodePageToken(lower(page[len(page)-1].(map[string]any)["email"].(string)))
			break
		}
		page = append(page, s.groupJSON(g))
	}
	out := map[string]any{"kind": "admin#directory#groups", "groups": page}
	if next != "" {
		out["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

// memberKeyOf resolves a member address or id to the key the group
// stores it under.
func (s *Sim) memberKeyOf(key string) string {
	if u := s.userByKey(key); u != nil {
		return u.id
	}
	if g := s.groupByKey(key); g != nil {
		return lower(g.email)
	}
	return lower(key)
}

func (s *Sim) insertMember(w http.ResponseWriter, r *http.Request, body map[string]any) {
	g := s.groupByKey(r.PathValue("groupKey"))
	if g == nil || s.now().Before(g.created.Add(s.opt.GroupDelay)) {
		notFoundGroup(w)
		return
	}
	email, _ := body["email"].(string)
	id, _ := body["id"].(string)
	if email == "" && id == "" {
		writeError(w, http.StatusBadRequest, "required", "Missing required field: memberKey")
		return
	}
	role, _ := body["role"].(string)
	if role == "" {
		role = "MEMBER"
	}
	if !slices.Contains([]string{"MEMBER", "MANAGER", "OWNER"}, role) {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: role")
		return
	}
	m, ok := s.newMember(w, g, email, id, role)
	if !ok {
		return
	}
	if _, dup := g.members[m.key]; dup {
		writeError(w, http.StatusConflict, "duplicate", "Member already exists.")
		return
	}
	g.members[m.key] = m
	g.version++
	s.writes++
	writeJSON(w, http.StatusOK, s.memberJSON(g, m))
}

func (s *Sim) newMember(w http.ResponseWriter, g *group, email, id, role string) (*member, bool) {
	key := email
	if key == "" {
		key = id
	}
	if u := s.userByKey(key); u != nil {
		if u.incomplete(s.now()) {
			writeError(w, http.StatusPreconditionFailed, "conditionNotMet", "User creation is not complete.")
			return nil, false
		}
		return &member{key: u.id, role: role, kind: "USER"}, true
	}
	if other := s.groupByKey(key); other != nil {
		if other == g {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: a group cannot be a member of itself")
			return nil, false
		}
		return &member{key: lower(other.email), email: other.email, role: role, kind: "GROUP"}, true
	}
	if email == "" || s.inDomain(email) {
		writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: memberKey")
		return nil, false
	}
	return &member{key: lower(email), email: email, role: role, kind: "EXTERNAL"}, true
}

func (s *Sim) deleteMember(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	g := s.groupByKey(r.PathValue("groupKey"))
	if g == nil {
		notFoundGroup(w)
		return
	}
	key := s.memberKeyOf(r.PathValue("memberKey"))
	if _, ok := g.members[key]; !ok {
		writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: memberKey")
		return
	}
	delete(g.members, key)
	g.version++
	s.writes++
	writeEmpty(w)
}

func (s *Sim) getMember(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	g := s.groupByKey(r.PathValue("groupKey"))
	if g == nil {
		notFoundGroup(w)
		return
	}
	m, ok := g.members[s.memberKeyOf(r.PathValue("memberKey"))]
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: memberKey")
		return
	}
	writeJSON(w, http.StatusOK, s.memberJSON(g, m))
}

func (s *Sim) hasMember(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	g := s.groupByKey(r.PathValue("groupKey"))
	if g == nil {
		notFoundGroup(w)
		return
	}
	_, ok := g.members[s.memberKeyOf(r.PathValue("memberKey"))]
	writeJSON(w, http.StatusOK, map[string]any{"isMember": ok})
}

func (s *Sim) listMembers(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	g := s.groupByKey(r.PathValue("groupKey"))
	if g == nil {
		notFoundGroup(w)
		return
	}
	q := r.URL.Query()
	limit, ok := pageSize(q.Get("maxResults"), 200, 200)
	after, tokOK := decodePageToken(q.Get("pageToken"))
	if !ok || !tokOK {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid value for: maxResults or pageToken")
		return
	}
	roles := strings.Split(q.Get("roles"), ",")
	var all []map[string]any
	for _, m := range g.members {
		if q.Get("roles") != "" && !slices.Contains(roles, m.role) {
			continue
		}
		all = append(all, s.memberJSON(g, m))
	}
	slices.SortFunc(all, func(a, b map[string]any) int {
		return strings.Compare(lower(a["email"].(string)), lower(b["email"].(string)))
	})
	page, next := []any{}, ""
	for _, m := range all {
		if after != "" && lower(m["email"].(string)) <= after {
			continue
		}
		if len(page) == limit {
			next = encodePageToken(lower(page[len(page)-1].(map[string]any)["email"].(string)))
			break
		}
		page = append(page, m)
	}
	out := map[string]any{"kind": "admin#directory#members", "etag": s.etag(g.id, g.version), "members": page}
	if next != "" {
		out["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, out)
}
