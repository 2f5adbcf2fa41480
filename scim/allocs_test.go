package scim_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/personio-scim/personio-scim/scim"
)

// TestLookupAllocationBudget guards the userName lookup's fast path: parsed
// by hand and answered from the directory's index, it allocates about 25
// times per request; through the general filter parser the same lookup
// makes about 2,400.
// The budget has room for small changes, not for losing the fast path.
func TestLookupAllocationBudget(t *testing.T) {
	people := append(scim.CompanyPeople(), scim.SyntheticPeople(500)...)
	st, dir := scim.NewFixtureStore(t, people)
	h, err := scim.NewHandler(dir, st, scim.Options{BasePath: "/"})
	if err != nil {
		t.Fatal(err)
	}
	target := "/Users?filter=" + url.QueryEscape(`userName eq "`+dir.View().Identities()[7].UserName+`"`)
	req := httptest.NewRequest(http.MethodGet, target, nil)
	allocs := testing.AllocsPerRun(200, func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	})
	const budget = 80
	if allocs > budget {
		t.Fatalf("a userName lookup allocates %.0f times, over the budget of %d: did it lose the fast path?", allocs, budget)
	}
}
