package scim

import (
	"strings"
	"time"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/personio-scim/personio-scim/store"
)

type userAttribute = attribute[*store.Identity]
type groupAttribute = attribute[*store.Group]

// compileUserFilter compiles a filter over Users once per request. The view
// is captured because groups and the manager's displayName are looked up in
// the same snapshot the identities come from.
func compileUserFilter(expr fp.Expression, view *store.View) (func(*store.Identity) bool, error) {
	c := compiler[*store.Identity]{resolve: func(p fp.AttributePath) (userAttribute, error) {
		return resolveUserAttr(p, view)
	}}
	return c.compile(expr)
}

// compileGroupFilter compiles a filter over Groups.
func compileGroupFilter(expr fp.Expression, view *store.View) (func(*store.Group) bool, error) {
	needsDisplay := new(bool)
	c := compiler[*store.Group]{resolve: func(p fp.AttributePath) (groupAttribute, error) {
		return resolveGroupAttr(p, view, needsDisplay)
	}}
	return c.compile(expr)
}

func resolveUserAttr(p fp.AttributePath, view *store.View) (userAttribute, error) {
	name, sub := p.AttributeName, p.SubAttributeName()
	switch schemaOfURI(p.URI()) {
	case uriEnterprise:
		return resolveEnterpriseAttr(p, view)
	case uriNone, uriUser:
	default:
		return userAttribute{}, invalidFilter("unknown attribute %q", p.String())
	}
	switch strings.ToLower(name) {
	case "id":
		if sub == "" {
			return userAttribute{name: "id", kind: kindString, exact: true,
				str: func(u *store.Identity) string { return u.ID }}, nil
		}
	case "name":
		if sub == "" {
			return userAttribute{name: "name", kind: kindComplex, present: func(u *store.Identity) bool {
				return u.GivenName != "" || u.FamilyName != "" || u.MiddleName != ""
			}}, nil
		}
		if a, ok := lookupStringAttr("name."+sub, false); ok {
			return userStringAttribute(a), nil
		}
	case "active":
		if sub == "" {
			return userAttribute{name: "active", kind: kindBool,
				flag: func(u *store.Identity) bool { return u.Active }}, nil
		}
	case "emails":
		return multi("emails", sub, elementSchema{hasPrimary: true}, eachEmail)
	case "phonenumbers":
		return multi("phoneNumbers", sub, elementSchema{hasPrimary: true}, eachPhone)
	case "groups":
		return multi("groups", sub, elementSchema{valueExact: true, hasDisplay: true},
			func(u *store.Identity, f func(element) bool) bool {
				for _, g := range view.GroupsOf(u.ID) {
					if f(element{value: g.ID, display: g.DisplayName, typ: "direct"}) {
						return true
					}
				}
				return false
			})
	case "meta":
		return metaAttr(sub, "User",
			func(u *store.Identity) time.Time { return u.Created },
			func(u *store.Identity) time.Time { return u.Modified })
	default:
		if a, ok := lookupStringAttr(name, false); ok && sub == "" {
			return userStringAttribute(a), nil
		}
		// Enterprise attributes are accepted without their URN where the name
		// is unambiguous, because Entra asks for manager eq "…" that way.
		if a, err := resolveEnterpriseAttr(p, view); err == nil {
			return a, nil
		}
	}
	return userAttribute{}, invalidFilter("unknown attribute %q", p.String())
}

func resolveEnterpriseAttr(p fp.AttributePath, view *store.View) (userAttribute, error) {
	name, sub := p.AttributeName, p.SubAttributeName()
	if strings.EqualFold(name, "manager") {
		switch {
		case sub == "", strings.EqualFold(sub, "value"):
			return userAttribute{name: "manager", kind: kindString, exact: true,
				str: func(u *store.Identity) string { return u.Manager }}, nil
		case strings.EqualFold(sub, "displayName"):
			return userAttribute{name: "manager.displayName", kind: kindString,
				str: func(u *store.Identity) string { return managerName(view, u) }}, nil
		}
	}
	if a, ok := lookupStringAttr(name, true); ok && sub == "" {
		return userStringAttribute(a), nil
	}
	return userAttribute{}, invalidFilter("unknown attribute %q", p.String())
}

func userStringAttribute(a stringAttr) userAttribute {
	get := a.get
	return userAttribute{name: a.path, kind: kindString, exact: a.caseExact,
		str: func(u *store.Identity) string { return get(&u.Attributes) }}
}

// managerName is the displayName of an identity's manager in the same view,
// or "" when there is none.
func managerName(view *store.View, u *store.Identity) string {
	if u.Manager == "" {
		return ""
	}
	if m, ok := view.Identity(u.Manager); ok {
		return m.DisplayName
	}
	return ""
}

func eachEmail(u *store.Identity, f func(element) bool) bool {
	return u.Email != "" && f(element{value: u.Email, typ: workType, primary: true})
}

func eachPhone(u *store.Identity, f func(element) bool) bool {
	return u.Phone != "" && f(element{value: u.Phone, typ: workType, primary: true})
}

