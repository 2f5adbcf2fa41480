package push_test

import (
	"testing"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// TestRulesSeeOfficeAndSource: an OU or a scope often follows the office,
// which is no identity attribute; expressions read it, and every other kept
// Personio field, from the source record.
func TestRulesSeeOfficeAndSource(t *testing.T) {
	id := &store.Identity{ID: "u1", PersonioID: "7", Source: map[string]string{"office": "Berlin", "legal_entity": "ACME GmbH"}}
	id.Department = "Engineering"
	cases := []struct {
		name, scope, mapping, want string
		inScope                    bool
	}{
		{"office in a mapping", "", `"OU=" + office + ",DC=example,DC=com"`, "OU=Berlin,DC=example,DC=com", true},
		{"source field in a mapping", "", `source["legal_entity"]`, "ACME GmbH", true},
		{"office in a scope", `office == "Munich"`, `"x"`, "", false},
		{"missing source key", "", `"legal_entity" in source ? "yes" : "no"`, "yes", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules, err := push.CompileRules(c.scope, map[string]string{"ou": c.mapping})
			if err != nil {
				t.Fatal(err)
			}
			in, mapped, err := rules.Evaluate(id, nil)
			if err != nil {
				t.Fatal(err)
			}
			if in != c.inScope || (in && mapped["ou"] != c.want) {
				t.Errorf("in scope %v, ou %q; want %v, %q", in, mapped["ou"], c.inScope, c.want)
			}
		})
	}
	t.Run("no source record", func(t *testing.T) {
		rules, err := push.CompileRules("", map[string]string{"ou": `office == "" ? "/" : office`})
		if err != nil {
			t.Fatal(err)
		}
		if _, mapped, err := rules.Evaluate(&store.Identity{ID: "u2"}, nil); err != nil || mapped["ou"] != "/" {
			t.Errorf("ou %q, err %v; want the default for a person without a source", mapped["ou"], err)
		}
	})
}
