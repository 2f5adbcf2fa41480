package scim

import (
	"bytes"
	"encoding/json"
	"strings"
)

// normalizePatch rewrites PATCH bodies that real clients send and the
// library refuses, before the library validates them:
//
//   - a missing or padded "schemas" becomes exactly the PatchOp URN;
//   - the enterprise manager sent as a bare id string, or as a one-element
//     list (Entra), becomes {"value": id}: the library's schema wants the
//     complex form and answers Entra's string with 400 invalidValue;
//   - a path-less value holding the enterprise extension as a nested object
//     is flattened into URN-qualified keys, the only form the library's
//     validation accepts there;
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
	if ops, ok := member(doc, "Operations").([]any); ok {
		for _, op := range ops {
			if m, ok := op.(map[string]any); ok && normalizeOperation(m) {
				changed = true
			}
		}
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
