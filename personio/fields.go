package personio

import (
	"fmt"
	"strings"
	"time"
)

// Names of a Record's attributes in its flat view (Record.Fields). The mirror
// stores records in that view, the mapping refers to attributes by these
// names, and Config.Attributes selects which of them the client fetches.
const (
	FieldID              = "id"
	FieldFirstName       = "first_name"
	FieldLastName        = "last_name"
	FieldPreferredName   = "preferred_name"
	FieldEmail           = "email"
	FieldStatus          = "status"
	FieldHireDate        = "hire_date"
	FieldTerminationDate = "termination_date"
	FieldLastWorkingDay  = "last_working_day"
	FieldContractEndDate = "contract_end_date"
	FieldPosition        = "position"
	FieldDepartment      = "department"
	FieldOffice          = "office"
	FieldTeam            = "team"
	FieldLegalEntity     = "legal_entity"
	FieldCostCenters     = "cost_centers"
	FieldSupervisorID    = "supervisor_id"
	FieldEmploymentType  = "employment_type"
	FieldUpdatedAt       = "updated_at"
)

// customPrefix starts the key of every company-defined attribute, in both API
// versions ("dynamic_24407").
const customPrefix = "dynamic_"

// StandardFields lists the names of a Record's standard attributes in a
// fixed order. Custom attributes (dynamic_N) come on top of these.
func StandardFields() []string {
	return []string{
		FieldID, FieldFirstName, FieldLastName, FieldPreferredName, FieldEmail,
		FieldStatus, FieldHireDate, FieldTerminationDate, FieldLastWorkingDay,
		FieldContractEndDate, FieldPosition, FieldDepartment, FieldOffice, FieldTeam,
		FieldLegalEntity, FieldCostCenters, FieldSupervisorID, FieldEmploymentType,
		FieldUpdatedAt,
	}
}

// IsCustomField reports whether name is a custom attribute key (dynamic_N).
func IsCustomField(name string) bool {
	digits, ok := strings.CutPrefix(name, customPrefix)
	if !ok || digits == "" {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Fields returns the record as a flat map from attribute name to text. Every
// standard name is present (empty when unset) so that stored records compare
// key by key; dates are YYYY-MM-DD, updated_at is RFC 3339 in UTC, cost
// centers are joined with commas, custom attributes appear under their
// dynamic_N key without their label.
func (r Record) Fields() map[string]string {
	m := make(map[string]string, 19+len(r.Custom))
	m[FieldID] = r.ID
	m[FieldFirstName] = r.FirstName
	m[FieldLastName] = r.LastName
	m[FieldPreferredName] = r.PreferredName
	m[FieldEmail] = r.Email
	m[FieldStatus] = r.Status
	m[FieldHireDate] = r.HireDate.String()
	m[FieldTerminationDate] = r.TerminationDate.String()
	m[FieldLastWorkingDay] = r.LastWorkingDay.String()
	m[FieldContractEndDate] = r.ContractEndDate.String()
	m[FieldPosition] = r.Position
	m[FieldDepartment] = r.Department
	m[FieldOffice] = r.Office
	m[FieldTeam] = r.Team
	m[FieldLegalEntity] = r.LegalEntity
	m[FieldCostCenters] = strings.Join(r.CostCenters, ",")
	m[FieldSupervisorID] = r.SupervisorID
	m[FieldEmploymentType] = r.EmploymentType
	m[FieldUpdatedAt] = formatUpdatedAt(r.UpdatedAt)
	for key, attr := range r.Custom {
		m[key] = attr.Value
	}
	return m
}

func formatUpdatedAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// RecordFromFields rebuilds a Record from its flat view, the inverse of
// Fields except for custom attribute labels, which the flat view does not
// keep. Unknown names are an error so that a stored record from a newer
// version is not silently misread.
func RecordFromFields(m map[string]string) (Record, error) {
	var r Record
	for name, value := range m {
		if err := r.setField(name, value); err != nil {
			return Record{}, fmt.Errorf("record field %s: %w", name, err)
		}
	}
	return r, nil
}

func (r *Record) setField(name, value string) error {
	if IsCustomField(name) {
		if r.Custom == nil {
			r.Custom = map[string]CustomAttribute{}
		}
		r.Custom[name] = CustomAttribute{Value: value}
		return nil
	}
	if d := r.dateField(name); d != nil {
		return setDate(d, value)
	}
	if s := r.textField(name); s != nil {
		*s = value
		return nil
	}
	switch name {
	case FieldCostCenters:
		r.CostCenters = nil
		if value != "" {
			r.CostCenters = strings.Split(value, ",")
		}
		return nil
	case FieldUpdatedAt:
		return r.setUpdatedAt(value)
	}
	return fmt.Errorf("unknown attribute")
}

func (r *Record) textField(name string) *string {
	switch name {
	case FieldID:
		return &r.ID
	case FieldFirstName:
		return &r.FirstName
	case FieldLastName:
		return &r.LastName
	case FieldPreferredName:
		return &r.PreferredName
	case FieldEmail:
		return &r.Email
	case FieldStatus:
		return &r.Status
	case FieldPosition:
		return &r.Position
	case FieldDepartment:
		return &r.Department
	case FieldOffice:
		return &r.Office
	case FieldTeam:
		return &r.Team
	case FieldLegalEntity:
		return &r.LegalEntity
	case FieldSupervisorID:
		return &r.SupervisorID
	case FieldEmploymentType:
		return &r.EmploymentType
	}
	return nil
}

func (r *Record) dateField(name string) *Date {
	switch name {
	case FieldHireDate:
		return &r.HireDate
	case FieldTerminationDate:
		return &r.TerminationDate
	case FieldLastWorkingDay:
		return &r.LastWorkingDay
	case FieldContractEndDate:
		return &r.ContractEndDate
	}
	return nil
}

func setDate(d *Date, value string) error {
	if value == "" {
		*d = Date{}
		return nil
	}
	parsed, err := ParseDate(value)
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

func (r *Record) setUpdatedAt(value string) error {
	if value == "" {
		r.UpdatedAt = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time")
	}
	r.UpdatedAt = t.UTC()
	return nil
}
