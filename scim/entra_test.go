package scim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/scim"
	"github.com/personio-scim/personio-scim/store"
)

// TestEntraQueries sends the reads documented for Microsoft Entra's
// provisioning service and its SCIM validator, with the wire encodings
// they really use.
func TestEntraQueries(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{})
	eng := groupID("department:Engineering")
	zoe := scim.PersonID("1002")

	tests := []struct {
		name   string
		target string
		ids    []string // ids expected in Resources, in order
	}{
		{"validator encoding: + for space, literal quotes, %40",
			`/scim/v2/Users?filter=userName+eq+"zoe.schaefer%40example.de"`, []string{zoe}},
		{"different case", `/scim/v2/Users?filter=userName+eq+"Zoe.Schaefer%40Example.DE"`, []string{zoe}},
		{"test connection with a random GUID", `/scim/v2/Users?filter=userName+eq+"0d1b6b6a-7f5b-4bd6-8d4e-6f6c3d8e2c11"`, nil},
		{"externalId", `/scim/v2/Users?filter=externalId+eq+"1002"`, []string{zoe}},
		{"group by displayName excluding members",
			`/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+"Engineering"`, []string{eng}},
		{"group filter of a non-existing group", `/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+"Nope"`, nil},
		{"manager query with two clauses",
			`/scim/v2/Users?filter=id+eq+"` + zoe + `"+and+manager+eq+"` + scim.PersonID("1001") + `"&attributes=id`, []string{zoe}},
		{"group membership query", `/scim/v2/Groups?filter=id+eq+"` + eng + `"+and+members+eq+"` + zoe + `"&attributes=id`, []string{eng}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.get(tt.target).expect(t, http.StatusOK)
			got := res.resources(t)
			if tt.ids == nil && len(got) != 0 {
				t.Fatalf("got %d resources, want none", len(got))
			}
			for i, id := range tt.ids {
				if i >= len(got) || str(got[i], "id") != id {
					t.Fatalf("resource %d is %v, want %s", i, got, id)
				}
			}
		})
	}

	t.Run("inbound full sync pages with count=2", func(t *testing.T) {
		res := h.get(`/scim/v2/Users?filter=active+eq+true+and+(meta.lastModified+ge+"0001-01-03T00:00:00.0000000Z"+and+meta.lastModified+le+"2099-01-01T00:00:00.0000000Z")&count=2&startindex=1`).
			expect(t, http.StatusOK)
		if got := res.resources(t); len(got) != 2 || res.total() != 6 {
			t.Errorf("%d resources of %d, want 2 of the 6 active people", len(got), res.total())
		}
	})

	t.Run("excludedAttributes=members drops members", func(t *testing.T) {
		res := h.get(`/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+"Engineering"`).expect(t, http.StatusOK)
		if g := res.resources(t)[0]; g["members"] != nil || str(g, "displayName") != "Engineering" {
			t.Errorf("group %v", g)
		}
		one := h.get("/scim/v2/Groups/"+eng+"?excludedAttributes=members").expect(t, http.StatusOK)
		if one.body["members"] != nil {
			t.Error("GET by id kept members")
		}
	})

	t.Run("attributes=id returns id and schemas only", func(t *testing.T) {
		res := h.get(`/scim/v2/Groups?filter=id+eq+"`+eng+`"+and+members+eq+"`+zoe+`"&attributes=id`).expect(t, http.StatusOK)
		g := res.resources(t)[0]
		if len(g) != 2 || g["id"] != eng || g["schemas"] == nil {
			t.Errorf("group %v, want only id and schemas", g)
		}
	})

	t.Run("random id", func(t *testing.T) {
		h.get("/scim/v2/Users/6b1c1ca2-3e1b-4d6a-9a7e-2a1b0c9d8e7f").expectError(t, http.StatusNotFound, "")
		h.get("/scim/v2/Groups/6b1c1ca2-3e1b-4d6a-9a7e-2a1b0c9d8e7f").expectError(t, http.StatusNotFound, "")
	})
}

