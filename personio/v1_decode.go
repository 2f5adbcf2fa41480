package personio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// v1Employee is one item of a v1 answer's data: its attributes, each an
// object {label, value, type, universal_id} under its key, kept raw. Only
// the selected attributes are ever converted; the others (salary, bank, …)
// are dropped with the page.
type v1Employee struct {
	attrs []member
	ok    bool // the item had an attributes object
}

// v1Attribute is one attribute object; label, type and universal_id are
// read only for custom attributes, which need them.
type v1Attribute struct {
	raw   []byte
	value []byte
}

func (a v1Attribute) text(key string) string {
	raw, ok := lookup(a.raw, key)
	if !ok {
		return ""
	}
	s, _ := jsonText(raw) // a label that is not text is as good as none
	return s
}

// decodeV1Page reads a list page; total is the announced total_elements.
// It reads into data, its employees and their attributes while walking
// them, and checks every value it passes over as json.Valid would, so
// that a page is scanned about once rather than once per level and once
// more to validate it.
func decodeV1Page(body []byte) (items []v1Employee, total int, err error) {
	items, total, err = walkV1Page(body)
	if err != nil && !json.Valid(body) {
		// A walk stops at the first problem; invalid JSON anywhere is
		// what a broken page is reported as, as before any other check.
		return nil, 0, malformed("employee list: not valid JSON")
	}
	return items, total, err
}

func walkV1Page(body []byte) (items []v1Employee, total int, err error) {
	var top []member  // every member but data, which is read in place
	var dataErr error // reported after the envelope's own checks, as those come first
	seenData, dataNull := false, false
	end, err := walkObject(body, 0, func(key []byte, start int) (int, error) {
		if seenData || !keyIs(key, "data") {
			end, err := validValue(body, start)
			if err == nil {
				top = append(top, member{key: key, value: body[start:end]})
			}
			return end, err
		}
		seenData = true
		if start < len(body) && body[start] == '[' {
			var end int
			if items, end, dataErr = v1Items(body, start); dataErr == nil {
				return end, nil
			}
		}
		end, err := validValue(body, start)
		if err == nil && dataErr == nil && string(body[start:end]) != "null" {
			dataErr = malformed("employee list: data is not a list")
		}
		dataNull = dataErr == nil
		return end, err
	})
	if err != nil || skipSpace(body, end) != len(body) {
		return nil, 0, malformed("employee list: not a JSON object")
	}
	if success, _ := find(top, "success"); string(success) != "true" {
		return nil, 0, malformed("employee list: success is not true")
	}
	if total, err = v1Total(top); err != nil {
		return nil, 0, err
	}
	if dataErr != nil {
		return nil, 0, dataErr
	}
	if !seenData || dataNull {
		return nil, total, nil
	}
	return items, total, nil
}

// v1Items reads the data array of a list page starting at body[start].
func v1Items(body []byte, start int) ([]v1Employee, int, error) {
	items := make([]v1Employee, 0, 100)
	end, err := walkArray(body, start, func(at int) (int, error) {
		emp, end, err := v1ItemAt(body, at)
		items = append(items, emp)
		return end, err
	})
	return items, end, err
}

// v1ItemAt reads one employee object starting at body[at] and returns the
// index after it.
func v1ItemAt(body []byte, at int) (v1Employee, int, error) {
	if at >= len(body) || body[at] != '{' {
		return v1Employee{}, 0, malformed("employee is not an object")
	}
	var emp v1Employee
	seen := false
	end, err := walkObject(body, at, func(key []byte, start int) (int, error) {
		if seen || !keyIs(key, "attributes") {
			return validValue(body, start)
		}
		seen = true
		if start < len(body) && body[start] == '{' {
			attrs := make([]member, 0, 32)
			end, err := walkObject(body, start, func(key []byte, vstart int) (int, error) {
				vend, err := validValue(body, vstart)
				if err != nil {
					return 0, err
				}
				attrs = append(attrs, member{key: key, value: body[vstart:vend]})
				return vend, nil
			})
			if len(attrs) > 0 {
				emp = v1Employee{attrs: attrs, ok: true}
			}
			return end, err
		}
		end, err := validValue(body, start)
		if err == nil && !isEmptyJSON(body[start:end]) {
			err = malformed("employee attributes are not an object")
		}
		return end, err
	})
	return emp, end, err
}

