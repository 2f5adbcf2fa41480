package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

const (
	scimToken  = "scim-token-for-tests-0123456789"
	adminToken = "admin-token-for-tests-0123456789"
)

// stack is the service as the demo wires it: simulator, memory store,
// engine, scheduler and router, served over HTTP.
type stack struct {
	t     *testing.T
	url   string
	sim   *personiotest.Server
	clock *personiotest.Clock
	store store.Store
}

func newStack(t *testing.T, employees int, config string) *stack {
	t.Helper()
	clock := personiotest.NewClock(time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC))
	sim := personiotest.Start(t, personiotest.Options{Employees: employees, Seed: 7, Now: clock.Now})
	policy, st, dir, engine := newEngineOn(t, sim, clock, config)
	h, err := api.NewRouter(api.Options{Store: st, Directory: dir, Engine: engine, Scheduler: mirror.NewScheduler(engine, 15*time.Minute),
		SCIMToken: scimToken, AdminToken: adminToken, Version: "test", Now: clock.Now, Writable: policy.Writable(),
		AuthFailureBurst: 100})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &stack{t: t, url: srv.URL, sim: sim, clock: clock, store: st}
}

// newEngineOn is the mirror as the service wires it: the configuration,
// a memory store with its directory, and an engine reading the simulator.
func newEngineOn(t *testing.T, sim *personiotest.Server, clock *personiotest.Clock, config string) (*mirror.Policy, store.Store, *store.Directory, *mirror.Engine) {
	t.Helper()
	cfg, err := mirror.ParseConfig("test", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := mirror.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(memory.Options{Now: clock.Now})
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := personio.NewClient(personio.Config{BaseURL: sim.URL(), ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(),
		Attributes: policy.SourceFields(), NoRateLimit: true, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := mirror.NewEngine(mirror.EngineOptions{Policy: policy, Store: st, Directory: dir, Source: client, Namespace: store.DefaultNamespace, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return policy, st, dir, engine
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, a.body)
	}
	return m
}

func (s *stack) do(method, path, token, body string) answer {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (s *stack) admin(method, path, body string) answer { return s.do(method, path, adminToken, body) }

// mustSync runs a sync; a second passes first, as it would between two
// runs in reality, so that runs have distinct start times.
func (s *stack) mustSync() mirror.Report {
	s.t.Helper()
	s.clock.Advance(time.Second)
	a := s.admin("POST", "/api/v1/sync", "")
	if a.status != http.StatusOK {
		s.t.Fatalf("POST /sync = %d %s", a.status, a.body)
	}
	var rep mirror.Report
	if err := json.Unmarshal(a.body, &rep); err != nil {
		s.t.Fatal(err)
	}
	return rep
}

func TestEveryAdminRouteChecksTheToken(t *testing.T) {
	s := newStack(t, 20, "")
	s.mustSync()
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/status", ""},
		{"POST", "/api/v1/sync?dry_run=true", ""},
		{"GET", "/api/v1/sync/runs", ""},
		{"GET", "/api/v1/sync/runs/x", ""},
		{"POST", "/api/v1/sync/runs/x/approve", ""},
		{"GET", "/api/v1/identities", ""},
		{"GET", "/api/v1/identities/x", ""},
		{"GET", "/api/v1/groups", ""},
		{"GET", "/api/v1/groups/x", ""},
		{"GET", "/api/v1/audit", ""},
		{"POST", "/api/v1/preview", "{}"},
		{"GET", "/api/v1/openapi.yaml", ""},
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			none := s.do(r.method, r.path, "", r.body)
			if none.status != http.StatusUnauthorized || none.header.Get("WWW-Authenticate") == "" || !strings.HasPrefix(none.header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("no token: %d %q %s", none.status, none.header.Get("Content-Type"), none.body)
			}
			if wrong := s.do(r.method, r.path, scimToken, r.body); wrong.status != http.StatusForbidden {
				t.Fatalf("SCIM token: %d, want 403", wrong.status)
			}
			if ok := s.admin(r.method, r.path, r.body); ok.status == http.StatusUnauthorized || ok.status == http.StatusForbidden || ok.status >= 500 {
				t.Fatalf("admin token: %d %s", ok.status, ok.body)
			}
		})
	}
	// And the other way round: an admin token opens no SCIM door.
	if a := s.do("GET", "/scim/v2/Users", adminToken, ""); a.status != http.StatusForbidden {
		t.Fatalf("admin token on SCIM: %d, want 403", a.status)
	}
	if a := s.do("GET", "/scim/v2/Users?count=1", scimToken, ""); a.status != http.StatusOK {
		t.Fatalf("SCIM token on SCIM: %d", a.status)
	}
}

func TestStatusSyncRunsAndAudit(t *testing.T) {
	s := newStack(t, 50, "")
	first := s.mustSync()
	if first.Counts.Created == 0 || first.Status != store.RunSucceeded {
		t.Fatalf("first sync: %+v", first.Counts)
	}
	status := s.admin("GET", "/api/v1/status", "").json(t)
	ids := status["identities"].(map[string]any)
	if status["store"] != "memory" || status["version"] != "test" || int(ids["total"].(float64)) != first.Counts.Created || ids["active"].(float64) > ids["total"].(float64) {
		t.Fatalf("status = %v", status)
	}
	if last := status["last_sync"].(map[string]any); last["run"] != first.RunID {
		t.Fatalf("last_sync = %v, want run %s", last, first.RunID)
	}

	s.clock.Advance(time.Second)
	dry := s.admin("POST", "/api/v1/sync?dry_run=true", "").json(t)
	if dry["status"] != "planned" || dry["dry_run"] != true {
		t.Fatalf("dry run = %v", dry)
	}
	runs := s.admin("GET", "/api/v1/sync/runs?limit=10", "").json(t)["items"].([]any)
	if len(runs) != 2 || runs[0].(map[string]any)["dry_run"] != true {
		t.Fatalf("runs = %v", runs)
	}
	run := s.admin("GET", "/api/v1/sync/runs/"+first.RunID, "").json(t)
	if changes := run["changes"].([]any); len(changes) != int(first.ChangeSeqs[1]-first.ChangeSeqs[0]+1) {
		t.Fatalf("run shows %d changes, the run wrote %v", len(changes), first.ChangeSeqs)
	}
	if a := s.admin("GET", "/api/v1/sync/runs/nope", ""); a.status != http.StatusNotFound {
		t.Fatalf("unknown run: %d", a.status)
	}

	page1 := s.admin("GET", "/api/v1/audit?limit=5&kind=identity", "").json(t)
	items, next := page1["items"].([]any), page1["next_cursor"].(string)
	if len(items) != 5 || next == "" || items[0].(map[string]any)["actor"] != "sync" {
		t.Fatalf("audit page 1 = %d items, next %q", len(items), next)
	}
	page2 := s.admin("GET", "/api/v1/audit?limit=5&kind=identity&cursor="+next, "").json(t)
	if p2 := page2["items"].([]any); p2[0].(map[string]any)["seq"].(float64) <= items[4].(map[string]any)["seq"].(float64) {
		t.Fatal("the second page does not continue after the first")
	}
	csvAnswer := s.admin("GET", "/api/v1/audit?format=csv&limit=3", "")
	rows, err := csv.NewReader(strings.NewReader(string(csvAnswer.body))).ReadAll()
	if err != nil || len(rows) != 4 || rows[0][0] != "seq" || !strings.HasPrefix(csvAnswer.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV = %v rows, %v", len(rows), err)
	}
}

func TestIdentitiesAndGroups(t *testing.T) {
	s := newStack(t, 60, "")
	s.mustSync()
	all := s.admin("GET", "/api/v1/identities?limit=1000", "").json(t)
	total := int(all["total"].(float64))
	seen := map[string]bool{}
	for cursor := ""; ; {
		page := s.admin("GET", "/api/v1/identities?limit=7&cursor="+cursor, "").json(t)
		for _, it := range page["items"].([]any) {
			id := it.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("identity %s on two pages", id)
			}
			seen[id] = true
		}
		if cursor = page["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if len(seen) != total || total == 0 {
		t.Fatalf("paged through %d identities, total %d", len(seen), total)
	}

	first := all["items"].([]any)[0].(map[string]any)
	detail := s.admin("GET", "/api/v1/identities/"+first["id"].(string), "").json(t)
	source := detail["source"].(map[string]any)
	for key := range source {
		if strings.Contains(key, "salary") || strings.Contains(key, "iban") || strings.Contains(key, "bank") {
			t.Fatalf("the mirrored source keeps %s", key)
		}
	}
	if source["id"] != first["personio_id"] || len(detail["history"].([]any)) == 0 {
		t.Fatalf("detail = %v", detail)
	}
	search := s.admin("GET", "/api/v1/identities?q="+first["personio_id"].(string)[:3]+"&status=active", "").json(t)
	if search["total"].(float64) < 1 {
		t.Fatalf("search found nothing: %v", search)
	}
	if a := s.admin("GET", "/api/v1/identities?status=retired", ""); a.status != http.StatusBadRequest {
		t.Fatalf("bad status filter: %d", a.status)
	}

	groups := s.admin("GET", "/api/v1/groups?kind=department", "").json(t)["items"].([]any)
	if len(groups) == 0 {
		t.Fatal("no department groups")
	}
	g := s.admin("GET", "/api/v1/groups/"+groups[0].(map[string]any)["id"].(string), "").json(t)
	if len(g["members"].([]any)) != int(groups[0].(map[string]any)["members"].(float64)) {
		t.Fatalf("group detail lists %d members, the listing says %v", len(g["members"].([]any)), groups[0])
	}
	if a := s.admin("GET", "/api/v1/groups/missing", ""); a.status != http.StatusNotFound {
		t.Fatalf("unknown group: %d", a.status)
	}
}

func TestApproveHeldRun(t *testing.T) {
	s := newStack(t, -1, "")
	var ids []string
	for n := range 10 {
		id, err := s.sim.Hire(personiotest.Attrs{"first_name": fmt.Sprintf("P%d", n), "last_name": "Müller", "hire_date": "2025-01-01", "status": "active"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	s.mustSync()
	for _, id := range ids[:4] {
		if err := s.sim.Update(id, personiotest.Attrs{"status": "inactive"}); err != nil {
			t.Fatal(err)
		}
	}
	s.clock.Advance(time.Hour)
	held := s.mustSync()
	if held.Status != store.RunHeld {
		t.Fatalf("run = %s, want held", held.Status)
	}
	if st := s.admin("GET", "/api/v1/status", "").json(t); st["held_run"] != held.RunID {
		t.Fatalf("status held_run = %v", st["held_run"])
	}
	dry := s.admin("POST", "/api/v1/sync?dry_run=true", "")
	var dryRep mirror.Report
	if err := json.Unmarshal(dry.body, &dryRep); err != nil || len(dryRep.Guard.Held) != 4 {
		t.Fatalf("dry run = %d %s; want the four held changes listed", dry.status, dry.body)
	}

	var record struct {
		Run struct {
			PlanDigest string              `json:"plan_digest"`
			Held       []mirror.HeldChange `json:"held"`
			ApprovedBy string              `json:"approved_by"`
		} `json:"run"`
	}
	readRun := func() {
		t.Helper()
		a := s.admin("GET", "/api/v1/sync/runs/"+held.RunID, "")
		if err := json.Unmarshal(a.body, &record); err != nil || a.status != http.StatusOK {
			t.Fatalf("GET run = %d %s", a.status, a.body)
		}
	}
	readRun()
	first := record.Run.Held[0]
	if len(record.Run.Held) != 4 || record.Run.PlanDigest != held.Guard.PlanDigest || first.PersonioID != ids[0] ||
		first.SCIMID != store.DefaultNamespace.IdentityID(ids[0]) || first.UserName == "" || first.Change != mirror.ChangeDeactivate ||
		first.Rule != mirror.RuleStatusInactive || first.Limit != "max_percent" {
		t.Fatalf("run record lists %+v with digest %q; want the four deactivations and the held run's digest", record.Run.Held, record.Run.PlanDigest)
	}

	const aliceToken = "alice-admin-token-0123456789abcdef"
	if err := s.store.CreateToken(context.Background(), store.Token{ID: "tok-alice", Name: "alice", Scopes: []string{store.ScopeAdmin},
		Hash: store.HashToken(aliceToken), CreatedAt: s.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute)
	if stale := s.do("POST", "/api/v1/sync/runs/"+held.RunID+"/approve?plan_digest=0000", aliceToken, ""); stale.status != http.StatusConflict {
		t.Fatalf("approval with another plan's digest = %d %s, want 409", stale.status, stale.body)
	}
	approve := s.do("POST", "/api/v1/sync/runs/"+held.RunID+"/approve?plan_digest="+record.Run.PlanDigest, aliceToken, "")
	if approve.status != http.StatusOK || approve.json(t)["counts"].(map[string]any)["deactivated"].(float64) != 4 {
		t.Fatalf("approve = %d %s", approve.status, approve.body)
	}
	readRun()
	if record.Run.ApprovedBy != "admin:alice" {
		t.Fatalf("approved_by = %q, want admin:alice", record.Run.ApprovedBy)
	}
	if again := s.admin("POST", "/api/v1/sync/runs/"+held.RunID+"/approve", ""); again.status != http.StatusConflict {
		t.Fatalf("second approval = %d, want 409", again.status)
	}
	if unknown := s.admin("POST", "/api/v1/sync/runs/nope/approve", ""); unknown.status != http.StatusNotFound {
		t.Fatalf("unknown run approval = %d, want 404", unknown.status)
	}
}

// TestIncrementalSyncOverAPI: with no successful run to continue from the
// request makes a full run and says so; then it continues incrementally.
func TestIncrementalSyncOverAPI(t *testing.T) {
	s := newStack(t, 20, "")
	for n, want := range []string{"full", "incremental"} {
		s.clock.Advance(time.Minute)
		a := s.admin("POST", "/api/v1/sync?mode=incremental", "")
		if a.status != http.StatusOK {
			t.Fatalf("run %d: POST /sync?mode=incremental = %d %s", n, a.status, a.body)
		}
		rep := a.json(t)
		if rep["mode"] != want || (want == "full") != (rep["mode_note"] != nil) {
			t.Fatalf("run %d: mode %v, note %v; want %s", n, rep["mode"], rep["mode_note"], want)
		}
	}
}

func TestPreview(t *testing.T) {
	s := newStack(t, -1, "")
	id, err := s.sim.Hire(personiotest.Attrs{"first_name": "Jürgen", "last_name": "Groß", "hire_date": "2025-01-01", "department": "Sales"})
	if err != nil {
		t.Fatal(err)
	}
	current := s.admin("POST", "/api/v1/preview", `{"person_id":"`+id+`"}`).json(t)
	ident := current["identities"].([]any)[0].(map[string]any)
	if ident["attributes"].(map[string]any)["department"] != "Sales" || len(ident["groups"].([]any)) == 0 {
		t.Fatalf("preview = %v", ident)
	}
	posted := `{"person_id":"` + id + `","config":"mapping:\n  userName: 'login(first_name + \".\" + last_name) + \"@corp.example\"'\n"}`
	if got := s.admin("POST", "/api/v1/preview", posted).json(t)["identities"].([]any)[0].(map[string]any)["attributes"].(map[string]any)["userName"]; got != "juergen.gross@corp.example" {
		t.Fatalf("preview with a posted mapping: userName %v", got)
	}
	if n, _ := s.admin("GET", "/api/v1/identities", "").json(t)["total"].(float64); n != 0 {
		t.Fatal("preview wrote identities")
	}
	bad := []struct {
		name, body string
		status     int
	}{
		{"broken config", `{"config":"mapping:\n  userName: 'lower('\n"}`, http.StatusBadRequest},
		{"unknown person", `{"person_id":"999999"}`, http.StatusNotFound},
		{"not JSON", `{"person_id":`, http.StatusBadRequest},
		{"unknown field", `{"persons":"1"}`, http.StatusBadRequest},
		{"limit out of range", `{"limit":0}`, http.StatusBadRequest},
		{"too large", `{"config":"` + strings.Repeat("x", 2<<20) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, b := range bad {
		if a := s.admin("POST", "/api/v1/preview", b.body); a.status != b.status || !strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json") || a.json(t)["detail"] == "" {
			t.Errorf("%s: %d %s, want %d with a problem detail", b.name, a.status, a.body, b.status)
		}
	}
}

func TestBadInputGetsProblems(t *testing.T) {
	s := newStack(t, 5, "")
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/v1/nothing-here", http.StatusNotFound},
		{"DELETE", "/api/v1/status", http.StatusMethodNotAllowed},
		{"GET", "/api/v1/identities?limit=abc", http.StatusBadRequest},
		{"GET", "/api/v1/sync/runs?limit=100000", http.StatusBadRequest},
		{"GET", "/api/v1/audit?since=yesterday", http.StatusBadRequest},
		{"GET", "/api/v1/audit?cursor=-4", http.StatusBadRequest},
		{"GET", "/api/v1/audit?kind=person", http.StatusBadRequest},
		{"GET", "/api/v1/audit?format=xml", http.StatusBadRequest},
		{"POST", "/api/v1/sync?dry_run=maybe", http.StatusBadRequest},
		{"POST", "/api/v1/sync?mode=partial", http.StatusBadRequest},
	}
	for _, tt := range tests {
		a := s.admin(tt.method, tt.path, "")
		if a.status != tt.status || !strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s = %d %q, want %d problem+json", tt.method, tt.path, a.status, a.header.Get("Content-Type"), tt.status)
			continue
		}
		if p := a.json(t); p["status"].(float64) != float64(tt.status) || p["detail"] == "" {
			t.Errorf("%s %s: problem %v", tt.method, tt.path, p)
		}
	}
}

func TestMetricsAndHealth(t *testing.T) {
	s := newStack(t, 10, "")
	if a := s.do("GET", "/readyz", "", ""); a.status != http.StatusServiceUnavailable {
		t.Fatalf("readyz before the first sync = %d", a.status)
	}
	s.mustSync()
	if a := s.do("GET", "/readyz", "", ""); a.status != http.StatusOK {
		t.Fatalf("readyz after the first sync = %d", a.status)
	}
	s.do("GET", "/scim/v2/Users?count=1", scimToken, "")
	m := string(s.do("GET", "/metrics", "", "").body)
	for _, want := range []string{
		`personio_scim_http_requests_total{method="GET",route="/scim/v2/Users",status="200"}`,
		`personio_scim_identities{active="true",state="active"}`,
		"personio_scim_change_log_lag 0",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
