package scim

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	scimlib "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/personio-scim/personio-scim/store"
)

// PATCH and PUT are applied to a copy of the identity's attributes as the
// client sees them; writeUser then compares the result with the stored
// state and applies the write policy. The operations arrive validated and
// typed by the library: strings are strings, booleans bool, complex values
// maps with canonical sub-attribute names, multi-valued values slices.
//
// What the client may address but is never stored is ignored: password
// (Okta sends it with every update), groups (read-only, computed), and the
// manager's displayName and $ref (derived from the manager's id).

func invalidPath(format string, args ...any) scimerrors.ScimError {
	return badRequest(scimerrors.ScimTypeInvalidPath, fmt.Sprintf(format, args...))
}

func invalidValue(format string, args ...any) scimerrors.ScimError {
	return badRequest(scimerrors.ScimTypeInvalidValue, fmt.Sprintf(format, args...))
}

// cannotStore refuses a value the directory has no place for, such as a
// second email address.
func cannotStore(attr, what string) scimerrors.ScimError {
	return scimerrors.ScimError{ScimType: scimerrors.ScimTypeMutability, Status: 400,
		Detail: "Cannot store " + attr + ": " + what}
}

// applyUserOp applies one PATCH operation.
func applyUserOp(a *store.Attributes, op scimlib.PatchOperation) error {
	if op.Path != nil {
		return applyUserPath(a, op.Op, *op.Path, op.Value)
	}
	// Without a path the value is a map of paths to values, as Okta sends
	// {"active": false} and Entra {"name.givenName": …}. Sorted keys keep
	// overlapping keys ("name", "name.givenName") deterministic.
	values, ok := op.Value.(map[string]any)
	if !ok {
		return invalidValue("An operation without a path needs an object as its value.")
	}
	for _, key := range slices.Sorted(maps.Keys(values)) {
		path, err := parsePatchPath(key)
		if err != nil {
			return err
		}
		if err := applyUserPath(a, op.Op, path, values[key]); err != nil {
			return err
		}
	}
	return nil
}

// applyUserPut applies a PUT body: each attribute it carries replaces the
// current value; attributes it leaves out stay as they are, since clients
// send what they map, not everything Personio has.
func applyUserPut(a *store.Attributes, attrs map[string]any) error {
	for _, key := range slices.Sorted(maps.Keys(attrs)) {
		value := attrs[key]
		if strings.EqualFold(key, enterpriseURN) {
			ext, ok := value.(map[string]any)
			if !ok {
				return invalidValue("%s must be an object.", enterpriseURN)
			}
			uri := enterpriseURN
			for _, sub := range slices.Sorted(maps.Keys(ext)) {
				path := fp.Path{AttributePath: fp.AttributePath{URIPrefix: &uri, AttributeName: sub}}
				if err := applyUserPath(a, scimlib.PatchOperationReplace, path, ext[sub]); err != nil {
					return err
				}
			}
			continue
		}
		path := fp.Path{AttributePath: fp.AttributePath{AttributeName: key}}
		if err := applyUserPath(a, scimlib.PatchOperationReplace, path, value); err != nil {
			return err
		}
	}
	return nil
}

// parsePatchPath parses a key of a path-less PATCH value; the library has
// parsed it once already, so failures are rare, and a panic of the parser
// is contained.
func parsePatchPath(s string) (path fp.Path, err error) {
	defer func() {
		if recover() != nil {
			err = invalidPath("The path %q could not be parsed.", s)
		}
	}()
	path, err = fp.ParsePath([]byte(s))
	if err != nil {
		return fp.Path{}, invalidPath("The path %q could not be parsed.", s)
	}
	return path, nil
}

