package scimsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
)

const token = "t-1"

type client struct {
	t   *testing.T
	srv *httptest.Server
	sim *scimsim.Sim
}

func serve(t *testing.T, opts scimsim.Options) *client {
	t.Helper()
	opts.Token = token
	sim := scimsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	return &client{t: t, srv: srv, sim: sim}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (c *client) do(method, path, body string, header ...string) answer {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &a.body); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON: %q", method, path, data)
		}
	}
	return a
}

func (c *client) mustStatus(a answer, want int) answer {
	c.t.Helper()
	if a.status != want {
		c.t.Fatalf("status %d, want %d; body %v", a.status, want, a.body)
	}
	return a
}

func (c *client) createUser(userName, externalID string) string {
	c.t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `","externalId":"` + externalID +
		`","name":{"givenName":"G","familyName":"F"},"emails":[{"value":"` + userName + `","type":"work","primary":true}]}`
	a := c.mustStatus(c.do("POST", "/Users", body), 201)
	return a.body["id"].(string)
}

func total(a answer) int {
	n, _ := a.body["totalResults"].(float64)
	return int(n)
}

func TestFilters(t *testing.T) {
	c := serve(t, scimsim.Options{})
	c.createUser("Ada@Example.Test", "A-1")
	c.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Ops"}`)
	tests := []struct {
		path   string
		status int
		total  int
	}{
		{`/Users?filter=userName+eq+"ada@example.test"`, 200, 1},
		{`/Users?filter=USERNAME+EQ+"ADA@EXAMPLE.TEST"`, 200, 1},
		{`/Users?filter=externalId+eq+"A-1"`, 200, 1},
		{`/Users?filter=externalId+eq+"a-1"`, 200, 0},
		{`/Users?filter=userName+eq+"nobody@example.test"`, 200, 0},
		{`/Groups?filter=displayName+eq+"ops"`, 200, 1},
		{`/Users?filter=title+sw+"x"`, 400, 0},
		{`/Users?filter=nickName+eq+"x"`, 400, 0},
		{`/Users`, 200, 1},
	}
	for _, tt := range tests {
		a := c.do("GET", tt.path, "")
		if a.status != tt.status || total(a) != tt.total {
			t.Errorf("GET %s: %d total %d, want %d total %d", tt.path, a.status, total(a), tt.status, tt.total)
		}
		if a.status == 200 {
			if res, ok := a.body["Resources"].([]any); !ok || len(res) != tt.total {
				t.Errorf("GET %s: Resources %v", tt.path, a.body["Resources"])
			}
		}
		if a.status == 400 && a.body["scimType"] != "invalidFilter" {
			t.Errorf("GET %s: scimType %v", tt.path, a.body["scimType"])
		}
	}
}

