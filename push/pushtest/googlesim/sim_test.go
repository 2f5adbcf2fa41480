package googlesim_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/jws"
	admin "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/personio-scim/personio-scim/push/pushtest/googlesim"
)

var keys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var out [2]*rsa.PrivateKey
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		out[i] = k
	}
	return out
})

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func start(t *testing.T, opt googlesim.Options) (*googlesim.Sim, *httptest.Server, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)}
	opt.Now, opt.AssertionNow, opt.Key = c.Now, c.Now, keys()[0]
	sim := googlesim.New(opt)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv, c
}

func anonymous(t *testing.T, srv *httptest.Server) *admin.Service {
	t.Helper()
	svc, err := admin.NewService(context.Background(), option.WithEndpoint(srv.URL+"/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestTokenEndpointVerifiesTheAssertion(t *testing.T) {
	_, srv, c := start(t, googlesim.Options{DelegatedScopes: []string{googlesim.ScopeUser, googlesim.ScopeGroup}})
	tests := []struct {
		name   string
		edit   func(*jws.ClaimSet)
		key    *rsa.PrivateKey
		status int
		code   string
	}{
		{"valid", func(*jws.ClaimSet) {}, keys()[0], 200, ""},
		{"signed by another key", func(*jws.ClaimSet) {}, keys()[1], 400, "invalid_grant"},
		{"wrong audience", func(c *jws.ClaimSet) { c.Aud = "https://oauth2.googleapis.com/token" }, keys()[0], 400, "invalid_grant"},
		{"expired", func(c *jws.ClaimSet) { c.Iat, c.Exp = c.Iat-7200, c.Iat-3600 }, keys()[0], 400, "invalid_grant"},
		{"unknown issuer", func(c *jws.ClaimSet) { c.Iss = "x@evil.iam.gserviceaccount.com" }, keys()[0], 400, "invalid_grant"},
		{"subject not delegated", func(c *jws.ClaimSet) { c.Sub = "someone@example.com" }, keys()[0], 401, "unauthorized_client"},
		{"one scope not delegated", func(c *jws.ClaimSet) { c.Scope += " " + googlesim.ScopeOrgUnit }, keys()[0], 401, "unauthorized_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iat := c.Now().Unix()
			cs := jws.ClaimSet{
				Iss: "personio-scim@sim-project.iam.gserviceaccount.com", Scope: googlesim.ScopeUser,
				Aud: srv.URL + "/token", Iat: iat, Exp: iat + 3600, Sub: "admin@example.com",
			}
			tc.edit(&cs)
			assertion, err := jws.Encode(&jws.Header{Algorithm: "RS256", Typ: "JWT"}, &cs, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.PostForm(srv.URL+"/token", url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status || (tc.code != "" && body["error"] != tc.code) {
				t.Fatalf("status %d body %v, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			if tc.status != 200 {
				return
			}
			if body["token_type"] != "Bearer" || body["access_token"] == "" || body["expires_in"] != 3599.0 {
				t.Errorf("token answer %v", body)
			}
			tok, _ := body["access_token"].(string)
			for path, want := range map[string]int{"/users?customer=my_customer": 200, "/groups?customer=my_customer": 403} {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/directory/v1"+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				r.Body.Close()
				if r.StatusCode != want {
					t.Errorf("GET %s with the user scope only: %d, want %d", path, r.StatusCode, want)
				}
			}
			c.Advance(time.Hour)
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/directory/v1/users?customer=my_customer", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != 401 {
				t.Errorf("expired token: %d, want 401", r.StatusCode)
			}
		})
	}
}

func TestAPIRefusesMissingToken(t *testing.T) {
	_, srv, _ := start(t, googlesim.Options{})
	resp, err := http.Get(srv.URL + "/admin/directory/v1/users?customer=my_customer")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Code   int
			Errors []struct{ Reason string }
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 401 || body.Error.Code != 401 || body.Error.Errors[0].Reason != "authError" {
		t.Errorf("no token: %d %+v", resp.StatusCode, body)
	}
}

func apiErr(t *testing.T, err error) *googleapi.Error {
	t.Helper()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		t.Fatalf("error %v is not the API's", err)
	}
	return gerr
}

func wantErr(t *testing.T, what string, err error, code int, reason, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %d %s", what, code, reason)
	}
	g := apiErr(t, err)
	if g.Code != code || len(g.Errors) == 0 || g.Errors[0].Reason != reason || !strings.Contains(g.Message, message) {
		t.Errorf("%s: %d %v %q, want %d %s %q", what, g.Code, g.Errors, g.Message, code, reason, message)
	}
}

func newUser(email, pid string) *admin.User {
	return &admin.User{
		PrimaryEmail: email, Password: "correct horse battery",
		Name:        &admin.UserName{GivenName: "Ada", FamilyName: "Lovelace"},
		ExternalIds: []any{map[string]any{"type": "organization", "value": pid}},
	}
}

func TestUsers(t *testing.T) {
	_, srv, _ := start(t, googlesim.Options{AllowAnonymous: true})
	svc := anonymous(t, srv)
	ctx := context.Background()
	created, err := svc.Users.Insert(newUser("ada@example.com", "1042")).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if created.Id == "" || created.Etag == "" || created.Name.FullName != "Ada Lovelace" || created.OrgUnitPath != "/" || created.Password != "" {
		t.Errorf("insert answer %+v", created)
	}
	_, err = svc.Users.Insert(newUser("ADA@example.com", "1")).Do()
	wantErr(t, "duplicate", err, 409, "duplicate", "Entity already exists.")
	noPassword := newUser("b@example.com", "2")
	noPassword.Password = ""
	_, err = svc.Users.Insert(noPassword).Do()
	wantErr(t, "no password", err, 400, "invalid", "Invalid Password")
	noName := newUser("c@example.com", "3")
	noName.Name.FamilyName = ""
	_, err = svc.Users.Insert(noName).Do()
	wantErr(t, "no family name", err, 400, "invalid", "FamilyName")
	badOU := newUser("d@example.com", "4")
	badOU.OrgUnitPath = "/Nowhere"
	_, err = svc.Users.Insert(badOU).Do()
	wantErr(t, "unknown OU", err, 400, "invalid", "INVALID_OU_ID")
	_, err = svc.Users.Insert(newUser("e@elsewhere.org", "5")).Do()
	wantErr(t, "foreign domain", err, 400, "invalid", "Domain not found")
	_, err = svc.Users.Get("nobody@example.com").Do()
	wantErr(t, "unknown user", err, 404, "notFound", "Resource Not Found: userKey")

	// Rename: the old address becomes an alias and still resolves.
	renamed, err := svc.Users.Update(created.Id, &admin.User{PrimaryEmail: "ada.king@example.com"}).Do()
	if err != nil || renamed.PrimaryEmail != "ada.king@example.com" || len(renamed.Aliases) != 1 {
		t.Fatalf("rename: %v %+v", err, renamed)
	}
	if byAlias, err := svc.Users.Get("ada@example.com").Do(); err != nil || byAlias.Id != created.Id {
		t.Errorf("get by alias: %v %+v", err, byAlias)
	}
	// null clears, omitted fields stay, false must be forced to be sent.
	_, err = svc.Users.Update(created.Id, &admin.User{Relations: []any{map[string]any{"type": "manager", "value": "x@example.com"}}, Suspended: true}).Do()
	if err != nil {
		t.Fatal(err)
	}
	cleared, err := svc.Users.Update(created.Id, &admin.User{NullFields: []string{"Relations"}, ForceSendFields: []string{"Suspended"}}).Do()
	if err != nil || cleared.Relations != nil || cleared.Suspended || cleared.Name.GivenName != "Ada" {
		t.Errorf("clear: %v relations %v suspended %v name %+v", err, cleared.Relations, cleared.Suspended, cleared.Name)
	}
	if err := svc.Users.Delete(created.Id).Do(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "deleted user", svc.Users.Delete(created.Id).Do(), 404, "notFound", "userKey")
}

func TestUsersListPagesAndQueries(t *testing.T) {
	sim, srv, _ := start(t, googlesim.Options{AllowAnonymous: true})
	for i, e := range []string{"e@example.com", "a@example.com", "d@example.com", "c@example.com", "b@example.com"} {
		sim.AddUser(e, "G", "F", string(rune('1'+i)))
	}
	svc := anonymous(t, srv)
	var emails []string
	pages := 0
	err := svc.Users.List().Customer("my_customer").MaxResults(2).Pages(context.Background(), func(u *admin.Users) error {
		pages++
		for _, x := range u.Users {
			emails = append(emails, x.PrimaryEmail)
		}
		return nil
	})
	if err != nil || pages != 3 || strings.Join(emails, ",") != "a@example.com,b@example.com,c@example.com,d@example.com,e@example.com" {
		t.Errorf("paging: %v, %d pages, %v", err, pages, emails)
	}
	tests := []struct{ query, want string }{
		{"externalId=3", "d@example.com"},
		{"externalId:'3'", "d@example.com"},
		{"email:c*", "c@example.com"},
		{"email=B@example.com", "b@example.com"},
		{"isSuspended=false externalId=5", "b@example.com"},
		{"externalId=99", ""},
	}
	for _, tc := range tests {
		got, err := svc.Users.List().Customer("my_customer").Query(tc.query).Do()
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		var list []string
		for _, u := range got.Users {
			list = append(list, u.PrimaryEmail)
		}
		if strings.Join(list, ",") != tc.want {
			t.Errorf("query %s: %v, want %s", tc.query, list, tc.want)
		}
	}
	_, err = svc.Users.List().Do()
	wantErr(t, "no customer", err, 400, "badRequest", "Bad Request")
	_, err = svc.Users.List().Customer("my_customer").MaxResults(501).Do()
	wantErr(t, "page too large", err, 400, "invalid", "maxResults")
	_, err = svc.Users.List().Customer("my_customer").Query("shoeSize=42").Do()
	wantErr(t, "unknown field", err, 400, "invalid", "shoeSize")
}

func TestOrgUnitsGroupsMembers(t *testing.T) {
	_, srv, _ := start(t, googlesim.Options{AllowAnonymous: true})
	svc := anonymous(t, srv)
	ou, err := svc.Orgunits.Insert("my_customer", &admin.OrgUnit{Name: "Engineering", ParentOrgUnitPath: "/"}).Do()
	if err != nil || ou.OrgUnitPath != "/Engineering" || !strings.HasPrefix(ou.OrgUnitId, "id:") {
		t.Fatalf("OU insert: %v %+v", err, ou)
	}
	if _, err := svc.Orgunits.Insert("my_customer", &admin.OrgUnit{Name: "Berlin", ParentOrgUnitPath: "/Engineering"}).Do(); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.Orgunits.Get("my_customer", "Engineering/Berlin").Do(); err != nil || got.ParentOrgUnitPath != "/Engineering" {
		t.Errorf("OU get: %v %+v", err, got)
	}
	_, err = svc.Orgunits.Get("my_customer", "Sales").Do()
	wantErr(t, "unknown OU", err, 404, "notFound", "Org unit not found")
	_, err = svc.Orgunits.Insert("my_customer", &admin.OrgUnit{Name: "X", ParentOrgUnitPath: "/Nowhere"}).Do()
	wantErr(t, "unknown parent", err, 400, "invalid", "Parent")
	if all, err := svc.Orgunits.List("my_customer").Type("all").Do(); err != nil || len(all.OrganizationUnits) != 2 {
		t.Errorf("OU list: %v %+v", err, all)
	}

	g, err := svc.Groups.Insert(&admin.Group{Email: "eng@example.com", Name: "Engineering"}).Do()
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Groups.Insert(&admin.Group{Email: "eng@example.com"}).Do()
	wantErr(t, "duplicate group", err, 409, "duplicate", "Entity already exists.")
	var users []string
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		u, err := svc.Users.Insert(newUser(e, e[:1])).Do()
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.Id)
		if _, err := svc.Members.Insert(g.Id, &admin.Member{Email: e, Role: "MEMBER"}).Do(); err != nil {
			t.Fatal(err)
		}
	}
	_, err = svc.Members.Insert(g.Id, &admin.Member{Email: "a@example.com"}).Do()
	wantErr(t, "duplicate member", err, 409, "duplicate", "Member already exists.")
	_, err = svc.Members.Insert(g.Id, &admin.Member{Email: "ghost@example.com"}).Do()
	wantErr(t, "unknown member", err, 404, "notFound", "memberKey")
	wantErr(t, "non-member delete", svc.Members.Delete(g.Id, "ghost@example.com").Do(), 404, "notFound", "memberKey")
	pages, count := 0, 0
	err = svc.Members.List(g.Id).MaxResults(2).Pages(context.Background(), func(m *admin.Members) error {
		pages++
		count += len(m.Members)
		return nil
	})
	if err != nil || pages != 2 || count != 3 {
		t.Errorf("member paging: %v, %d pages, %d members", err, pages, count)
	}
	if err := svc.Members.Delete(g.Id, users[1]).Do(); err != nil {
		t.Errorf("delete by id: %v", err)
	}
	if has, err := svc.Members.HasMember("eng@example.com", "b@example.com").Do(); err != nil || has.IsMember {
		t.Errorf("hasMember after delete: %v %+v", err, has)
	}
	_, err = svc.Members.Insert("nobody@example.com", &admin.Member{Email: "a@example.com"}).Do()
	wantErr(t, "unknown group", err, 404, "notFound", "groupKey")
}

