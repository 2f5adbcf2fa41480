package personio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// v1Employee is one item of a v1 answer's data: the selected attributes
// of the index it was read with, by slot. The others (salary, bank, …) are
// validated and dropped with the page.
type v1Employee struct {
	index *v1Index
	body  []byte    // what the spans of attrs point into
	attrs []v1Spans // by slot
	ok    bool      // the item had an attributes object with members
}

// v1Spans locates one selected attribute, {label, value, type,
// universal_id}: the raw attribute and, when it is an object, the members
// the decoder reads, found while the page is walked so that no attribute
// is scanned twice. Offsets rather than slices keep the slot array free of
// pointers, which the garbage collector then neither scans nor guards
// every store into.
type v1Spans struct {
	raw, value, label, typ, universalID span
}

// span is where a raw value lies in a body; the zero span is no value
// (a value is never empty, so it always ends past 0). Bodies are at most
// maxBodyBytes, well within int32.
type span struct{ start, end int32 }

func spanOf(start, end int) span { return span{int32(start), int32(end)} }

func (s span) in(body []byte) []byte {
	if s.end == 0 {
		return nil
	}
	return body[s.start:s.end]
}

// v1Attr is a selected attribute of an employee, cut out of the page on
// demand: a member the object lacks is nil, and a lacking value reads as
// null.
type v1Attr struct {
	body  []byte
	spans v1Spans
}

func (e v1Employee) attr(n int) v1Attr { return v1Attr{body: e.body, spans: e.attrs[n]} }

func (a v1Attr) raw() []byte         { return a.spans.raw.in(a.body) }
func (a v1Attr) value() []byte       { return a.spans.value.in(a.body) }
func (a v1Attr) label() []byte       { return a.spans.label.in(a.body) }
func (a v1Attr) typ() []byte         { return a.spans.typ.in(a.body) }
func (a v1Attr) universalID() []byte { return a.spans.universalID.in(a.body) }

// v1Scratch holds what one page's decoding needs and the next page's can
// reuse: the records keep copies of what they read, never the page.
type v1Scratch struct {
	body  []byte
	items []v1Employee
	attrs []v1Spans
	order keyOrder
}

// keyOrder remembers the attribute keys of the employee read last, in
// order, with their slots: Personio writes every employee's attributes in
// the same order, so comparing a key with the one remembered for its
// position settles it without hashing.
type keyOrder struct {
	keys  []string
	slots []int // -1: not a selected attribute
	// shapes holds, by slot, how that attribute was written last.
	shapes []attrShape
}

// attrShape is an attribute as written around its value, label, type and
// universal_id being the same for every employee: {"label":…,"value": and
// ,"type":…,"universal_id":…}. Bytes equal to ones validated before are
// as valid and split the same way, since a prefix ends and a suffix starts
// at the boundary of a value; only the value in between is new.
type attrShape struct {
	prefix, suffix []byte // copies: the page they came from is reused
	label          span   // within prefix
	typ, uid       span   // within suffix
}

// shape returns the remembered shape of slot n, nil without a memory.
func (o *keyOrder) shape(n int) *attrShape {
	if o == nil {
		return nil
	}
	for len(o.shapes) <= n {
		o.shapes = append(o.shapes, attrShape{})
	}
	return &o.shapes[n]
}

// slot returns the slot of the attribute key at position n of an
// employee's attributes, or -1.
func (o *keyOrder) slot(idx *v1Index, n int, key []byte) int {
	if o != nil && n < len(o.keys) && o.keys[n] == string(key) {
		return o.slots[n]
	}
	slot, ok := idx.slot[string(key)]
	if !ok && hasEscape(key) {
		slot, ok = idx.slot[unquoteKey(key)]
	}
	if !ok {
		slot = -1
	}
	switch {
	case o == nil || n > len(o.keys):
	case n == len(o.keys):
		o.keys, o.slots = append(o.keys, string(key)), append(o.slots, slot)
	default:
		o.keys[n], o.slots[n] = string(key), slot
	}
	return slot
}

// decodeV1Page reads a list page; total is the announced total_elements.
// It reads into data, its employees and their attributes while walking
// them, and checks every value it passes over as json.Valid would, so
// that a page is scanned about once rather than once per level and once
// more to validate it. The items it returns live in scratch (when not nil)
// until the next page is decoded into it.
func (idx *v1Index) decodeV1Page(body []byte, scratch *v1Scratch) (items []v1Employee, total int, err error) {
	if scratch == nil {
		scratch = &v1Scratch{}
	}
	items, total, err = idx.walkV1Page(body, scratch)
	if err != nil && !json.Valid(body) {
		// A walk stops at the first problem; invalid JSON anywhere is
		// what a broken page is reported as, as before any other check.
		return nil, 0, malformed("employee list: not valid JSON")
	}
	return items, total, err
}

