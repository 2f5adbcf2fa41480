package personiotest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// call sends a request to the simulator and decodes a JSON answer.
func call(t *testing.T, method, u string, body string, header map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %s", method, u, raw)
		}
	}
	return res.StatusCode, res.Header, out
}

func jsonHeader() map[string]string { return map[string]string{"Content-Type": "application/json"} }
func formHeader() map[string]string {
	return map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
}

func v1Token(t *testing.T, s *Server) string {
	t.Helper()
	status, _, body := call(t, "POST", s.URL()+"/v1/auth", `{"client_id":"`+s.ClientID()+`","client_secret":"`+s.ClientSecret()+`"}`, jsonHeader())
	if status != 200 {
		t.Fatalf("v1 auth: %d %v", status, body)
	}
	return body["data"].(map[string]any)["token"].(string)
}

func v2Token(t *testing.T, s *Server) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}
	status, _, body := call(t, "POST", s.URL()+"/v2/auth/token", form.Encode(), formHeader())
	if status != 200 {
		t.Fatalf("v2 token: %d %v", status, body)
	}
	return body["access_token"].(string)
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
}

func noLimits() []Credential {
	return []Credential{{ClientID: "c", ClientSecret: "s", NoRateLimit: true}}
}

func TestV1AuthForms(t *testing.T) {
	s := Start(t, Options{Employees: 1, Credentials: noLimits()})
	tests := []struct {
		name, path, body string
		header           map[string]string
		want             int
	}{
		{"json", "/v1/auth", `{"client_id":"c","client_secret":"s"}`, jsonHeader(), 200},
		{"form", "/v1/auth", "client_id=c&client_secret=s", formHeader(), 200},
		{"query", "/v1/auth?client_id=c&client_secret=s", "", nil, 200},
		{"wrong secret", "/v1/auth", `{"client_id":"c","client_secret":"x"}`, jsonHeader(), 401},
	}
	var tokens []string
	for _, tt := range tests {
		status, _, body := call(t, "POST", s.URL()+tt.path, tt.body, tt.header)
		if status != tt.want {
			t.Errorf("%s: status %d, want %d (%v)", tt.name, status, tt.want, body)
			continue
		}
		if status == 200 {
			tokens = append(tokens, body["data"].(map[string]any)["token"].(string))
		} else if body["success"] != false || body["error"].(map[string]any)["message"] != "Wrong credentials" {
			t.Errorf("%s: body %v", tt.name, body)
		}
	}
	if len(tokens) != 3 || tokens[0] != tokens[1] || tokens[1] != tokens[2] || !strings.HasPrefix(tokens[0], "papi-") {
		t.Errorf("stable mode tokens %v: want one papi- token for the credential", tokens)
	}
}

func TestV2TokenEndpoint(t *testing.T) {
	s := Start(t, Options{Employees: 1, Credentials: []Credential{{ClientID: "c", ClientSecret: "s", NoRateLimit: true,
		Scopes: []string{"personio:persons:read"}}}})
	tests := []struct {
		name, body string
		header     map[string]string
		status     int
		errCode    string
	}{
		{"json body", `{"grant_type":"client_credentials","client_id":"c","client_secret":"s"}`, jsonHeader(), 400, "invalid_request"},
		{"missing grant", "client_id=c&client_secret=s", formHeader(), 400, "invalid_request"},
		{"other grant", "grant_type=password&client_id=c&client_secret=s", formHeader(), 400, "unsupported_grant_type"},
		{"wrong secret", "grant_type=client_credentials&client_id=c&client_secret=x", formHeader(), 400, "unauthorized_client"},
		{"scope not granted", "grant_type=client_credentials&client_id=c&client_secret=s&scope=personio:persons:write", formHeader(), 400, "invalid_scope"},
		{"granted scope", "grant_type=client_credentials&client_id=c&client_secret=s&scope=personio:persons:read", formHeader(), 200, ""},
	}
	for _, tt := range tests {
		status, header, body := call(t, "POST", s.URL()+"/v2/auth/token", tt.body, tt.header)
		if status != tt.status {
			t.Errorf("%s: status %d, want %d (%v)", tt.name, status, tt.status, body)
			continue
		}
		if tt.errCode != "" && (body["error"] != tt.errCode || header.Get("Content-Type") != "application/problem+json") {
			t.Errorf("%s: body %v, content type %s", tt.name, body, header.Get("Content-Type"))
		}
		if tt.status == 200 && (body["token_type"] != "Bearer" || body["expires_in"] != float64(86400)) {
			t.Errorf("%s: body %v", tt.name, body)
		}
	}
	_, _, body := call(t, "POST", s.URL()+"/v2/auth/token", "client_id=c&client_secret=s", formHeader())
	if missing, _ := body["meta"].(map[string]any)["missing_parameters"].([]any); len(missing) != 1 || missing[0] != "grant_type" {
		t.Errorf("missing parameters = %v", body["meta"])
	}
}

