package scim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/scim"
)

// TestClientFilterForms covers filters real clients build that RFC 7644's
// grammar does not quite allow, or that JSON encoders spell differently.
func TestClientFilterForms(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{})
	tests := []struct {
		name, filter string
		want         []string // userNames
	}{
		{"PATCH-path form of a value filter", `emails[type eq "work"].value eq "zoe.schaefer@example.de"`, []string{"zoe.schaefer@example.de"}},
		{"PATCH-path form, no match", `emails[type eq "home"].value eq "zoe.schaefer@example.de"`, nil},
		{"PATCH-path form inside a logical filter", `active eq true and emails[type eq "work"].value co "oemer"`, []string{"oemer.yildiz@example.de"}},
		{"PATCH-path form with pr", `phoneNumbers[type eq "work"].value pr`, []string{"juergen.mueller@example.de"}},
		{"lower-case unicode escape", `name.givenName eq "J\u00fcrgen"`, []string{"juergen.mueller@example.de"}},
		{"upper-case unicode escape", `name.givenName eq "J\u00FCrgen"`, []string{"juergen.mueller@example.de"}},
		{"lower-case escape of a non-letter", `name.familyName eq "Wei\u00df"`, []string{"bjoern.weiss@example.de"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.get("/scim/v2/Users?"+filterQuery(tt.filter)).expect(t, http.StatusOK)
			var got []string
			for _, u := range res.resources(t) {
				got = append(got, str(u, "userName"))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("found %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("a bracket inside a string is not a value path", func(t *testing.T) {
		h.get("/scim/v2/Users?"+filterQuery(`displayName eq "a].b eq"`)).expect(t, http.StatusOK)
	})
}

// TestPatchMutability covers PATCH operations that must be refused with
// mutability, and null as "unassigned".
func TestPatchMutability(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{Writable: defaultWritable()})
	zoe := "/scim/v2/Users/" + scim.PersonID("1002")
	eng := "/scim/v2/Groups/" + groupID("department:Engineering")
	patch := func(target, ops string) response {
		t.Helper()
		return h.do(http.MethodPatch, target, `{`+patchOp+`,"Operations":`+ops+`}`)
	}

	t.Run("replace with null clears a writable attribute", func(t *testing.T) {
		res := patch(zoe, `[{"op":"replace","path":"title","value":null}]`).expect(t, http.StatusOK)
		if _, ok := res.body["title"]; ok {
			t.Errorf("title still served: %s", res.raw)
		}
		if got := h.identity("1002").Title; got != "" {
			t.Errorf("stored title %q, want it cleared", got)
		}
	})
	t.Run("path-less null clears a writable attribute", func(t *testing.T) {
		patch(zoe, `[{"op":"replace","path":"nickName","value":"Zo"}]`).expect(t, http.StatusOK)
		patch(zoe, `[{"op":"replace","value":{"nickName":null}}]`).expect(t, http.StatusOK)
		if got := h.identity("1002").NickName; got != "" {
			t.Errorf("stored nickName %q, want it cleared", got)
		}
	})
	refused := []struct{ name, target, ops string }{
		{"replace with null on an HR-owned attribute", zoe, `[{"op":"replace","path":"displayName","value":null}]`},
		{"add to a user's groups", zoe, `[{"op":"add","path":"groups","value":[{"value":"` + groupID("department:Sales") + `"}]}]`},
		{"remove from a user's groups", zoe, `[{"op":"remove","path":"groups"}]`},
		{"group id by path-less replace", eng, `[{"op":"replace","value":{"id":"another-id","displayName":"Engineering"}}]`},
		{"group id by path", eng, `[{"op":"replace","path":"id","value":"another-id"}]`},
		{"user id by path-less replace", zoe, `[{"op":"replace","value":{"id":"another-id"}}]`},
	}
	for _, tt := range refused {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			before := h.lastSeq()
			patch(tt.target, tt.ops).expectError(t, http.StatusBadRequest, "mutability")
			if len(h.changes(before)) != 0 {
				t.Error("a refused PATCH changed something")
			}
		})
	}
	t.Run("Okta's group rename with its own id is accepted", func(t *testing.T) {
		id := groupID("department:Engineering")
		patch(eng, `[{"op":"replace","value":{"id":"`+id+`","displayName":"Engineering"}}]`).expect(t, http.StatusOK)
	})
}

