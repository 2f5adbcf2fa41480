package googlesim

import (
	"errors"
	"strings"
)

// parseQuery compiles a users.list query: clauses `field op value`
// separated by spaces, all of which must hold. op is = (exact) or :
// (prefix when the value ends in *, else exact); values may be quoted.
func parseQuery(q string) (func(*user) bool, error) {
	clauses, err := splitClauses(q)
	if err != nil {
		return nil, err
	}
	var tests []func(*user) bool
	for _, c := range clauses {
		i := strings.IndexAny(c, "=:")
		if i <= 0 {
			return nil, errors.New("query clause " + c)
		}
		field, value := c[:i], unquote(c[i+1:])
		t, err := clauseTest(field, value)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return func(u *user) bool {
		for _, t := range tests {
			if !t(u) {
				return false
			}
		}
		return true
	}, nil
}

func clauseTest(field, value string) (func(*user) bool, error) {
	switch field {
	case "externalId":
		return func(u *user) bool { return hasExternalID(u, value) }, nil
	case "email":
		return func(u *user) bool {
			if textMatch(u.str("primaryEmail"), value) {
				return true
			}
			for _, a := range u.aliases {
				if textMatch(a, value) {
					return true
				}
			}
			return false
		}, nil
	case "givenName", "familyName":
		return func(u *user) bool { return textMatch(u.name(field), value) }, nil
	case "isSuspended":
		want := strings.EqualFold(value, "true")
		return func(u *user) bool { return u.suspended() == want }, nil
	case "orgUnitPath":
		return func(u *user) bool {
			ou := u.str("orgUnitPath")
			if ou == "" {
				ou = "/"
			}
			return strings.EqualFold(ou, value)
		}, nil
	case "manager", "directManager":
		return func(u *user) bool { return strings.EqualFold(u.manager(), value) }, nil
	}
	return nil, errors.New("query field " + field)
}

func hasExternalID(u *user, value string) bool {
	ids, _ := u.data["externalIds"].([]any)
	for _, e := range ids {
		m, _ := e.(map[string]any)
		if v, _ := m["value"].(string); v == value {
			return true
		}
	}
	return false
}

func textMatch(have, want string) bool {
	if prefix, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(lower(have), lower(prefix))
	}
	return strings.EqualFold(have, want)
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// splitClauses splits at spaces outside quotes.
func splitClauses(q string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	for _, r := range q {
		switch {
		case quote != 0:
			cur.WriteRune(r)
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
			cur.WriteRune(r)
		case r == ' ':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote in query")
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}
