package scimsim

import (
	"encoding/json"
	"errors"
	"strings"
)

// comparison is one `attr eq value` term. The simulator understands the
// subset of RFC 7644 filters push clients send: equality terms, joined by
// `or` (Keycloak's member removal form); anything else is invalidFilter.
type comparison struct {
	attr  string
	value any
}

const maxFilterLen = 2048

var errInvalidFilter = errors.New("invalid filter")

func parseFilter(f string) ([]comparison, error) {
	if len(f) > maxFilterLen {
		return nil, errInvalidFilter
	}
	var out []comparison
	rest := strings.TrimSpace(f)
	for {
		c, tail, err := parseComparison(rest)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		tail = strings.TrimSpace(tail)
		if tail == "" {
			return out, nil
		}
		next, ok := cutKeyword(tail, "or")
		if !ok {
			return nil, errInvalidFilter
		}
		rest = next
	}
}

func parseComparison(s string) (comparison, string, error) {
	s = strings.TrimLeft(s, " ")
	attr, rest, ok := strings.Cut(s, " ")
	if !ok || !validAttrPath(attr) {
		return comparison{}, "", errInvalidFilter
	}
	rest, ok = cutKeyword(rest, "eq")
	if !ok {
		return comparison{}, "", errInvalidFilter
	}
	rest = strings.TrimLeft(rest, " ")
	dec := json.NewDecoder(strings.NewReader(rest))
	var v any
	if err := dec.Decode(&v); err != nil {
		return comparison{}, "", errInvalidFilter
	}
	switch v.(type) {
	case string, bool, float64, nil:
	default:
		return comparison{}, "", errInvalidFilter
	}
	return comparison{attr: attr, value: v}, rest[dec.InputOffset():], nil
}

// cutKeyword removes a leading keyword (case-insensitive) followed by a space.
func cutKeyword(s, kw string) (string, bool) {
	s = strings.TrimLeft(s, " ")
	if len(s) <= len(kw) || !strings.EqualFold(s[:len(kw)], kw) || s[len(kw)] != ' ' {
		return "", false
	}
	return s[len(kw)+1:], true
}

func validAttrPath(a string) bool {
	if a == "" {
		return false
	}
	for _, r := range a {
		ok := r == '.' || r == ':' || r == '_' || r == '-' || r == '$' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// caseExact lists the attributes compared case-sensitively; the rest of
// SCIM's string attributes compare ignoring case.
var caseExact = map[string]bool{"externalid": true, "id": true, "value": true}

// matches says whether the element satisfies any of the comparisons.
func matches(elem map[string]any, id string, terms []comparison) bool {
	for _, t := range terms {
		var have any
		var ok bool
		if strings.EqualFold(t.attr, "id") && id != "" {
			have, ok = id, true
		} else {
			have, ok = lookupPath(elem, t.attr)
		}
		if !ok {
			if t.value == nil {
				return true
			}
			continue
		}
		if equal(have, t.value, caseExact[strings.ToLower(t.attr)]) {
			return true
		}
	}
	return false
}

func equal(have, want any, exact bool) bool {
	hs, hok := have.(string)
	ws, wok := want.(string)
	if hok && wok {
		if exact {
			return hs == ws
		}
		return strings.EqualFold(hs, ws)
	}
	return have == want
}

// lookupPath reads a dotted attribute path (name.givenName, or a path into
// an extension: urn:…:User:department).
func lookupPath(m map[string]any, path string) (any, bool) {
	p, err := parsePath(path)
	if err != nil || p.filter != nil {
		return nil, false
	}
	container := m
	if p.urn != "" {
		container = obj(m, p.urn)
	}
	v, ok := get(container, p.attr)
	if !ok || p.sub == "" {
		return v, ok
	}
	return get(asObj(v), p.sub)
}

// path is a PATCH path: [urn:]attr[[filter]][.sub].
type path struct {
	urn    string // an extension schema, empty for the core schema
	attr   string
	filter []comparison
	sub    string
}

var errInvalidPath = errors.New("invalid path")

func parsePath(s string) (path, error) {
	var p path
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToLower(s), "urn:") {
		// The attribute follows the schema URN's last colon; the URN itself
		// contains dots ("2.0"), so split there before looking for them.
		bracket := strings.IndexByte(s, '[')
		head := s
		if bracket >= 0 {
			head = s[:bracket]
		}
		i := strings.LastIndexByte(head, ':')
		p.urn, s = s[:i], s[i+1:]
		if strings.EqualFold(p.urn, schemaUser) || strings.EqualFold(p.urn, schemaGroup) {
			p.urn = ""
		}
	}
	if open := strings.IndexByte(s, '['); open >= 0 {
		closing := strings.LastIndexByte(s, ']')
		if closing < open {
			return path{}, errInvalidPath
		}
		terms, err := parseFilter(s[open+1 : closing])
		if err != nil {
			return path{}, errInvalidPath
		}
		p.filter = terms
		tail := s[closing+1:]
		s = s[:open]
		if tail != "" {
			sub, ok := strings.CutPrefix(tail, ".")
			if !ok || sub == "" {
				return path{}, errInvalidPath
			}
			p.sub = sub
		}
	} else if attr, sub, ok := strings.Cut(s, "."); ok {
		s, p.sub = attr, sub
	}
	if s == "" || !validAttrPath(s) || strings.ContainsAny(s, ".:") || (p.sub != "" && !validAttrPath(p.sub)) {
		return path{}, errInvalidPath
	}
	p.attr = s
	return p, nil
}
