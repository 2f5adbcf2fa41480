package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/scim"
	"github.com/personio-scim/personio-scim/store"
)

// oktaHeaders are what Okta's SCIM 2.0 spec test sends on GET steps.
var oktaHeaders = []string{
	"Accept: application/scim+json",
	"Accept-Charset: utf-8",
	"Content-Type: application/scim+json; charset=utf-8",
	"User-Agent: OKTA SCIM Integration",
}

// TestOktaSpecTest re-implements the steps of Okta's published SCIM 2.0
// spec test (Okta-SCIM-20-SPEC-Test.json), adapted to the write policy:
// creating users is refused with 403 instead of answered with 201/409.
func TestOktaSpecTest(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{Writable: defaultWritable()})

	// Step 1: Test Users endpoint.
	res := h.get("/scim/v2/Users?count=1&startIndex=1", oktaHeaders...).expect(t, http.StatusOK)
	users := res.resources(t)
	if len(users) != 1 {
		t.Fatalf("step 1: %d resources, want 1", len(users))
	}
	first := users[0]
	requireUserFields(t, "step 1", first)
	id := str(first, "id")

	// Step 3: Get Users/{id}.
	res = h.get("/scim/v2/Users/"+id, oktaHeaders...).expect(t, http.StatusOK)
	requireUserFields(t, "step 3", res.body)
	if got := str(res.body, "id"); got != id {
		t.Errorf("step 3: id %q, want %q", got, id)
	}

	// Steps 5 and 9: filters that match nothing answer 200 with zero results.
	for _, email := range []string{"abcdefgh@atko.com", "Runscope123Abcdefghi123@atko.com"} {
		res = h.get("/scim/v2/Users?"+filterQuery(`userName eq "`+email+`"`), oktaHeaders...).expect(t, http.StatusOK)
		if res.resources(t); res.total() != 0 {
			t.Errorf("filter %s: totalResults %d, want 0", email, res.total())
		}
	}

	// Steps 7 and 23: unknown, non-UUID ids answer 404 with a SCIM error.
	for _, unknown := range []string{"010101001010101011001010101011", "00919288221112222"} {
		h.get("/scim/v2/Users/"+unknown, oktaHeaders...).expectError(t, http.StatusNotFound, "")
	}

	// Steps 11 and 15: create and duplicate create. People come from
	// Personio, so both are refused with a SCIM error naming that.
	create := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Runscope123Abcdefghi123@atko.com",
		"name":{"givenName":"Runscope123","familyName":"Abcdefghi123"},
		"emails":[{"primary":true,"value":"Runscope123Abcdefghi123@atko.com","type":"work"}],
		"displayName":"Runscope123 Abcdefghi123","active":true}`
	for range 2 {
		res = h.do(http.MethodPost, "/scim/v2/Users", create, "Content-Type: application/json").
			expectError(t, http.StatusForbidden, "")
		if !strings.Contains(res.detail(), "Personio") {
			t.Errorf("create refused with %q, want the detail to say people come from Personio", res.detail())
		}
	}

	// Step 17: userName filter in upper case.
	upper := strings.ToUpper(str(first, "userName"))
	res = h.get("/scim/v2/Users?"+filterQuery(`userName eq "`+upper+`"`), oktaHeaders...).expect(t, http.StatusOK)
	if got := res.resources(t); len(got) != 1 || str(got[0], "id") != id {
		t.Errorf("step 17: case-insensitive userName found %d users, want the one with id %s", len(got), id)
	}

	// Step 19: Groups endpoint.
	res = h.get("/scim/v2/Groups", oktaHeaders...).expect(t, http.StatusOK)
	if len(res.resources(t)) == 0 {
		t.Error("step 19: no groups")
	}

	// Step 21: Authorization: non-token gets a SCIM 401.
	res = h.get("/scim/v2/Users?"+filterQuery(`userName eq "`+upper+`"`), "Authorization: non-token").
		expectError(t, http.StatusUnauthorized, "")
	if res.header.Get("WWW-Authenticate") == "" {
		t.Error("step 21: 401 without WWW-Authenticate")
	}
}

func requireUserFields(t *testing.T, step string, u map[string]any) {
	t.Helper()
	for _, p := range [][]string{{"id"}, {"name", "familyName"}, {"name", "givenName"}, {"userName"}} {
		if str(u, p...) == "" {
			t.Errorf("%s: %s is empty", step, strings.Join(p, "."))
		}
	}
	if _, ok := u["active"].(bool); !ok {
		t.Errorf("%s: active is %T, want a boolean", step, u["active"])
	}
	emails, _ := u["emails"].([]any)
	if len(emails) == 0 || str(emails[0].(map[string]any), "value") == "" {
		t.Errorf("%s: emails[0].value is empty", step)
	}
}

// TestOktaImport pages through every user and group the way Okta's import
// does (count=100, startIndex+=100) and checks that the pages add up to
// the directory: nothing twice, nothing missing, totals stable, inactive
// people included.
func TestOktaImport(t *testing.T) {
	people := append(scim.CompanyPeople(), scim.SyntheticPeople(1234)...)
	h := newHarness(t, people, scim.Options{})
	state, err := h.st.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		endpoint string
		want     int
	}{
		{"Users", len(state.Identities)},
		{"Groups", len(state.Groups)},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			seen := map[string]bool{}
			inactive := 0
			for start := 1; ; start += 100 {
				res := h.get(fmt.Sprintf("/scim/v2/%s?startIndex=%d&count=100", tc.endpoint, start), oktaHeaders...).
					expect(t, http.StatusOK)
				page := res.resources(t)
				if res.total() != tc.want {
					t.Fatalf("startIndex %d: totalResults %d, want %d", start, res.total(), tc.want)
				}
				if got := int(res.body["startIndex"].(float64)); got != start {
					t.Fatalf("startIndex echoed as %d, want %d", got, start)
				}
				for _, r := range page {
					id := str(r, "id")
					if seen[id] {
						t.Fatalf("%s %s returned twice", tc.endpoint, id)
					}
					seen[id] = true
					if r["active"] == false {
						inactive++
					}
				}
				if start+100 > res.total() {
					if len(page) != res.total()-start+1 {
						t.Fatalf("last page has %d resources, want %d", len(page), res.total()-start+1)
					}
					break
				}
				if len(page) != 100 {
					t.Fatalf("page at %d has %d resources, want 100", start, len(page))
				}
			}
			if len(seen) != tc.want {
				t.Fatalf("imported %d %s, want %d", len(seen), tc.endpoint, tc.want)
			}
			if tc.endpoint == "Users" {
				// Two inactive people in the company, one in ten synthetic ones.
				if want := 2 + 124; inactive != want {
					t.Errorf("%d inactive users imported, want %d", inactive, want)
				}
				for _, i := range state.Identities {
					if !seen[i.ID] {
						t.Errorf("user %s missing from the import", i.ID)
					}
				}
			}
		})
	}
}

// TestOktaProvisioning covers the requests Okta sends when it provisions
// to the app (section 1.2 of the client notes) against the write policy.
func TestOktaProvisioning(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{Writable: defaultWritable()})
	zoe := scim.PersonID("1002")

	t.Run("existence check with Okta's encoding", func(t *testing.T) {
		res := h.get("/scim/v2/Users?filter=userName%20eq%20%22zoe.schaefer%40example.de%22&startIndex=1&count=100").
			expect(t, http.StatusOK)
		if got := res.resources(t); len(got) != 1 || str(got[0], "id") != zoe {
			t.Fatalf("found %v, want Zoë", got)
		}
	})

	t.Run("deactivate is refused: active comes from Personio", func(t *testing.T) {
		before := h.lastSeq()
		res := h.do(http.MethodPatch, "/scim/v2/Users/"+zoe,
			`{`+patchOp+`,"Operations":[{"op":"replace","value":{"active":false}}]}`).
			expectError(t, http.StatusBadRequest, "mutability")
		if !strings.Contains(res.detail(), "active") {
			t.Errorf("detail %q does not name active", res.detail())
		}
		if len(h.changes(before)) != 0 {
			t.Error("a refused PATCH wrote to the change log")
		}
		if !h.identity("1002").Active {
			t.Error("Zoë was deactivated")
		}
	})

	t.Run("profile update with PUT of the unchanged body succeeds and writes nothing", func(t *testing.T) {
		before := h.lastSeq()
		cur := h.get("/scim/v2/Users/"+zoe).expect(t, http.StatusOK)
		body := cur.body
		body["password"] = "t1meMa$heen"
		res := h.do(http.MethodPut, "/scim/v2/Users/"+zoe, mustJSON(t, body)).expect(t, http.StatusOK)
		if strings.Contains(res.raw, "t1meMa$heen") || res.body["password"] != nil {
			t.Error("the password was echoed")
		}
		if len(h.changes(before)) != 0 {
			t.Error("an unchanged PUT wrote to the change log")
		}
		if res.header.Get("ETag") != cur.header.Get("ETag") {
			t.Error("an unchanged PUT changed the ETag")
		}
	})

	t.Run("PUT changing a writable attribute stores an override", func(t *testing.T) {
		before := h.lastSeq()
		body := h.get("/scim/v2/Users/"+zoe).expect(t, http.StatusOK).body
		body["title"] = "Staff Engineer"
		res := h.do(http.MethodPut, "/scim/v2/Users/"+zoe, mustJSON(t, body)).expect(t, http.StatusOK)
		if got := str(res.body, "title"); got != "Staff Engineer" {
			t.Errorf("title %q after PUT", got)
		}
		stored := h.identity("1002")
		if stored.Title != "Staff Engineer" || stored.Overrides[store.AttrTitle] != "Staff Engineer" {
			t.Errorf("stored title %q, override %q", stored.Title, stored.Overrides[store.AttrTitle])
		}
		cs := h.changes(before)
		if len(cs) != 1 || cs[0].Actor != "scim:okta" || cs[0].Cause != "PUT /Users/"+zoe || cs[0].After[store.AttrTitle] != "Staff Engineer" {
			t.Errorf("change log %+v, want one row by scim:okta with the new title", cs)
		}
		if got := h.get("/scim/v2/Users/" + zoe).body; str(got, "title") != "Staff Engineer" {
			t.Error("the next read does not show the write")
		}
	})

	t.Run("PUT changing an HR attribute is refused naming it", func(t *testing.T) {
		body := h.get("/scim/v2/Users/"+zoe).expect(t, http.StatusOK).body
		body[enterpriseURN].(map[string]any)["department"] = "Marketing"
		res := h.do(http.MethodPut, "/scim/v2/Users/"+zoe, mustJSON(t, body)).
			expectError(t, http.StatusBadRequest, "mutability")
		if !strings.Contains(res.detail(), enterpriseURN+":department") {
			t.Errorf("detail %q does not name the department", res.detail())
		}
	})

	eng := groupID("department:Engineering")
	t.Run("group rename with the same name and Okta's id succeeds", func(t *testing.T) {
		res := h.do(http.MethodPatch, "/scim/v2/Groups/"+eng,
			`{`+patchOp+`,"Operations":[{"op":"replace","value":{"id":"`+eng+`","displayName":"Engineering"}}]}`).
			expect(t, http.StatusOK)
		if str(res.body, "displayName") != "Engineering" {
			t.Errorf("group %s", res.raw)
		}
	})

	t.Run("group rename to a new name is refused", func(t *testing.T) {
		h.do(http.MethodPatch, "/scim/v2/Groups/"+eng,
			`{`+patchOp+`,"Operations":[{"op":"replace","value":{"id":"`+eng+`","displayName":"Platform"}}]}`).
			expectError(t, http.StatusBadRequest, "mutability")
	})

	t.Run("membership push that changes members is refused", func(t *testing.T) {
		res := h.do(http.MethodPatch, "/scim/v2/Groups/"+eng, `{`+patchOp+`,"Operations":[
			{"op":"remove","path":"members[value eq \"`+zoe+`\"]"},
			{"op":"add","path":"members","value":[{"value":"`+scim.PersonID("1003")+`","display":"bjoern.weiss@example.de"}]}]}`).
			expectError(t, http.StatusBadRequest, "mutability")
		if !strings.Contains(res.detail(), "members") {
			t.Errorf("detail %q does not name members", res.detail())
		}
	})

	t.Run("membership push of existing members succeeds", func(t *testing.T) {
		h.do(http.MethodPatch, "/scim/v2/Groups/"+eng, `{`+patchOp+`,"Operations":[
			{"op":"add","path":"members","value":[{"value":"`+zoe+`","display":"zoe.schaefer@example.de"}]}]}`).
			expect(t, http.StatusOK)
	})

	t.Run("link group by displayName", func(t *testing.T) {
		res := h.get("/scim/v2/Groups?filter=displayName%20eq%20%22Engineering%22&startIndex=1&count=100").expect(t, http.StatusOK)
		if got := res.resources(t); len(got) != 1 || str(got[0], "id") != eng {
			t.Errorf("found %v", got)
		}
	})

	t.Run("group create and delete are refused", func(t *testing.T) {
		h.do(http.MethodPost, "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}`).
			expectError(t, http.StatusForbidden, "")
		h.do(http.MethodDelete, "/scim/v2/Groups/"+eng, "").expectError(t, http.StatusForbidden, "")
		h.do(http.MethodDelete, "/scim/v2/Users/"+zoe, "").expectError(t, http.StatusForbidden, "")
	})
}