// v1Envelope validates an answer once and checks "success": true.
func v1Envelope(body []byte, what string) ([]member, error) {
	if !json.Valid(body) {
		return nil, malformed("%s: not valid JSON", what)
	}
	top, err := objectMembers(body)
	if err != nil {
		return nil, malformed("%s: not a JSON object", what)
	}
	if success, _ := find(top, "success"); string(success) != "true" {
		return nil, malformed("%s: success is not true", what)
	}
	return top, nil
}

// v1Total reads metadata.total_elements, without which a complete listing
// cannot be told from a cut one.
func v1Total(top []member) (int, error) {
	meta, ok := find(top, "metadata")
	if !ok || isEmptyJSON(meta) {
		return 0, malformed("employee list: no metadata.total_elements, cannot tell a complete listing from a cut one")
	}
	members, err := objectMembers(meta)
	if err != nil {
		return 0, malformed("employee list: metadata is not an object")
	}
	raw, ok := find(members, "total_elements")
	if !ok {
		return 0, malformed("employee list: no metadata.total_elements, cannot tell a complete listing from a cut one")
	}
	var total looseInt
	if err := total.UnmarshalJSON(raw); err != nil || total < 0 {
		return 0, malformed("employee list: total_elements is not a count")
	}
	return int(total), nil
}

func v1Item(elem []byte) (v1Employee, error) {
	members, err := objectMembers(elem)
	if err != nil {
		return v1Employee{}, malformed("employee is not an object")
	}
	attrs, ok := find(members, "attributes")
	if !ok || isEmptyJSON(attrs) {
		return v1Employee{}, nil
	}
	list, err := objectMembers(attrs)
	if err != nil {
		return v1Employee{}, malformed("employee attributes are not an object")
	}
	return v1Employee{attrs: list, ok: true}, nil
}

// decodeV1Single reads GET /v1/company/employees/{id}.
func decodeV1Single(body []byte) (v1Employee, error) {
	top, err := v1Envelope(body, "employee")
	if err != nil {
		return v1Employee{}, err
	}
	data, ok := find(top, "data")
	if !ok || isEmptyJSON(data) {
		return v1Employee{}, malformed("employee: no data")
	}
	return v1Item(data)
}

// v1Decoder turns v1 employees into Records, reading only the selected
// attributes.
type v1Decoder struct {
	attrs   attributeSet
	zone    *time.Location
	missing MissingPolicy
	// index is computed once per listing by newV1Decoder; without it each
	// employee computes its own.
	index *v1Index
}

// v1Index numbers the attributes a decoder reads, so that an employee's
// attributes are sorted into slots in one pass instead of searched once
// per field.
type v1Index struct {
	standard []Field // selected standard fields but the id
	custom   []string
	slot     map[string]int // v1 attribute key → slot
}

func newV1Decoder(attrs attributeSet, zone *time.Location, missing MissingPolicy) v1Decoder {
	d := v1Decoder{attrs: attrs, zone: zone, missing: missing}
	d.index = d.buildIndex()
	return d
}

func (d v1Decoder) buildIndex() *v1Index {
	idx := &v1Index{slot: map[string]int{"id": 0}, custom: d.attrs.custom()}
	add := func(key string) {
		if _, ok := idx.slot[key]; !ok {
			idx.slot[key] = len(idx.slot)
		}
	}
	for _, field := range recordFields {
		if field.Name != FieldID && d.attrs.has(field.Name) {
			idx.standard = append(idx.standard, field)
			add(field.V1Key)
		}
	}
	for _, key := range idx.custom {
		add(key)
	}
	return idx
}

