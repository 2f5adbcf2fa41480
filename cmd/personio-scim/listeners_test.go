package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestListenersKeepTheAdminSideOffThePublicAddress: with ADMIN_LISTEN_ADDR
// set, the public address serves SCIM, webhooks and probes only, and the
// admin address the admin API, console and metrics only.
func TestListenersKeepTheAdminSideOffThePublicAddress(t *testing.T) {
	reached := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	s := &service{handler: reached, adminAddr: ":9090"}
	ls := s.listeners(":8080")
	if len(ls) != 2 {
		t.Fatalf("%d listeners, want 2", len(ls))
	}
	public, admin := ls[0].handler, ls[1].handler
	cases := []struct {
		path          string
		public, admin bool
	}{
		{"/scim/v2/Users", true, false},
		{"/scim/v2", true, false},
		{"/webhooks/personio", true, false},
		{"/healthz", true, true},
		{"/readyz", true, true},
		{"/api/v1/status", false, true},
		{"/admin/", false, true},
		{"/metrics", false, true},
		{"/scimx", false, false},
		{"/", false, false},
	}
	for _, c := range cases {
		for _, side := range []struct {
			name string
			h    http.Handler
			want bool
		}{{"public", public, c.public}, {"admin", admin, c.admin}} {
			rec := httptest.NewRecorder()
			side.h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
			if got := rec.Code == http.StatusTeapot; got != side.want {
				t.Errorf("%s on the %s address: served %v, want %v", c.path, side.name, got, side.want)
			}
		}
	}
	if one := (&service{handler: reached, adminAddr: ":8080"}).listeners(":8080"); len(one) != 1 {
		t.Errorf("the same address twice gave %d listeners", len(one))
	}
}