func TestConsistencyDelaysAndQuota(t *testing.T) {
	_, srv, c := start(t, googlesim.Options{AllowAnonymous: true, CreationDelay: 10 * time.Second, GroupDelay: 3 * time.Second})
	svc := anonymous(t, srv)
	u, err := svc.Users.Insert(newUser("a@example.com", "1")).Do()
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.Groups.Insert(&admin.Group{Email: "g@example.com"}).Do()
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Users.Get(u.Id).Do()
	wantErr(t, "new user by id", err, 404, "notFound", "userKey")
	_, err = svc.Users.Update(u.Id, &admin.User{Suspended: true}).Do()
	wantErr(t, "update of a new user", err, 412, "conditionNotMet", "User creation is not complete.")
	_, err = svc.Members.Insert(g.Id, &admin.Member{Email: "a@example.com"}).Do()
	wantErr(t, "member add to a new group", err, 404, "notFound", "groupKey")
	c.Advance(4 * time.Second)
	_, err = svc.Members.Insert(g.Id, &admin.Member{Email: "a@example.com"}).Do()
	wantErr(t, "member add of a new user", err, 412, "conditionNotMet", "User creation is not complete.")
	c.Advance(10 * time.Second)
	if _, err := svc.Members.Insert(g.Id, &admin.Member{Email: "a@example.com"}).Do(); err != nil {
		t.Errorf("after the delays: %v", err)
	}

	_, qsrv, qc := start(t, googlesim.Options{AllowAnonymous: true, PerMinute: 2})
	qsvc := anonymous(t, qsrv)
	for i := range 3 {
		_, err := qsvc.Users.List().Customer("my_customer").Do()
		if i < 2 && err != nil {
			t.Fatalf("call %d within the quota: %v", i, err)
		}
		if i == 2 {
			wantErr(t, "over the quota", err, 403, "userRateLimitExceeded", "Queries per minute")
		}
	}
	qc.Advance(time.Minute)
	if _, err := qsvc.Users.List().Customer("my_customer").Do(); err != nil {
		t.Errorf("next minute: %v", err)
	}
}

func TestFaultsAndRejects(t *testing.T) {
	sim, srv, _ := start(t, googlesim.Options{AllowAnonymous: true})
	svc := anonymous(t, srv)
	sim.Throttle(1, 3*time.Second)
	_, err := svc.Users.List().Customer("my_customer").Do()
	wantErr(t, "throttled", err, 403, "userRateLimitExceeded", "Rate Limit")
	if apiErr(t, err).Header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q", apiErr(t, err).Header.Get("Retry-After"))
	}
	sim.Fail(1, 429, "rateLimitExceeded", "Rate Limit Exceeded", 0)
	_, err = svc.Users.List().Customer("my_customer").Do()
	wantErr(t, "429", err, 429, "rateLimitExceeded", "Rate Limit Exceeded")
	sim.Reject("7")
	_, err = svc.Users.Insert(newUser("x@example.com", "7")).Do()
	wantErr(t, "rejected", err, 400, "invalid", "rejects")
	sim.Accept("7")
	if _, err := svc.Users.Insert(newUser("x@example.com", "7")).Do(); err != nil {
		t.Errorf("after Accept: %v", err)
	}
	if sim.Writes() != 1 {
		t.Errorf("writes %d, want the one accepted insert", sim.Writes())
	}
}
