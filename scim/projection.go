package scim

import "strings"

// projection is the set of attributes a response carries, one bit per leaf
// attribute, computed once per request from the attributes and
// excludedAttributes parameters (RFC 7644 section 3.4.2.5). id and schemas
// are always returned and have no bit.
type projection uint64

func (p projection) has(bit uint) bool { return p&(1<<bit) != 0 }

// anyOf reports whether any bit of mask is set.
func (p projection) anyOf(mask projection) bool { return p&mask != 0 }

// User leaf attributes, in the order of userLeaves.
const (
	uExternalID uint = iota
	uUserName
	uGivenName
	uFamilyName
	uMiddleName
	uDisplayName
	uNickName
	uTitle
	uUserType
	uPreferredLanguage
	uLocale
	uTimezone
	uActive
	uEmailValue
	uEmailType
	uEmailPrimary
	uPhoneValue
	uPhoneType
	uPhonePrimary
	uGroupValue
	uGroupRef
	uGroupDisplay
	uGroupType
	uEmployeeNumber
	uDepartment
	uOrganization
	uCostCenter
	uDivision
	uManagerValue
	uManagerRef
	uManagerDisplayName
	uMetaResourceType
	uMetaCreated
	uMetaLastModified
	uMetaLocation
	uMetaVersion
	userLeafCount
)

// userLeaves names the bits in lower case; enterprise attributes carry
// their URN so that "urn:…:User" selects the whole extension.
func userLeaves() []string {
	ent := strings.ToLower(enterpriseURN) + ":"
	return []string{
		"externalid", "username", "name.givenname", "name.familyname", "name.middlename",
		"displayname", "nickname", "title", "usertype", "preferredlanguage", "locale", "timezone",
		"active", "emails.value", "emails.type", "emails.primary",
		"phonenumbers.value", "phonenumbers.type", "phonenumbers.primary",
		"groups.value", "groups.$ref", "groups.display", "groups.type",
		ent + "employeenumber", ent + "department", ent + "organization", ent + "costcenter", ent + "division",
		ent + "manager.value", ent + "manager.$ref", ent + "manager.displayname",
		"meta.resourcetype", "meta.created", "meta.lastmodified", "meta.location", "meta.version",
	}
}

// Masks of the complex attributes, each a run of consecutive leaves.
const (
	uName       = projection(1)<<(uMiddleName+1) - projection(1)<<uGivenName
	uEmails     = projection(1)<<(uEmailPrimary+1) - projection(1)<<uEmailValue
	uPhones     = projection(1)<<(uPhonePrimary+1) - projection(1)<<uPhoneValue
	uGroups     = projection(1)<<(uGroupType+1) - projection(1)<<uGroupValue
	uEnterprise = projection(1)<<(uManagerDisplayName+1) - projection(1)<<uEmployeeNumber
	uManager    = projection(1)<<(uManagerDisplayName+1) - projection(1)<<uManagerValue
	uMeta       = projection(1)<<(uMetaVersion+1) - projection(1)<<uMetaResourceType
)

// Group leaf attributes, in the order of groupLeaves.
const (
	gDisplayName uint = iota
	gMemberValue
	gMemberRef
	gMemberDisplay
	gMemberType
	gMetaResourceType
	gMetaCreated
	gMetaLastModified
	gMetaLocation
	gMetaVersion
	groupLeafCount
)

func groupLeaves() []string {
	return []string{
		"displayname", "members.value", "members.$ref", "members.display", "members.type",
		"meta.resourcetype", "meta.created", "meta.lastmodified", "meta.location", "meta.version",
	}
}

const (
	gMembers = projection(1)<<(gMemberType+1) - projection(1)<<gMemberValue
	gMeta    = projection(1)<<(gMetaVersion+1) - projection(1)<<gMetaResourceType
)

// newProjection selects the leaves named by attributes (or all of them when
// it is empty) minus those named by excluded. Names the server does not know
// select nothing: RFC 7644 lets a server ignore them, and failing a whole
// read over a cosmetic parameter would help nobody.
func newProjection(leaves []string, core string, attributes, excluded []string) projection {
	p := projection(1)<<len(leaves) - 1
	if len(attributes) > 0 {
		p = 0
		for _, a := range attributes {
			p |= matchLeaves(leaves, core, a)
		}
	}
	for _, e := range excluded {
		p &^= matchLeaves(leaves, core, e)
	}
	return p
}

func matchLeaves(leaves []string, core, name string) projection {
	name = strings.ToLower(strings.TrimSpace(name))
	name = strings.TrimPrefix(name, strings.ToLower(core)+":")
	if name == "" {
		return 0
	}
	m := leafMask(leaves, name)
	if m == 0 {
		// Enterprise attributes written without their URN.
		m = leafMask(leaves, strings.ToLower(enterpriseURN)+":"+name)
	}
	return m
}

func leafMask(leaves []string, name string) projection {
	var m projection
	for i, leaf := range leaves {
		if leaf == name || strings.HasPrefix(leaf, name) && (leaf[len(name)] == '.' || leaf[len(name)] == ':') {
			m |= 1 << uint(i)
		}
	}
	return m
}

// splitAttributeList reads the comma-separated attributes and
// excludedAttributes parameters.
func splitAttributeList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
