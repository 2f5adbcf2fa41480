package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// TestResponsesMatchTheirSchemas answers real requests from a synced stack
// and validates each answer (status, media type, body) against the
// operation that openapi.yaml documents for it.
func TestResponsesMatchTheirSchemas(t *testing.T) {
	s := newStack(t, 30, "")
	if a := s.do("POST", "/api/v1/sync", adminToken, ""); a.status != http.StatusOK {
		t.Fatalf("sync: %d %s", a.status, a.body)
	}
	spec := s.do("GET", "/api/v1/openapi.yaml", adminToken, "")
	doc, err := openapi3.NewLoader().LoadFromData(spec.body)
	if err != nil {
		t.Fatal(err)
	}
	runID := firstID(t, s.do("GET", "/api/v1/sync/runs", adminToken, "").body, "id")
	identityID := firstID(t, s.do("GET", "/api/v1/identities?limit=1", adminToken, "").body, "id")
	groupID := firstID(t, s.do("GET", "/api/v1/groups?limit=1", adminToken, "").body, "id")
	cases := []struct{ method, docPath, path string }{
		{"GET", "/status", "/status"},
		{"GET", "/sync/runs", "/sync/runs"},
		{"GET", "/sync/runs/{id}", "/sync/runs/" + runID},
		{"GET", "/sync/runs/{id}", "/sync/runs/no-such-run"},
		{"POST", "/sync", "/sync?dry_run=true"},
		{"GET", "/identities", "/identities?limit=5"},
		{"GET", "/identities/{id}", "/identities/" + identityID},
		{"GET", "/identities/{id}", "/identities/no-such-identity"},
		{"GET", "/groups", "/groups?limit=5"},
		{"GET", "/groups/{id}", "/groups/" + groupID},
		{"GET", "/audit", "/audit?limit=5"},
		{"GET", "/targets", "/targets"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			item := doc.Paths.Find(c.docPath)
			if item == nil || item.GetOperation(c.method) == nil {
				t.Fatalf("openapi.yaml has no %s %s", c.method, c.docPath)
			}
			a := s.do(c.method, "/api/v1"+c.path, adminToken, "")
			req, _ := http.NewRequest(c.method, "http://test/api/v1"+c.path, nil)
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req,
					Route: &routers.Route{Spec: doc, Path: c.docPath, PathItem: item, Method: c.method, Operation: item.GetOperation(c.method)}},
				Status: a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body)),
				Options: &openapi3filter.Options{IncludeResponseStatus: true},
			}
			if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
				t.Errorf("%d answer does not match openapi.yaml: %v\n%s", a.status, err, a.body)
			}
			var body any
			if err := json.Unmarshal(a.body, &body); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if key := pascalKey(body); key != "" {
				t.Errorf("answer carries the Go field name %q; the API's keys are snake_case or SCIM's camelCase", key)
			}
		})
	}
}

// firstID reads the key of the first item of a listing.
func firstID(t *testing.T, body []byte, key string) string {
	t.Helper()
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Items) == 0 {
		t.Fatalf("listing without items (%v): %s", err, body)
	}
	id, _ := list.Items[0][key].(string)
	return id
}

// pascalKey finds a key that starts with an upper-case letter anywhere in a
// JSON value: a Go struct encoded without its json tags.
func pascalKey(v any) string {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k != "" && k[0] >= 'A' && k[0] <= 'Z' {
				return k
			}
			if key := pascalKey(e); key != "" {
				return key
			}
		}
	case []any:
		for _, e := range v {
			if key := pascalKey(e); key != "" {
				return key
			}
		}
	}
	return ""
}