func applyUserPath(a *store.Attributes, op string, path fp.Path, value any) error {
	ap := path.AttributePath
	name, sub := ap.AttributeName, ap.SubAttributeName()
	switch schemaOfURI(ap.URI()) {
	case uriEnterprise:
		return applyEnterprisePath(a, op, path, value)
	case uriNone, uriUser:
	default:
		return invalidPath("Unknown schema in path %q.", path.String())
	}
	switch strings.ToLower(name) {
	case "emails":
		return applyWorkEntry(&a.Email, "emails", op, path, value)
	case "phonenumbers":
		return applyWorkEntry(&a.Phone, "phoneNumbers", op, path, value)
	case "password", "groups":
		return nil
	}
	if path.ValueExpression != nil || path.SubAttribute != nil {
		return invalidPath("%s is not multi-valued; a value filter does not apply.", name)
	}
	switch strings.ToLower(name) {
	case "name":
		return applyName(a, op, sub, value)
	case "active":
		if sub != "" {
			return invalidPath("active has no sub-attributes.")
		}
		if op == scimlib.PatchOperationRemove {
			a.Active = false
			return nil
		}
		b, ok := value.(bool)
		if !ok {
			return invalidValue("active must be true or false.")
		}
		a.Active = b
		return nil
	}
	if attr, ok := lookupStringAttr(name, false); ok && sub == "" {
		return setString(a, attr, op, value)
	}
	// Enterprise attributes written without their URN.
	if _, ok := lookupStringAttr(name, true); ok || strings.EqualFold(name, "manager") {
		return applyEnterprisePath(a, op, path, value)
	}
	return invalidPath("Unknown attribute %q.", path.String())
}

func setString(a *store.Attributes, attr stringAttr, op string, value any) error {
	if op == scimlib.PatchOperationRemove || value == nil {
		a.Set(attr.store, "")
		return nil
	}
	s, ok := value.(string)
	if !ok {
		return invalidValue("%s must be a string.", attr.path)
	}
	a.Set(attr.store, s)
	return nil
}

// applyName sets name or one of its parts. A complex value merges: parts it
// does not mention stay (RFC 7644 section 3.5.2.3).
func applyName(a *store.Attributes, op, sub string, value any) error {
	if sub != "" {
		attr, ok := lookupStringAttr("name."+sub, false)
		if !ok {
			return invalidPath("Unknown attribute name.%s.", sub)
		}
		return setString(a, attr, op, value)
	}
	if op == scimlib.PatchOperationRemove {
		a.GivenName, a.FamilyName, a.MiddleName = "", "", ""
		return nil
	}
	parts, ok := value.(map[string]any)
	if !ok {
		return invalidValue("name must be an object.")
	}
	for _, key := range slices.Sorted(maps.Keys(parts)) {
		if attr, ok := lookupStringAttr("name."+key, false); ok {
			if err := setString(a, attr, op, parts[key]); err != nil {
				return err
			}
		}
	}
	return nil
}

func applyEnterprisePath(a *store.Attributes, op string, path fp.Path, value any) error {
	ap := path.AttributePath
	name, sub := ap.AttributeName, ap.SubAttributeName()
	if path.ValueExpression != nil || path.SubAttribute != nil {
		return invalidPath("%s is not multi-valued; a value filter does not apply.", name)
	}
	if strings.EqualFold(name, "manager") {
		return applyManager(a, op, sub, value)
	}
	attr, ok := lookupStringAttr(name, true)
	if !ok || sub != "" {
		return invalidPath("Unknown attribute %q.", path.String())
	}
	return setString(a, attr, op, value)
}

// applyManager sets the manager by id. Entra sends the id as a bare string
// (rewritten to {"value": id} before the library sees it) and removes the
// manager with {"value": ""}.
func applyManager(a *store.Attributes, op, sub string, value any) error {
	if op == scimlib.PatchOperationRemove {
		if sub == "" || strings.EqualFold(sub, "value") {
			a.Manager = ""
		}
		return nil
	}
	switch {
	case sub == "":
		switch v := value.(type) {
		case map[string]any:
			if id, present := v["value"]; present {
				s, ok := id.(string)
				if !ok {
					return invalidValue("manager.value must be a string.")
				}
				a.Manager = s
			}
			return nil
		case string:
			a.Manager = v
			return nil
		case nil:
			a.Manager = ""
			return nil
		}
		return invalidValue("manager must be an object with the manager's id as value.")
	case strings.EqualFold(sub, "value"):
		s, ok := value.(string)
		if !ok && value != nil {
			return invalidValue("manager.value must be a string.")
		}
		a.Manager = s
		return nil
	}
	// displayName and $ref follow from the id.
	return nil
}

// entry is one element of emails or phoneNumbers as a client sends it.
type entry struct {
	value   string
	typ     string
	primary bool
}

func entriesOf(attr string, value any) ([]entry, error) {
	var items []any
	switch v := value.(type) {
	case []any:
		items = v
	case map[string]any:
		items = []any{v}
	case nil:
		return nil, nil
	default:
		return nil, invalidValue("%s must be a list of objects.", attr)
	}
	out := make([]entry, 0, len(items))
	for _, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, invalidValue("%s must be a list of objects.", attr)
		}
		var e entry
		e.value, _ = m["value"].(string)
		e.typ, _ = m["type"].(string)
		e.primary, _ = m["primary"].(bool)
		out = append(out, e)
	}
	return out, nil
}