// TestRequestShapes covers URL and header forms of real clients.
func TestRequestShapes(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{})
	t.Run("trailing slash on a collection lists it", func(t *testing.T) {
		res := h.get("/scim/v2/Users/?"+filterQuery(`userName eq "zoe.schaefer@example.de"`)).expect(t, http.StatusOK)
		if got := res.resources(t); len(got) != 1 {
			t.Errorf("found %d users, want 1", len(got))
		}
		if n := len(h.get("/scim/v2/Groups/").expect(t, http.StatusOK).resources(t)); n == 0 {
			t.Error("no groups listed")
		}
	})
	one := "/scim/v2/Users/" + scim.PersonID("1002")
	media := []struct{ name, accept, want string }{
		{"application/json", "application/json", "application/json"},
		{"application/json with charset", "application/json; charset=utf-8", "application/json"},
		{"scim+json", "application/scim+json", "application/scim+json"},
		{"both, scim first", "application/scim+json, application/json", "application/scim+json"},
		{"both, json preferred by q", "application/scim+json;q=0.5, application/json", "application/json"},
		{"anything", "*/*", "application/scim+json"},
		{"none", "Accept:", "application/scim+json"},
	}
	for _, tt := range media {
		t.Run("Accept "+tt.name, func(t *testing.T) {
			accept := "Accept: " + tt.accept
			if strings.HasSuffix(tt.accept, ":") {
				accept = tt.accept
			}
			for _, target := range []string{one, "/scim/v2/Users?count=1", "/scim/v2/Users/nope", "/scim/v2/ServiceProviderConfig"} {
				res := h.get(target, accept)
				if ct, _, _ := strings.Cut(res.header.Get("Content-Type"), ";"); ct != tt.want {
					t.Errorf("%s: Content-Type %q, want %q", target, res.header.Get("Content-Type"), tt.want)
				}
			}
		})
	}
	t.Run("Accept application/json on an authentication failure", func(t *testing.T) {
		res := h.get(one, "Accept: application/json", "Authorization: Bearer wrong")
		if res.code != http.StatusUnauthorized || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
			t.Errorf("status %d, Content-Type %q", res.code, res.header.Get("Content-Type"))
		}
	})
}

// TestWriteOnlyToken checks that a token with scim:write but not scim:read
// cannot read the directory through write responses.
func TestWriteOnlyToken(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{Writable: defaultWritable()})
	auth := "Authorization: Bearer " + writeOnlyToken
	zoe := "/scim/v2/Users/" + scim.PersonID("1002")
	eng := "/scim/v2/Groups/" + groupID("department:Engineering")
	writes := []struct{ name, method, target, body string }{
		{"no-op user PATCH", http.MethodPatch, zoe, `{` + patchOp + `,"Operations":[{"op":"replace","path":"title","value":"Backend Engineer"}]}`},
		{"user PATCH", http.MethodPatch, zoe, `{` + patchOp + `,"Operations":[{"op":"replace","path":"title","value":"Staff Engineer"}]}`},
		{"group PATCH", http.MethodPatch, eng, `{` + patchOp + `,"Operations":[{"op":"replace","value":{"displayName":"Engineering"}}]}`},
		{"user PUT", http.MethodPut, zoe, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"zoe.schaefer@example.de","title":"Lead"}`},
	}
	for _, tt := range writes {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(tt.method, tt.target, tt.body, auth)
			if res.code != http.StatusNoContent || res.raw != "" {
				t.Errorf("status %d, body %q; want 204 without a body", res.code, res.raw)
			}
		})
	}
	if got := h.identity("1002").Title; got != "Lead" {
		t.Errorf("title %q: the writes did not happen", got)
	}
	t.Run("reads stay closed", func(t *testing.T) {
		h.get(zoe, auth).expectError(t, http.StatusForbidden, "")
	})
	t.Run("a token with both scopes still gets the body", func(t *testing.T) {
		res := h.do(http.MethodPatch, zoe, `{`+patchOp+`,"Operations":[{"op":"replace","path":"title","value":"Lead"}]}`).expect(t, http.StatusOK)
		if str(res.body, "title") != "Lead" {
			t.Errorf("body %s", res.raw)
		}
	})
}
