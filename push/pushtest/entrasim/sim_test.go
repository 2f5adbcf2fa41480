package entrasim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	sim   *entrasim.Sim
	srv   *httptest.Server
	clock *clock
	token string
}

func start(t *testing.T, o entrasim.Options) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)}
	o.Now = c.Now
	s := entrasim.New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e := &env{t: t, sim: s, srv: srv, clock: c}
	e.token = e.getToken(url.Values{"client_id": {s.Options().ClientID}, "client_secret": {s.Options().ClientSecret},
		"grant_type": {"client_credentials"}, "scope": {entrasim.GraphScope}}, http.StatusOK)["access_token"].(string)
	return e
}

func (e *env) getToken(form url.Values, want int) map[string]any {
	e.t.Helper()
	resp, err := http.PostForm(e.sim.TokenURL(e.srv.URL), form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != want {
		e.t.Fatalf("token: %d %v, want %d", resp.StatusCode, body, want)
	}
	return body
}

func (e *env) do(method, path, contentType, body string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp, out
}

func (e *env) bulkPath() string {
	return strings.TrimPrefix(e.sim.BulkUploadURL("", "v1.0"), "")
}

func user(id, upn string) string {
	return fmt.Sprintf(`{"method":"POST","bulkId":"b%s","path":"/Users","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":%q,"userName":%q,"active":true,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}}`, id, id, upn)
}

func bulk(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[` + strings.Join(ops, ",") + `],"failOnErrors":null}`
}

func errCode(body map[string]any) string {
	m, _ := body["error"].(map[string]any)
	s, _ := m["code"].(string)
	return s
}

func TestTokenEndpoint(t *testing.T) {
	e := start(t, entrasim.Options{})
	o := e.sim.Options()
	good := url.Values{"client_id": {o.ClientID}, "client_secret": {o.ClientSecret}, "grant_type": {"client_credentials"}, "scope": {entrasim.GraphScope}}
	tests := []struct {
		name   string
		change func(url.Values)
		status int
		code   string
	}{
		{"good", func(url.Values) {}, 200, ""},
		{"wrong secret", func(v url.Values) { v.Set("client_secret", "x") }, 401, "invalid_client"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "x") }, 400, "unauthorized_client"},
		{"wrong scope", func(v url.Values) { v.Set("scope", "https://graph.microsoft.com/User.Read") }, 400, "invalid_scope"},
		{"wrong grant", func(v url.Values) { v.Set("grant_type", "password") }, 400, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{}
			for k, x := range good {
				v[k] = x
			}
			tc.change(v)
			body := e.getToken(v, tc.status)
			if tc.code != "" && body["error"] != tc.code {
				t.Fatalf("error %v, want %s", body["error"], tc.code)
			}
			if tc.code == "" && (body["token_type"] != "Bearer" || body["expires_in"].(float64) != 3599) {
				t.Fatalf("token answer %v", body)
			}
		})
	}
	t.Run("expired secret", func(t *testing.T) {
		e.sim.ExpireSecret()
		defer e.sim.RenewSecret()
		if body := e.getToken(good, 401); !strings.HasPrefix(body["error_description"].(string), "AADSTS7000222") {
			t.Fatalf("%v", body)
		}
	})
	t.Run("tokens expire by the clock", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		resp, body := e.do("POST", e.bulkPath(), "application/scim+json", bulk(user("1", "a@x.com")))
		if resp.StatusCode != 401 || errCode(body) != "InvalidAuthenticationToken" {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	})
}

func TestBulkUploadValidation(t *testing.T) {
	ops := make([]string, 51)
	for i := range ops {
		ops[i] = user(fmt.Sprint(i), fmt.Sprintf("u%d@x.com", i))
	}
	tests := []struct {
		name, contentType, body string
		status                  int
		msg                     string
	}{
		{"accepted", "application/scim+json", bulk(user("1", "a@x.com")), 202, ""},
		{"json content type", "application/json", bulk(user("1", "a@x.com")), 400, "Invalid Data Format"},
		{"no content type", "", bulk(user("1", "a@x.com")), 400, "Invalid Data Format"},
		{"not JSON", "application/scim+json", "hello", 400, "Invalid Data Format"},
		{"no BulkRequest schema", "application/scim+json", `{"schemas":[],"Operations":[` + user("1", "a@x.com") + `]}`, 400, "schemas must list"},
		{"51 operations", "application/scim+json", bulk(ops...), 400, "more than the maximum of 50"},
		{"PATCH", "application/scim+json", bulk(strings.Replace(user("1", "a@x.com"), `"POST"`, `"PATCH"`, 1)), 400, "method must be POST"},
		{"Groups path", "application/scim+json", bulk(strings.Replace(user("1", "a@x.com"), `"/Users"`, `"/Groups"`, 1)), 400, "path must be /Users"},
		{"no externalId", "application/scim+json", bulk(strings.Replace(user("1", "a@x.com"), `"externalId":"1",`, "", 1)), 400, "externalId is required"},
		{"unlisted extension", "application/scim+json", bulk(strings.Replace(user("1", "a@x.com"), `"active":true`, `"active":true,"urn:contoso:employee":{"HireDate":"x"}`, 1)), 400, "does not list"},
		{"active as a string", "application/scim+json", bulk(strings.Replace(user("1", "a@x.com"), `"active":true`, `"active":"True"`, 1)), 400, "active must be a boolean"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, entrasim.Options{})
			resp, body := e.do("POST", e.bulkPath(), tc.contentType, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %v, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status == 202 {
				if !strings.Contains(resp.Header.Get("Location"), "/v1.0/auditLogs/provisioning") || resp.Header.Get("request-id") == "" {
					t.Fatalf("202 headers %v", resp.Header)
				}
				return
			}
			msg, _ := body["error"].(map[string]any)["message"].(string)
			if !strings.Contains(msg, tc.msg) || e.sim.Writes() != 0 {
				t.Fatalf("message %q (want %q), writes %d", msg, tc.msg, e.sim.Writes())
			}
		})
	}
	t.Run("GET is refused", func(t *testing.T) {
		e := start(t, entrasim.Options{})
		if resp, _ := e.do("GET", e.bulkPath(), "", ""); resp.StatusCode != 405 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("unknown job", func(t *testing.T) {
		e := start(t, entrasim.Options{})
		if resp, _ := e.do("POST", strings.Replace(e.bulkPath(), e.sim.Options().JobID, "other", 1), "application/scim+json", bulk(user("1", "a@x.com"))); resp.StatusCode != 404 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestUploadLimits(t *testing.T) {
	t.Run("40 per 5 seconds", func(t *testing.T) {
		e := start(t, entrasim.Options{})
		for i := range 40 {
			if resp, _ := e.do("POST", e.bulkPath(), "application/scim+json", bulk(user(fmt.Sprint(i), fmt.Sprintf("u%d@x.com", i)))); resp.StatusCode != 202 {
				t.Fatalf("request %d: %d", i, resp.StatusCode)
			}
		}
		resp, body := e.do("POST", e.bulkPath(), "application/scim+json", bulk(user("x", "x@x.com")))
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "5" || errCode(body) != "TooManyRequests" {
			t.Fatalf("41st: %d Retry-After %q %v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		e.clock.Advance(5 * time.Second)
		if resp, _ := e.do("POST", e.bulkPath(), "application/scim+json", bulk(user("y", "y@x.com"))); resp.StatusCode != 202 {
			t.Fatalf("after the window: %d", resp.StatusCode)
		}
	})
	t.Run("daily cap", func(t *testing.T) {
		e := start(t, entrasim.Options{DailyLimit: 3})
		for i := range 3 {
			e.do("POST", e.bulkPath(), "application/scim+json", bulk(user(fmt.Sprint(i), fmt.Sprintf("u%d@x.com", i))))
		}
		if resp, _ := e.do("POST", e.bulkPath(), "application/scim+json", bulk(user("x", "x@x.com"))); resp.StatusCode != 429 {
			t.Fatalf("over the daily cap: %d", resp.StatusCode)
		}
	})
	t.Run("bucket full when the queue is over its cap", func(t *testing.T) {
		e := start(t, entrasim.Options{QueueCap: 2})
		e.sim.SetJobStatus(entrasim.JobPaused)
		e.do("POST", e.bulkPath(), "application/scim+json", bulk(user("1", "a@x.com"), user("2", "b@x.com")))
		resp, body := e.do("POST", e.bulkPath(), "application/scim+json", bulk(user("3", "c@x.com")))
		if msg, _ := body["error"].(map[string]any)["message"].(string); resp.StatusCode != 500 || !strings.Contains(msg, "Bucket is full") {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
		if e.sim.Users() != 0 || e.sim.Queued() != 2 {
			t.Fatalf("paused job processed: users %d queued %d", e.sim.Users(), e.sim.Queued())
		}
		e.do("POST", e.sim.BulkUploadURL("", "v1.0")[:len(e.sim.BulkUploadURL("", "v1.0"))-len("/bulkUpload")]+"/restart", "", "")
		if e.sim.Queued() != 0 || e.sim.Users() != 0 {
			t.Fatalf("restart did not purge the staged uploads: queued %d users %d", e.sim.Queued(), e.sim.Users())
		}
	})
}

func logs(e *env, version, query string) (*http.Response, map[string]any) {
	return e.do("GET", "/"+version+"/auditLogs/provisioning?"+query, "", "")
}

func TestProvisioningLogs(t *testing.T) {
	e := start(t, entrasim.Options{LogReadLimit: -1})
	job := e.sim.Options().JobID
	e.do("POST", e.bulkPath(), "application/scim+json", bulk(user("1", "a@x.com"), user("2", "a@x.com"), user("3", "c@x.com")))

	q := url.Values{"$filter": {"jobId eq '" + job + "'"}}.Encode()
	if _, body := logs(e, "v1.0", q); len(body["value"].([]any)) != 0 {
		t.Fatalf("entries visible before the log delay: %v", body["value"])
	}
	e.clock.Advance(5*time.Minute + time.Second)
	_, body := logs(e, "v1.0", q)
	if n := len(body["value"].([]any)); n != 3 {
		t.Fatalf("%d entries after the delay, want 3", n)
	}

	tests := []struct {
		name, version, filter string
		want                  int
	}{
		{"job", "v1.0", "jobid eq '" + job + "'", 3},
		{"other job", "v1.0", "jobId eq 'other'", 0},
		{"failures (v1.0)", "v1.0", "jobId eq '" + job + "' and provisioningStatusInfo/status eq 'failure'", 1},
		{"failures (beta)", "beta", "jobId eq '" + job + "' and statusInfo/status eq 'failure'", 1},
		{"by externalId", "v1.0", "sourceIdentity/id eq '3'", 1},
		{"since now", "v1.0", "activityDateTime ge " + e.clock.Now().Format(time.RFC3339), 0},
		{"since the upload", "v1.0", "activityDateTime ge 2026-09-01T06:00:00Z and activityDateTime lt 2026-09-01T07:00:00Z", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := logs(e, tc.version, url.Values{"$filter": {tc.filter}}.Encode())
			if resp.StatusCode != 200 || len(body["value"].([]any)) != tc.want {
				t.Fatalf("%d %v, want %d entries", resp.StatusCode, body, tc.want)
			}
		})
	}
	t.Run("the failure carries Entra's code", func(t *testing.T) {
		_, body := logs(e, "beta", url.Values{"$filter": {"statusInfo/status eq 'failure'"}}.Encode())
		entry := body["value"].([]any)[0].(map[string]any)
		info := entry["statusInfo"].(map[string]any)["errorInformation"].(map[string]any)
		if info["errorCode"] != entrasim.CodeDuplicateUPN || entry["sourceIdentity"].(map[string]any)["id"] != "2" || entry["provisioningAction"] != "create" {
			t.Fatalf("entry %v", entry)
		}
	})
	t.Run("bad filters", func(t *testing.T) {
		for _, f := range []string{"displayName eq 'x'", "jobId ne 'x'", "activityDateTime ge yesterday", "jobId eq x"} {
			if resp, body := logs(e, "v1.0", url.Values{"$filter": {f}}.Encode()); resp.StatusCode != 400 || errCode(body) != "BadRequest" {
				t.Errorf("%s: %d %v", f, resp.StatusCode, body)
			}
		}
	})
	t.Run("paging by nextLink", func(t *testing.T) {
		seen := map[string]bool{}
		next := e.srv.URL + "/v1.0/auditLogs/provisioning?$top=2"
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("paging does not end")
			}
			req, _ := http.NewRequest("GET", next, nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Value []struct {
					ID string `json:"id"`
				} `json:"value"`
				Next string `json:"@odata.nextLink"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			for _, v := range body.Value {
				seen[v.ID] = true
			}
			next = body.Next
		}
		if len(seen) != 3 {
			t.Fatalf("paging saw %d distinct entries, want 3", len(seen))
		}
	})
}

