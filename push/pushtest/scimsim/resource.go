package scimsim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaError      = "urn:ietf:params:scim:api:messages:2.0:Error"
	schemaSPC        = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	schemaResType    = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaSchema     = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

type kind string

const (
	kindUsers  kind = "Users"
	kindGroups kind = "Groups"
)

// resource is one User or Group: the attributes as the client wrote them
// (names keep the client's case; lookups ignore case as SCIM requires),
// without id and meta, which the server owns.
type resource struct {
	id       string
	kind     kind
	attrs    map[string]any
	version  int
	seq      int // creation order, for stable listings
	created  time.Time
	modified time.Time
	keys     []string // the index entries that point at it
}

// indexKey names an index entry: the kind, the attribute and the value as
// it compares (lower case for case-insensitive attributes).
func indexKey(k kind, attr, value string) string {
	if !strings.EqualFold(attr, "externalId") {
		value = strings.ToLower(value)
	}
	return string(k) + "\x00" + strings.ToLower(attr) + "\x00" + value
}

// indexedAttrs are the attributes searches and uniqueness checks find
// without a scan.
func indexedAttrs(k kind) []string {
	if k == kindGroups {
		return []string{"displayName", "externalId"}
	}
	return []string{"userName", "externalId"}
}

// reindex updates the index after r's attributes changed.
func (s *Sim) reindex(r *resource) {
	s.unindex(r)
	for _, a := range indexedAttrs(r.kind) {
		if v := str(r.attrs, a); v != "" {
			key := indexKey(r.kind, a, v)
			if s.index[key] == nil {
				s.index[key] = map[string]*resource{}
			}
			s.index[key][r.id] = r
			r.keys = append(r.keys, key)
		}
	}
}

func (s *Sim) unindex(r *resource) {
	for _, key := range r.keys {
		delete(s.index[key], r.id)
		if len(s.index[key]) == 0 {
			delete(s.index, key)
		}
	}
	r.keys = nil
}

// lookup returns the resources whose attribute equals value, in creation
// order.
func (s *Sim) lookup(k kind, attr, value string) []*resource {
	hits := s.index[indexKey(k, attr, value)]
	out := make([]*resource, 0, len(hits))
	for _, r := range hits {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *resource) int { return a.seq - b.seq })
	return out
}

func isIndexed(k kind, attr string) bool {
	return slices.ContainsFunc(indexedAttrs(k), func(a string) bool { return strings.EqualFold(a, attr) })
}

func (s *Sim) table(k kind) map[string]*resource {
	if k == kindGroups {
		return s.groups
	}
	return s.users
}

func (s *Sim) insert(k kind, attrs map[string]any) *resource {
	now := s.opts.Now().UTC()
	r := &resource{id: s.newID(), kind: k, attrs: attrs, version: 1, seq: s.nextID, created: now, modified: now}
	s.table(k)[r.id] = r
	s.order = append(s.order, r.id)
	s.reindex(r)
	return r
}

// touch records a change of r's attributes.
func (s *Sim) touch(r *resource) {
	s.reindex(r)
	r.version++
	r.modified = s.opts.Now().UTC()
}

// deleteLocked removes a resource and, for a user, its group memberships.
func (s *Sim) deleteLocked(id string) {
	if r, ok := s.table(kindUsers)[id]; ok {
		s.unindex(r)
	}
	if r, ok := s.table(kindGroups)[id]; ok {
		s.unindex(r)
	}
	if _, ok := s.users[id]; ok {
		delete(s.users, id)
		for _, g := range s.groups {
			if slices.Contains(memberIDs(g.attrs), id) {
				setMembers(g.attrs, slices.DeleteFunc(memberIDs(g.attrs), func(m string) bool { return m == id }))
			}
		}
	}
	delete(s.groups, id)
	s.order = slices.DeleteFunc(s.order, func(o string) bool { return o == id })
}

func (s *Sim) etag(r *resource) string { return fmt.Sprintf(`W/"%d"`, r.version) }

// render is the resource as the server answers it.
func (s *Sim) render(r *resource, location string) map[string]any {
	out := make(map[string]any, len(r.attrs)+3)
	for k, v := range r.attrs {
		out[k] = v
	}
	core := schemaUser
	if r.kind == kindGroups {
		core = schemaGroup
	}
	schemas := []any{core}
	for _, v := range list(r.attrs, "schemas") {
		if sv, ok := v.(string); ok && !strings.EqualFold(sv, core) {
			schemas = append(schemas, sv)
		}
	}
	out["schemas"] = schemas
	out["id"] = r.id
	meta := map[string]any{
		"resourceType": strings.TrimSuffix(string(r.kind), "s"),
		"created":      r.created.Format(time.RFC3339),
		"lastModified": r.modified.Format(time.RFC3339),
		"location":     location,
	}
	if s.opts.ETags {
		meta["version"] = s.etag(r)
	}
	out["meta"] = meta
	if r.kind == kindGroups {
		members := []any{}
		for _, id := range memberIDs(r.attrs) {
			m := map[string]any{"value": id}
			if u, ok := s.users[id]; ok {
				m["display"] = str(u.attrs, "displayName")
				m["type"] = "User"
			}
			members = append(members, m)
		}
		out["members"] = members
	}
	return out
}

// key finds the attribute name in m that equals name ignoring case.
func key(m map[string]any, name string) (string, bool) {
	if _, ok := m[name]; ok {
		return name, true
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

func get(m map[string]any, name string) (any, bool) {
	k, ok := key(m, name)
	if !ok {
		return nil, false
	}
	return m[k], true
}

// set assigns name, reusing the client's spelling when present.
func set(m map[string]any, name string, v any) {
	if k, ok := key(m, name); ok {
		m[k] = v
		return
	}
	m[name] = v
}

func del(m map[string]any, name string) {
	if k, ok := key(m, name); ok {
		delete(m, k)
	}
}

func str(m map[string]any, name string) string {
	v, _ := get(m, name)
	s, _ := v.(string)
	return s
}

func obj(m map[string]any, name string) map[string]any {
	v, _ := get(m, name)
	return asObj(v)
}

func asObj(v any) map[string]any {
	o, _ := v.(map[string]any)
	return o
}

func list(m map[string]any, name string) []any {
	v, _ := get(m, name)
	l, _ := v.([]any)
	return l
}

// memberIDs lists a group's member values in their stored order.
func memberIDs(attrs map[string]any) []string {
	var ids []string
	for _, m := range list(attrs, "members") {
		if id := str(asObj(m), "value"); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

func setMembers(attrs map[string]any, ids []string) {
	members := make([]any, 0, len(ids))
	for _, id := range ids {
		members = append(members, map[string]any{"value": id})
	}
	set(attrs, "members", members)
}

// normalizeMembers turns bare-id member values (Keycloak accepts them) into
// objects, drops duplicates and everything but value.
func normalizeMembers(attrs map[string]any) {
	v, ok := get(attrs, "members")
	if !ok {
		return
	}
	var ids []string
	for _, m := range asList(v) {
		id := memberValue(m)
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	setMembers(attrs, ids)
}

func memberValue(m any) string {
	if s, ok := m.(string); ok {
		return s
	}
	return str(asObj(m), "value")
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}
