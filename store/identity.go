// Package store holds the identity model, the store contract with its
// backends, and the in-memory directory every replica serves from.
package store

import (
	"maps"
	"slices"
	"strconv"
	"time"
)

// Attribute names are the one vocabulary shared by the mapping configuration,
// SCIM overrides and the change log. They follow SCIM attribute paths where a
// path exists, so an administrator reads the same name everywhere.
const (
	AttrUserName          = "userName"
	AttrExternalID        = "externalId"
	AttrDisplayName       = "displayName"
	AttrGivenName         = "name.givenName"
	AttrFamilyName        = "name.familyName"
	AttrMiddleName        = "name.middleName"
	AttrNickName          = "nickName"
	AttrTitle             = "title"
	AttrUserType          = "userType"
	AttrPreferredLanguage = "preferredLanguage"
	AttrLocale            = "locale"
	AttrTimezone          = "timezone"
	AttrEmail             = "emails.work"
	AttrPhone             = "phoneNumbers.work"
	AttrActive            = "active"
	AttrEmployeeNumber    = "employeeNumber"
	AttrDepartment        = "department"
	AttrOrganization      = "organization"
	AttrCostCenter        = "costCenter"
	AttrDivision          = "division"
	AttrManager           = "manager"
)

// AttributeNames lists every identity attribute in a fixed order, the order in
// which diffs and the change log report them.
func AttributeNames() []string {
	return []string{
		AttrUserName, AttrExternalID, AttrDisplayName, AttrGivenName, AttrFamilyName,
		AttrMiddleName, AttrNickName, AttrTitle, AttrUserType, AttrPreferredLanguage,
		AttrLocale, AttrTimezone, AttrEmail, AttrPhone, AttrActive, AttrEmployeeNumber,
		AttrDepartment, AttrOrganization, AttrCostCenter, AttrDivision, AttrManager,
	}
}

