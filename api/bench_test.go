package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// BenchmarkRouterLookup is Okta's existence check through the whole
// router (request log, metrics, authentication, SCIM) without the network,
// for time and allocations per request.
func BenchmarkRouterLookup(b *testing.B) {
	st := memory.New(memory.Options{})
	defer st.Close()
	cs := store.ChangeSet{Actor: "sync", Cause: "bench"}
	for i := range 10000 {
		pid := fmt.Sprint(10000 + i)
		id := store.Identity{ID: store.DefaultNamespace.IdentityID(pid), PersonioID: pid}
		id.UserName = fmt.Sprintf("user%05d@example.com", i)
		id.Email, id.ExternalID, id.DisplayName, id.Active = id.UserName, pid, "User "+pid, true
		id.Lifecycle.State = store.StateActive
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpCreate, Identity: id})
	}
	if _, err := st.Apply(context.Background(), cs); err != nil {
		b.Fatal(err)
	}
	dir, _ := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	h, err := api.NewRouter(api.Options{Store: st, Directory: dir, SCIMToken: "scim-token-for-bench-0123456789"})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "user04242@example.com"`), nil)
	req.Header.Set("Authorization", "Bearer scim-token-for-bench-0123456789")
	req.Header.Set("Accept", "application/scim+json")
	b.ReportAllocs()
	for b.Loop() {
		routerLookup(b, h, req)
	}
}

// routerLookup is one request of BenchmarkRouterLookup, a function of its
// own so that callgrind can count the instructions inside it alone
// (--toggle-collect='*api_test.routerLookup').
//
//go:noinline
func routerLookup(b *testing.B, h http.Handler, req *http.Request) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatal(rec.Code)
	}
}