// TestEntraPatch sends Entra's PATCH dialects: capitalised ops, booleans
// as strings, value-filter paths, path-less maps with dotted and URN keys,
// the manager as a bare id, member changes as value lists.
func TestEntraPatch(t *testing.T) {
	writable := append(defaultWritable(), store.AttrManager)
	h := newHarness(t, scim.CompanyPeople(), scim.Options{Writable: writable})
	zoe := scim.PersonID("1002")
	jurgen := scim.PersonID("1001")
	omer := scim.PersonID("1004")
	eng := groupID("department:Engineering")
	patch := func(target, ops string) response {
		t.Helper()
		return h.do(http.MethodPatch, target, `{`+patchOp+`,"Operations":`+ops+`}`)
	}

	refused := []struct {
		name, ops, names string
	}{
		{"disable with a string boolean", `[{"op":"Replace","path":"active","value":"False"}]`, "active"},
		{"work email by value filter", `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"zoe@example.com"},
			{"op":"Replace","path":"name.familyName","value":"Schaefer"}]`, `emails[type eq "work"].value`},
		{"userName", `[{"op":"Replace","path":"userName","value":"zoe@example.com"}]`, "userName"},
		{"employeeNumber by URN path", `[{"op":"Replace","path":"` + enterpriseURN + `:employeeNumber","value":"42"}]`, enterpriseURN + ":employeeNumber"},
		{"path-less dotted keys", `[{"op":"Replace","value":{"name.givenName":"Zoey","title":"Lead"}}]`, "name.givenName"},
	}
	for _, tt := range refused {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			before := h.lastSeq()
			res := patch("/scim/v2/Users/"+zoe, tt.ops).expectError(t, http.StatusBadRequest, "mutability")
			if !strings.Contains(res.detail(), tt.names) {
				t.Errorf("detail %q does not name %s", res.detail(), tt.names)
			}
			if len(h.changes(before)) != 0 {
				t.Error("a refused PATCH changed something")
			}
		})
	}

	t.Run("writable attributes with capitalised ops", func(t *testing.T) {
		res := patch("/scim/v2/Users/"+zoe, `[{"op":"Replace","path":"title","value":"Principal Engineer"},
			{"op":"Add","path":"nickName","value":"Zo"},
			{"op":"Add","path":"phoneNumbers[type eq \"work\"].value","value":"+49 30 555"}]`).expect(t, http.StatusOK)
		if str(res.body, "title") != "Principal Engineer" || str(res.body, "nickName") != "Zo" {
			t.Errorf("response %s", res.raw)
		}
		stored := h.identity("1002")
		want := map[string]string{store.AttrTitle: "Principal Engineer", store.AttrNickName: "Zo", store.AttrPhone: "+49 30 555"}
		for k, v := range want {
			if stored.Overrides[k] != v {
				t.Errorf("override %s = %q, want %q", k, stored.Overrides[k], v)
			}
		}
	})

	t.Run("emptying a writable attribute hands it back to Personio", func(t *testing.T) {
		res := patch("/scim/v2/Users/"+zoe, `[{"op":"Remove","path":"nickName"},{"op":"Replace","path":"title","value":""}]`).
			expect(t, http.StatusOK)
		if res.body["nickName"] != nil || res.body["title"] != nil {
			t.Errorf("response %s", res.raw)
		}
		stored := h.identity("1002")
		if _, ok := stored.Overrides[store.AttrNickName]; ok {
			t.Error("the nickName override is still there")
		}
		if _, ok := stored.Overrides[store.AttrTitle]; ok {
			t.Error("the title override is still there")
		}
		if stored.Overrides[store.AttrPhone] != "+49 30 555" {
			t.Errorf("the phone override was lost: %v", stored.Overrides)
		}
	})

	t.Run("path-less replace that repeats HR values and changes a writable one", func(t *testing.T) {
		res := patch("/scim/v2/Users/"+zoe, `[{"op":"replace","value":{"name.givenName":"Zoë","`+enterpriseURN+`:department":"Engineering","title":"Architect","active":true}}]`).
			expect(t, http.StatusOK)
		if str(res.body, "title") != "Architect" {
			t.Errorf("title %q", str(res.body, "title"))
		}
	})

	t.Run("manager as a bare id", func(t *testing.T) {
		res := patch("/scim/v2/Users/"+zoe, `[{"op":"Add","path":"`+enterpriseURN+`:manager","value":"`+omer+`"}]`).expect(t, http.StatusOK)
		if got := str(res.body, enterpriseURN, "manager", "value"); got != omer {
			t.Errorf("manager %q, want %s", got, omer)
		}
		if got := str(res.body, enterpriseURN, "manager", "displayName"); got != "Ömer Yıldız" {
			t.Errorf("manager displayName %q", got)
		}
		if got := str(res.body, enterpriseURN, "manager", "$ref"); got != base+"/Users/"+omer {
			t.Errorf("manager $ref %q", got)
		}
	})

	t.Run("manager in the tutorial shape: unqualified path, list value", func(t *testing.T) {
		res := patch("/scim/v2/Users/"+zoe, `[{"op":"Add","path":"manager","value":[{"$ref":"`+base+`/Users/`+jurgen+`","value":"`+jurgen+`"}]}]`).
			expect(t, http.StatusOK)
		if got := str(res.body, enterpriseURN, "manager", "value"); got != jurgen {
			t.Errorf("manager %q, want %s", got, jurgen)
		}
	})

	t.Run("manager removed with an empty value", func(t *testing.T) {
		res := patch("/scim/v2/Users/"+zoe, `[{"op":"replace","path":"`+enterpriseURN+`:manager","value":{"value":""}}]`).expect(t, http.StatusOK)
		if path(res.body, enterpriseURN, "manager") != nil {
			t.Errorf("manager still set: %s", res.raw)
		}
		if h.identity("1002").Manager != "" {
			t.Error("stored manager not cleared")
		}
	})

	t.Run("manager that is not a user", func(t *testing.T) {
		patch("/scim/v2/Users/"+zoe, `[{"op":"Add","path":"`+enterpriseURN+`:manager","value":"not-a-user"}]`).
			expectError(t, http.StatusBadRequest, "invalidValue")
	})

	t.Run("manager is refused where it is not writable", func(t *testing.T) {
		ro := newHarness(t, scim.CompanyPeople(), scim.Options{})
		res := ro.do(http.MethodPatch, "/scim/v2/Users/"+zoe, `{`+patchOp+`,"Operations":[{"op":"Add","path":"`+enterpriseURN+`:manager","value":"`+omer+`"}]}`).
			expectError(t, http.StatusBadRequest, "mutability")
		if !strings.Contains(res.detail(), enterpriseURN+":manager") || !strings.Contains(res.detail(), "Nothing can be changed") {
			t.Errorf("detail %q", res.detail())
		}
	})

	t.Run("group: add an existing member with $ref null", func(t *testing.T) {
		patch("/scim/v2/Groups/"+eng, `[{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+zoe+`"}]}]`).expect(t, http.StatusOK)
	})

	t.Run("group: remove a member as a value list is refused", func(t *testing.T) {
		patch("/scim/v2/Groups/"+eng, `[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"`+zoe+`"}]}]`).
			expectError(t, http.StatusBadRequest, "mutability")
	})

	t.Run("group: remove a non-member changes nothing", func(t *testing.T) {
		patch("/scim/v2/Groups/"+eng, `[{"op":"Remove","path":"members","value":[{"value":"`+omer+`"}]},
			{"op":"remove","path":"members[value eq \"`+omer+`\"]"}]`).expect(t, http.StatusOK)
	})

	t.Run("group: replace displayName with the same value", func(t *testing.T) {
		patch("/scim/v2/Groups/"+eng, `[{"op":"Replace","path":"displayName","value":"Engineering"}]`).expect(t, http.StatusOK)
	})

	t.Run("group: externalId cannot be stored", func(t *testing.T) {
		patch("/scim/v2/Groups/"+eng, `[{"op":"replace","value":{"externalId":"0c9f8d3e-entra"}}]`).
			expectError(t, http.StatusBadRequest, "mutability")
	})

	t.Run("empty Operations is invalid", func(t *testing.T) {
		patch("/scim/v2/Users/"+zoe, `[]`).expectError(t, http.StatusBadRequest, "invalidValue")
	})

	t.Run("unknown attribute path is invalid", func(t *testing.T) {
		patch("/scim/v2/Users/"+zoe, `[{"op":"Replace","path":"addresses[type eq \"work\"].postalCode","value":"10115"}]`).
			expectError(t, http.StatusBadRequest, "invalidPath")
	})

	t.Run("user delete and create are refused", func(t *testing.T) {
		h.do(http.MethodDelete, "/scim/v2/Users/"+zoe, "").expectError(t, http.StatusForbidden, "")
		h.do(http.MethodPost, "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x@y.z","active":"True"}`).
			expectError(t, http.StatusForbidden, "")
	})
}