func TestV1ListRules(t *testing.T) {
	s := Start(t, Options{Employees: 120, Credentials: noLimits()})
	h := bearer(v1Token(t, s))
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "offset=-1"} {
		status, _, body := call(t, "GET", s.URL()+"/v1/company/employees?"+q, "", h)
		if status != 400 || body["success"] != false {
			t.Errorf("%s: status %d, body %v", q, status, body)
		}
	}
	_, _, body := call(t, "GET", s.URL()+"/v1/company/employees?limit=100", "", h)
	if msg := body["error"]; msg != nil {
		t.Fatalf("limit=100: %v", msg)
	}
	status, header, body := call(t, "GET", s.URL()+"/v1/company/employees", "", h)
	meta := body["metadata"].(map[string]any)
	if status != 200 || len(body["data"].([]any)) != 50 || meta["total_elements"] != float64(120) || meta["total_pages"] != float64(3) {
		t.Errorf("default page: status %d, %d items, metadata %v", status, len(body["data"].([]any)), meta)
	}
	if header.Get("Authorization") != h["Authorization"] {
		t.Errorf("v1 answer does not echo the token: %q", header.Get("Authorization"))
	}
	_, _, body = call(t, "GET", s.URL()+"/v1/company/employees?limit=100&offset=100", "", h)
	if n := len(body["data"].([]any)); n != 20 {
		t.Errorf("offset 100: %d items, want 20", n)
	}
	email := s.Records()[3].Email
	_, _, body = call(t, "GET", s.URL()+"/v1/company/employees?email="+url.QueryEscape(strings.ToUpper(email)), "", h)
	if n := len(body["data"].([]any)); n != 1 {
		t.Errorf("email filter: %d items, want 1", n)
	}
	status, _, body = call(t, "GET", s.URL()+"/v1/company/employees/1", "", h)
	if status != 404 || body["error"].(map[string]any)["message"] != "Es ist ein Problem aufgetreten" {
		t.Errorf("unknown id: %d %v", status, body)
	}
}

// firstAttributes returns the attribute keys of the first employee of a page.
func firstAttributes(body map[string]any) map[string]any {
	return body["data"].([]any)[0].(map[string]any)["attributes"].(map[string]any)
}

func TestV1ReadableAndProjection(t *testing.T) {
	s := Start(t, Options{Employees: 3, Credentials: []Credential{
		{ClientID: "c", ClientSecret: "s", NoRateLimit: true},
		{ClientID: "narrow", ClientSecret: "s", NoRateLimit: true, Readable: []string{"first_name", "fix_salary"}},
	}})
	h := bearer(v1Token(t, s))
	_, _, body := call(t, "GET", s.URL()+"/v1/company/employees", "", h)
	all := firstAttributes(body)
	salary, _ := all["fix_salary"].(map[string]any)
	if salary["currency"] != "EUR" || all["dynamic_9001"] == nil || len(all) < 35 {
		t.Errorf("everything readable: %d attributes, fix_salary %v", len(all), salary)
	}
	_, _, body = call(t, "GET", s.URL()+"/v1/company/employees?attributes[]=email&attributes[]=department", "", h)
	if got := firstAttributes(body); len(got) != 3 || got["email"] == nil || got["department"] == nil {
		t.Errorf("projection: %v", got)
	}
	_, _, narrowTok := call(t, "POST", s.URL()+"/v1/auth", `{"client_id":"narrow","client_secret":"s"}`, jsonHeader())
	nh := bearer(narrowTok["data"].(map[string]any)["token"].(string))
	_, _, body = call(t, "GET", s.URL()+"/v1/company/employees", "", nh)
	if got := firstAttributes(body); len(got) != 3 || got["email"] != nil {
		t.Errorf("narrow credential sees %v", got)
	}
}

func TestV2ListRules(t *testing.T) {
	s := Start(t, Options{Employees: 60, Credentials: noLimits()})
	h := bearer(v2Token(t, s))
	tests := []struct{ query, detail string }{
		{"limit=51", "Provided value for limit is not valid"},
		{"limit=0", "Provided value for limit is not valid"},
		{"foo=1", "Parameter [foo] is invalid"},
		{"id.nooperator=1", "Provided filter encoding is invalid."},
		{"updated_at.gt=yesterday", "Provided request parameters are invalid."},
		{"cursor=nonsense", "Provided request parameters are invalid."},
	}
	for _, tt := range tests {
		status, header, body := call(t, "GET", s.URL()+"/v2/persons?"+tt.query, "", h)
		errs, _ := body["errors"].([]any)
		if status != 400 || len(errs) != 1 || errs[0].(map[string]any)["detail"] != tt.detail || header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: status %d, body %v", tt.query, status, body)
		}
	}
	// Follow next links with a filter: it must hold on every page.
	next := s.URL() + "/v2/persons?status=INACTIVE&limit=2"
	seen := 0
	for next != "" {
		status, _, body := call(t, "GET", next, "", h)
		if status != 200 {
			t.Fatalf("%s: %d %v", next, status, body)
		}
		for _, p := range body["_data"].([]any) {
			if p.(map[string]any)["status"] != "INACTIVE" {
				t.Fatalf("page %s holds an active person", next)
			}
			seen++
		}
		next = ""
		if link, ok := body["_meta"].(map[string]any)["links"].(map[string]any)["next"].(map[string]any); ok {
			next = link["href"].(string)
			if !strings.HasPrefix(next, s.URL()+"/v2/persons?cursor=cur_") || strings.Contains(next, "status") {
				t.Fatalf("next link %s: want an absolute link with only a cursor", next)
			}
		}
	}
	inactive := 0
	for _, r := range s.Records() {
		if r.Status == "inactive" {
			inactive++
		}
	}
	if seen != inactive || inactive == 0 {
		t.Errorf("filtered listing saw %d inactive people, the company has %d", seen, inactive)
	}
	status, _, body := call(t, "GET", s.URL()+"/v2/persons/1", "", h)
	if status != 404 || body["errors"].([]any)[0].(map[string]any)["title"] != "Resource not found" {
		t.Errorf("unknown person: %d %v", status, body)
	}
}