func (idx *v1Index) walkV1Page(body []byte, scratch *v1Scratch) (items []v1Employee, total int, err error) {
	var top []member  // every member but data, which is read in place
	var dataErr error // reported after the envelope's own checks, as those come first
	seenData, dataNull := false, false
	end, err := walkObject(body, 0, func(key []byte, start int) (int, error) {
		if seenData || !keyIs(key, "data") {
			end, err := validValueAt(body, start, 1)
			if err == nil {
				top = append(top, member{key: key, value: body[start:end]})
			}
			return end, err
		}
		seenData = true
		if start < len(body) && body[start] == '[' {
			var end int
			if items, end, dataErr = idx.v1Items(body, start, scratch); dataErr == nil {
				return end, nil
			}
		}
		end, err := validValueAt(body, start, 1)
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
// Every employee's slots are cut from one array, reused from page to page.
func (idx *v1Index) v1Items(body []byte, start int, scratch *v1Scratch) ([]v1Employee, int, error) {
	slots := len(idx.slot)
	items, attrs := scratch.items[:0], scratch.attrs[:0]
	end, err := walkArray(body, start, func(at int) (int, error) {
		n := len(attrs)
		attrs = append(attrs, make([]v1Spans, slots)...)
		emp, end, err := idx.v1ItemAt(body, at, 2, attrs[n:n+slots:n+slots], &scratch.order)
		items = append(items, emp)
		return end, err
	})
	// Items hold slices of attrs taken before it last grew; those stay
	// valid, and the grown array serves the next page whole.
	scratch.items, scratch.attrs = items, attrs
	return items, end, err
}

// v1ItemAt reads one employee object starting at body[at], nested in
// depth containers, into its slots (zeroed, one per slot of idx), and
// returns the index after it.
func (idx *v1Index) v1ItemAt(body []byte, at, depth int, slots []v1Spans, order *keyOrder) (v1Employee, int, error) {
	if at >= len(body) || body[at] != '{' {
		return v1Employee{}, 0, malformed("employee is not an object")
	}
	var emp v1Employee
	seen := false
	end, err := walkObject(body, at, func(key []byte, start int) (int, error) {
		if seen || !keyIs(key, "attributes") {
			return validValueAt(body, start, depth+1)
		}
		seen = true
		if start < len(body) && body[start] == '{' {
			members := 0
			end, err := walkObject(body, start, func(key []byte, vstart int) (int, error) {
				n := order.slot(idx, members, key)
				members++
				if n < 0 || slots[n].raw.end != 0 { // the first of repeated keys counts
					return validValueAt(body, vstart, depth+2)
				}
				return readV1Attr(body, vstart, depth+2, &slots[n], order.shape(n))
			})
			if members > 0 {
				emp = v1Employee{index: idx, body: body, attrs: slots, ok: true}
			}
			return end, err
		}
		end, err := validValueAt(body, start, depth+1)
		if err == nil && !isEmptyJSON(body[start:end]) {
			err = malformed("employee attributes are not an object")
		}
		return end, err
	})
	return emp, end, err
}

// readV1AttrAsWritten is readV1Attr for an attribute written as Personio
// writes it: label, value, type and universal_id in this order, without
// white space. Matching the keys as whole literals spares scanning and
// comparing each key, most of an attribute's walk. ok is false for any
// other attribute, valid or not, which is then to be read from the start
// (a holds leftovers).
func readV1AttrAsWritten(body []byte, start, depth int, a *v1Spans) (int, bool) {
	// Each key is compared with a constant, which the compiler turns into
	// a few word compares instead of a call.
	i, ok := start, false
	if len(body)-i < len(`{"label":`) || string(body[i:i+len(`{"label":`)]) != `{"label":` {
		return 0, false
	}
	if a.label, i, ok = memberValue(body, i+len(`{"label":`), depth); !ok {
		return 0, false
	}
	if len(body)-i < len(`,"value":`) || string(body[i:i+len(`,"value":`)]) != `,"value":` {
		return 0, false
	}
	if a.value, i, ok = memberValue(body, i+len(`,"value":`), depth); !ok {
		return 0, false
	}
	if len(body)-i < len(`,"type":`) || string(body[i:i+len(`,"type":`)]) != `,"type":` {
		return 0, false
	}
	if a.typ, i, ok = memberValue(body, i+len(`,"type":`), depth); !ok {
		return 0, false
	}
	if len(body)-i < len(`,"universal_id":`) || string(body[i:i+len(`,"universal_id":`)]) != `,"universal_id":` {
		return 0, false
	}
	if a.universalID, i, ok = memberValue(body, i+len(`,"universal_id":`), depth); !ok {
		return 0, false
	}
	if i >= len(body) || body[i] != '}' {
		return 0, false
	}
	a.raw = spanOf(start, i+1)
	return i + 1, true
}

// read is readV1Attr for an attribute written as the shape remembers.
func (sh *attrShape) read(body []byte, start, depth int, a *v1Spans) (int, bool) {
	if sh == nil || sh.prefix == nil || len(body)-start < len(sh.prefix) ||
		string(body[start:start+len(sh.prefix)]) != string(sh.prefix) {
		return 0, false
	}
	i := start + len(sh.prefix)
	value, i, ok := memberValue(body, i, depth)
	if !ok || len(body)-i < len(sh.suffix) || string(body[i:i+len(sh.suffix)]) != string(sh.suffix) {
		return 0, false
	}
	*a = v1Spans{
		raw: spanOf(start, i+len(sh.suffix)), value: value,
		label:       span{sh.label.start + int32(start), sh.label.end + int32(start)},
		typ:         span{sh.typ.start + int32(i), sh.typ.end + int32(i)},
		universalID: span{sh.uid.start + int32(i), sh.uid.end + int32(i)},
	}
	return i + len(sh.suffix), true
}

// remember keeps the shape of an attribute readV1AttrAsWritten read.
func (sh *attrShape) remember(body []byte, start int, a *v1Spans) {
	if sh == nil {
		return
	}
	valueEnd := int(a.value.end)
	sh.prefix = append(sh.prefix[:0], body[start:a.value.start]...)
	sh.suffix = append(sh.suffix[:0], body[valueEnd:a.raw.end]...)
	sh.label = span{a.label.start - int32(start), a.label.end - int32(start)}
	sh.typ = span{a.typ.start - int32(valueEnd), a.typ.end - int32(valueEnd)}
	sh.uid = span{a.universalID.start - int32(valueEnd), a.universalID.end - int32(valueEnd)}
}

// memberValue validates the value at body[i] of an attribute nested in
// depth containers and returns its span and the index after it.
func memberValue(body []byte, i, depth int) (span, int, bool) {
	var end int
	var err error
	if i < len(body) && body[i] == '"' { // most are, and need no dispatch
		end, err = validString(body, i)
	} else {
		end, err = validValueAt(body, i, depth+1)
	}
	if err != nil {
		return span{}, 0, false
	}
	return spanOf(i, end), end, true
}

// member returns where the member named name goes, or nil for members
// the decoder does not read.
func (a *v1Spans) member(name string) *span {
	switch name {
	case "value":
		return &a.value
	case "label":
		return &a.label
	case "type":
		return &a.typ
	case "universal_id":
		return &a.universalID
	}
	return nil
}

// readV1Attr reads the attribute at body[start], nested in depth
// containers, into a.
func readV1Attr(body []byte, start, depth int, a *v1Spans, shape *attrShape) (int, error) {
	if end, ok := shape.read(body, start, depth, a); ok {
		return end, nil
	}
	if end, ok := readV1AttrAsWritten(body, start, depth, a); ok {
		shape.remember(body, start, a)
		return end, nil
	}
	*a = v1Spans{}
	if start >= len(body) || body[start] != '{' {
		end, err := validValueAt(body, start, depth)
		if err == nil {
			a.raw = spanOf(start, end)
		}
		return end, err
	}
	end, err := walkObject(body, start, func(key []byte, vstart int) (int, error) {
		vend, err := validValueAt(body, vstart, depth+1)
		if err != nil {
			return 0, err
		}
		target := a.member(string(key))
		if target == nil && hasEscape(key) {
			target = a.member(unquoteKey(key))
		}
		if target != nil && target.end == 0 { // the first of repeated keys counts
			*target = spanOf(vstart, vend)
		}
		return vend, nil
	})
	if err == nil {
		a.raw = spanOf(start, end)
	}
	return end, err
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

// decodeV1Single reads the envelope of GET /v1/company/employees/{id}
// and returns its data, the employee, for v1Single.
func decodeV1Single(body []byte) ([]byte, error) {
	top, err := v1Envelope(body, "employee")
	if err != nil {
		return nil, err
	}
	data, ok := find(top, "data")
	if !ok || isEmptyJSON(data) {
		return nil, malformed("employee: no data")
	}
	return data, nil
}

// v1Single reads the employee decodeV1Single found.
func (idx *v1Index) v1Single(data []byte) (v1Employee, error) {
	emp, _, err := idx.v1ItemAt(data, 0, 1, make([]v1Spans, len(idx.slot)), nil)
	return emp, err
}

// v1Decoder turns v1 employees into Records, reading only the selected
// attributes.
type v1Decoder struct {
	attrs   attributeSet
	zone    *time.Location
	missing MissingPolicy
	// index is computed once per listing by newV1Decoder; without it each
	// page computes its own.
	index *v1Index
}

// v1Index numbers the attributes a decoder reads, so that a page walk
// sorts an employee's attributes into slots as it passes them instead of
// keeping them all to be searched once per field.
type v1Index struct {
	standard     []Field // selected standard fields but the id
	standardSlot []int   // the slot of each of standard
	custom       []string
	customSlot   []int
	slot         map[string]int // v1 attribute key → slot; the id is 0
}

func newV1Decoder(attrs attributeSet, zone *time.Location, missing MissingPolicy) v1Decoder {
	d := v1Decoder{attrs: attrs, zone: zone, missing: missing}
	d.index = d.buildIndex()
	return d
}

// indexed returns the decoder's index, computing one if it has none.
func (d v1Decoder) indexed() *v1Index {
	if d.index != nil {
		return d.index
	}
	return d.buildIndex()
}

func (d v1Decoder) buildIndex() *v1Index {
	idx := &v1Index{slot: map[string]int{"id": 0}, custom: d.attrs.custom()}
	add := func(key string) int {
		n, ok := idx.slot[key]
		if !ok {
			n = len(idx.slot)
			idx.slot[key] = n
		}
		return n
	}
	for _, field := range recordFields {
		if field.Name != FieldID && d.attrs.has(field.Name) {
			idx.standard = append(idx.standard, field)
			idx.standardSlot = append(idx.standardSlot, add(field.V1Key))
		}
	}
	for _, key := range idx.custom {
		idx.customSlot = append(idx.customSlot, add(key))
	}
	return idx
}

// decoded is one Record plus what decoding dropped on purpose.
type decoded struct {
	record           Record
	droppedSensitive int
}

// employee decodes one employee on its own.
func (d v1Decoder) employee(item v1Employee) (decoded, error) {
	var out decoded
	if err := d.employeeInto(&out, item, nil); err != nil {
		return decoded{}, err
	}
	return out, nil
}

// employeeInto decodes an employee into out, which a listing reuses for
// every employee (a Record returned by value from here would be moved to
// the heap once per employee). Texts that repeat are interned in t.
func (d v1Decoder) employeeInto(out *decoded, item v1Employee, t *texts) error {
	*out = decoded{}
	if !item.ok {
		return malformed("employee without attributes")
	}
	idx := item.index
	id, err := d.id(item)
	if err != nil {
		return err
	}
	out.record.ID = id
	for i := range idx.standard {
		if err := d.standard(&out.record, &idx.standard[i], item.attr(idx.standardSlot[i]), t); err != nil {
			return fmt.Errorf("employee %s: %w", id, err)
		}
	}
	for i, key := range idx.custom {
		dropped, err := d.custom(&out.record, key, item.attr(idx.customSlot[i]), t)
		if err != nil {
			return fmt.Errorf("employee %s: %w", id, err)
		}
		if dropped {
			out.droppedSensitive++
		}
	}
	return nil
}

func (d v1Decoder) id(emp v1Employee) (string, error) {
	attr, ok, err := d.attribute(emp.attr(0), "id", true)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%w: employee without id", ErrMissingAttribute)
	}
	id, err := jsonID(attr.value())
	if err != nil || id == "" {
		return "", malformed("employee id: want a number")
	}
	return id, nil
}

// attribute checks a selected attribute; ok is false when it is absent
// and the policy (or optional) lets that pass.
func (d v1Decoder) attribute(a v1Attr, key string, optional bool) (v1Attr, bool, error) {
	if a.spans.raw.end == 0 {
		if d.missing == MissingError && !optional {
			return v1Attr{}, false, fmt.Errorf("%w: %s (is it readable by this credential?)", ErrMissingAttribute, key)
		}
		return v1Attr{}, false, nil
	}
	if a.body[a.spans.raw.start] != '{' {
		return v1Attr{}, false, malformed("attribute %s: not an object", key)
	}
	return a, true, nil
}

// standard decodes one standard field into r.
func (d v1Decoder) standard(r *Record, field *Field, a v1Attr, t *texts) error {
	attr, ok, err := d.attribute(a, field.V1Key, field.Optional)
	if errors.Is(err, ErrMissingAttribute) && field.V1Key != field.Name {
		return fmt.Errorf("%w: %s (v1 attribute %s; is it readable by this credential?)", ErrMissingAttribute, field.Name, field.V1Key)
	}
	if err != nil || !ok {
		return err
	}
	if err := d.assign(r, field, attr.value(), t); err != nil {
		return malformed("attribute %s: %v", field.V1Key, err)
	}
	return nil
}

func (d v1Decoder) assign(r *Record, field *Field, value []byte, t *texts) error {
	var err error
	switch field.v1 {
	case v1Date:
		if date, ok := fastCalendarDate(value); ok {
			*field.date(r) = date
			return nil
		}
		var s string
		if s, err = jsonText(value); err == nil {
			*field.date(r), err = parseCalendarDate(s, d.zone)
		}
	case v1Timestamp:
		if instant, ok := fastTimestamp(value); ok {
			*field.instant(r) = instant
			return nil
		}
		var s string
		if s, err = jsonText(value); err == nil {
			*field.instant(r), err = parseTimestamp(s, d.zone)
		}
	case v1Relation:
		*field.text(r), err = t.relation(value)
	case v1Relations:
		var names []string
		names, err = t.costCenterNames(value)
		*field.list(r) = slices.Clone(names) // a record's list is its own
	case v1Supervisor:
		*field.text(r), err = t.supervisor(value)
	case v1Lower:
		var s string
		s, err = t.text(value)
		*field.text(r) = strings.ToLower(strings.TrimSpace(s))
	default:
		if field.Name == FieldEmail { // one of a kind: nothing to share
			t = nil
		}
		*field.text(r), err = t.text(value)
	}
	return err
}

// custom decodes one allowed custom attribute; dropped reports a value left
// out because it looks like bank or pay data.
func (d v1Decoder) custom(r *Record, key string, a v1Attr, t *texts) (dropped bool, err error) {
	attr, ok, err := d.attribute(a, key, false)
	if err != nil || !ok {
		return false, err
	}
	label := attrText(attr.label(), t)
	if isSensitiveCustom(attrText(attr.universalID(), t), label) {
		return true, nil
	}
	value, err := customValue(attrText(attr.typ(), t), attr.value(), d.zone)
	if err != nil {
		return false, malformed("attribute %s: %v", key, err)
	}
	if r.Custom == nil {
		r.Custom = map[string]CustomAttribute{}
	}
	r.Custom[key] = CustomAttribute{Label: label, Value: value}
	return false, nil
}

// attrText reads a label, type or universal id; one that is not text is
// as good as none.
func attrText(raw []byte, t *texts) string {
	if raw == nil {
		return ""
	}
	s, _ := t.text(raw)
	return s
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
func relationName(value []byte, t *texts) (string, error) {
	value = bytes.TrimSpace(value)
	if isEmptyJSON(value) {
		return "", nil
	}
	if value[0] == '"' { // a bare name; not documented, but harmless to accept
		return t.text(value)
	}
	attrs, err := relationAttributes(value)
	if err != nil {
		return "", err
	}
	name, _ := lookup(attrs, "name")
	return t.text(name)
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

func costCenterNames(value []byte, t *texts) ([]string, error) {
	value = bytes.TrimSpace(value)
	if isEmptyJSON(value) {
		return nil, nil
	}
	names := []string{} // not nil: a list, if an empty one, was sent
	var nameErr error
	_, err := walkArray(value, 0, func(at int) (int, error) {
		end, err := skipValue(value, at)
		if err != nil {
			return 0, err
		}
		name, err := relationName(value[at:end], t)
		if err != nil {
			nameErr = err
			return 0, err
		}
		names = append(names, name)
		return end, nil
	})
	switch {
	case nameErr != nil:
		return nil, nameErr
	case err != nil:
		return nil, fmt.Errorf("want a list of cost centers")
	}
	return names, nil
}

// supervisorID reads the supervisor's id; its inner attributes are again
// {label, value} objects, though a plain id is accepted too.
func supervisorID(value []byte, t *texts) (string, error) {
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
	s, err := t.text(id)
	return strings.TrimSpace(s), err
}
