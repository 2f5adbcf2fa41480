package personio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeV1PageWalk holds the single-pass page decoder and the
// conversion of its slots to the straightforward decoding it replaced:
// split every level with objectMembers and arrayElements, search each
// attribute for its members, decode strings with encoding/json and dates
// with time.Parse. Both must give the same records, or the same error.
func FuzzDecodeV1PageWalk(f *testing.F) {
	f.Add(v1Page(1, fullEmployee))
	f.Add(v1Page(2, attr("id", "1"), attr("id", `"2"`)+","+attr("department", `[]`)))
	// Employees whose attributes share a shape, or nearly: the second is
	// read by the shape the first left.
	f.Add(v1Page(3, attr("id", "1")+","+attr("first_name", `"A"`), attr("id", "22")+","+attr("first_name", `{"x":[1]}`),
		attr("id", "3")+`,"first_name":{"label":"L","value":7,"type":"standard","universal_id":"first_name","extra":1}`))
	f.Add(v1Page(2, attr("id", "1")+","+attr("hire_date", `null`), `"id":{"label":"L","value":2,"type":"standard","universal_id":"id"},`+
		`"hire_date":{"label":"M","value":"2020-01-01","type":"standard","universal_id":"hire_date"}`))
	for _, s := range []string{
		`{"success":true,"metadata":{"total_elements":"3"},"data":[{"attributes":null}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":{}},{"attributes":[]}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[1]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":{}}`,
		`{"success":true,"metadata":{"total_elements":1},"data":null}`,
		`{"success":false,"metadata":{"total_elements":1},"data":[1]}`,
		`{"data":[{"attributes":{"id":{"value":1}}}],"da\u0074a":[],"success":true,"metadata":{"total_elements":1}}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":{"id":{"value":1},"id":{"value":2}},"attributes":5}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":7}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":{"id":{"value":1,"value":2,"v\u0061lue":3},"hire_date":{"value":"2020-02-30"}}}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":{"id":{"value":"7"},"last_modified_at":{"value":"2026-01-02T10:04:05Z"},"hire_date":{"value":"2026-01-02T23:00:00+00:00"}}}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":{"id":{"value":1},"first_name":{"value":"\ud83d\ude00 J\u00fcrgen"},"email":5,"dynamic_1":{"label":"L\u00e4nge","type":"date","value":"2024-05-01T00:00:00+0200","universal_id":null}}}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":{"id":{"value":1},"cost_centers":{"value":[{"attributes":{"name":"A"}},"B",{"attributes":[]}]}}}]}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	zone := time.FixedZone("company", 3600)
	var decoders []v1Decoder
	for _, names := range [][]string{nil, append(StandardFields(), "dynamic_1", "dynamic_4", "dynamic_9"), {"first_name", "hire_date"}} {
		for _, missing := range []MissingPolicy{MissingError, MissingEmpty} {
			attrs, err := resolveAttributes(names)
			if err != nil {
				f.Fatal(err)
			}
			decoders = append(decoders, newV1Decoder(attrs, zone, missing))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var scratch *v1Scratch
		for i := range 2 * len(decoders) {
			// Each decoder reads the page twice into one scratch, as a
			// listing reads page after page: the second time with the
			// key order the first one left.
			dec := decoders[i/2]
			if i%2 == 0 {
				scratch = &v1Scratch{body: []byte("left over from a page before")}
			}
			items, total, err := dec.index.decodeV1Page(body, scratch)
			wantItems, wantTotal, wantErr := decodeV1PageBySplitting(body)
			if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
				t.Fatalf("%q: error %v, splitting says %v", body, err, wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("page error %v does not match ErrMalformed", err)
				}
				continue
			}
			if total != wantTotal || len(items) != len(wantItems) {
				t.Fatalf("%q: %d items of %d, splitting says %d of %d", body, len(items), total, len(wantItems), wantTotal)
			}
			names := newTexts()
			var got decoded
			for n := range items {
				err := dec.employeeInto(&got, items[n], names)
				want, wantErr := dec.refEmployee(wantItems[n])
				if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
					t.Fatalf("%q: employee %d: error %v, the reference says %v", body, n, err, wantErr)
				}
				if err == nil && !reflect.DeepEqual(got, want) {
					t.Fatalf("%q: employee %d:\n got %+v\nwant %+v", body, n, got, want)
				}
			}
		}
	})
}

// refV1Employee is an employee as the reference splits it: every
// attribute, raw.
type refV1Employee struct {
	attrs []member
	ok    bool
}

// decodeV1PageBySplitting is the reference: split the envelope, then data,
// then each employee, each level on its own.
func decodeV1PageBySplitting(body []byte) ([]refV1Employee, int, error) {
	top, err := v1Envelope(body, "employee list")
	if err != nil {
		return nil, 0, err
	}
	total, err := v1Total(top)
	if err != nil {
		return nil, 0, err
	}
	data, ok := find(top, "data")
	if !ok || string(data) == "null" {
		return nil, total, nil
	}
	elems, err := arrayElements(data)
	if err != nil {
		return nil, 0, malformed("employee list: data is not a list")
	}
	items := make([]refV1Employee, 0, len(elems))
	for _, elem := range elems {
		emp, err := refV1Item(elem)
		if err != nil {
			return nil, 0, err
		}
		items = append(items, emp)
	}
	return items, total, nil
}

func refV1Item(elem []byte) (refV1Employee, error) {
	members, err := objectMembers(elem)
	if err != nil {
		return refV1Employee{}, malformed("employee is not an object")
	}
	attrs, ok := find(members, "attributes")
	if !ok || isEmptyJSON(attrs) {
		return refV1Employee{}, nil
	}
	list, err := objectMembers(attrs)
	if err != nil {
		return refV1Employee{}, malformed("employee attributes are not an object")
	}
	return refV1Employee{attrs: list, ok: true}, nil
}

// refV1Attribute is one attribute object, searched for its members.
type refV1Attribute struct {
	raw   []byte
	value []byte
}

func (a refV1Attribute) text(key string) string {
	raw, ok := lookup(a.raw, key)
	if !ok {
		return ""
	}
	s, _ := refJSONText(raw)
	return s
}

// refJSONText is jsonText with strings decoded by encoding/json.
func refJSONText(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("bad string")
		}
		return s, nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", fmt.Errorf("bad boolean")
		}
		return strconv.FormatBool(b), nil
	case '{', '[':
		return "", fmt.Errorf("want a scalar, got %s", jsonKind(raw))
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("bad number")
	}
	return n.String(), nil
}

func refJSONID(raw []byte) (string, error) {
	s, err := refJSONText(raw)
	return strings.TrimSpace(s), err
}

func refCustomValue(typ string, value []byte, zone *time.Location) (string, error) {
	s, err := refJSONTextList(value)
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

func refJSONTextList(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return refJSONText(raw)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return "", fmt.Errorf("bad list")
	}
	parts := make([]string, 0, len(items))
	for _, item := range items {
		s, err := refJSONText(item)
		if err != nil {
			return "", fmt.Errorf("list item: %w", err)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ","), nil
}

// refV1Slots holds one employee's selected attributes, raw, by slot; nil is
// an absent attribute.
type refV1Slots struct {
	index  *v1Index
	values [][]byte
}

// slots sorts an employee's attributes into the index's slots. The first
// of repeated keys counts, as a search from the front would find it.
func (idx *v1Index) refSlots(emp refV1Employee) refV1Slots {
	out := refV1Slots{index: idx, values: make([][]byte, len(idx.slot))}
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

func (s refV1Slots) get(key string) ([]byte, bool) {
	n, ok := s.index.slot[key]
	if !ok || s.values[n] == nil {
		return nil, false
	}
	return s.values[n], true
}

func (d v1Decoder) refEmployee(item refV1Employee) (decoded, error) {
	if !item.ok {
		return decoded{}, malformed("employee without attributes")
	}
	idx := d.index
	if idx == nil {
		idx = d.buildIndex()
	}
	emp := idx.refSlots(item)
	id, err := d.refId(emp)
	if err != nil {
		return decoded{}, err
	}
	out := decoded{record: Record{ID: id}}
	for _, field := range idx.standard {
		if err := d.refStandard(&out.record, field, emp); err != nil {
			return decoded{}, fmt.Errorf("employee %s: %w", id, err)
		}
	}
	for _, key := range idx.custom {
		dropped, err := d.refCustom(&out.record, key, emp)
		if err != nil {
			return decoded{}, fmt.Errorf("employee %s: %w", id, err)
		}
		if dropped {
			out.droppedSensitive++
		}
	}
	return out, nil
}

func (d v1Decoder) refId(emp refV1Slots) (string, error) {
	attr, ok, err := d.refAttribute(emp, "id", true)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%w: employee without id", ErrMissingAttribute)
	}
	id, err := refJSONID(attr.value)
	if err != nil || id == "" {
		return "", malformed("employee id: want a number")
	}
	return id, nil
}

// attribute finds a selected attribute; ok is false when it is absent and
// the policy (or optional) lets that pass.
func (d v1Decoder) refAttribute(emp refV1Slots, key string, optional bool) (refV1Attribute, bool, error) {
	raw, ok := emp.get(key)
	if !ok {
		if d.missing == MissingError && !optional {
			return refV1Attribute{}, false, fmt.Errorf("%w: %s (is it readable by this credential?)", ErrMissingAttribute, key)
		}
		return refV1Attribute{}, false, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return refV1Attribute{}, false, malformed("attribute %s: not an object", key)
	}
	value, _ := lookup(raw, "value") // absent reads as null
	return refV1Attribute{raw: raw, value: value}, true, nil
}

// standard decodes one standard field into r.
func (d v1Decoder) refStandard(r *Record, field Field, emp refV1Slots) error {
	attr, ok, err := d.refAttribute(emp, field.V1Key, field.Optional)
	if errors.Is(err, ErrMissingAttribute) && field.V1Key != field.Name {
		return fmt.Errorf("%w: %s (v1 attribute %s; is it readable by this credential?)", ErrMissingAttribute, field.Name, field.V1Key)
	}
	if err != nil || !ok {
		return err
	}
	if err := d.refAssign(r, field, attr.value); err != nil {
		return malformed("attribute %s: %v", field.V1Key, err)
	}
	return nil
}

func (d v1Decoder) refAssign(r *Record, field Field, value []byte) error {
	var err error
	switch field.v1 {
	case v1Date:
		var s string
		if s, err = refJSONText(value); err == nil {
			*field.date(r), err = parseCalendarDate(s, d.zone)
		}
	case v1Timestamp:
		var s string
		if s, err = refJSONText(value); err == nil {
			*field.instant(r), err = parseTimestamp(s, d.zone)
		}
	case v1Relation:
		*field.text(r), err = refRelationName(value)
	case v1Relations:
		*field.list(r), err = refCostCenterNames(value)
	case v1Supervisor:
		*field.text(r), err = refSupervisorID(value)
	case v1Lower:
		var s string
		s, err = refJSONText(value)
		*field.text(r) = strings.ToLower(strings.TrimSpace(s))
	default:
		*field.text(r), err = refJSONText(value)
	}
	return err
}

// custom decodes one allowed custom attribute; dropped reports a value left
// out because it looks like bank or pay data.
func (d v1Decoder) refCustom(r *Record, key string, emp refV1Slots) (dropped bool, err error) {
	attr, ok, err := d.refAttribute(emp, key, false)
	if err != nil || !ok {
		return false, err
	}
	label := attr.text("label")
	if isSensitiveCustom(attr.text("universal_id"), label) {
		return true, nil
	}
	value, err := refCustomValue(attr.text("type"), attr.value, d.zone)
	if err != nil {
		return false, malformed("attribute %s: %v", key, err)
	}
	if r.Custom == nil {
		r.Custom = map[string]CustomAttribute{}
	}
	r.Custom[key] = CustomAttribute{Label: label, Value: value}
	return false, nil
}

func refRelationName(value []byte) (string, error) {
	value = bytes.TrimSpace(value)
	if isEmptyJSON(value) {
		return "", nil
	}
	if value[0] == '"' { // a bare name; not documented, but harmless to accept
		return refJSONText(value)
	}
	attrs, err := relationAttributes(value)
	if err != nil {
		return "", err
	}
	name, _ := lookup(attrs, "name")
	return refJSONText(name)
}

func refCostCenterNames(value []byte) ([]string, error) {
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
		name, err := refRelationName(elem)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// supervisorID reads the supervisor's id; its inner attributes are again
// {label, value} objects, though a plain id is accepted too.
func refSupervisorID(value []byte) (string, error) {
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
	return refJSONID(id)
}
