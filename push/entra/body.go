package entra

import (
	"encoding/json"
	"errors"
	"regexp"

	"github.com/personio-scim/personio-scim/push"
)

const (
	coreUserURN    = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterpriseURN  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	bulkRequestURN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
)

// Keys the target itself writes into the custom extension; a mapping key of
// the same name replaces the value.
const (
	extHireDate       = "hireDate"
	extLeaveDate      = "leaveDate"
	extOffice         = "office"
	extLifecycleState = "lifecycleState"
)

type bulkRequest struct {
	Schemas      []string    `json:"schemas"`
	Operations   []operation `json:"Operations"`
	FailOnErrors *int        `json:"failOnErrors"`
}

type operation struct {
	Method string         `json:"method"`
	BulkID string         `json:"bulkId"`
	Path   string         `json:"path"`
	Data   map[string]any `json:"data"`
}

type multiValue struct {
	Value   string `json:"value"`
	Type    string `json:"type"`
	Primary bool   `json:"primary,omitempty"`
}

// mappedKey is what the API attribute list accepts as an attribute name.
var mappedKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// operation builds the bulk operation carrying an identity's full desired
// state. Empty values are left out rather than sent as "": with Entra's
// default ("flow null values" off) an omitted attribute keeps its value in
// the directory, and AD refuses empty strings.
func (t *Target) operation(id *push.Identity) (operation, error) {
	if id.PersonioID == "" {
		return operation{}, errors.New("the identity has no Personio id, which Entra matches on (externalId)")
	}
	a := id.Attributes
	data := map[string]any{
		"externalId": id.PersonioID,
		"active":     a.Active,
	}
	put(data, "userName", a.UserName)
	put(data, "displayName", a.DisplayName)
	put(data, "nickName", a.NickName)
	put(data, "title", a.Title)
	put(data, "userType", a.UserType)
	put(data, "preferredLanguage", a.PreferredLanguage)
	put(data, "locale", a.Locale)
	put(data, "timezone", a.Timezone)
	name := map[string]any{}
	put(name, "givenName", a.GivenName)
	put(name, "familyName", a.FamilyName)
	put(name, "middleName", a.MiddleName)
	if len(name) > 0 {
		data["name"] = name
	}
	// Entra processes only work-typed emails, phone numbers and addresses.
	if a.Email != "" {
		data["emails"] = []multiValue{{Value: a.Email, Type: "work", Primary: true}}
	}
	if a.Phone != "" {
		data["phoneNumbers"] = []multiValue{{Value: a.Phone, Type: "work"}}
	}

	ent := map[string]any{}
	put(ent, "employeeNumber", a.EmployeeNumber)
	put(ent, "department", a.Department)
	put(ent, "organization", a.Organization)
	put(ent, "costCenter", a.CostCenter)
	put(ent, "division", a.Division)
	if m := id.Manager; m != nil && m.PersonioID != "" {
		// The service resolves the manager by the manager's externalId.
		ent["manager"] = map[string]any{"value": m.PersonioID}
	}

	ext := map[string]any{}
	put(ext, extHireDate, dateTime(id.Lifecycle.HireDate))
	put(ext, extLeaveDate, dateTime(id.Lifecycle.EndDate))
	put(ext, extOffice, id.Source["office"])
	put(ext, extLifecycleState, string(id.Lifecycle.State))
	for k, v := range id.Mapped {
		if !mappedKey.MatchString(k) {
			return operation{}, errors.New("mapping key " + k + " is not a valid API attribute name (letters, digits, '_', starting with a letter)")
		}
		put(ext, k, v)
	}

	schemas := []string{coreUserURN, enterpriseURN}
	if len(ent) > 0 {
		data[enterpriseURN] = ent
	}
	if len(ext) > 0 {
		schemas = append(schemas, t.cfg.ExtensionURN)
		data[t.cfg.ExtensionURN] = ext
	}
	data["schemas"] = schemas
	return operation{Method: "POST", BulkID: id.PersonioID, Path: "/Users", Data: data}, nil
}

func put(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// dateTime turns a calendar date (YYYY-MM-DD) into the date-time form
// Entra's employeeHireDate and employeeLeaveDateTime take: midnight UTC of
// that date, so that the date Entra shows is the HR date.
func dateTime(d string) string {
	if len(d) != len("2006-01-02") {
		return d
	}
	return d + "T00:00:00Z"
}

func encodeBulk(ops []operation) ([]byte, error) {
	return json.Marshal(bulkRequest{Schemas: []string{bulkRequestURN}, Operations: ops})
}
