package scim_test

import (
	"net/http"
	"testing"

	"github.com/personio-scim/personio-scim/scim"
	"github.com/personio-scim/personio-scim/store"
)

func TestServiceProviderConfig(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{MaxResults: 500})
	spc := h.get("/scim/v2/ServiceProviderConfig").expect(t, http.StatusOK).body
	for feature, want := range map[string]bool{
		"patch": true, "filter": true, "sort": true, "etag": true, "bulk": false, "changePassword": false,
	} {
		if got := path(spc, feature, "supported"); got != want {
			t.Errorf("%s.supported = %v, want %v", feature, got, want)
		}
	}
	if got := path(spc, "filter", "maxResults"); got != float64(500) {
		t.Errorf("filter.maxResults = %v", got)
	}
	if str(spc, "documentationUri") == "" {
		t.Error("no documentationUri")
	}
	var types []string
	for _, s := range spc["authenticationSchemes"].([]any) {
		types = append(types, str(s.(map[string]any), "type"))
	}
	if len(types) != 2 || types[0] != "oauthbearertoken" || types[1] != "httpbasic" {
		t.Errorf("authenticationSchemes %v", types)
	}
	if got := str(spc, "meta", "location"); got != base+"/ServiceProviderConfig" {
		t.Errorf("meta.location %q", got)
	}
}

// TestSchemas checks that /Schemas tells clients what they can change:
// the configured writable attributes are readWrite, the rest readOnly.
func TestSchemas(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{Writable: []string{store.AttrTitle, store.AttrGivenName}})
	res := h.get("/scim/v2/Schemas").expect(t, http.StatusOK)
	docs := res.resources(t)
	if len(docs) != 3 {
		t.Fatalf("%d schemas, want User, EnterpriseUser and Group", len(docs))
	}
	user := h.get("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").expect(t, http.StatusOK).body
	mut := map[string]string{}
	sub := map[string]string{}
	for _, a := range user["attributes"].([]any) {
		am := a.(map[string]any)
		mut[str(am, "name")] = str(am, "mutability")
		if subs, ok := am["subAttributes"].([]any); ok {
			for _, s := range subs {
				sm := s.(map[string]any)
				sub[str(am, "name")+"."+str(sm, "name")] = str(sm, "mutability")
			}
		}
	}
	want := map[string]string{
		"userName": "readOnly", "title": "readWrite", "active": "readOnly", "emails": "readOnly",
		"groups": "readOnly", "password": "writeOnly", "name": "readWrite",
	}
	for name, m := range want {
		if mut[name] != m {
			t.Errorf("%s is %q, want %q", name, mut[name], m)
		}
	}
	if sub["name.givenName"] != "readWrite" || sub["name.familyName"] != "readOnly" {
		t.Errorf("name sub-attributes %v", sub)
	}
	for _, absent := range []string{"addresses", "ims", "x509Certificates", "entitlements"} {
		if _, ok := mut[absent]; ok {
			t.Errorf("%s is published but not served", absent)
		}
	}
	h.get("/scim/v2/Schemas/urn:example:nothing").expectError(t, http.StatusNotFound, "")
	if got := str(user, "meta", "location"); got != base+"/Schemas/urn:ietf:params:scim:schemas:core:2.0:User" {
		t.Errorf("meta.location %q", got)
	}
}

func TestResourceTypes(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{})
	res := h.get("/scim/v2/ResourceTypes").expect(t, http.StatusOK)
	types := res.resources(t)
	if len(types) != 2 || str(types[0], "endpoint") != "/Users" || str(types[1], "endpoint") != "/Groups" {
		t.Fatalf("resource types %v", types)
	}
	ext := types[0]["schemaExtensions"].([]any)[0].(map[string]any)
	if ext["schema"] != enterpriseURN || ext["required"] != false {
		t.Errorf("user extension %v", ext)
	}
	one := h.get("/scim/v2/ResourceTypes/Group").expect(t, http.StatusOK).body
	if str(one, "schema") != "urn:ietf:params:scim:schemas:core:2.0:Group" {
		t.Errorf("group resource type %v", one)
	}
	h.get("/scim/v2/ResourceTypes/Device").expectError(t, http.StatusNotFound, "")
}