// v1Slots holds one employee's selected attributes, raw, by slot; nil is
// an absent attribute.
type v1Slots struct {
	index  *v1Index
	values [][]byte
}

// slots sorts an employee's attributes into the index's slots. The first
// of repeated keys counts, as a search from the front would find it.
func (idx *v1Index) slots(emp v1Employee) v1Slots {
	out := v1Slots{index: idx, values: make([][]byte, len(idx.slot))}
	for _, m := range emp.attrs {
		n, ok := idx.slot[string(m.key)]
		if !ok && hasEscape(m.key) {
			n, ok = idx.slot[unquoteKey(m.key)]
		}
		if ok && out.values[n] == nil {
			out.values[n] = m.value
		}
	}
	return out
}

func (s v1Slots) get(key string) ([]byte, bool) {
	n, ok := s.index.slot[key]
	if !ok || s.values[n] == nil {
		return nil, false
	}
	return s.values[n], true
}

// decoded is one Record plus what decoding dropped on purpose.
type decoded struct {
	record           Record
	droppedSensitive int
}

func (d v1Decoder) employee(item v1Employee) (decoded, error) {
	if !item.ok {
		return decoded{}, malformed("employee without attributes")
	}
	idx := d.index
	if idx == nil {
		idx = d.buildIndex()
	}
	emp := idx.slots(item)
	id, err := d.id(emp)
	if err != nil {
		return decoded{}, err
	}
	out := decoded{record: Record{ID: id}}
	for _, field := range idx.standard {
		if err := d.standard(&out.record, field, emp); err != nil {
			return decoded{}, fmt.Errorf("employee %s: %w", id, err)
		}
	}
	for _, key := range idx.custom {
		dropped, err := d.custom(&out.record, key, emp)
		if err != nil {
			return decoded{}, fmt.Errorf("employee %s: %w", id, err)
		}
		if dropped {
			out.droppedSensitive++
		}
	}
	return out, nil
}

func (d v1Decoder) id(emp v1Slots) (string, error) {
	attr, ok, err := d.attribute(emp, "id", true)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%w: employee without id", ErrMissingAttribute)
	}
	id, err := jsonID(attr.value)
	if err != nil || id == "" {
		return "", malformed("employee id: want a number")
	}
	return id, nil
}

// attribute finds a selected attribute; ok is false when it is absent and
// the policy (or optional) lets that pass.
func (d v1Decoder) attribute(emp v1Slots, key string, optional bool) (v1Attribute, bool, error) {
	raw, ok := emp.get(key)
	if !ok {
		if d.missing == MissingError && !optional {
			return v1Attribute{}, false, fmt.Errorf("%w: %s (is it readable by this credential?)", ErrMissingAttribute, key)
		}
		return v1Attribute{}, false, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return v1Attribute{}, false, malformed("attribute %s: not an object", key)
	}
	value, _ := lookup(raw, "value") // absent reads as null
	return v1Attribute{raw: raw, value: value}, true, nil
}

// standard decodes one standard field into r.
func (d v1Decoder) standard(r *Record, field Field, emp v1Slots) error {
	attr, ok, err := d.attribute(emp, field.V1Key, field.Optional)
	if errors.Is(err, ErrMissingAttribute) && field.V1Key != field.Name {
		return fmt.Errorf("%w: %s (v1 attribute %s; is it readable by this credential?)", ErrMissingAttribute, field.Name, field.V1Key)
	}
	if err != nil || !ok {
		return err
	}
	if err := d.assign(r, field, attr.value); err != nil {
		return malformed("attribute %s: %v", field.V1Key, err)
	}
	return nil
}