// Attributes are the values an identity provider sees for one person.
// Manager holds the manager's SCIM id; the display name is resolved when the
// identity is served so that it follows the manager's own renames.
type Attributes struct {
	UserName          string `json:"userName,omitempty"`
	ExternalID        string `json:"externalId,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
	GivenName         string `json:"givenName,omitempty"`
	FamilyName        string `json:"familyName,omitempty"`
	MiddleName        string `json:"middleName,omitempty"`
	NickName          string `json:"nickName,omitempty"`
	Title             string `json:"title,omitempty"`
	UserType          string `json:"userType,omitempty"`
	PreferredLanguage string `json:"preferredLanguage,omitempty"`
	Locale            string `json:"locale,omitempty"`
	Timezone          string `json:"timezone,omitempty"`
	Email             string `json:"email,omitempty"`
	Phone             string `json:"phone,omitempty"`
	Active            bool   `json:"active"`
	EmployeeNumber    string `json:"employeeNumber,omitempty"`
	Department        string `json:"department,omitempty"`
	Organization      string `json:"organization,omitempty"`
	CostCenter        string `json:"costCenter,omitempty"`
	Division          string `json:"division,omitempty"`
	Manager           string `json:"manager,omitempty"`
}

// Get returns the value of the named attribute as a string ("true"/"false"
// for active) and whether the name is known.
func (a *Attributes) Get(name string) (string, bool) {
	if name == AttrActive {
		return strconv.FormatBool(a.Active), true
	}
	p := a.field(name)
	if p == nil {
		return "", false
	}
	return *p, true
}

// Set assigns the named attribute from its string form and reports whether
// the name is known and the value valid for it.
func (a *Attributes) Set(name, value string) bool {
	if name == AttrActive {
		b, err := strconv.ParseBool(value)
		if err != nil {
			return false
		}
		a.Active = b
		return true
	}
	p := a.field(name)
	if p == nil {
		return false
	}
	*p = value
	return true
}

func (a *Attributes) field(name string) *string {
	switch name {
	case AttrUserName:
		return &a.UserName
	case AttrExternalID:
		return &a.ExternalID
	case AttrDisplayName:
		return &a.DisplayName
	case AttrGivenName:
		return &a.GivenName
	case AttrFamilyName:
		return &a.FamilyName
	case AttrMiddleName:
		return &a.MiddleName
	case AttrNickName:
		return &a.NickName
	case AttrTitle:
		return &a.Title
	case AttrUserType:
		return &a.UserType
	case AttrPreferredLanguage:
		return &a.PreferredLanguage
	case AttrLocale:
		return &a.Locale
	case AttrTimezone:
		return &a.Timezone
	case AttrEmail:
		return &a.Email
	case AttrPhone:
		return &a.Phone
	case AttrEmployeeNumber:
		return &a.EmployeeNumber
	case AttrDepartment:
		return &a.Department
	case AttrOrganization:
		return &a.Organization
	case AttrCostCenter:
		return &a.CostCenter
	case AttrDivision:
		return &a.Division
	case AttrManager:
		return &a.Manager
	}
	return nil
}

// Diff returns the attributes whose values differ, as before and after maps
// keyed by attribute name. Both maps are nil when nothing differs.
func (a *Attributes) Diff(next *Attributes) (before, after map[string]string) {
	for _, name := range AttributeNames() {
		old, _ := a.Get(name)
		cur, _ := next.Get(name)
		if old == cur {
			continue
		}
		if before == nil {
			before, after = map[string]string{}, map[string]string{}
		}
		before[name], after[name] = old, cur
	}
	return before, after
}

// LifecycleState is where a person stands in the joiner-mover-leaver cycle.
type LifecycleState string

const (
	StatePrehire LifecycleState = "prehire" // visible before the hire date, inactive
	StateActive  LifecycleState = "active"
	StateLeaver  LifecycleState = "leaver" // inactive, kept visible until retention ends
)

// Lifecycle records the dates the policy decided on. Dates are calendar dates
// (YYYY-MM-DD) in the company's time zone.
type Lifecycle struct {
	State          LifecycleState `json:"state"`
	HireDate       string         `json:"hireDate,omitempty"`
	EndDate        string         `json:"endDate,omitempty"`       // last working day or termination date
	InactiveSince  string         `json:"inactiveSince,omitempty"` // first day without access
	RemoveAfter    string         `json:"removeAfter,omitempty"`   // last day the leaver stays visible
	Rule           string         `json:"rule,omitempty"`          // the policy rule that set State
	ScopeExcluded  bool           `json:"scopeExcluded,omitempty"`
	VanishedSource bool           `json:"vanishedSource,omitempty"`
}

// Identity is one Personio person as the identity providers see it.
type Identity struct {
	ID         string // SCIM id, see IdentityID; never changes for a person
	PersonioID string
	Attributes
	Lifecycle Lifecycle
	// Overrides are attribute values written by SCIM clients for attributes
	// the configuration declares writable; they win over the mapping.
	Overrides map[string]string
	// Source is the minimized Personio record the mapping was evaluated on.
	Source     map[string]string
	SourceHash string
	Version    int64
	Created    time.Time
	Modified   time.Time
}

// Clone returns a deep copy, so callers can change it without touching a
// value shared with the directory.
func (i Identity) Clone() Identity {
	i.Overrides = maps.Clone(i.Overrides)
	i.Source = maps.Clone(i.Source)
	return i
}

// Group is a set of identities identity providers can assign access to.
type Group struct {
	ID          string // SCIM id, see GroupID
	Key         string // stable origin, e.g. "department:Engineering"
	Kind        string // department, office, team, legal_entity, cost_center, rule
	DisplayName string
	Members     []string // identity SCIM ids, sorted
	Version     int64
	Created     time.Time
	Modified    time.Time
}

// Clone returns a deep copy.
func (g Group) Clone() Group {
	g.Members = slices.Clone(g.Members)
	return g
}
