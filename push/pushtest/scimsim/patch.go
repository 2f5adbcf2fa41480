package scimsim

import (
	"net/http"
	"slices"
	"strings"
)

type patchOp struct {
	op    string // add, replace, remove (lower case)
	path  *path  // nil without a path
	value any
	has   bool // whether value was given
}

func parsePatch(body map[string]any) ([]patchOp, *scimError) {
	if !slices.ContainsFunc(list(body, "schemas"), func(v any) bool {
		s, _ := v.(string)
		return strings.EqualFold(s, schemaPatchOp)
	}) {
		return nil, errorf(http.StatusBadRequest, "invalidSyntax", "schemas must name %s", schemaPatchOp)
	}
	raw := list(body, "Operations")
	if len(raw) == 0 {
		return nil, errorf(http.StatusBadRequest, "invalidSyntax", "Operations is required")
	}
	ops := make([]patchOp, 0, len(raw))
	for _, r := range raw {
		m := asObj(r)
		if m == nil {
			return nil, errorf(http.StatusBadRequest, "invalidSyntax", "an operation is not an object")
		}
		op := patchOp{op: strings.ToLower(str(m, "op"))}
		switch op.op {
		case "add", "replace", "remove":
		default:
			return nil, errorf(http.StatusBadRequest, "invalidSyntax", "unknown op %q", str(m, "op"))
		}
		if p := str(m, "path"); p != "" {
			parsed, err := parsePath(p)
			if err != nil {
				return nil, errorf(http.StatusBadRequest, "invalidPath", "invalid path")
			}
			op.path = &parsed
		}
		op.value, op.has = get(m, "value")
		if op.op != "remove" && !op.has {
			return nil, errorf(http.StatusBadRequest, "invalidSyntax", "%s needs a value", op.op)
		}
		if op.path == nil && op.op == "remove" {
			return nil, errorf(http.StatusBadRequest, "noTarget", "remove needs a path")
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func (s *Sim) applyOp(k kind, attrs map[string]any, op patchOp) *scimError {
	if op.path == nil {
		value := asObj(op.value)
		if value == nil {
			return errorf(http.StatusBadRequest, "invalidValue", "a value without a path must be an object")
		}
		for name, v := range value {
			if strings.EqualFold(name, "id") || strings.EqualFold(name, "meta") || strings.EqualFold(name, "schemas") {
				continue
			}
			p := path{attr: name}
			if strings.HasPrefix(strings.ToLower(name), "urn:") {
				// An extension's attributes merge into what is there.
				ext := obj(attrs, name)
				if ext == nil {
					ext = map[string]any{}
				}
				for sub, sv := range asObj(v) {
					set(ext, sub, sv)
				}
				set(attrs, name, ext)
				continue
			}
			if e := s.applyPath(k, attrs, op.op, p, v); e != nil {
				return e
			}
		}
		return nil
	}
	container := attrs
	if op.path.urn != "" {
		container = obj(attrs, op.path.urn)
		if container == nil {
			if op.op == "remove" {
				return nil
			}
			container = map[string]any{}
			set(attrs, op.path.urn, container)
		}
	}
	if op.op == "remove" {
		return s.remove(k, container, *op.path, op)
	}
	return s.applyPath(k, container, op.op, *op.path, op.value)
}

func (s *Sim) applyPath(k kind, container map[string]any, verb string, p path, value any) *scimError {
	if strings.EqualFold(p.attr, "id") || strings.EqualFold(p.attr, "meta") {
		return errorf(http.StatusBadRequest, "mutability", "%s is read-only", p.attr)
	}
	if p.filter != nil {
		return s.applyFiltered(container, p, value)
	}
	if p.sub != "" {
		parent := obj(container, p.attr)
		if parent == nil {
			parent = map[string]any{}
		}
		set(parent, p.sub, value)
		set(container, p.attr, parent)
		return nil
	}
	current, exists := get(container, p.attr)
	_, multi := current.([]any)
	if k == kindGroups && strings.EqualFold(p.attr, "members") {
		multi = true
	}
	switch {
	case verb == "add" && multi:
		set(container, p.attr, append(asList(current), asList(value)...))
	case verb == "add" && !exists:
		set(container, p.attr, value)
	case multi:
		set(container, p.attr, asList(value))
	default:
		set(container, p.attr, mergeComplex(current, value))
	}
	return nil
}

// mergeComplex replaces a value; a complex value given for a complex
// attribute updates only the sub-attributes it names.
func mergeComplex(current, value any) any {
	cur, curOK := current.(map[string]any)
	val, valOK := value.(map[string]any)
	if !curOK || !valOK {
		return value
	}
	for k, v := range val {
		set(cur, k, v)
	}
	return cur
}

func (s *Sim) applyFiltered(container map[string]any, p path, value any) *scimError {
	elems := list(container, p.attr)
	hit := false
	for i, e := range elems {
		m := asObj(e)
		if m == nil || !matches(m, "", p.filter) {
			continue
		}
		hit = true
		if p.sub != "" {
			set(m, p.sub, value)
		} else {
			elems[i] = mergeComplex(m, value)
		}
	}
	if !hit {
		return errorf(http.StatusBadRequest, "noTarget", "the filter matched no value")
	}
	return nil
}

func (s *Sim) remove(k kind, container map[string]any, p path, op patchOp) *scimError {
	if p.filter == nil {
		if op.has && op.value != nil {
			// The form authentik needs: remove the listed values.
			var drop []string
			for _, v := range asList(op.value) {
				drop = append(drop, memberValue(v))
			}
			kept := slices.DeleteFunc(slices.Clone(list(container, p.attr)), func(e any) bool {
				return slices.Contains(drop, memberValue(e))
			})
			set(container, p.attr, kept)
			return nil
		}
		if p.sub != "" {
			del(obj(container, p.attr), p.sub)
			return nil
		}
		del(container, p.attr)
		return nil
	}
	if k == kindGroups && strings.EqualFold(p.attr, "members") && s.opts.FilteredMemberRemoveIgnored {
		return nil
	}
	elems := list(container, p.attr)
	kept := slices.DeleteFunc(slices.Clone(elems), func(e any) bool {
		m := asObj(e)
		return m != nil && matches(m, "", p.filter) && p.sub == ""
	})
	if p.sub != "" {
		hit := false
		for _, e := range elems {
			if m := asObj(e); m != nil && matches(m, "", p.filter) {
				del(m, p.sub)
				hit = true
			}
		}
		if !hit {
			return errorf(http.StatusBadRequest, "noTarget", "the filter matched no value")
		}
		return nil
	}
	if len(kept) == len(elems) {
		return errorf(http.StatusBadRequest, "noTarget", "the filter matched no value")
	}
	set(container, p.attr, kept)
	return nil
}