func (d v1Decoder) assign(r *Record, field Field, value []byte) error {
	var err error
	switch field.v1 {
	case v1Date:
		var s string
		if s, err = jsonText(value); err == nil {
			*field.date(r), err = parseCalendarDate(s, d.zone)
		}
	case v1Timestamp:
		var s string
		if s, err = jsonText(value); err == nil {
			*field.instant(r), err = parseTimestamp(s, d.zone)
		}
	case v1Relation:
		*field.text(r), err = relationName(value)
	case v1Relations:
		*field.list(r), err = costCenterNames(value)
	case v1Supervisor:
		*field.text(r), err = supervisorID(value)
	case v1Lower:
		var s string
		s, err = jsonText(value)
		*field.text(r) = strings.ToLower(strings.TrimSpace(s))
	default:
		*field.text(r), err = jsonText(value)
	}
	return err
}

// custom decodes one allowed custom attribute; dropped reports a value left
// out because it looks like bank or pay data.
func (d v1Decoder) custom(r *Record, key string, emp v1Slots) (dropped bool, err error) {
	attr, ok, err := d.attribute(emp, key, false)
	if err != nil || !ok {
		return false, err
	}
	label := attr.text("label")
	if isSensitiveCustom(attr.text("universal_id"), label) {
		return true, nil
	}
	value, err := customValue(attr.text("type"), attr.value, d.zone)
	if err != nil {
		return false, malformed("attribute %s: %v", key, err)
	}
	if r.Custom == nil {
		r.Custom = map[string]CustomAttribute{}
	}
	r.Custom[key] = CustomAttribute{Label: label, Value: value}
	return false, nil
}

// customValue renders a custom attribute as text the same way for both API
// versions: dates as YYYY-MM-DD, lists joined with commas, numbers as sent.
func customValue(typ string, value []byte, zone *time.Location) (string, error) {
	s, err := jsonTextList(value)
	if err != nil {
		return "", err
	}
	if strings.EqualFold(typ, "date") && s != "" {
		date, err := parseCalendarDate(s, zone)
		if err != nil {
			return "", err
		}
		return date.String(), nil
	}
	return s, nil
}

// relationName reads {"type": "Department", "attributes": {"id": 7, "name": "…"}}.
func relationName(value []byte) (string, error) {
	value = bytes.TrimSpace(value)
	if isEmptyJSON(value) {
		return "", nil
	}
	if value[0] == '"' { // a bare name; not documented, but harmless to accept
		return jsonText(value)
	}
	attrs, err := relationAttributes(value)
	if err != nil {
		return "", err
	}
	name, _ := lookup(attrs, "name")
	return jsonText(name)
}

// relationAttributes returns the raw "attributes" object of a relation.
func relationAttributes(value []byte) ([]byte, error) {
	if value[0] != '{' {
		return nil, fmt.Errorf("want an object with attributes")
	}
	attrs, _ := lookup(value, "attributes")
	attrs = bytes.TrimSpace(attrs)
	if len(attrs) > 0 && attrs[0] != '{' && !isEmptyJSON(attrs) {
		return nil, fmt.Errorf("want an object with attributes")
	}
	return attrs, nil
}

func costCenterNames(value []byte) ([]string, error) {
	value = bytes.TrimSpace(value)
	if isEmptyJSON(value) {
		return nil, nil
	}
	elems, err := arrayElements(value)
	if err != nil {
		return nil, fmt.Errorf("want a list of cost centers")
	}
	names := make([]string, 0, len(elems))
	for _, elem := range elems {
		name, err := relationName(elem)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// supervisorID reads the supervisor's id; its inner attributes are again
// {label, value} objects, though a plain id is accepted too.
func supervisorID(value []byte) (string, error) {
	value = bytes.TrimSpace(value)
	if isEmptyJSON(value) {
		return "", nil
	}
	attrs, err := relationAttributes(value)
	if err != nil {
		return "", fmt.Errorf("want an employee object")
	}
	id, _ := lookup(attrs, "id")
	if id = bytes.TrimSpace(id); len(id) > 0 && id[0] == '{' {
		id, _ = lookup(id, "value")
	}
	return jsonID(id)
}