// workOf picks the entry that is the work value from a list a client sends:
// the one typed work, else the primary one, else the only untyped one.
func workOf(entries []entry) (int, bool) {
	for i, e := range entries {
		if strings.EqualFold(e.typ, workType) {
			return i, true
		}
	}
	for i, e := range entries {
		if e.primary && e.typ == "" {
			return i, true
		}
	}
	if len(entries) == 1 && entries[0].typ == "" {
		return 0, true
	}
	return 0, false
}

// applyWorkEntry applies an operation to emails or phoneNumbers, of which
// an identity has exactly one value, typed work and primary. Entries of
// other types have no place in the directory and are refused, unless they
// repeat the work value.
func applyWorkEntry(field *string, attr, op string, path fp.Path, value any) error {
	sub := path.AttributePath.SubAttributeName()
	if path.SubAttribute != nil {
		sub = *path.SubAttribute
	}
	current := element{value: *field, typ: workType, primary: true}
	matches := func(element) bool { return true }
	if path.ValueExpression != nil {
		m, err := elementCompiler(elementSchema{hasPrimary: true}).compile(path.ValueExpression)
		if err != nil {
			return invalidPath("The filter in %q is not valid: %v", path.String(), err)
		}
		matches = m
	}
	hit := *field != "" && matches(current)

	if op == scimlib.PatchOperationRemove {
		return removeWorkEntry(field, attr, sub, hit, path.ValueExpression == nil, value)
	}
	if sub != "" {
		return setWorkEntryField(field, attr, sub, hit, matches, value)
	}
	entries, err := entriesOf(attr, value)
	if err != nil {
		return err
	}
	if path.ValueExpression != nil {
		// emails[type eq "work"] with a value describes the one entry the
		// filter selects: an object, or from some clients a list of one.
		if len(entries) != 1 {
			return invalidValue("%s with a filter takes one object.", path.String())
		}
		e := entries[0]
		if e.typ != "" && !strings.EqualFold(e.typ, workType) {
			return cannotStore(attr, "only the work entry is kept.")
		}
		next := element{value: e.value, typ: workType, primary: true}
		if e.value == "" && hit {
			next.value = *field
		}
		if !hit && !matches(next) {
			return cannotStore(attr, "the filter selects an entry other than the work entry, and only that one is kept.")
		}
		*field = next.value
		return nil
	}
	i, found := workOf(entries)
	for j, e := range entries {
		if (!found || j != i) && e.value != "" && (!found || !strings.EqualFold(e.value, entries[i].value)) {
			return cannotStore(attr, "only the work entry (type work) is kept.")
		}
	}
	switch {
	case found:
		*field = entries[i].value
	case op == scimlib.PatchOperationReplace:
		*field = ""
	}
	return nil
}

func setWorkEntryField(field *string, attr, sub string, hit bool, matches func(element) bool, value any) error {
	switch strings.ToLower(sub) {
	case "value":
		s, ok := value.(string)
		if !ok {
			return invalidValue("%s.value must be a string.", attr)
		}
		// Entra adds emails[type eq "work"].value when there is no work
		// email yet: the entry is created when the filter would select it.
		if hit || *field == "" && matches(element{value: s, typ: workType, primary: true}) {
			*field = s
			return nil
		}
		return cannotStore(attr, "the filter selects an entry other than the work entry, and only that one is kept.")
	case "type":
		if s, _ := value.(string); !strings.EqualFold(s, workType) {
			return cannotStore(attr+".type", "the entry kept is always of type work.")
		}
		return nil
	case "primary", "display":
		// The work entry is always the primary one.
		return nil
	}
	return invalidPath("Unknown attribute %s.%s.", attr, sub)
}

func removeWorkEntry(field *string, attr, sub string, hit, unfiltered bool, value any) error {
	if unfiltered && sub == "" && value != nil {
		// Remove the entries listed in value, as Entra removes members.
		entries, err := entriesOf(attr, value)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.value != "" && strings.EqualFold(e.value, *field) {
				*field = ""
			}
		}
		return nil
	}
	if !hit {
		return nil
	}
	switch strings.ToLower(sub) {
	case "", "value":
		*field = ""
		return nil
	case "primary", "display":
		return nil
	}
	return cannotStore(attr+"."+sub, "the entry kept always has it.")
}
