package scim

import (
	"testing"

	scimlib "github.com/elimity-com/scim"
	fp "github.com/scim2/filter-parser/v2"
)

func TestNormalizePatch(t *testing.T) {
	const mgr = enterpriseURN + ":manager"
	tests := []struct {
		name, in, want string
	}{
		{"manager as a bare string",
			`{"schemas":["` + patchOpURN + `"],"Operations":[{"op":"Add","path":"` + mgr + `","value":"m1"}]}`,
			`{"Operations":[{"op":"Add","path":"` + mgr + `","value":{"value":"m1"}}],"schemas":["` + patchOpURN + `"]}`},
		{"unqualified manager path with a list",
			`{"schemas":["` + patchOpURN + `"],"Operations":[{"op":"Add","path":"manager","value":[{"value":"m1","$ref":null}]}]}`,
			`{"Operations":[{"op":"Add","path":"` + mgr + `","value":{"$ref":null,"value":"m1"}}],"schemas":["` + patchOpURN + `"]}`},
		{"nested extension object and unqualified keys in a path-less value",
			`{"schemas":["` + patchOpURN + `"],"operations":[{"op":"replace","value":{"` + enterpriseURN + `":{"department":"D","manager":"m2"},"division":"X","meta":{},"title":"T"}}]}`,
			`{"operations":[{"op":"replace","value":{"title":"T","` + enterpriseURN + `:department":"D","` + enterpriseURN + `:division":"X","` + mgr + `":{"value":"m2"}}}],"schemas":["` + patchOpURN + `"]}`},
		{"missing schemas", `{"Operations":[{"op":"replace","path":"title","value":"T"}]}`,
			`{"Operations":[{"op":"replace","path":"title","value":"T"}],"schemas":["` + patchOpURN + `"]}`},
		{"padded schemas and large numbers kept",
			`{"schemas":["` + patchOpURN + `","urn:x"],"Operations":[{"op":"replace","path":"title","value":12345678901234567890}]}`,
			`{"Operations":[{"op":"replace","path":"title","value":12345678901234567890}],"schemas":["` + patchOpURN + `"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(normalizePatch([]byte(tt.in))); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	for _, same := range []string{
		`{"schemas":["` + patchOpURN + `"],"Operations":[{"op":"replace","path":"title","value":"T"}]}`,
		`not json`, `[1,2]`, `null`,
	} {
		if got := string(normalizePatch([]byte(same))); got != same {
			t.Errorf("%s was rewritten to %s", same, got)
		}
	}
}

// TestWorkEntryOperations applies PATCH operations to the one work email an
// identity has.
func TestWorkEntryOperations(t *testing.T) {
	mustPath := func(s string) *fp.Path {
		p, err := fp.ParsePath([]byte(s))
		if err != nil {
			t.Fatalf("path %q: %v", s, err)
		}
		return &p
	}
	work := func(v string) map[string]any { return map[string]any{"value": v, "type": "work", "primary": true} }
	tests := []struct {
		name    string
		current string
		op      scimlib.PatchOperation
		want    string
		refused bool
	}{
		{"replace value by filter", "a@x", scimlib.PatchOperation{Op: "replace", Path: mustPath(`emails[type eq "work"].value`), Value: "b@x"}, "b@x", false},
		{"add by filter creates the work email", "", scimlib.PatchOperation{Op: "add", Path: mustPath(`emails[type eq "work"].value`), Value: "b@x"}, "b@x", false},
		{"other type cannot be stored", "a@x", scimlib.PatchOperation{Op: "add", Path: mustPath(`emails[type eq "home"].value`), Value: "h@x"}, "", true},
		{"filter without sub-attribute, wrapped value", "a@x", scimlib.PatchOperation{Op: "replace", Path: mustPath(`emails[type eq "work"]`), Value: []any{map[string]any{"value": "c@x"}}}, "c@x", false},
		{"list with the work entry", "a@x", scimlib.PatchOperation{Op: "replace", Path: mustPath(`emails`), Value: []any{work("d@x")}}, "d@x", false},
		{"list repeating the work value", "a@x", scimlib.PatchOperation{Op: "add", Path: mustPath(`emails`), Value: []any{work("a@x"), map[string]any{"value": "A@x", "type": "other"}}}, "a@x", false},
		{"list with a second address", "a@x", scimlib.PatchOperation{Op: "add", Path: mustPath(`emails`), Value: []any{work("a@x"), map[string]any{"value": "h@x", "type": "home"}}}, "", true},
		{"single untyped entry", "a@x", scimlib.PatchOperation{Op: "replace", Path: mustPath(`emails`), Value: []any{map[string]any{"value": "e@x"}}}, "e@x", false},
		{"emails.value", "a@x", scimlib.PatchOperation{Op: "replace", Path: mustPath(`emails.value`), Value: "f@x"}, "f@x", false},
		{"type cannot change", "a@x", scimlib.PatchOperation{Op: "replace", Path: mustPath(`emails[type eq "work"].type`), Value: "home"}, "", true},
		{"remove by filter", "a@x", scimlib.PatchOperation{Op: "remove", Path: mustPath(`emails[type eq "work"]`)}, "", false},
		{"remove by value list", "a@x", scimlib.PatchOperation{Op: "remove", Path: mustPath(`emails`), Value: []any{map[string]any{"value": "A@X"}}}, "", false},
		{"remove of another value", "a@x", scimlib.PatchOperation{Op: "remove", Path: mustPath(`emails`), Value: []any{map[string]any{"value": "z@x"}}}, "a@x", false},
		{"remove with a filter that selects nothing", "a@x", scimlib.PatchOperation{Op: "remove", Path: mustPath(`emails[type eq "home"]`)}, "a@x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a struct{ email string }
			a.email = tt.current
			p := tt.op.Path
			err := applyWorkEntry(&a.email, "emails", tt.op.Op, *p, tt.op.Value)
			if tt.refused {
				if err == nil {
					t.Fatalf("accepted, email now %q", a.email)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if a.email != tt.want {
				t.Errorf("email %q, want %q", a.email, tt.want)
			}
		})
	}
}
