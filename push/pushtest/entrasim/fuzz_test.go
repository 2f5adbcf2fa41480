package entrasim

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseFilter: any $filter either parses or is refused; none panics,
// and a parsed one can be evaluated.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"jobId eq 'API2AAD.x'",
		"jobid eq 'a' and sourceIdentity/id eq '1042'",
		"statusInfo/status eq 'failure' and activityDateTime ge 2022-10-10T09:47:34Z",
		"activityDateTime lt '2026-01-01T00:00:00Z'",
		"sourceIdentity/id eq 'o''brien'",
		"jobId eq 'a and b'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		match, err := parseFilter(filter)
		if err != nil {
			return
		}
		match("job", "sp", &entry{SourceID: "1", Status: "success", At: time.Unix(0, 0)})
	})
}

// FuzzParseBulk: any body either becomes records with an externalId or is
// refused with an error; none panics.
func FuzzParseBulk(f *testing.F) {
	f.Add(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","bulkId":"1","path":"/Users","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"1","active":true,"name":{"givenName":"A"},"emails":[{"type":"work","value":"a@x"}]}}]}`)
	f.Add(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","bulkId":"1","path":"/Users","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:personio:1.0:User"],"externalId":"1","urn:ietf:params:scim:schemas:extension:personio:1.0:User":{"x":[1]}}}]}`)
	f.Add(`{"Operations":null}`)
	s := New(Options{})
	f.Fuzz(func(t *testing.T, body string) {
		recs, err := s.parseBulk(strings.NewReader(body))
		if err != nil {
			return
		}
		if len(recs) == 0 || len(recs) > maxOperations {
			t.Fatalf("%d records accepted", len(recs))
		}
		for _, r := range recs {
			if r.ExternalID == "" {
				t.Fatal("a record without externalId was accepted")
			}
		}
	})
}