func TestLogReadThrottle(t *testing.T) {
	e := start(t, entrasim.Options{})
	for i := range 5 {
		if resp, _ := logs(e, "v1.0", ""); resp.StatusCode != 200 {
			t.Fatalf("read %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := logs(e, "v1.0", ""); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("6th read in 10 s: %d", resp.StatusCode)
	}
	e.clock.Advance(10 * time.Second)
	if resp, _ := logs(e, "v1.0", ""); resp.StatusCode != 200 {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}
}

func TestTenantMapping(t *testing.T) {
	e := start(t, entrasim.Options{})
	rec := `{"method":"POST","bulkId":"1","path":"/Users","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:personio:1.0:User"],
	"externalId":"1","userName":"ada@x.com","active":false,"displayName":"Ada","title":"Engineer","name":{"givenName":"Ada","familyName":"Lovelace"},
	"emails":[{"value":"home@x.com","type":"home"},{"value":"ada@x.com","type":"work","primary":true}],
	"phoneNumbers":[{"value":"+1 home","type":"home"}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","organization":"Example GmbH","costCenter":"CC1","division":"Core"},
	"urn:ietf:params:scim:schemas:extension:personio:1.0:User":{"hireDate":"2026-09-01T00:00:00Z","office":"Berlin"}}}`
	if resp, body := e.do("POST", e.bulkPath(), "application/scim+json", bulk(rec)); resp.StatusCode != 202 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	e.sim.Settle()
	u, ok := e.sim.Tenant("1")
	want := entrasim.User{ObjectID: u.ObjectID, EmployeeID: "1", UserPrincipalName: "ada@x.com", DisplayName: "Ada", GivenName: "Ada", Surname: "Lovelace",
		JobTitle: "Engineer", Department: "R&D", Division: "Core", CompanyName: "Example GmbH", CostCenter: "CC1",
		AccountEnabled: false, HireDate: "2026-09-01T00:00:00Z", Office: "Berlin"}
	if !ok || u != want {
		t.Fatalf("tenant user\n%+v\nwant\n%+v", u, want)
	}
	su, _ := e.sim.User("1")
	if su.Active || su.Login != "ada@x.com" {
		t.Fatalf("suite view %+v", su)
	}
	e.sim.Tamper("1", "Someone Else")
	if u, _ := e.sim.Tenant("1"); u.DisplayName != "Someone Else" {
		t.Fatal("Tamper did not change the account")
	}
}

func TestNullFlowAndAgent(t *testing.T) {
	withTitle := strings.Replace(user("1", "a@x.com"), `"active":true`, `"active":true,"title":"Engineer"`, 1)
	tests := []struct {
		name      string
		flowNulls bool
		want      string
	}{
		{"omitted attributes keep their value", false, "Engineer"},
		{"with null flow they clear it", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, entrasim.Options{FlowNulls: tc.flowNulls})
			e.do("POST", e.bulkPath(), "application/scim+json", bulk(withTitle))
			e.do("POST", e.bulkPath(), "application/scim+json", bulk(user("1", "a@x.com")))
			e.sim.Settle()
			if u, _ := e.sim.Tenant("1"); u.JobTitle != tc.want || u.UserPrincipalName != "a@x.com" {
				t.Fatalf("title %q upn %q, want %q", u.JobTitle, u.UserPrincipalName, tc.want)
			}
		})
	}
	t.Run("an inactive AD agent leaves uploads unprocessed", func(t *testing.T) {
		e := start(t, entrasim.Options{Directory: entrasim.AD})
		e.sim.SetAgentActive(false)
		ad := strings.Replace(user("1", "a@x.com"), `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",`, `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:personio:1.0:User",`, 1)
		ad = strings.Replace(ad, `"active":true`, `"active":true,"urn:ietf:params:scim:schemas:extension:personio:1.0:User":{"sAMAccountName":"u1"}`, 1)
		if resp, body := e.do("POST", e.bulkPath(), "application/scim+json", bulk(ad)); resp.StatusCode != 202 {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
		e.sim.Settle()
		if e.sim.Users() != 0 || e.sim.Queued() != 1 {
			t.Fatalf("processed without an agent: %d users, %d queued", e.sim.Users(), e.sim.Queued())
		}
		e.sim.SetAgentActive(true)
		if u, ok := e.sim.Tenant("1"); !ok || u.SAMAccountName != "u1" || u.ParentDN != e.sim.Options().DefaultContainer {
			t.Fatalf("after the agent came back: %+v %v", u, ok)
		}
	})
}

func TestJobResource(t *testing.T) {
	e := start(t, entrasim.Options{})
	jobPath := strings.TrimSuffix(e.bulkPath(), "/bulkUpload")
	status := func() string {
		resp, body := e.do("GET", jobPath, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("job: %d", resp.StatusCode)
		}
		return body["status"].(map[string]any)["code"].(string)
	}
	if got := status(); got != "Active" {
		t.Fatalf("status %s", got)
	}
	if resp, _ := e.do("POST", jobPath+"/pause", "", ""); resp.StatusCode != 204 || status() != "Paused" {
		t.Fatalf("pause: %d, %s", resp.StatusCode, status())
	}
	e.do("POST", e.bulkPath(), "application/scim+json", bulk(user("1", "a@x.com")))
	e.sim.Settle()
	if e.sim.Users() != 0 {
		t.Fatal("a paused job processed an upload")
	}
	if resp, _ := e.do("POST", jobPath+"/start", "", ""); resp.StatusCode != 204 || status() != "Active" || e.sim.Users() != 1 {
		t.Fatalf("start: %d, %s, %d users", resp.StatusCode, status(), e.sim.Users())
	}
	e.sim.SetJobStatus(entrasim.JobQuarantine)
	if _, body := e.do("GET", jobPath, "", ""); body["status"].(map[string]any)["quarantine"].(map[string]any)["reason"] != "IngestionInterrupted" {
		t.Fatalf("quarantine: %v", body)
	}
}
