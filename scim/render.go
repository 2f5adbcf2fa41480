package scim

import (
	"net/url"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// renderer writes Users and Groups as SCIM JSON. base is the absolute URL
// of the SCIM root, without a trailing slash, for meta.location and $ref.
// Only attributes clients may see are written: never the Personio source
// record, the lifecycle internals or overrides.
type renderer struct {
	base   string
	view   *store.View
	fields projection
	// holes, when not nil, collects the offsets where the base URL belongs
	// instead of writing it, for a rendering kept for other requests
	// (see render_cache.go).
	holes *[]int32
	// frags, when not nil, keeps the group entries and manager objects of
	// the view, which many Users share; only set with holes.
	frags *renderCache
}

// baseURL writes the base URL inside a JSON string, or leaves a hole for it.
func (r *renderer) baseURL(w *jsonWriter) {
	switch {
	case r.holes != nil:
		*r.holes = append(*r.holes, int32(len(w.b)))
	case jsonSafe(r.base):
		w.b = append(w.b, r.base...)
	default:
		w.b = appendJSONStringBody(w.b, r.base)
	}
}

// shared writes the fragment kept under key, rendering it with write first
// when the view has none yet. Without frags it just writes.
func (r *renderer) shared(w *jsonWriter, key any, write func(*renderer, *jsonWriter)) {
	if r.frags == nil {
		write(r, w)
		return
	}
	e, ok := r.frags.frags.Load(key)
	if !ok {
		// A fragment depends only on its key's value, so the previous view's
		// is good when the key is the same group or manager.
		if prev := r.frags.prev.Load(); prev != nil {
			if old, found := prev.frags.Load(key); found {
				e, ok = r.frags.keep(&r.frags.frags, key, old.(*renderedUser)), true
			}
		}
	}
	if !ok {
		frag := &renderedUser{}
		frag.holes = frag.inline[:0]
		fr := renderer{view: r.view, fields: r.fields, holes: &frag.holes}
		var fw jsonWriter
		write(&fr, &fw)
		frag.b = fw.b
		e = r.frags.keep(&r.frags.frags, key, frag)
	}
	frag := e.(*renderedUser)
	w.sep()
	from := 0
	for _, at := range frag.holes {
		w.b = append(w.b, frag.b[from:at]...)
		r.baseURL(w)
		from = int(at)
	}
	w.b = append(w.b, frag.b[from:]...)
	w.comma = true
}

// link writes the JSON string base+endpoint+PathEscape(id), each part
// escaped on its own as strConcat does.
func (r *renderer) link(w *jsonWriter, endpoint, id string) {
	w.sep()
	w.b = append(w.b, '"')
	r.baseURL(w)
	w.b = append(w.b, endpoint...) // "/Users/" or "/Groups/"
	w.b = appendJSONStringBody(w.b, pathEscape(id))
	w.b = append(w.b, '"')
	w.comma = true
}

// pathEscape is url.PathEscape, returning ids made only of characters it
// never escapes (every UUID) without scanning them byte by byte through
// its general rules.
func pathEscape(id string) string {
	for i := 0; i < len(id); i++ {
		if byteClass[id[i]]&classPath == 0 {
			return url.PathEscape(id)
		}
	}
	return id
}

func (r *renderer) user(w *jsonWriter, u *store.Identity) {
	f := r.fields
	groups, manager, boss := r.shown(u)
	enterprise := f.anyOf(uEnterprise) && hasEnterpriseData(u, f)

	w.beginObject()
	w.key("schemas")
	w.beginArray()
	w.lit(userURN)
	if enterprise {
		w.lit(enterpriseURN)
	}
	w.endArray()
	w.field("id", u.ID)
	if f.has(uExternalID) {
		w.fieldIf("externalId", u.ExternalID)
	}
	if f.has(uUserName) {
		w.fieldIf("userName", u.UserName)
	}
	r.userName(w, u)
	for _, s := range []struct {
		bit  uint
		name string
		v    string
	}{
		{uDisplayName, "displayName", u.DisplayName},
		{uNickName, "nickName", u.NickName},
		{uTitle, "title", u.Title},
		{uUserType, "userType", u.UserType},
		{uPreferredLanguage, "preferredLanguage", u.PreferredLanguage},
		{uLocale, "locale", u.Locale},
		{uTimezone, "timezone", u.Timezone},
	} {
		if f.has(s.bit) {
			w.fieldIf(s.name, s.v)
		}
	}
	if f.has(uActive) {
		w.key("active")
		w.boolean(u.Active)
	}
	workEntry(w, f, "emails", u.Email, uEmailValue)
	workEntry(w, f, "phoneNumbers", u.Phone, uPhoneValue)
	if len(groups) > 0 && f.anyOf(uGroups) {
		w.key("groups")
		w.beginArray()
		for _, g := range groups {
			r.shared(w, g, func(r *renderer, w *jsonWriter) { r.groupEntry(w, g) })
		}
		w.endArray()
	}
	if enterprise {
		r.enterprise(w, u, manager, boss)
	}
	if f.anyOf(uMeta) {
		var hash uint64
		if f.has(uMetaVersion) {
			hash = derivedHashOf(manager, groups)
		}
		r.meta(w, f>>uMetaResourceType, resourceMeta{kind: "User", endpoint: "/Users/", id: u.ID,
			created: u.Created, modified: u.Modified, version: u.Version, hash: hash})
	}
	w.endObject()
}

// shown is everything user writes of u that comes from the view rather
// than from u: its groups and its manager's displayName ("" when it has
// none in the view), with the manager's identity, which keys the kept
// manager objects. The render cache compares a kept User's groups and
// manager with these to carry it over to a new view.
func (r *renderer) shown(u *store.Identity) (groups []*store.Group, manager string, boss *store.Identity) {
	groups = r.view.GroupsOf(u.ID)
	// The manager's name is shown and hashed into the version; it is
	// looked up once for both (managerName, keeping who it is).
	if u.Manager != "" && (r.fields.has(uManagerDisplayName) || r.fields.has(uMetaVersion)) {
		if m, ok := r.view.Identity(u.Manager); ok {
			manager, boss = m.DisplayName, m
		}
	}
	return groups, manager, boss
}

func (r *renderer) userName(w *jsonWriter, u *store.Identity) {
	f := r.fields
	given := f.has(uGivenName) && u.GivenName != ""
	family := f.has(uFamilyName) && u.FamilyName != ""
	middle := f.has(uMiddleName) && u.MiddleName != ""
	if !given && !family && !middle {
		return
	}
	w.key("name")
	w.beginObject()
	if given {
		w.field("givenName", u.GivenName)
	}
	if family {
		w.field("familyName", u.FamilyName)
	}
	if middle {
		w.field("middleName", u.MiddleName)
	}
	w.endObject()
}

// workEntry writes the one email or phone number of an identity as the
// primary "work" entry, which is where Okta's default mapping
// (emails.^[primary==true].value) looks for it. first is the bit of the
// value leaf; type and primary follow it.
func workEntry(w *jsonWriter, f projection, name, value string, first uint) {
	if value == "" || !f.anyOf(projection(7)<<first) {
		return
	}
	w.key(name)
	w.beginArray()
	w.beginObject()
	if f.has(first) {
		w.field("value", value)
	}
	if f.has(first + 1) {
		w.key("type")
		w.lit(workType)
	}
	if f.has(first + 2) {
		w.key("primary")
		w.boolean(true)
	}
	w.endObject()
	w.endArray()
}

func hasEnterpriseData(u *store.Identity, f projection) bool {
	return f.has(uEmployeeNumber) && u.EmployeeNumber != "" ||
		f.has(uDepartment) && u.Department != "" ||
		f.has(uOrganization) && u.Organization != "" ||
		f.has(uCostCenter) && u.CostCenter != "" ||
		f.has(uDivision) && u.Division != "" ||
		f.anyOf(uManager) && u.Manager != ""
}

// groupEntry writes one element of a User's groups.
func (r *renderer) groupEntry(w *jsonWriter, g *store.Group) {
	f := r.fields
	w.beginObject()
	if f.has(uGroupValue) {
		w.field("value", g.ID)
	}
	if f.has(uGroupRef) {
		w.key("$ref")
		r.link(w, "/Groups/", g.ID)
	}
	if f.has(uGroupDisplay) {
		w.fieldIf("display", g.DisplayName)
	}
	if f.has(uGroupType) {
		w.key("type")
		w.lit("direct")
	}
	w.endObject()
}

// enterprise writes the extension; boss is the manager's identity when it
// is in the view and was looked up, manager its displayName.
func (r *renderer) enterprise(w *jsonWriter, u *store.Identity, manager string, boss *store.Identity) {
	f := r.fields
	w.key(enterpriseURN)
	w.beginObject()
	if f.has(uEmployeeNumber) {
		w.fieldIf("employeeNumber", u.EmployeeNumber)
	}
	if f.has(uDepartment) {
		w.fieldIf("department", u.Department)
	}
	if f.has(uOrganization) {
		w.fieldIf("organization", u.Organization)
	}
	if f.has(uCostCenter) {
		w.fieldIf("costCenter", u.CostCenter)
	}
	if f.has(uDivision) {
		w.fieldIf("division", u.Division)
	}
	if u.Manager != "" && f.anyOf(uManager) {
		w.key("manager")
		write := func(r *renderer, w *jsonWriter) { r.managerObject(w, u.Manager, manager) }
		if boss != nil {
			// The object depends only on the manager (its id and name), so
			// the Users reporting to them share it.
			r.shared(w, boss, write)
		} else {
			write(r, w)
		}
	}
	w.endObject()
}

func (r *renderer) managerObject(w *jsonWriter, id, name string) {
	f := r.fields
	w.beginObject()
	if f.has(uManagerValue) {
		w.field("value", id)
	}
	if f.has(uManagerRef) {
		w.key("$ref")
		r.link(w, "/Users/", id)
	}
	if f.has(uManagerDisplayName) {
		w.fieldIf("displayName", name)
	}
	w.endObject()
}

func (r *renderer) group(w *jsonWriter, g *store.Group) {
	f := r.fields
	w.beginObject()
	w.key("schemas")
	w.beginArray()
	w.lit(groupURN)
	w.endArray()
	w.field("id", g.ID)
	if f.has(gDisplayName) {
		w.fieldIf("displayName", g.DisplayName)
	}
	if f.anyOf(gMembers) {
		// An empty group still shows "members": [] so that clients replacing
		// their member list see it is empty rather than unknown.
		w.key("members")
		w.beginArray()
		for _, id := range g.Members {
			w.beginObject()
			if f.has(gMemberValue) {
				w.field("value", id)
			}
			if f.has(gMemberRef) {
				w.key("$ref")
				r.link(w, "/Users/", id)
			}
			if f.has(gMemberDisplay) {
				w.fieldIf("display", memberDisplay(r.view, id))
			}
			if f.has(gMemberType) {
				w.key("type")
				w.lit("User")
			}
			w.endObject()
		}
		w.endArray()
	}
	if f.anyOf(gMeta) {
		var hash uint64
		if f.has(gMetaVersion) {
			hash = groupDerivedHash(r.view, g)
		}
		r.meta(w, f>>gMetaResourceType, resourceMeta{kind: "Group", endpoint: "/Groups/", id: g.ID,
			created: g.Created, modified: g.Modified, version: g.Version, hash: hash})
	}
	w.endObject()
}

// resourceMeta is what the meta attribute of a resource is made of.
type resourceMeta struct {
	kind     string // meta.resourceType
	endpoint string // "/Users/" or "/Groups/"
	id       string
	created  time.Time
	modified time.Time
	version  int64
	hash     uint64 // what the resource shows of others, see etag.go
}

// meta writes the meta attribute; show holds the five meta leaves in the
// order resourceType, created, lastModified, location, version, which both
// resource types share.
func (r *renderer) meta(w *jsonWriter, show projection, m resourceMeta) {
	w.key("meta")
	w.beginObject()
	if show.has(0) {
		w.key("resourceType")
		w.lit(m.kind)
	}
	if show.has(1) && !m.created.IsZero() {
		w.key("created")
		w.timestamp(m.created)
	}
	if show.has(2) && !m.modified.IsZero() {
		w.key("lastModified")
		w.timestamp(m.modified)
	}
	if show.has(3) {
		w.key("location")
		r.link(w, m.endpoint, m.id)
	}
	if show.has(4) {
		w.key("version")
		w.sep()
		w.b = appendETagJSON(w.b, m.version, m.hash)
		w.comma = true
	}
	w.endObject()
}

// memberDisplay names a member the way an administrator recognises them:
// the displayName, or the userName when there is none.
func memberDisplay(view *store.View, id string) string {
	m, ok := view.Identity(id)
	if !ok {
		return ""
	}
	if m.DisplayName != "" {
		return m.DisplayName
	}
	return m.UserName
}
