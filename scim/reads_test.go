package scim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/scim"
	"github.com/personio-scim/personio-scim/store"
)

func TestUserRepresentation(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{})
	anne := scim.PersonID("1005")
	res := h.get("/scim/v2/Users/"+anne).expect(t, http.StatusOK)
	u := res.body

	t.Run("inactive people stay readable", func(t *testing.T) {
		if u["active"] != false {
			t.Errorf("active %v, want false", u["active"])
		}
	})
	t.Run("identity fields", func(t *testing.T) {
		want := map[string]string{
			"id": anne, "externalId": "1005", "userName": "aenne.koehler@example.de", "displayName": "Änne Köhler",
		}
		for k, v := range want {
			if got := str(u, k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if got := str(u, "name", "familyName"); got != "Köhler" {
			t.Errorf("name.familyName %q", got)
		}
		if !slices.Equal(strs(u["schemas"]), []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterpriseURN}) {
			t.Errorf("schemas %v", u["schemas"])
		}
	})
	t.Run("work email is primary", func(t *testing.T) {
		emails, _ := u["emails"].([]any)
		if len(emails) != 1 {
			t.Fatalf("emails %v", u["emails"])
		}
		e := emails[0].(map[string]any)
		if e["value"] != "aenne.koehler@example.de" || e["type"] != "work" || e["primary"] != true {
			t.Errorf("email %v, want the work address, type work, primary true", e)
		}
	})
	t.Run("enterprise extension", func(t *testing.T) {
		ext, _ := u[enterpriseURN].(map[string]any)
		want := map[string]string{"employeeNumber": "1005", "department": "People", "organization": "Beispiel GmbH",
			"costCenter": "CC-People", "division": "Operations"}
		for k, v := range want {
			if got := str(ext, k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		jurgen := scim.PersonID("1001")
		if str(ext, "manager", "value") != jurgen || str(ext, "manager", "displayName") != "Jürgen Müller" ||
			str(ext, "manager", "$ref") != base+"/Users/"+jurgen {
			t.Errorf("manager %v", ext["manager"])
		}
	})
	t.Run("groups", func(t *testing.T) {
		groups, _ := u["groups"].([]any)
		var names []string
		for _, g := range groups {
			gm := g.(map[string]any)
			names = append(names, str(gm, "display"))
			if str(gm, "$ref") != base+"/Groups/"+str(gm, "value") {
				t.Errorf("group $ref %q", str(gm, "$ref"))
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"Office Berlin", "People"}) {
			t.Errorf("groups %v", names)
		}
	})
	t.Run("meta", func(t *testing.T) {
		if got := str(u, "meta", "location"); got != base+"/Users/"+anne {
			t.Errorf("meta.location %q", got)
		}
		if got := str(u, "meta", "resourceType"); got != "User" {
			t.Errorf("meta.resourceType %q", got)
		}
		if got := str(u, "meta", "created"); got != "2024-05-02T08:30:00Z" {
			t.Errorf("meta.created %q", got)
		}
		v := str(u, "meta", "version")
		if !strings.HasPrefix(v, `W/"`) || res.header.Get("ETag") != v {
			t.Errorf("meta.version %q, ETag header %q: want the same weak tag", v, res.header.Get("ETag"))
		}
	})
	t.Run("nothing internal is served", func(t *testing.T) {
		for _, leak := range []string{"Lifecycle", "lifecycle", "leaver", "Source", "first_name", "Overrides", "PersonioID"} {
			if strings.Contains(res.raw, leak) {
				t.Errorf("response contains %q", leak)
			}
		}
	})
	t.Run("phone number", func(t *testing.T) {
		j := h.get("/scim/v2/Users/"+scim.PersonID("1001")).expect(t, http.StatusOK).body
		phones, _ := j["phoneNumbers"].([]any)
		if len(phones) != 1 || str(phones[0].(map[string]any), "value") != "+49 30 1234567" {
			t.Errorf("phoneNumbers %v", j["phoneNumbers"])
		}
	})
}

func TestETags(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{Writable: defaultWritable()})
	zoe := scim.PersonID("1002")
	first := h.get("/scim/v2/Users/"+zoe).expect(t, http.StatusOK)
	tag := first.header.Get("ETag")

	t.Run("If-None-Match with the current tag answers 304", func(t *testing.T) {
		res := h.get("/scim/v2/Users/"+zoe, "If-None-Match: "+tag)
		if res.code != http.StatusNotModified || res.raw != "" || res.header.Get("ETag") != tag {
			t.Errorf("status %d, body %q, ETag %q", res.code, res.raw, res.header.Get("ETag"))
		}
		g := h.get("/scim/v2/Groups/"+groupID("department:Sales")).expect(t, http.StatusOK)
		if res := h.get("/scim/v2/Groups/"+groupID("department:Sales"), "If-None-Match: "+g.header.Get("ETag")); res.code != http.StatusNotModified {
			t.Errorf("group: status %d, want 304", res.code)
		}
	})
	t.Run("If-None-Match with another tag answers 200", func(t *testing.T) {
		h.get("/scim/v2/Users/"+zoe, `If-None-Match: W/"0-0"`).expect(t, http.StatusOK)
	})
	t.Run("If-Match with the current tag lets a write through", func(t *testing.T) {
		res := h.do(http.MethodPatch, "/scim/v2/Users/"+zoe, `{`+patchOp+`,"Operations":[{"op":"replace","path":"title","value":"Lead"}]}`,
			"If-Match: "+tag).expect(t, http.StatusOK)
		if res.header.Get("ETag") == tag || str(res.body, "meta", "version") != res.header.Get("ETag") {
			t.Errorf("ETag after the write %q (before %q), meta.version %q", res.header.Get("ETag"), tag, str(res.body, "meta", "version"))
		}
	})
	t.Run("If-Match with a stale tag answers 412", func(t *testing.T) {
		before := h.lastSeq()
		h.do(http.MethodPatch, "/scim/v2/Users/"+zoe, `{`+patchOp+`,"Operations":[{"op":"replace","path":"title","value":"Stale"}]}`,
			"If-Match: "+tag).expectError(t, http.StatusPreconditionFailed, "")
		h.do(http.MethodPut, "/scim/v2/Users/"+zoe, first.raw, "If-Match: "+tag).expectError(t, http.StatusPreconditionFailed, "")
		if len(h.changes(before)) != 0 {
			t.Error("a refused write changed something")
		}
	})
	t.Run("the tag follows what a user shows of others", func(t *testing.T) {
		// Zoë's manager is Jürgen; renaming Jürgen changes Zoë's manager.displayName.
		cur := h.get("/scim/v2/Users/" + zoe).header.Get("ETag")
		j := h.identity("1001")
		j.DisplayName = "Jürgen M. Müller"
		applyUpdate(t, h, j)
		res := h.get("/scim/v2/Users/"+zoe).expect(t, http.StatusOK)
		if res.header.Get("ETag") == cur {
			t.Error("the ETag did not change when the manager's name did")
		}
		if got := str(res.body, enterpriseURN, "manager", "displayName"); got != "Jürgen M. Müller" {
			t.Errorf("manager displayName %q", got)
		}
	})
}

func TestListShaping(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{MaxResults: 5, PageSize: 3})

	t.Run("default page size and cap", func(t *testing.T) {
		res := h.get("/scim/v2/Users").expect(t, http.StatusOK)
		if got := len(res.resources(t)); got != 3 || res.total() != 8 {
			t.Errorf("%d of %d, want 3 of 8", got, res.total())
		}
		res = h.get("/scim/v2/Users?count=1000").expect(t, http.StatusOK)
		if got := len(res.resources(t)); got != 5 {
			t.Errorf("%d resources with count above the maximum, want 5", got)
		}
	})
	t.Run("count=0 gives totalResults only", func(t *testing.T) {
		res := h.get("/scim/v2/Users?count=0").expect(t, http.StatusOK)
		if got := len(res.resources(t)); got != 0 || res.total() != 8 {
			t.Errorf("%d resources, total %d", got, res.total())
		}
	})
	t.Run("startIndex past the end", func(t *testing.T) {
		res := h.get("/scim/v2/Users?startIndex=50").expect(t, http.StatusOK)
		if got := len(res.resources(t)); got != 0 || res.total() != 8 {
			t.Errorf("%d resources, total %d", got, res.total())
		}
	})
	t.Run("startIndex below 1 and negative count", func(t *testing.T) {
		res := h.get("/scim/v2/Users?startIndex=-4&count=-1").expect(t, http.StatusOK)
		if len(res.resources(t)) != 0 || res.body["startIndex"] != float64(1) {
			t.Errorf("body %s", res.raw)
		}
	})
	t.Run("count that is not a number", func(t *testing.T) {
		h.get("/scim/v2/Users?count=abc").expectError(t, http.StatusBadRequest, "invalidValue")
	})
	t.Run("sortBy familyName descending", func(t *testing.T) {
		res := h.get("/scim/v2/Users?sortBy=name.familyName&sortOrder=descending&count=5").expect(t, http.StatusOK)
		var names []string
		for _, u := range res.resources(t) {
			names = append(names, str(u, "name", "familyName"))
		}
		want := []string{"Yıldız", "Weiß", "Schäfer", "Müller", "Köhler"}
		if !slices.Equal(names, want) {
			t.Errorf("order %v, want %v", names, want)
		}
	})
	t.Run("sortBy with a filter and paging", func(t *testing.T) {
		res := h.get("/scim/v2/Users?"+filterQuery(`active eq true`)+"&sortBy=userName&startIndex=2&count=2").expect(t, http.StatusOK)
		var got []string
		for _, u := range res.resources(t) {
			got = append(got, str(u, "userName"))
		}
		// Active userNames sorted: bjoern, juergen, lea, oemer, oyvind, zoe.
		if want := []string{"juergen.mueller@example.de", "lea.dubois@example.de"}; !slices.Equal(got, want) || res.total() != 6 {
			t.Errorf("page %v of %d, want %v of 6", got, res.total(), want)
		}
	})
	t.Run("sortBy an unknown attribute", func(t *testing.T) {
		h.get("/scim/v2/Users?sortBy=shoeSize").expectError(t, http.StatusBadRequest, "invalidValue")
	})
	t.Run("attributes selects", func(t *testing.T) {
		res := h.get("/scim/v2/Users?attributes=userName,emails.value&count=1").expect(t, http.StatusOK)
		u := res.resources(t)[0]
		keys := sortedKeys(u)
		if !slices.Equal(keys, []string{"emails", "id", "schemas", "userName"}) {
			t.Errorf("keys %v", keys)
		}
		if e := u["emails"].([]any)[0].(map[string]any); len(e) != 1 || e["value"] == nil {
			t.Errorf("email %v, want only value", e)
		}
	})
	t.Run("excludedAttributes drops", func(t *testing.T) {
		res := h.get("/scim/v2/Users/"+scim.PersonID("1002")+"?excludedAttributes=meta,groups,"+enterpriseURN+":manager").expect(t, http.StatusOK)
		for _, k := range []string{"meta", "groups"} {
			if res.body[k] != nil {
				t.Errorf("%s was not excluded", k)
			}
		}
		if path(res.body, enterpriseURN, "manager") != nil || str(res.body, enterpriseURN, "department") != "Engineering" {
			t.Errorf("enterprise %v", res.body[enterpriseURN])
		}
	})
	t.Run("POST .search", func(t *testing.T) {
		res := h.do(http.MethodPost, "/scim/v2/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
			"attributes":["displayName"],"filter":"department eq \"Sales\"","sortBy":"displayName","startIndex":1,"count":10}`).
			expect(t, http.StatusOK)
		var got []string
		for _, u := range res.resources(t) {
			got = append(got, str(u, "displayName"))
		}
		if want := []string{"Björn Weiß", "Léa Dubois", "Ömer Yıldız"}; !slices.Equal(got, want) {
			t.Errorf("search found %v, want %v", got, want)
		}
		res = h.do(http.MethodPost, "/scim/v2/Groups/.search", `{"filter":"displayName eq \"People\""}`).expect(t, http.StatusOK)
		if len(res.resources(t)) != 1 {
			t.Errorf("group search %s", res.raw)
		}
		h.do(http.MethodPost, "/scim/v2/Users/.search", `{"filter":`).expectError(t, http.StatusBadRequest, "invalidSyntax")
	})
	t.Run("a read-only token may search", func(t *testing.T) {
		h.do(http.MethodPost, "/scim/v2/Users/.search", `{"filter":"userName pr"}`, "Authorization: Bearer "+readToken).expect(t, http.StatusOK)
	})
}

func sortedKeys(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestFilterRequests(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{})
	t.Run("a semicolon in a filter value is kept", func(t *testing.T) {
		// Go's url.ParseQuery would drop this pair and answer with every group.
		res := h.get(`/scim/v2/Groups?filter=displayName%20eq%20"R%26D;%20Platform"`).expect(t, http.StatusOK)
		if got := res.resources(t); len(got) != 1 || str(got[0], "displayName") != "R&D; Platform" {
			t.Errorf("found %v", got)
		}
	})
	t.Run("unknown attribute", func(t *testing.T) {
		res := h.get("/scim/v2/Users?"+filterQuery(`shoeSize eq "42"`)).expectError(t, http.StatusBadRequest, "invalidFilter")
		if !strings.Contains(res.detail(), "shoeSize") {
			t.Errorf("detail %q", res.detail())
		}
	})
	t.Run("unquoted value", func(t *testing.T) {
		h.get("/scim/v2/Users?filter=externalId+eq+jyoung").expectError(t, http.StatusBadRequest, "invalidFilter")
	})
	t.Run("filters that crash the library's evaluator", func(t *testing.T) {
		for _, f := range []string{`members eq "x"`, `name eq "Ann"`} {
			h.get("/scim/v2/Users?"+filterQuery(f)).expectError(t, http.StatusBadRequest, "invalidFilter")
		}
		h.get("/scim/v2/Groups?"+filterQuery(`members eq "x"`)).expect(t, http.StatusOK)
	})
	t.Run("empty filter", func(t *testing.T) {
		h.get("/scim/v2/Users?filter=").expectError(t, http.StatusBadRequest, "invalidFilter")
		h.get("/scim/v2/Users?filter=+++").expectError(t, http.StatusBadRequest, "invalidFilter")
	})
	t.Run("broken URL encoding", func(t *testing.T) {
		h.get("/scim/v2/Users?filter=userName%zz").expectError(t, http.StatusBadRequest, "invalidValue")
	})
	t.Run("mixed core and extension", func(t *testing.T) {
		res := h.get("/scim/v2/Users?"+filterQuery(`userName eq "lea.dubois@example.de" and `+enterpriseURN+`:employeeNumber eq "1007"`)).
			expect(t, http.StatusOK)
		if len(res.resources(t)) != 1 {
			t.Errorf("body %s", res.raw)
		}
	})
}

func TestEndpoints(t *testing.T) {
	h := newHarness(t, scim.CompanyPeople(), scim.Options{})
	h.get("/scim/v2/Nope").expectError(t, http.StatusNotFound, "")
	h.get("/scim/v2/Me").expectError(t, http.StatusNotImplemented, "")
	h.do(http.MethodPost, "/scim/v2/Bulk", `{}`).expectError(t, http.StatusNotImplemented, "")
	h.get("/scim/v2/Users/").expect(t, http.StatusOK)
	h.get("/scim/v2/Users/.search").expectError(t, http.StatusMethodNotAllowed, "")
	res := h.do(http.MethodPut, "/scim/v2/Users", `{}`).expectError(t, http.StatusMethodNotAllowed, "")
	if res.header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	if got := h.get("/scim/v2/users?count=1").expect(t, http.StatusOK); len(got.resources(t)) != 1 {
		t.Error("lower-case endpoint not served")
	}
	h.do(http.MethodPost, "/scim/v2/ServiceProviderConfig", `{}`).expectError(t, http.StatusMethodNotAllowed, "")
}

// TestMounting serves the handler the ways a router mounts it and checks
// that URLs in responses carry the public base.
func TestMounting(t *testing.T) {
	st, dir := scim.NewFixtureStore(t, scim.CompanyPeople())
	id := scim.PersonID("1003")
	tests := []struct {
		name    string
		opts    scim.Options
		mount   func(h http.Handler) http.Handler
		target  string
		headers map[string]string
		want    string
	}{
		{"chi Mount without StripPrefix", scim.Options{},
			func(h http.Handler) http.Handler { r := chi.NewRouter(); r.Mount("/scim/v2", h); return r },
			"http://idp.example/scim/v2/Users/" + id, nil, "http://idp.example/scim/v2/Users/" + id},
		{"StripPrefix", scim.Options{},
			func(h http.Handler) http.Handler { return http.StripPrefix("/scim/v2", h) },
			"http://idp.example/scim/v2/Users/" + id, nil, "http://idp.example/scim/v2/Users/" + id},
		{"StripPrefix of /scim with /v2 left", scim.Options{BasePath: "/scim"},
			func(h http.Handler) http.Handler { return http.StripPrefix("/scim", h) },
			"http://idp.example/scim/v2/Users/" + id, nil, "http://idp.example/scim/Users/" + id},
		{"forwarded headers ignored unless trusted", scim.Options{},
			func(h http.Handler) http.Handler { return http.StripPrefix("/scim/v2", h) },
			"http://10.0.0.5:8080/scim/v2/Users/" + id,
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "scim.example.org"},
			"http://10.0.0.5:8080/scim/v2/Users/" + id},
		{"forwarded headers trusted", scim.Options{TrustForwardedHeaders: true},
			func(h http.Handler) http.Handler { return http.StripPrefix("/scim/v2", h) },
			"http://10.0.0.5:8080/scim/v2/Users/" + id,
			map[string]string{"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "scim.example.org"},
			"https://scim.example.org/scim/v2/Users/" + id},
		{"forged forwarded host", scim.Options{TrustForwardedHeaders: true},
			func(h http.Handler) http.Handler { return http.StripPrefix("/scim/v2", h) },
			"http://10.0.0.5:8080/scim/v2/Users/" + id,
			map[string]string{"X-Forwarded-Host": `evil.example/"><script>`},
			"http://10.0.0.5:8080/scim/v2/Users/" + id},
		{"configured base URL", scim.Options{BaseURL: "https://hr-scim.example.com/scim/v2/"},
			func(h http.Handler) http.Handler { return http.StripPrefix("/scim/v2", h) },
			"http://10.0.0.5:8080/scim/v2/Users/" + id,
			map[string]string{"X-Forwarded-Host": "other.example"},
			"https://hr-scim.example.com/scim/v2/Users/" + id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := scim.NewHandler(dir, st, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			tt.mount(h).ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var u map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil {
				t.Fatal(err)
			}
			if got := str(u, "meta", "location"); got != tt.want {
				t.Errorf("meta.location %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	st, dir := scim.NewFixtureStore(t, scim.CompanyPeople())
	for _, opts := range []scim.Options{
		{Writable: []string{"shoeSize"}},
		{Writable: []string{store.AttrActive}},
		{BaseURL: "scim.example.com/scim/v2"},
		{BaseURL: "ftp://scim.example.com"},
	} {
		if _, err := scim.NewHandler(dir, st, opts); err == nil {
			t.Errorf("options %+v accepted", opts)
		}
	}
	if _, err := scim.NewHandler(nil, st, scim.Options{}); err == nil {
		t.Error("a nil directory was accepted")
	}
}
