package scimsim

import (
	"strings"
	"testing"
)

// Filters and PATCH paths come from clients; parsing them must never
// panic, and what parses must be usable.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{`userName eq "a@b.c"`, `externalId eq "1" or externalId eq "2"`, `value eq "x\"y"`, `active eq true`, `a eq`, `eq eq eq`, `x eq "` + strings.Repeat("a", 3000) + `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := parseFilter(s)
		if err != nil {
			return
		}
		if len(terms) == 0 {
			t.Fatalf("%q parsed to no terms", s)
		}
		matches(map[string]any{"userName": "x"}, "id", terms)
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{`members[value eq "x"]`, `emails[type eq "work"].value`, `name.givenName`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, `urn:x`, `a[`, `]`, `a[b eq "c"].`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePath(s)
		if err != nil {
			return
		}
		if p.attr == "" {
			t.Fatalf("%q parsed without an attribute", s)
		}
		sim := New(Options{})
		attrs := map[string]any{"members": []any{map[string]any{"value": "x"}}, "name": map[string]any{"givenName": "g"}}
		for _, op := range []string{"add", "replace", "remove"} {
			_ = sim.applyOp(kindGroups, deepCopy(attrs), patchOp{op: op, path: &p, value: "v", has: true})
		}
	})
}