func TestV2Readable(t *testing.T) {
	s := Start(t, Options{Employees: 2, Credentials: []Credential{{ClientID: "c", ClientSecret: "s", NoRateLimit: true, Readable: []string{}}}})
	h := bearer(v2Token(t, s))
	id := s.Records()[0].ID
	_, _, person := call(t, "GET", s.URL()+"/v2/persons/"+id, "", h)
	if len(person) != 3 || person["id"] != id || person["employments"] == nil || person["_meta"] == nil {
		t.Errorf("person with nothing readable: %v; want id, employments and _meta", person)
	}
	_, _, emps := call(t, "GET", s.URL()+"/v2/persons/"+id+"/employments", "", h)
	emp := emps["_data"].([]any)[0].(map[string]any)
	if len(emp) != 4 || emp["status"] == nil || emp["person"] == nil {
		t.Errorf("employment with nothing readable: %v; want id, person, status and _meta", emp)
	}
}

func TestRateLimits(t *testing.T) {
	clock := NewClock(seedNow)
	s := Start(t, Options{Employees: 5, Now: clock.Now})
	h := bearer(v1Token(t, s))
	statuses := map[int]int{}
	for range 16 {
		status, _, _ := call(t, "GET", s.URL()+"/v1/company/employees", "", h)
		statuses[status]++
	}
	if statuses[200] != 15 || statuses[429] != 1 {
		t.Errorf("16 calls at one instant: %v; want 15 answered and one 429", statuses)
	}
	clock.Advance(time.Second)
	if status, _, _ := call(t, "GET", s.URL()+"/v1/company/employees", "", h); status != 200 {
		t.Errorf("a second later: %d", status)
	}
	h2 := bearer(v2Token(t, s))
	_, header, _ := call(t, "GET", s.URL()+"/v2/persons", "", h2)
	if header.Get("X-Ratelimit-Replenish-Rate") != "30" || header.Get("X-Ratelimit-Burst-Capacity") != "30" || header.Get("X-Ratelimit-Remaining") != "29" {
		t.Errorf("x-ratelimit headers: %v", header)
	}
	for range 70 {
		call(t, "POST", s.URL()+"/v1/auth", `{"client_id":"`+s.ClientID()+`","client_secret":"`+s.ClientSecret()+`"}`, jsonHeader())
	}
	clock.Advance(30 * time.Second)
	if status, _, _ := call(t, "POST", s.URL()+"/v1/auth", `{"client_id":"`+s.ClientID()+`","client_secret":"`+s.ClientSecret()+`"}`, jsonHeader()); status != 429 {
		t.Errorf("auth during the cool-down: %d, want 429", status)
	}
}

func TestLegacyTokensWorkOnce(t *testing.T) {
	s := Start(t, Options{Employees: 2, Credentials: []Credential{{ClientID: "c", ClientSecret: "s", NoRateLimit: true, TokenMode: TokenLegacy}}})
	tok := v1Token(t, s)
	status, header, _ := call(t, "GET", s.URL()+"/v1/company/employees", "", bearer(tok))
	next := strings.TrimPrefix(header.Get("Authorization"), "Bearer ")
	if status != 200 || next == "" || next == tok {
		t.Fatalf("first use: %d, next token %q", status, next)
	}
	if status, _, _ := call(t, "GET", s.URL()+"/v1/company/employees", "", bearer(tok)); status != 401 {
		t.Errorf("second use of a one-time token: %d, want 401", status)
	}
	if status, _, _ := call(t, "GET", s.URL()+"/v1/company/employees", "", bearer(next)); status != 200 {
		t.Errorf("the rotated token: %d", status)
	}
}

func TestProfilePicture(t *testing.T) {
	s := Start(t, Options{Employees: 2, Credentials: noLimits()})
	tok := v1Token(t, s)
	req, _ := http.NewRequest("GET", s.URL()+"/v1/company/employees/"+s.Records()[0].ID+"/profile-picture/64", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	img, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(img), "\x89PNG") || res.Header.Get("Authorization") != "" {
		t.Errorf("picture: %d %s, %d bytes, token header %q", res.StatusCode, res.Header.Get("Content-Type"), len(img), res.Header.Get("Authorization"))
	}
}
