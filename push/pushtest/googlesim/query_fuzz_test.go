package googlesim

import "testing"

// FuzzParseQuery: a users.list query is client input; parsing and
// matching it must never panic.
func FuzzParseQuery(f *testing.F) {
	for _, q := range []string{"externalId=1042", "email:ada* isSuspended=false", "givenName:'Ada Lo*'", "x", "=", "'", "orgUnitPath='/a b'"} {
		f.Add(q)
	}
	u := &user{data: map[string]any{
		"primaryEmail": "ada@example.com",
		"name":         map[string]any{"givenName": "Ada"},
		"externalIds":  []any{map[string]any{"type": "organization", "value": "1042"}, "junk"},
		"relations":    []any{map[string]any{"type": "manager", "value": 3}},
	}, aliases: []string{"a@example.com"}}
	f.Fuzz(func(t *testing.T, q string) {
		match, err := parseQuery(q)
		if err != nil {
			return
		}
		_ = match(u)
	})
}
