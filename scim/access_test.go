package scim_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/scim"
)

// TestAccess checks the answers of the composed handler to missing, wrong
// and insufficient credentials: SCIM errors, WWW-Authenticate, and scopes
// that do not imply each other.
func TestAccess(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{Writable: defaultWritable()})
	zoe := "/scim/v2/Users/" + scim.PersonID("1002")
	titlePatch := `{` + patchOp + `,"Operations":[{"op":"replace","path":"title","value":"X"}]}`
	basic := func(user, pass string) string {
		return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}

	unauthorized := []struct{ name, header string }{
		{"no credentials", "Authorization:"},
		{"Okta's non-token", "Authorization: non-token"},
		{"unknown bearer token", "Authorization: Bearer pst_not-a-token"},
		{"empty bearer", "Authorization: Bearer "},
		{"Basic with a wrong password", basic("okta", "wrong")},
		{"Basic without a password", basic(writeToken, "")},
	}
	for _, tt := range unauthorized {
		t.Run(tt.name, func(t *testing.T) {
			res := h.get("/scim/v2/Users", tt.header).expectError(t, http.StatusUnauthorized, "")
			challenges := strings.Join(res.header.Values("WWW-Authenticate"), " | ")
			if !strings.Contains(challenges, "Bearer") || !strings.Contains(challenges, "Basic") {
				t.Errorf("WWW-Authenticate %q, want Bearer and Basic challenges", challenges)
			}
		})
	}

	t.Run("Basic with the token as password", func(t *testing.T) {
		h.get("/scim/v2/Users?count=1", basic("okta", writeToken)).expect(t, http.StatusOK)
	})
	t.Run("read-only token reads", func(t *testing.T) {
		h.get(zoe, "Authorization: Bearer "+readToken).expect(t, http.StatusOK)
	})
	t.Run("read-only token cannot write", func(t *testing.T) {
		res := h.do(http.MethodPatch, zoe, titlePatch, "Authorization: Bearer "+readToken).expectError(t, http.StatusForbidden, "")
		if !strings.Contains(res.detail(), "scim:write") {
			t.Errorf("detail %q does not name the missing scope", res.detail())
		}
	})
	t.Run("admin token does not open SCIM", func(t *testing.T) {
		h.get(zoe, "Authorization: Bearer "+adminToken).expectError(t, http.StatusForbidden, "")
	})
	t.Run("writes name the token in the change log", func(t *testing.T) {
		before := h.lastSeq()
		h.do(http.MethodPatch, zoe, titlePatch).expect(t, http.StatusOK)
		cs := h.changes(before)
		if len(cs) != 1 || cs[0].Actor != "scim:okta" || cs[0].Cause != "PATCH /Users/"+scim.PersonID("1002") {
			t.Errorf("change log %+v", cs)
		}
	})
	t.Run("body over the cap answers 413", func(t *testing.T) {
		small := newHarness(t, scim.CompanyPeople(), scim.Options{MaxBodyBytes: 512})
		big := `{` + patchOp + `,"Operations":[{"op":"replace","path":"title","value":"` + strings.Repeat("x", 600) + `"}]}`
		small.do(http.MethodPatch, zoe, big).expectError(t, http.StatusRequestEntityTooLarge, "")
		small.do(http.MethodPost, "/scim/v2/Users/.search", `{"filter":"`+strings.Repeat("x", 600)+`"}`).
			expectError(t, http.StatusRequestEntityTooLarge, "")
	})
}