func TestCreateReadDelete(t *testing.T) {
	c := serve(t, scimsim.Options{})
	a := c.mustStatus(c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bo@example.test"}`), 201)
	id := a.body["id"].(string)
	if loc := a.header.Get("Location"); loc != c.srv.URL+"/Users/"+id {
		t.Errorf("Location %q", loc)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/scim+json" {
		t.Errorf("Content-Type %q", ct)
	}
	dup := c.mustStatus(c.do("POST", "/Users", `{"userName":"BO@example.test"}`), 409)
	if dup.body["scimType"] != "uniqueness" || dup.body["status"] != "409" {
		t.Errorf("409 body %v", dup.body)
	}
	c.mustStatus(c.do("GET", "/Users/"+id, ""), 200)
	c.mustStatus(c.do("DELETE", "/Users/"+id, ""), 204)
	c.mustStatus(c.do("GET", "/Users/"+id, ""), 404)
	c.mustStatus(c.do("DELETE", "/Users/"+id, ""), 404)
	if c.sim.Writes() != 2 {
		t.Errorf("%d writes, want 2 (one create, one delete)", c.sim.Writes())
	}
}

func TestBadRequests(t *testing.T) {
	c := serve(t, scimsim.Options{})
	id := c.createUser("cy@example.test", "3")
	tests := []struct {
		method, path, body string
		status             int
		scimType           string
	}{
		{"POST", "/Users", `{"userName":`, 400, "invalidSyntax"},
		{"POST", "/Users", `[1,2]`, 400, "invalidSyntax"},
		{"POST", "/Users", `{"displayName":"x"}`, 400, "invalidValue"},
		{"POST", "/Users", `{"userName":"d@example.test","active":"yes"}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + id, `{"Operations":[{"op":"replace","path":"title","value":"x"}]}`, 400, "invalidSyntax"},
		{"PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","path":"title"}]}`, 400, "invalidSyntax"},
		{"PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove"}]}`, 400, "noTarget"},
		{"PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"home\"].value","value":"x"}]}`, 400, "noTarget"},
		{"PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"a[b","value":"x"}]}`, 400, "invalidPath"},
		{"PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"id","value":"x"}]}`, 400, "mutability"},
		{"POST", "/Groups", `{"displayName":"G","members":[{"value":"nobody"}]}`, 400, "invalidValue"},
		{"GET", "/Unknown", ``, 404, ""},
		{"PUT", "/Users", `{}`, 405, ""},
	}
	for _, tt := range tests {
		a := c.do(tt.method, tt.path, tt.body)
		if a.status != tt.status || (tt.scimType != "" && a.body["scimType"] != tt.scimType) {
			t.Errorf("%s %s %s: %d %v, want %d %s", tt.method, tt.path, tt.body, a.status, a.body["scimType"], tt.status, tt.scimType)
		}
		if s, _ := a.body["schemas"].([]any); len(s) == 0 || s[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
			t.Errorf("%s %s: not a SCIM error: %v", tt.method, tt.path, a.body)
		}
	}
	if c.sim.Writes() != 1 {
		t.Errorf("refused writes were counted: %d", c.sim.Writes())
	}
}

func TestPatch(t *testing.T) {
	c := serve(t, scimsim.Options{})
	id := c.createUser("di@example.test", "4")
	other := c.createUser("ed@example.test", "5")
	patch := func(path string, ops string) answer {
		return c.do("PATCH", path, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+ops+`}`)
	}
	c.mustStatus(patch("/Users/"+id, `[
		{"op":"replace","path":"name.givenName","value":"Di"},
		{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Ops"},
		{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"`+other+`"}},
		{"op":"replace","path":"emails[type eq \"work\"].value","value":"di2@example.test"},
		{"op":"replace","value":{"title":"Lead","active":false}}
	]`), 200)
	u, _ := c.sim.UserByID(id)
	if u.GivenName != "Di" || u.FamilyName != "F" || u.Department != "Ops" || u.ManagerExternalID != "5" || u.Email != "di2@example.test" || u.Title != "Lead" || u.Active {
		t.Errorf("after PATCH %+v", u)
	}
	c.mustStatus(patch("/Users/"+id, `[{"op":"remove","path":"title"},{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`), 200)
	u, _ = c.sim.UserByID(id)
	if u.Title != "" || u.ManagerID != "" {
		t.Errorf("after remove %+v", u)
	}
	c.mustStatus(patch("/Users/"+id, `[{"op":"replace","path":"userName","value":"ED@example.test"}]`), 409)

	g := c.mustStatus(c.do("POST", "/Groups", `{"displayName":"Ops","members":[{"value":"`+id+`"}]}`), 201).body["id"].(string)
	c.mustStatus(patch("/Groups/"+g, `[{"op":"add","path":"members","value":[{"value":"`+other+`"},{"value":"`+id+`"}]}]`), 200)
	grp, _ := c.sim.GroupByName("Ops")
	if len(grp.MemberIDs) != 2 {
		t.Errorf("members after add %v (duplicates must collapse)", grp.MemberIDs)
	}
	c.mustStatus(patch("/Groups/"+g, `[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]`), 200)
	grp, _ = c.sim.GroupByName("Ops")
	if len(grp.MemberIDs) != 1 || grp.MemberIDs[0] != other {
		t.Errorf("members after filtered remove %v", grp.MemberIDs)
	}
	c.mustStatus(patch("/Groups/"+g, `[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]`), 400)
	c.mustStatus(patch("/Groups/"+g, `[{"op":"remove","path":"members","value":[{"value":"`+other+`"}]}]`), 200)
	c.mustStatus(patch("/Groups/"+g, `[{"op":"replace","path":"displayName","value":"Ops 2"}]`), 200)
	grp, _ = c.sim.GroupByName("Ops 2")
	if len(grp.MemberIDs) != 0 {
		t.Errorf("members after value remove %v", grp.MemberIDs)
	}
	// Deleting a user takes it out of its groups.
	c.mustStatus(patch("/Groups/"+g, `[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]`), 200)
	c.mustStatus(c.do("DELETE", "/Users/"+id, ""), 204)
	grp, _ = c.sim.GroupByName("Ops 2")
	if len(grp.MemberIDs) != 0 {
		t.Errorf("a deleted user stays a member: %v", grp.MemberIDs)
	}
}

func TestETags(t *testing.T) {
	c := serve(t, scimsim.Options{ETags: true})
	a := c.mustStatus(c.do("POST", "/Users", `{"userName":"fa@example.test"}`), 201)
	id := a.body["id"].(string)
	if a.header.Get("ETag") != `W/"1"` {
		t.Errorf("ETag %q", a.header.Get("ETag"))
	}
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`
	c.mustStatus(c.do("PATCH", "/Users/"+id, body, "If-Match", `W/"1"`), 200)
	c.mustStatus(c.do("PATCH", "/Users/"+id, body, "If-Match", `W/"1"`), 412)
	c.mustStatus(c.do("DELETE", "/Users/"+id, "", "If-Match", `W/"1"`), 412)
	c.mustStatus(c.do("DELETE", "/Users/"+id, "", "If-Match", `W/"2"`), 204)
}

func TestAuthAndDiscovery(t *testing.T) {
	c := serve(t, scimsim.Options{})
	req, _ := http.NewRequest("GET", c.srv.URL+"/Users", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 401 || e["status"] != "401" || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("without a token: %d %v", resp.StatusCode, e)
	}
	spc := c.mustStatus(c.do("GET", "/ServiceProviderConfig", ""), 200)
	if p, _ := spc.body["patch"].(map[string]any); p["supported"] != true {
		t.Errorf("SPC %v", spc.body)
	}
	c.mustStatus(c.do("GET", "/ResourceTypes", ""), 200)
	c.mustStatus(c.do("GET", "/Schemas", ""), 200)

	z := serve(t, scimsim.Options{Profile: scimsim.Zitadel})
	z.mustStatus(z.do("GET", "/ServiceProviderConfig", ""), 404)
	z.mustStatus(z.do("GET", "/Groups", ""), 404)
	zerr := z.mustStatus(z.do("POST", "/Users", `{"userName":"ga@example.test"}`), 400)
	if _, ok := zerr.body["urn:ietf:params:scim:api:zitadel:messages:2.0:ErrorDetail"]; !ok {
		t.Errorf("Zitadel error without its detail schema: %v", zerr.body)
	}
}

func TestFaults(t *testing.T) {
	c := serve(t, scimsim.Options{})
	c.sim.Throttle(2, 3*time.Second)
	for range 2 {
		a := c.mustStatus(c.do("GET", "/Users", ""), 429)
		if a.header.Get("Retry-After") != "3" {
			t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
		}
	}
	c.mustStatus(c.do("GET", "/Users", ""), 200)
	c.sim.Fail(1, 502)
	c.mustStatus(c.do("GET", "/Users", ""), 502)
	c.mustStatus(c.do("GET", "/Users", ""), 200)

	c.sim.Reject("9")
	c.mustStatus(c.do("POST", "/Users", `{"userName":"ha@example.test","externalId":"9"}`), 400)
	c.sim.Accept("9")
	c.mustStatus(c.do("POST", "/Users", `{"userName":"ha@example.test","externalId":"9"}`), 201)

	c.sim.Hang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.srv.URL+"/Users", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a hanging server answered: %v", err)
	}
	c.sim.Hang(false)
	c.mustStatus(c.do("GET", "/Users", ""), 200)
}

func TestProfiles(t *testing.T) {
	t.Run("keycloak", func(t *testing.T) {
		c := serve(t, scimsim.Options{Profile: scimsim.Keycloak})
		id := c.createUser("ia@example.test", "1")
		c.mustStatus(c.do("POST", "/Groups", `{"displayName":"K","members":[{"value":"`+id+`"}]}`), 400)
		g := c.mustStatus(c.do("POST", "/Groups", `{"displayName":"K"}`), 201).body["id"].(string)
		c.mustStatus(c.do("PUT", "/Groups/"+g, `{"displayName":"K","members":[{"value":"`+id+`"}]}`), 400)
		c.mustStatus(c.do("PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":"`+id+`"}]}`), 200)
		if grp, _ := c.sim.GroupByName("K"); len(grp.MemberIDs) != 1 {
			t.Errorf("bare-id member add: %v", grp.MemberIDs)
		}
		ops := strings.Repeat(`{"op":"replace","path":"displayName","value":"K"},`, 101)
		a := c.mustStatus(c.do("PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+strings.TrimSuffix(ops, ",")+`]}`), 400)
		if a.body["scimType"] != "tooMany" {
			t.Errorf("101 operations: %v", a.body)
		}
	})
	t.Run("authentik", func(t *testing.T) {
		c := serve(t, scimsim.Options{Profile: scimsim.Authentik, FilteredMemberRemoveIgnored: true})
		id := c.createUser("ja@example.test", "1")
		again := c.mustStatus(c.do("POST", "/Users", `{"userName":"JA@example.test","externalId":"1","title":"T"}`), 201)
		if again.body["id"] != id || c.sim.Users() != 1 {
			t.Errorf("POST did not adopt: %v, %d users", again.body["id"], c.sim.Users())
		}
		g := c.mustStatus(c.do("POST", "/Groups", `{"displayName":"A","members":[{"value":"`+id+`"}]}`), 201).body["id"].(string)
		c.mustStatus(c.do("PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`), 200)
		if grp, _ := c.sim.GroupByName("A"); len(grp.MemberIDs) != 1 {
			t.Errorf("the filtered remove bug is not reproduced: %v", grp.MemberIDs)
		}
	})
	t.Run("base path", func(t *testing.T) {
		c := serve(t, scimsim.Options{BasePath: "/scim/v2"})
		c.mustStatus(c.do("GET", "/scim/v2/Users", ""), 200)
		c.mustStatus(c.do("GET", "/Users", ""), 404)
	})
}

func TestTamperAndViews(t *testing.T) {
	c := serve(t, scimsim.Options{})
	id := c.createUser("ka@example.test", "11")
	if !c.sim.Tamper("11", "Changed") {
		t.Fatal("Tamper found no user")
	}
	u, _ := c.sim.UserByExternalID("11")
	if u.ID != id || u.DisplayName != "Changed" || u.Version != 2 {
		t.Errorf("after Tamper %+v", u)
	}
	if c.sim.Tamper("12", "x") {
		t.Error("Tamper changed a user that does not exist")
	}
}

func TestKeycloakUnmappedExternalID(t *testing.T) {
	c := serve(t, scimsim.Options{Profile: scimsim.Keycloak, ExternalIDUnmapped: true})
	id := c.createUser("la@example.test", "21")
	if a := c.do("GET", `/Users?filter=externalId+eq+"21"`, ""); total(a) != 0 {
		t.Errorf("externalId kept without a mapping: %v", a.body)
	}
	if u, _ := c.sim.UserByID(id); u.ExternalID != "" {
		t.Errorf("user %+v", u)
	}
}
