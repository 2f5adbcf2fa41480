package personio

import (
	"fmt"
	"slices"
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

// FieldKind says how a record field holds its value; the flat view
// (Record.Fields) writes every kind as text.
type FieldKind int

// The kinds of record fields.
const (
	KindText FieldKind = iota // a string
	KindDate                  // a Date, YYYY-MM-DD in the flat view
	KindList                  // a list of strings, joined with commas in the flat view
	KindTime                  // a UTC instant, RFC 3339 in the flat view
)

// V2Resource names the v2 resource that carries a field: v2 splits a
// person into the person and its employments, fetched separately.
type V2Resource int

// The v2 resources.
const (
	V2Person V2Resource = iota
	V2Employment
)

// v1Shape is how a v1 attribute's value is written.
type v1Shape int

const (
	v1Plain      v1Shape = iota // text or a number
	v1Lower                     // an enum, lower-cased on the way in
	v1Date                      // local midnight with offset
	v1Timestamp                 // a full timestamp
	v1Relation                  // {"type", "attributes": {"id", "name"}}: the name
	v1Relations                 // a list of relations: the names
	v1Supervisor                // a nested Employee: its id
)

// Field describes one standard attribute of a Record: its name in the flat
// view, in CEL expressions and in Config.Attributes, its kind, and how each
// API version carries it. RecordFields is the one list of them; every other
// place that needs the record's fields (decoding, the flat view, the
// mirror's expressions and minimization) derives from it. Fields come from
// RecordFields and LookupField only; a Field built elsewhere has no
// accessors.
type Field struct {
	Name string
	Kind FieldKind
	// V1Key is the v1 employee attribute that carries the field.
	V1Key string
	// V2Resource and V2Key say where v2 carries it; V2Key is a path in
	// that resource's JSON: "termination.last_working_day",
	// "org_units[department]" for the org unit of that type.
	V2Resource V2Resource
	V2Key      string
	// Mapped reports whether expressions can read the field; updated_at is
	// bookkeeping for incremental syncs, not a person's attribute.
	Mapped bool
	// Optional fields may be absent from an answer without failing the
	// fetch: last_modified_at only informs, and many credentials hide it.
	Optional bool

	v1      v1Shape
	text    func(*Record) *string
	date    func(*Record) *Date
	list    func(*Record) *[]string
	instant func(*Record) *time.Time
}

// recordFields is the field table. It is written once here and never
// changed; RecordFields hands out copies.
var recordFields = []Field{
	textField(FieldID, "id", V2Person, "id", v1Plain, func(r *Record) *string { return &r.ID }),
	textField(FieldFirstName, "first_name", V2Person, "first_name", v1Plain, func(r *Record) *string { return &r.FirstName }),
	textField(FieldLastName, "last_name", V2Person, "last_name", v1Plain, func(r *Record) *string { return &r.LastName }),
	textField(FieldPreferredName, "preferred_name", V2Person, "preferred_name", v1Plain, func(r *Record) *string { return &r.PreferredName }),
	textField(FieldEmail, "email", V2Person, "email", v1Plain, func(r *Record) *string { return &r.Email }),
	textField(FieldStatus, "status", V2Employment, "status", v1Lower, func(r *Record) *string { return &r.Status }),
	dateField(FieldHireDate, "hire_date", "employment_start_date", func(r *Record) *Date { return &r.HireDate }),
	dateField(FieldTerminationDate, "termination_date", "termination.termination_date", func(r *Record) *Date { return &r.TerminationDate }),
	dateField(FieldLastWorkingDay, "last_working_day", "termination.last_working_day", func(r *Record) *Date { return &r.LastWorkingDay }),
	dateField(FieldContractEndDate, "contract_end_date", "contract_end_date", func(r *Record) *Date { return &r.ContractEndDate }),
	textField(FieldPosition, "position", V2Employment, "position.title", v1Plain, func(r *Record) *string { return &r.Position }),
	textField(FieldDepartment, "department", V2Employment, "org_units[department]", v1Relation, func(r *Record) *string { return &r.Department }),
	textField(FieldOffice, "office", V2Employment, "office.id", v1Relation, func(r *Record) *string { return &r.Office }),
	textField(FieldTeam, "team", V2Employment, "org_units[team]", v1Relation, func(r *Record) *string { return &r.Team }),
	textField(FieldLegalEntity, "subcompany", V2Employment, "legal_entity.id", v1Relation, func(r *Record) *string { return &r.LegalEntity }),
	{Name: FieldCostCenters, Kind: KindList, V1Key: "cost_centers", V2Resource: V2Employment, V2Key: "cost_centers",
		Mapped: true, v1: v1Relations, list: func(r *Record) *[]string { return &r.CostCenters }},
	textField(FieldSupervisorID, "supervisor", V2Employment, "supervisor.id", v1Supervisor, func(r *Record) *string { return &r.SupervisorID }),
	textField(FieldEmploymentType, "employment_type", V2Employment, "type", v1Lower, func(r *Record) *string { return &r.EmploymentType }),
	{Name: FieldUpdatedAt, Kind: KindTime, V1Key: "last_modified_at", V2Resource: V2Person, V2Key: "updated_at",
		Optional: true, v1: v1Timestamp, instant: func(r *Record) *time.Time { return &r.UpdatedAt }},
}

func textField(name, v1Key string, res V2Resource, v2Key string, shape v1Shape, get func(*Record) *string) Field {
	return Field{Name: name, Kind: KindText, V1Key: v1Key, V2Resource: res, V2Key: v2Key, Mapped: true, v1: shape, text: get}
}

func dateField(name, v1Key, v2Key string, get func(*Record) *Date) Field {
	return Field{Name: name, Kind: KindDate, V1Key: v1Key, V2Resource: V2Employment, V2Key: v2Key, Mapped: true, v1: v1Date, date: get}
}

// fieldIndex finds a field of the table by name; built once, never changed.
var fieldIndex = func() map[string]int {
	m := make(map[string]int, len(recordFields))
	for i, f := range recordFields {
		m[f.Name] = i
	}
	return m
}()

// RecordFields returns the field table in record order.
func RecordFields() []Field { return slices.Clone(recordFields) }

// LookupField finds a standard field by name.
func LookupField(name string) (Field, bool) {
	i, ok := fieldIndex[name]
	if !ok {
		return Field{}, false
	}
	return recordFields[i], true
}

// StandardFields lists the names of a Record's standard attributes in
// record order. Custom attributes (dynamic_N) come on top of these.
func StandardFields() []string {
	names := make([]string, len(recordFields))
	for i, f := range recordFields {
		names[i] = f.Name
	}
	return names
}

// Value returns the field of r as the flat view writes it.
func (f Field) Value(r *Record) string {
	switch f.Kind {
	case KindDate:
		return f.date(r).String()
	case KindList:
		return strings.Join(*f.list(r), ",")
	case KindTime:
		return formatUpdatedAt(*f.instant(r))
	}
	return *f.text(r)
}

// Strings returns a list field's values (nil for the other kinds).
func (f Field) Strings(r *Record) []string {
	if f.Kind != KindList {
		return nil
	}
	return *f.list(r)
}

// Set stores a flat-view value into r.
func (f Field) Set(r *Record, value string) error {
	switch f.Kind {
	case KindDate:
		return setDate(f.date(r), value)
	case KindList:
		*f.list(r) = nil
		if value != "" {
			*f.list(r) = strings.Split(value, ",")
		}
		return nil
	case KindTime:
		return setTime(f.instant(r), value)
	}
	*f.text(r) = value
	return nil
}

// Copy copies the field from src to dst; lists are copied, not shared.
func (f Field) Copy(dst, src *Record) {
	switch f.Kind {
	case KindDate:
		*f.date(dst) = *f.date(src)
	case KindList:
		*f.list(dst) = slices.Clone(*f.list(src))
	case KindTime:
		*f.instant(dst) = *f.instant(src)
	default:
		*f.text(dst) = *f.text(src)
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
	m := make(map[string]string, len(recordFields)+len(r.Custom))
	for _, f := range recordFields {
		m[f.Name] = f.Value(&r)
	}
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
	f, ok := LookupField(name)
	if !ok {
		return fmt.Errorf("unknown attribute")
	}
	return f.Set(r, value)
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

func setTime(target *time.Time, value string) error {
	if value == "" {
		*target = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time")
	}
	*target = t.UTC()
	return nil
}
