package api_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/api"
)

// TestMetricLabelsAreBounded: no request, authenticated or not, adds label
// values beyond the routes and methods the service serves, and SCIM
// resource types are told apart.
func TestMetricLabelsAreBounded(t *testing.T) {
	e := newEdge(t, nil, api.Options{AuthFailureBurst: 10000})
	auth := "Authorization: Bearer " + scimToken
	e.send(http.MethodGet, "/scim/v2/Users?count=1", "", "192.0.2.1:1", auth)
	e.send(http.MethodGet, "/scim/v2/Users/"+e.ids[0], "", "192.0.2.1:1", auth)
	e.send(http.MethodGet, "/scim/v2/Groups", "", "192.0.2.1:1", auth)
	e.send(http.MethodGet, "/scim/v2/ServiceProviderConfig", "", "192.0.2.1:1", auth)
	for i := range 300 {
		method := fmt.Sprintf("M%03d", i)
		for _, target := range []string{"/scim/v2/Users", fmt.Sprintf("/scim/v2/x%d", i), fmt.Sprintf("/nope/%d", i), fmt.Sprintf("/api/v1/%d", i), "/healthz"} {
			e.send(method, target, "", "192.0.2.2:1")
			e.send(http.MethodGet, target, "", "192.0.2.2:1", auth)
		}
	}
	if rec := e.send("BREW", "/scim/v2/Users", "", "192.0.2.2:1"); rec.Code != http.StatusMethodNotAllowed ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/scim+json") {
		t.Errorf("unknown method on SCIM: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := e.send(http.MethodGet, "/metrics", "", "192.0.2.3:1").Body.String()
	series := regexp.MustCompile(`(?m)^personio_scim_http_requests_total\{method="([^"]*)",route="([^"]*)",status="[0-9]+"\}`).
		FindAllStringSubmatch(body, -1)
	methods, routes := map[string]bool{}, map[string]bool{}
	for _, s := range series {
		methods[s[1]], routes[s[2]] = true, true
	}
	for m := range methods {
		if !slices.Contains([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}, m) {
			t.Errorf("method label %q", m)
		}
	}
	if len(series) > 40 {
		t.Errorf("%d request series after 3,000 odd requests; routes %v", len(series), keys(routes))
	}
	for _, want := range []string{"/scim/v2/Users", "/scim/v2/Users/{id}", "/scim/v2/Groups", "/scim/v2/ServiceProviderConfig"} {
		if !routes[want] {
			t.Errorf("no route label %q; have %v", want, keys(routes))
		}
	}
	for r := range routes {
		if rest := strings.NewReplacer("/scim/v2", "", "/api/v1", "").Replace(r); strings.ContainsAny(rest, "0123456789") {
			t.Errorf("route label %q carries a raw path", r)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
