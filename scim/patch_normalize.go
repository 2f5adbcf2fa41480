package scim

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
)

// normalizePatch rewrites PATCH bodies that real clients send and the
// library refuses, before the library validates them:
//
//   - a missing or padded "schemas" becomes exactly the PatchOp URN;
//   - the enterprise manager sent as a bare id string, or as a one-element
//     list (Entra), becomes {"value": id}, since the library's schema
//     validation wants the object;
//   - a path-less value holding the enterprise extension as a nested object
//     is flattened into URN-qualified keys, which the library refuses
//     otherwise;
//   - enterprise attributes addressed without their URN ("manager",
//     "department") get it;
//   - "meta" and "schemas" inside a path-less value are dropped.
//
// Anything it does not understand is left for the library to judge, so the
// body is returned unchanged when it is not a JSON object.
func normalizePatch(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return body
	}
	changed := normalizeSchemas(doc)
	opsKey := memberKey(doc, "Operations")
	if ops, ok := doc[opsKey].([]any); ok {
		out := make([]any, 0, len(ops))
		for _, op := range ops {
			m, ok := op.(map[string]any)
			if !ok {
				out = append(out, op)
				continue
			}
			if normalizeOperation(m) {
				changed = true
			}
			expanded, split := splitNullMembers(m)
			changed = changed || split
			out = append(out, expanded...)
		}
		doc[opsKey] = out
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

// member finds a JSON member the way encoding/json does when the library
// decodes the body: exact name first, then case-insensitively.
func member(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// memberKey is the key under which member found name, or name itself.
func memberKey(m map[string]any, name string) string {
	if _, ok := m[name]; ok {
		return name
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

func normalizeSchemas(doc map[string]any) bool {
	key := memberKey(doc, "schemas")
	if list, ok := doc[key].([]any); ok && len(list) == 1 && list[0] == patchOpURN {
		return false
	}
	doc[key] = []any{patchOpURN}
	return true
}

func normalizeOperation(op map[string]any) bool {
	pathKey, valueKey := memberKey(op, "path"), memberKey(op, "value")
	path, _ := op[pathKey].(string)
	value, hasValue := op[valueKey]
	changed := false
	if hasValue && value == nil && path != "" && isReplace(op) {
		// RFC 7643 section 2.5: null is the same as unassigned, so replacing
		// with null removes the value; the library refuses null values.
		op[memberKey(op, "op")] = "remove"
		delete(op, valueKey)
		return true
	}
	if q := qualifyEnterprisePath(path); q != path {
		op[pathKey], path, changed = q, q, true
	}
	switch {
	case path == "" && hasValue:
		if m, ok := value.(map[string]any); ok && normalizeValueMap(m) {
			changed = true
		}
	case isManagerPath(path) && hasValue:
		if v, ok := managerObject(value); ok {
			op[valueKey], changed = v, true
		}
	}
	return changed
}

// enterpriseNames are the enterprise attributes that do not collide with
// core User attributes, so a path naming one without URN is unambiguous.
func enterpriseNames() []string {
	return []string{"employeeNumber", "costCenter", "organization", "division", "department", "manager"}
}

// qualifyEnterprisePath prefixes an unqualified enterprise attribute path
// with the extension URN: "manager" becomes "urn:…:User:manager".
func qualifyEnterprisePath(path string) string {
	if path == "" || strings.HasPrefix(strings.ToLower(path), "urn:") {
		return path
	}
	name := path
	if i := strings.IndexAny(name, ".["); i >= 0 {
		name = name[:i]
	}
	for _, e := range enterpriseNames() {
		if strings.EqualFold(name, e) {
			return enterpriseURN + ":" + path
		}
	}
	return path
}

func isManagerPath(path string) bool {
	return strings.EqualFold(path, enterpriseURN+":manager")
}

// managerObject turns the manager shapes Entra sends (a bare id, or a list
// holding one manager object) into the object the schema describes.
func managerObject(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case string:
		return map[string]any{"value": m}, true
	case []any:
		if len(m) == 1 {
			if obj, ok := m[0].(map[string]any); ok {
				return obj, true
			}
			if s, ok := m[0].(string); ok {
				return map[string]any{"value": s}, true
			}
		}
	}
	return nil, false
}

func normalizeValueMap(values map[string]any) bool {
	changed := false
	rename := map[string]any{}
	for k, v := range values {
		switch {
		case strings.EqualFold(k, "meta"), strings.EqualFold(k, "schemas"):
			delete(values, k)
			changed = true
		case strings.EqualFold(k, enterpriseURN):
			ext, ok := v.(map[string]any)
			if !ok {
				continue
			}
			delete(values, k)
			for sub, sv := range ext {
				rename[enterpriseURN+":"+sub] = sv
			}
			changed = true
		default:
			if q := qualifyEnterprisePath(k); q != k {
				delete(values, k)
				rename[q] = v
				changed = true
			}
		}
	}
	for k, v := range rename {
		values[k] = v
	}
	for k, v := range values {
		if isManagerPath(k) {
			if obj, ok := managerObject(v); ok {
				values[k] = obj
				changed = true
			}
		}
	}
	return changed
}

func isReplace(op map[string]any) bool {
	s, _ := member(op, "op").(string)
	return strings.EqualFold(s, "replace")
}

// splitNullMembers turns the null members of a path-less replace value into
// remove operations of their own (null means unassigned), keeping the rest
// of the value as the replace. It reports whether it changed anything.
func splitNullMembers(op map[string]any) ([]any, bool) {
	valueKey := memberKey(op, "value")
	values, ok := op[valueKey].(map[string]any)
	if _, hasPath := op[memberKey(op, "path")]; hasPath || !ok || !isReplace(op) {
		return []any{op}, false
	}
	var removes []any
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if values[k] == nil {
			delete(values, k)
			removes = append(removes, map[string]any{"op": "remove", "path": k})
		}
	}
	if len(removes) == 0 {
		return []any{op}, false
	}
	if len(values) == 0 {
		return removes, true
	}
	return append([]any{op}, removes...), true
}

// refuseReadOnlyTargets answers 400 mutability for PATCH operations that
// address what the server owns and the library would drop silently or
// call an invalid path: a new id (Okta re-sends the current one with every
// group rename, which stays accepted) and a user's groups, which follow
// from the group rules. body is the normalised PATCH body.
func refuseReadOnlyTargets(body []byte, kind resourceKind, id string) error {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil // the library explains the syntax error
	}
	ops, _ := member(doc, "Operations").([]any)
	for _, raw := range ops {
		op, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		value := member(op, "value")
		if path, ok := member(op, "path").(string); ok && path != "" {
			if err := refuseReadOnly(kind, id, rootAttribute(path), value); err != nil {
				return err
			}
			continue
		}
		values, _ := value.(map[string]any)
		for k, v := range values {
			if err := refuseReadOnly(kind, id, rootAttribute(k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

func refuseReadOnly(kind resourceKind, id, attr string, value any) error {
	switch {
	case strings.EqualFold(attr, "id"):
		if s, ok := value.(string); ok && s == id {
			return nil
		}
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeMutability, Status: http.StatusBadRequest,
			Detail: "id is assigned by the server and never changes."}
	case kind == kindUsers && strings.EqualFold(attr, "groups"):
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeMutability, Status: http.StatusBadRequest,
			Detail: "groups is read-only: memberships follow from the group rules and the employees' data in Personio."}
	}
	return nil
}

// rootAttribute is the attribute a path starts at, without the core
// schema's URN: "groups[value eq \"x\"]" and "urn:…:core:2.0:User:groups"
// give "groups".
func rootAttribute(path string) string {
	for _, urn := range []string{userURN + ":", groupURN + ":"} {
		if len(path) > len(urn) && strings.EqualFold(path[:len(urn)], urn) {
			path = path[len(urn):]
		}
	}
	if i := strings.IndexAny(path, ".["); i >= 0 {
		path = path[:i]
	}
	return strings.TrimSpace(path)
}
