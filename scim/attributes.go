package scim

import (
	"strings"

	"github.com/personio-scim/personio-scim/store"
)

// Schema and message URNs of RFC 7643 and RFC 7644.
const (
	userURN         = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseURN   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	listURN         = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errorURN        = "urn:ietf:params:scim:api:messages:2.0:Error"
	patchOpURN      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	searchURN       = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	spcURN          = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	resourceTypeURN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaURN       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// contentType is what every SCIM response carries, errors included.
const contentType = "application/scim+json"

// The one email and one phone number an identity has are served as the
// "work" entry of their multi-valued attribute.
const workType = "work"

// stringAttr is a singular string attribute of a User and the store
// attribute behind it. Paths of enterprise attributes are relative to the
// extension URN.
type stringAttr struct {
	path       string
	store      string
	enterprise bool
	caseExact  bool
	get        func(a *store.Attributes) string
}

// userStringAttrs lists every singular string attribute a User serves; the
// filter, sort, PATCH and PUT code all resolve names through it, so a new
// attribute is added here once.
var userStringAttrs = []stringAttr{
	{path: "userName", store: store.AttrUserName, get: func(a *store.Attributes) string { return a.UserName }},
	{path: "externalId", store: store.AttrExternalID, caseExact: true, get: func(a *store.Attributes) string { return a.ExternalID }},
	{path: "displayName", store: store.AttrDisplayName, get: func(a *store.Attributes) string { return a.DisplayName }},
	{path: "name.givenName", store: store.AttrGivenName, get: func(a *store.Attributes) string { return a.GivenName }},
	{path: "name.familyName", store: store.AttrFamilyName, get: func(a *store.Attributes) string { return a.FamilyName }},
	{path: "name.middleName", store: store.AttrMiddleName, get: func(a *store.Attributes) string { return a.MiddleName }},
	{path: "nickName", store: store.AttrNickName, get: func(a *store.Attributes) string { return a.NickName }},
	{path: "title", store: store.AttrTitle, get: func(a *store.Attributes) string { return a.Title }},
	{path: "userType", store: store.AttrUserType, get: func(a *store.Attributes) string { return a.UserType }},
	{path: "preferredLanguage", store: store.AttrPreferredLanguage, get: func(a *store.Attributes) string { return a.PreferredLanguage }},
	{path: "locale", store: store.AttrLocale, get: func(a *store.Attributes) string { return a.Locale }},
	{path: "timezone", store: store.AttrTimezone, get: func(a *store.Attributes) string { return a.Timezone }},
	{path: "employeeNumber", store: store.AttrEmployeeNumber, enterprise: true, get: func(a *store.Attributes) string { return a.EmployeeNumber }},
	{path: "department", store: store.AttrDepartment, enterprise: true, get: func(a *store.Attributes) string { return a.Department }},
	{path: "organization", store: store.AttrOrganization, enterprise: true, get: func(a *store.Attributes) string { return a.Organization }},
	{path: "costCenter", store: store.AttrCostCenter, enterprise: true, get: func(a *store.Attributes) string { return a.CostCenter }},
	{path: "division", store: store.AttrDivision, enterprise: true, get: func(a *store.Attributes) string { return a.Division }},
}

// lookupStringAttr finds a singular string attribute by its SCIM path
// (case-insensitive, as SCIM attribute names are).
func lookupStringAttr(path string, enterprise bool) (stringAttr, bool) {
	for _, a := range userStringAttrs {
		if a.enterprise == enterprise && strings.EqualFold(a.path, path) {
			return a, true
		}
	}
	return stringAttr{}, false
}

// scimPathOf names a store attribute the way a SCIM client addresses it, for
// error messages that tell the client which of its values was refused.
func scimPathOf(storeName string) string {
	switch storeName {
	case store.AttrActive:
		return "active"
	case store.AttrEmail:
		return `emails[type eq "work"].value`
	case store.AttrPhone:
		return `phoneNumbers[type eq "work"].value`
	case store.AttrManager:
		return enterpriseURN + ":manager"
	}
	for _, a := range userStringAttrs {
		if a.store == storeName {
			if a.enterprise {
				return enterpriseURN + ":" + a.path
			}
			return a.path
		}
	}
	return storeName
}

// uriSchema tells which schema a URN prefix of an attribute path names.
type uriSchema int

const (
	uriNone uriSchema = iota // no prefix
	uriUser
	uriEnterprise
	uriGroup
	uriUnknown
)

func schemaOfURI(uri string) uriSchema {
	switch {
	case uri == "":
		return uriNone
	case strings.EqualFold(uri, userURN):
		return uriUser
	case strings.EqualFold(uri, enterpriseURN):
		return uriEnterprise
	case strings.EqualFold(uri, groupURN):
		return uriGroup
	}
	return uriUnknown
}