func resolveGroupAttr(p fp.AttributePath, view *store.View, needsDisplay *bool) (groupAttribute, error) {
	switch schemaOfURI(p.URI()) {
	case uriNone, uriGroup:
	default:
		return groupAttribute{}, invalidFilter("unknown attribute %q", p.String())
	}
	name, sub := p.AttributeName, p.SubAttributeName()
	switch strings.ToLower(name) {
	case "id":
		if sub == "" {
			return groupAttribute{name: "id", kind: kindString, exact: true,
				str: func(g *store.Group) string { return g.ID }}, nil
		}
	case "displayname":
		if sub == "" {
			return groupAttribute{name: "displayName", kind: kindString,
				str: func(g *store.Group) string { return g.DisplayName }}, nil
		}
	case "externalid":
		// Groups come from Personio rules and carry no client identifier.
		if sub == "" {
			return groupAttribute{name: "externalId", kind: kindString, exact: true,
				str: func(*store.Group) string { return "" }}, nil
		}
	case "members":
		return multi("members", sub, elementSchema{valueExact: true, hasDisplay: true, needsDisplay: needsDisplay},
			func(g *store.Group, f func(element) bool) bool {
				for _, id := range g.Members {
					e := element{value: id, typ: "User"}
					if *needsDisplay {
						if m, ok := view.Identity(id); ok {
							e.display = m.DisplayName
						}
					}
					if f(e) {
						return true
					}
				}
				return false
			})
	case "meta":
		return metaAttr(sub, "Group",
			func(g *store.Group) time.Time { return g.Created },
			func(g *store.Group) time.Time { return g.Modified })
	}
	return groupAttribute{}, invalidFilter("unknown attribute %q", p.String())
}

func metaAttr[T any](sub, resourceType string, created, modified func(T) time.Time) (attribute[T], error) {
	switch strings.ToLower(sub) {
	case "created":
		return attribute[T]{name: "meta.created", kind: kindTime, when: created}, nil
	case "lastmodified":
		return attribute[T]{name: "meta.lastModified", kind: kindTime, when: modified}, nil
	case "resourcetype":
		return attribute[T]{name: "meta.resourceType", kind: kindString, exact: true,
			str: func(T) string { return resourceType }}, nil
	}
	return attribute[T]{}, invalidFilter("unknown attribute meta.%s; meta.created, meta.lastModified and meta.resourceType can be filtered", sub)
}

// indexedUser reports whether a filter pins its result to at most one
// identity through one of the view's indexes (userName, externalId, id, on
// its own or as a term of an "and"), and returns that identity if any. The
// caller still evaluates the whole filter on it.
func indexedUser(expr fp.Expression, v *store.View) (*store.Identity, bool) {
	switch e := expr.(type) {
	case *fp.AttributeExpression:
		value, ok := indexableEquality(e, uriUser)
		if !ok {
			return nil, false
		}
		var u *store.Identity
		var found bool
		switch name := e.AttributePath.AttributeName; {
		case strings.EqualFold(name, "userName"):
			u, found = v.IdentityByUserName(value)
		case strings.EqualFold(name, "externalId"):
			u, found = v.IdentityByExternalID(value)
		case strings.EqualFold(name, "id"):
			u, found = v.Identity(value)
		default:
			return nil, false
		}
		if !found {
			return nil, true
		}
		return u, true
	case *fp.LogicalExpression:
		if e.Operator != fp.AND {
			return nil, false
		}
		if u, ok := indexedUser(e.Left, v); ok {
			return u, true
		}
		return indexedUser(e.Right, v)
	}
	return nil, false
}

// indexedGroup is indexedUser for groups: displayName and id.
func indexedGroup(expr fp.Expression, v *store.View) (*store.Group, bool) {
	switch e := expr.(type) {
	case *fp.AttributeExpression:
		value, ok := indexableEquality(e, uriGroup)
		if !ok {
			return nil, false
		}
		var g *store.Group
		var found bool
		switch name := e.AttributePath.AttributeName; {
		case strings.EqualFold(name, "displayName"):
			g, found = v.GroupByDisplayName(value)
		case strings.EqualFold(name, "id"):
			g, found = v.Group(value)
		default:
			return nil, false
		}
		if !found {
			return nil, true
		}
		return g, true
	case *fp.LogicalExpression:
		if e.Operator != fp.AND {
			return nil, false
		}
		if g, ok := indexedGroup(e.Left, v); ok {
			return g, true
		}
		return indexedGroup(e.Right, v)
	}
	return nil, false
}

// indexableEquality returns the compared string of an "attr eq "value""
// term on a core attribute.
func indexableEquality(e *fp.AttributeExpression, core uriSchema) (string, bool) {
	if e.Operator != fp.EQ || e.AttributePath.SubAttribute != nil {
		return "", false
	}
	if s := schemaOfURI(e.AttributePath.URI()); s != uriNone && s != core {
		return "", false
	}
	raw, ok := e.CompareValue.(string)
	if !ok {
		return "", false
	}
	value, err := unescapeFilterString(raw)
	return value, err == nil
}
